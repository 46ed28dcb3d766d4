"""`accert sbc-trust` against the Mediant simulator: report, add, full store, nothing to do."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from app import cli
from app.fingerprints import cert_sha256
from app.mediant.client import MediantClient
from app.platforms import load_platform
from app.tls_probe import fetch_served_chain
from tests.fakes.mediant_material import FAST
from tests.fakes.mediant_sim import MediantSim
from tests.owner_only import assert_owner_only
from tests.pki import self_signed

TEAMS = load_platform("teams")


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[MediantSim]:
    with MediantSim() as s:
        monkeypatch.setenv("SBC_PW", s.password)
        yield s


def args(sim: MediantSim, *extra: str) -> list[str]:
    fp = fetch_served_chain("127.0.0.1", sim.port).leaf_sha256
    return [
        "sbc-trust", "--host", sim.host_port, "--user", sim.user, "--password-env", "SBC_PW",
        "--context", "1", "--platform", "teams", "--fingerprint", f"SHA256:{fp}",
        "--timeout", "5", *extra,
    ]  # fmt: skip


def fps(store: bytes) -> list[str]:
    return [cert_sha256(c) for c in x509.load_pem_x509_certificates(store)] if store else []


def changes(sim: MediantSim) -> list[tuple[str, str]]:
    return [c for c in sim.calls if c[0] in ("PUT", "POST", "DELETE")]


def others(n: int) -> list[bytes]:
    return [self_signed(f"Old Partner CA {i}")[0] for i in range(n)]


def test_missing_roots_are_named_and_nothing_changes(
    sim: MediantSim, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.set_trusted(1, [TEAMS.roots[1].pem, TEAMS.roots[6].pem, *others(1)])
    before, before_saved = sim.trusted_store(1), sim.trusted_store(1, saved=True)
    assert cli.main(args(sim)) == 3
    out = capsys.readouterr().out
    assert "context 1 (SIP-Teams): Teams roots 2/7" in out
    assert "present  DigiCert Global Root G2" in out
    assert (
        "missing  DigiCert TLS ECC P384 Root G5  (SHA-1 17F3DE5E9F0F19E98EF61F32266E20C407AE30EE)"
        in out
    )
    assert "missing  DigiCert Global Root CA" in out
    assert "store: 3 of 20 certificates" in out and "nothing changed" in out
    # Byte for byte the same store, running and saved; not one changing call was made.
    assert sim.trusted_store(1) == before and sim.trusted_store(1, saved=True) == before_saved
    assert changes(sim) == [] and sim.saves == 0


def test_add_backs_up_first_then_only_the_missing_roots_then_saves_and_reads_back(
    sim: MediantSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kept = [TEAMS.roots[1].pem, *others(2)]
    sim.set_trusted(1, kept)
    before = fps(sim.trusted_store(1))
    backups = tmp_path / "backups"
    assert cli.main(args(sim, "--add", "--backup-dir", str(backups))) == 0
    out = capsys.readouterr().out
    assert "Teams roots 7/7" in out and "saved; store read back" in out
    calls = [f"{m} {p}" for m, p in sim.calls]
    first_change = next(i for i, c in enumerate(calls) if not c.startswith("GET"))
    assert calls.index("GET /files/ini") < first_change  # the backup before any change
    puts = [c for c in calls if c.startswith("PUT")]
    assert puts == ["PUT /files/tls/1/trustedRoot/incremental"] * 6  # never the replacing PUT
    assert calls[-2:] == ["POST /actions/saveConfiguration", "GET /files/tls/1/trustedRoot"]
    # The backup is the device's INI, on disk, owner-only.
    [backup] = backups.iterdir()
    assert "[ TLSContexts ]" in backup.read_text()
    assert_owner_only(backup)
    # In flash: what was there, in its order, then the six missing roots; no duplicate.
    saved = fps(sim.trusted_store(1, saved=True))
    assert saved[: len(before)] == before and len(saved) == len(set(saved)) == 9
    assert {r.sha256 for r in TEAMS.roots} <= set(saved)
    # Context 0 was not touched.
    assert sim.trusted_store(0, saved=True) == b""


def test_a_full_store_names_what_no_platform_needs_and_stops(
    sim: MediantSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    strangers = others(15)
    sim.set_trusted(1, [r.pem for r in TEAMS.roots[:3]] + strangers)  # 18 of 20
    before = sim.trusted_store(1)
    assert cli.main(args(sim, "--add", "--backup-dir", str(tmp_path))) == 1
    err = capsys.readouterr().err
    assert "holds 18 of 20 trusted certificates; 4 more do not fit. Nothing was added." in err
    assert "'Old Partner CA 0'" in err and "'Old Partner CA 14'" in err
    assert "DigiCert Global Root CA'" not in err  # a Teams root is never offered for removal
    assert "Remove 2 of them" in err
    assert sim.trusted_store(1) == before and sim.saves == 0
    assert [c for c in changes(sim)] == []


def test_a_device_that_trusts_all_seven(
    sim: MediantSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.set_trusted(1, [r.pem for r in TEAMS.roots])
    assert cli.main(args(sim)) == 0
    assert "Teams roots 7/7" in capsys.readouterr().out
    assert cli.main(args(sim, "--add", "--backup-dir", str(tmp_path))) == 0
    assert "nothing to add; nothing changed" in capsys.readouterr().out
    assert changes(sim) == [] and sim.saves == 0


def test_devices_file_names_the_platform_of_each_context(
    sim: MediantSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    devices = tmp_path / "devices.json"
    fp = fetch_served_chain("127.0.0.1", sim.port).leaf_sha256
    devices.write_text(json.dumps({"devices": [
        {"host": sim.host_port, "user": sim.user, "password_env": "SBC_PW", "fingerprint": fp,
         "contexts": [0, 1], "platforms": {"1": "teams"}, "name": "sbc-london"},
    ]}))  # fmt: skip
    code = cli.main(["sbc-trust", "--devices", str(devices), "--platform", "teams"])
    assert code == 3
    out = capsys.readouterr().out
    assert "sbc-london" in out and "context 1 (SIP-Teams): Teams roots 0/7" in out
    assert "context 0" not in out  # not a Teams context
    assert changes(sim) == []


def test_unknown_platform_and_missing_context_are_clear(
    sim: MediantSim, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([*args(sim)[:-6], "--platform", "skype"]) == 1
    assert "There is no platform profile 'skype'" in capsys.readouterr().err
    bad = args(sim)
    bad[bad.index("--context") + 1] = "7"
    assert cli.main(bad) == 1
    err = capsys.readouterr().err
    assert "has no TLS context 7 (it has: 0 (default), 1 (SIP-Teams))" in err
    assert sim.calls and changes(sim) == []


def test_the_simulator_refuses_the_21st_certificate_as_a_device_would(sim: MediantSim) -> None:
    sim.set_trusted(1, others(20))
    fp = fetch_served_chain("127.0.0.1", sim.port).leaf_sha256
    client = MediantClient(
        "127.0.0.1", sim.port, user=sim.user, password=sim.password, fingerprint=fp, timing=FAST
    )
    try:
        response = client.request(
            "PUT", "/files/tls/1/trustedRoot/incremental",
            files={"file": ("r.pem", TEAMS.roots[0].pem, "application/x-pem-file")},
        )  # fmt: skip
    finally:
        client.close()
    assert (
        response.status_code == 400 and "full (20 certificates)" in response.json()["description"]
    )
    assert len(fps(sim.trusted_store(1))) == 20


# --- in the deployment ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def material(test_ca, tmp_path_factory):  # type: ignore[no-untyped-def]
    from tests.fakes.mediant_material import make_material

    return make_material(test_ca, tmp_path_factory.mktemp("mat"))


def deploy_target(sim: MediantSim, **kw: object):  # type: ignore[no-untyped-def]
    from app.mediant.deploy import DeviceTarget

    base: dict[str, object] = {
        "host": "127.0.0.1", "port": sim.port, "user": sim.user, "password": sim.password,
        "contexts": (1,), "verify_ports": (sim.context_port(1),),
        "fingerprint": fetch_served_chain("127.0.0.1", sim.port).leaf_sha256,
        "platforms": ((1, "teams"),),
    }  # fmt: skip
    base.update(kw)
    return DeviceTarget(**base)  # type: ignore[arg-type]


def test_deploying_adds_the_platform_roots_when_asked_and_reports_7_of_7(
    sim: MediantSim,
    material,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    from app.mediant.deploy import deploy_device
    from app.mediant.fleet import FleetReport

    result = deploy_device(
        deploy_target(sim, add_platform_roots=True), material, tmp_path, timing=FAST
    )
    assert result.ok, result.message
    assert [r.text for r in result.roots] == ["Teams roots 7/7"]
    assert len(result.roots[0].added) == 7
    saved = set(fps(sim.trusted_store(1, saved=True)))
    assert {r.sha256 for r in TEAMS.roots} <= saved and len(saved) == 7 + 2  # + the CA chain
    puts = [p for m, p in sim.calls if m == "PUT"]
    assert "/files/tls/1/trustedRoot" not in puts  # never the replacing PUT
    # The backup came before the first upload.
    calls = [p for _, p in sim.calls]
    assert calls.index("/files/ini") < calls.index("/files/tls/1/privateKey")
    report = FleetReport("star", material.leaf_sha256, "now", 1.0, (result,))
    assert "    Teams roots 7/7 (context 1, 7 added)" in report.text()
    assert report.as_dict()["devices"][0]["platform_roots"][0]["present"] == 7  # type: ignore[index]


def test_deploying_without_adding_reports_what_is_missing(
    sim: MediantSim,
    material,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    from app.mediant.deploy import deploy_device

    sim.set_trusted(1, [r.pem for r in TEAMS.roots[:5]])
    result = deploy_device(deploy_target(sim), material, tmp_path, timing=FAST)
    assert result.ok, result.message
    assert result.roots[0].text == "Teams roots 5/7"
    assert any("lacks 2 Teams root(s)" in w and "sbc-trust" in w for w in result.warnings)
    assert len(fps(sim.trusted_store(1, saved=True))) == 5 + 2  # only the certificate's chain


def test_a_platform_rule_broken_stops_the_deployment_before_anything_is_sent(
    sim: MediantSim,
    material,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    from app.mediant.deploy import deploy_device

    result = deploy_device(
        deploy_target(sim, platforms=((1, "google"),)), material, tmp_path, timing=FAST
    )
    assert not result.ok and result.step == "check"
    assert "does not accept wildcard certificates" in result.message
    assert "Nothing was sent to the device" in result.hint
    assert sim.calls == []


def test_a_full_store_stops_the_trusted_roots_step_naming_what_could_go(
    sim: MediantSim,
    material,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    from app.mediant.deploy import deploy_device

    sim.set_trusted(1, others(17))
    result = deploy_device(
        deploy_target(sim, add_platform_roots=True), material, tmp_path, timing=FAST
    )
    assert not result.ok and result.step == "trusted-roots"
    assert "holds 17 of 20 trusted certificates; 9 more do not fit" in result.message
    assert "'Old Partner CA 3'" in result.hint and "backup is at" in result.hint
    assert [p for m, p in sim.calls if "trustedRoot/incremental" in p] == []


def test_accert_renew_deploys_again_with_the_same_platform(
    sim: MediantSim,
    tmp_path: Path,
    test_ca,  # type: ignore[no-untyped-def]
) -> None:
    from app.ca_response import Source
    from app.mediant.glue import deploy_to_device
    from app.renewal.plan import plan_for
    from app.workspace import Workspace
    from tests.helpers import issued

    ws, leaf = issued(tmp_path, test_ca)
    ws.import_response([Source(leaf.name, leaf.read_bytes() + test_ca.inter_pem, None)])
    result = deploy_to_device(
        ws, deploy_target(sim, add_platform_roots=True, fqdn="sbc1.example.com"), timing=FAST
    )
    assert result.ok, result.message
    (plan,) = plan_for(Workspace.open(ws.path)).sbcs
    assert plan.platforms == ((1, "teams"),) and plan.add_platform_roots
    assert plan.fqdn == "sbc1.example.com"


def test_names_from_the_device_store_are_shown_as_data(
    sim: MediantSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import datetime as dt

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "Partner CA\x1b[8m SHA-256 00:00\u202e")]
    )
    now = dt.datetime.now(dt.UTC)
    hostile = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )  # fmt: skip
    sim.set_trusted(1, [hostile, *others(16)])  # 17 of 20: the seven do not fit
    assert cli.main(args(sim, "--add", "--backup-dir", str(tmp_path))) == 1
    err = capsys.readouterr().err
    assert "'Partner CA\\x1b[8m SHA-256 00:00\\u202e'" in err
    assert "\x1b" not in err and "\u202e" not in err


def test_a_new_device_certificate_is_taken_only_with_replace_fingerprint(
    sim: MediantSim, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.mediant import pins

    pins.set_pin("127.0.0.1", sim.port, "AB:" * 31 + "AB")  # the certificate trusted before
    assert cli.main(args(sim)) == 1
    assert "--replace-fingerprint" in capsys.readouterr().err and sim.calls == []
    assert cli.main(args(sim, "--replace-fingerprint")) == 3
    assert "Teams roots 0/7" in capsys.readouterr().out
