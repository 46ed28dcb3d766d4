"""Platform profiles (resources/platforms/) and the per-platform certificate checks."""

from __future__ import annotations

import datetime as dt
import shutil
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from app import platforms
from app.errors import AccertError, InputError
from app.platform_checks import check_certificate, wildcard_covers
from app.platforms import load_platform, platform_names
from tests.pki import TestCA, openssl

# The thumbprints Microsoft publishes for Teams Direct Routing (issue 19), typed in here
# independently of the profile, so a wrong file or a wrong pin both fail.
TEAMS_SHA1 = {
    "DigiCert Global Root CA": "A8985D3A65E5E5C4B2D7D66D40C6DD2FB19C5436",
    "DigiCert Global Root G2": "DF3C24F9BFD666761B268073FE06D1CC8D4F82A4",
    "DigiCert Global Root G3": "7E04DE896A3E666D00E687D33FFAD93BE83D349E",
    "DigiCert TLS ECC P384 Root G5": "17F3DE5E9F0F19E98EF61F32266E20C407AE30EE",
    "DigiCert TLS RSA4096 Root G5": "A78849DC5D7C758C8CDE399856B3AAD0B2A57135",
    "Microsoft ECC Root Certificate Authority 2017": "999A64C37FF47D9FAB95F14769891460EEC4C3C5",
    "Microsoft RSA Root Certificate Authority 2017": "73A5E64A3BFF8316FF0EDCCC618A906E4EAE4D74",
}
PROFILES = Path(__file__).resolve().parent.parent / "resources" / "platforms"


def _fingerprint(path: Path, digest: str) -> str:
    out = openssl("x509", "-in", path, "-noout", "-fingerprint", f"-{digest}").decode()
    return out.strip().split("=", 1)[1].replace(":", "").upper()


def test_every_teams_root_file_has_microsofts_sha1_and_the_pinned_sha256() -> None:
    data = tomllib.loads((PROFILES / "teams.toml").read_text("utf-8"))
    roots = {r["name"]: r for r in data["roots"]}
    assert set(roots) == set(TEAMS_SHA1)  # exactly the seven, no more
    for name, sha1 in TEAMS_SHA1.items():
        path = PROFILES / roots[name]["file"]
        assert _fingerprint(path, "sha1") == sha1, name
        assert _fingerprint(path, "sha256") == roots[name]["sha256"].replace(":", "").upper()
        subject = openssl("x509", "-in", path, "-noout", "-subject", "-nameopt", "multiline")
        assert f"commonName                = {name}" in subject.decode(), name
        # A self-signed root that openssl accepts as its own trust anchor, valid today.
        assert openssl("verify", "-CAfile", path, path).strip().endswith(b"OK")


def test_every_profile_names_its_source_date_and_pins_each_root() -> None:
    assert {"teams", "google"} <= set(platform_names())
    for name in platform_names():
        data = tomllib.loads((PROFILES / f"{name}.toml").read_text("utf-8"))
        assert data["source"] and all(s.startswith("https://") for s in data["source"])
        assert data["source_date"] and data["checked"]
        for root in data["roots"]:
            path = PROFILES / root["file"]
            assert _fingerprint(path, "sha256") == root["sha256"].replace(":", "").upper()
            assert _fingerprint(path, "sha1") == root["sha1"]
        platform = load_platform(name)
        assert len(platform.roots) == len(data["roots"])


def test_google_refuses_wildcards_and_teams_allows_them() -> None:
    assert load_platform("Teams").wildcard and not load_platform("google").wildcard
    with pytest.raises(InputError, match="Known platforms: google, teams"):
        load_platform("zoom")


@pytest.fixture
def tampered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "platforms"
    shutil.copytree(PROFILES, folder)
    monkeypatch.setattr(platforms, "platforms_dir", lambda: folder)
    platforms._load.cache_clear()
    yield folder
    platforms._load.cache_clear()


def test_a_root_file_that_does_not_match_its_pin_is_refused(tampered: Path) -> None:
    # Swap two roots' files: both are valid certificates, neither is the one pinned.
    a, b = tampered / "roots/GTS_Root_R1.pem", tampered / "roots/GlobalSign_Root_CA.pem"
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    with pytest.raises(AccertError, match=r"GTS_Root_R1\.pem has SHA-256 .* not .* as its profile"):
        load_platform("google")


# --- per-platform certificate checks --------------------------------------------------------


def leaf(
    ca: TestCA,
    names: Sequence[str],
    *,
    eku: Sequence[x509.ObjectIdentifier] | None = (ExtendedKeyUsageOID.SERVER_AUTH,),
) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.load_pem_x509_certificate(ca.inter_pem)
    ca_key = serialization.load_pem_private_key(ca.inter_key.read_bytes(), None)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=90))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
    )
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    return builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]


def chain_of(ca: TestCA) -> list[x509.Certificate]:
    return [
        x509.load_pem_x509_certificate(ca.inter_pem),
        x509.load_pem_x509_certificate(ca.root_pem),
    ]


@pytest.fixture(scope="module")
def digicert_like(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    # Its root says O=DigiCert Trust: an approved vendor by name for Google's rule.
    return TestCA(tmp_path_factory.mktemp("dc"), "DigiCert")


def test_wildcard_rule_follows_rfc_2818_one_label() -> None:
    assert wildcard_covers("*.contoso.com", "sbc.contoso.com")
    assert not wildcard_covers("*.contoso.com", "sbc.test.contoso.com")
    assert not wildcard_covers("*.contoso.com", "contoso.com")


def test_google_refuses_a_wildcard_teams_takes_it(digicert_like: TestCA) -> None:
    cert = leaf(digicert_like, ["*.contoso.com", "contoso.com"])
    google = check_certificate(
        load_platform("google"), cert, chain_of(digicert_like), fqdn="sbc1.contoso.com"
    )
    assert not google.ok
    assert any("does not accept wildcard certificates" in p for p in google.problems)
    teams = check_certificate(
        load_platform("teams"), cert, chain_of(digicert_like), fqdn="sbc1.contoso.com"
    )
    assert not teams.problems  # the wildcard covers sbc1.contoso.com
    deeper = check_certificate(
        load_platform("teams"), cert, chain_of(digicert_like), fqdn="sbc1.eu.contoso.com"
    )
    assert any("do not cover sbc1.eu.contoso.com" in p for p in deeper.problems)


def test_fqdn_from_the_management_name_only_warns(digicert_like: TestCA) -> None:
    cert = leaf(digicert_like, ["sbc1.contoso.com"])
    found = check_certificate(
        load_platform("teams"), cert, chain_of(digicert_like),
        fqdn="sbc1-mgmt.corp.local", fqdn_explicit=False,
    )  # fmt: skip
    assert not found.problems
    assert any('give it as "fqdn"' in w for w in found.warnings)


def test_issuer_google_by_vendor_teams_by_public_roots(
    test_ca: TestCA, digicert_like: TestCA
) -> None:
    private = leaf(test_ca, ["sbc1.contoso.com"])
    google = check_certificate(load_platform("google"), private, chain_of(test_ca))
    assert any("'Test Root CA', which is not an approved vendor" in p for p in google.problems)
    approved = leaf(digicert_like, ["sbc1.contoso.com"])
    assert check_certificate(load_platform("google"), approved, chain_of(digicert_like)).ok
    teams = check_certificate(load_platform("teams"), private, chain_of(test_ca))
    assert teams.ok  # Microsoft's program cannot be listed exactly: a warning, not a stop
    assert any("Microsoft Trusted Root Program" in w for w in teams.warnings)


def test_missing_client_auth_is_explained_where_the_platform_does_mutual_tls(
    digicert_like: TestCA,
) -> None:
    server_only = leaf(digicert_like, ["sbc1.contoso.com"])
    found = check_certificate(load_platform("teams"), server_only, chain_of(digicert_like))
    assert any("not Client Authentication" in w and "mutual TLS" in w for w in found.warnings)
    both = leaf(
        digicert_like,
        ["sbc1.contoso.com"],
        eku=(ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH),
    )
    found = check_certificate(load_platform("teams"), both, chain_of(digicert_like))
    assert not any("Client Authentication" in w for w in found.warnings)


# --- on import --------------------------------------------------------------------------------


def test_import_says_what_each_platform_will_refuse(
    test_ca: TestCA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from app import cli
    from app.mediant.devices import SavedDevice, save_devices
    from app.request import KeyType
    from app.workspace import Workspace
    from tests.helpers import wildcard_spec

    ws = Workspace.create(wildcard_spec(KeyType.RSA2048), tmp_path / "ws")
    ws.generate()
    leaf_path = test_ca.sign(ws.csr_pem, tmp_path / "leaf.crt")
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(leaf_path.read_bytes() + test_ca.inter_pem + test_ca.root_pem)
    # Google named on the command line: its wildcard rule is a problem, said before deploying.
    assert cli.main(["import", str(ws.path), str(bundle), "--platform", "google"]) == 0
    out = capsys.readouterr().out
    assert (
        "WARNING: Google: Google SIP trunk (Google Telephony Platform) does not accept "
        "wildcard certificates, and this one carries *.example.com" in out
    )
    assert "Deploying to its contexts stops on this." in out
    assert "'Test Root CA', which is not an approved vendor" in out
    assert "Imported into" in out  # the CA's answer is kept; the deployment stops on it
    # Without --platform: the platforms the saved devices name, with their SIP FQDN.
    save_devices([SavedDevice("10.0.0.5", platforms=((1, "teams"),), fqdn="sbc1.eu.example.com")])
    assert cli.main(["import", str(ws.path), str(bundle)]) == 0
    out = capsys.readouterr().out
    assert "WARNING: Teams: The certificate's names" in out
    assert "do not cover sbc1.eu.example.com, the SBC's FQDN for Microsoft Teams" in out
    assert "WARNING: Teams: The certificate chains to 'Test Root CA', which is not among" in out
    assert "Client Authentication" not in out  # the test CA's leaves carry it
