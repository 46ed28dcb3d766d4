"""Importing the CA's response in every form a CA sends it, and every way it goes wrong."""

from __future__ import annotations

import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from app.ca_response import PasswordNeeded, Source
from app.errors import ImportProblem, KeyMismatch
from app.workspace import Stage, Workspace
from tests.helpers import issued, other_csr, requested
from tests.pki import TestCA, openssl


def der(pem: bytes) -> bytes:
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


def accepted(ws: Workspace, sources: list[Source]) -> list[str]:
    outcome = ws.import_response(sources)
    assert outcome.matches_key and outcome.complete, outcome.problems
    assert Workspace.open(ws.path).state.stage is Stage.ISSUED
    return [c.role for c in outcome.chain]


@pytest.fixture
def signed(tmp_path: Path, test_ca: TestCA) -> tuple[Workspace, bytes]:
    ws, leaf = issued(tmp_path, test_ca)
    return ws, leaf.read_bytes()


def test_pem_files_leaf_and_bundle(signed: tuple[Workspace, bytes], test_ca: TestCA) -> None:
    ws, leaf = signed
    sources = [Source("star.crt", leaf), Source("ca.crt", test_ca.inter_pem + test_ca.root_pem)]
    assert accepted(ws, sources) == ["leaf", "intermediate", "root"]


def test_one_pem_in_any_order_with_text_around_and_crlf(
    signed: tuple[Workspace, bytes], test_ca: TestCA
) -> None:
    ws, leaf = signed
    text = (
        b"Subject: Test Root\r\nIssuer: ...\r\n"
        + test_ca.root_pem.replace(b"\n", b"\r\n")
        + b"\r\nYour certificate follows:\r\n"
        + leaf.replace(b"\n", b"\r\n")
        + b"intermediate:\r\n"
        + test_ca.inter_pem.replace(b"\n", b"\r\n")
    )
    assert accepted(ws, [Source("pasted text", text)]) == ["leaf", "intermediate", "root"]
    # The chain is stored in order leaf -> intermediate -> root.
    chain = x509.load_pem_x509_certificates((ws.path / "chain.crt").read_bytes())
    assert [c.subject.rfc4514_string() for c in chain] == [
        "CN=Test TLS RSA CA G2,O=Test Trust,C=US",
        "CN=Test Root CA,O=Test Trust,C=US",
    ]


def test_der_files(signed: tuple[Workspace, bytes], test_ca: TestCA) -> None:
    ws, leaf = signed
    sources = [
        Source("star_example_com.cer", der(leaf)),
        Source("intermediate.cer", der(test_ca.inter_pem)),
        Source("root.cer", der(test_ca.root_pem)),
    ]
    assert accepted(ws, sources) == ["leaf", "intermediate", "root"]


@pytest.mark.parametrize("form", ["PEM", "DER"])
def test_pkcs7_p7b(
    signed: tuple[Workspace, bytes], test_ca: TestCA, tmp_path: Path, form: str
) -> None:
    ws, leaf = signed
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(leaf + test_ca.inter_pem + test_ca.root_pem)
    p7b = openssl("crl2pkcs7", "-nocrl", "-certfile", bundle, "-outform", form)
    assert accepted(ws, [Source("star_example_com.p7b", p7b)]) == ["leaf", "intermediate", "root"]


def test_digicert_style_zip(signed: tuple[Workspace, bytes], test_ca: TestCA) -> None:
    ws, leaf = signed
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("star_example_com/star_example_com.crt", leaf)
        z.writestr("star_example_com/DigiCertCA.crt", test_ca.inter_pem)
        z.writestr("star_example_com/TrustedRoot.crt", der(test_ca.root_pem))
        z.writestr("star_example_com/README.txt", "Installation instructions ...")
    outcome = ws.import_response([Source("star_example_com.zip", buffer.getvalue())])
    assert [c.role for c in outcome.chain] == ["leaf", "intermediate", "root"]
    assert any("README.txt was skipped" in n for n in outcome.notes)
    # The ZIP is kept exactly as imported.
    kept = [ws.path / name for name in ws.state.responses]
    assert [p.read_bytes() for p in kept] == [buffer.getvalue()]


def test_pfx_with_password_creates_a_renewal(tmp_path: Path, test_ca: TestCA) -> None:
    from app.workspace import create_from_pfx

    key = tmp_path / "plain.key"
    # A PFX made by openssl from a key and chain someone already has.
    openssl(
        "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", tmp_path / "o.csr",
        "-subj", "/CN=pfx.example.com", "-addext", "subjectAltName=DNS:pfx.example.com",
    )  # fmt: skip
    pfx_leaf = test_ca.sign((tmp_path / "o.csr").read_bytes(), tmp_path / "pfx.crt")
    chain = tmp_path / "chain.pem"
    chain.write_bytes(test_ca.inter_pem + test_ca.root_pem)
    pfx = tmp_path / "old.pfx"
    openssl(
        "pkcs12", "-export", "-inkey", key, "-in", pfx_leaf, "-certfile", chain, "-out", pfx,
        "-passout", "pass:Secret-123",
    )  # fmt: skip
    with pytest.raises(PasswordNeeded, match="protected by a password"):
        create_from_pfx(Source("old.pfx", pfx.read_bytes()), tmp_path / "fromfpx0")
    with pytest.raises(PasswordNeeded, match=r"password for old\.pfx is wrong"):
        create_from_pfx(Source("old.pfx", pfx.read_bytes(), "nope"), tmp_path / "frompfx1")
    made = create_from_pfx(Source("old.pfx", pfx.read_bytes(), "Secret-123"), tmp_path / "pfx")
    assert made.state.stage is Stage.ISSUED
    assert made.state.request.subject.common_name == "pfx.example.com"
    assert made.deploy_material().root_pem is not None
    # The key was re-encrypted at rest, and the PFX itself is not kept in the folder.
    assert (made.path / "private.key").read_bytes().startswith(b"-----BEGIN ENCRYPTED")
    assert not list((made.path).rglob("*.pfx"))


def test_certificate_for_another_key_is_refused_with_fingerprints(
    tmp_path: Path, test_ca: TestCA
) -> None:
    ws = requested(tmp_path)
    foreign = test_ca.sign(other_csr(tmp_path), tmp_path / "foreign.crt").read_bytes()
    outcome = ws.analyse_response(
        [Source("star.crt", foreign), Source("ca.crt", test_ca.inter_pem)]
    )
    assert not outcome.matches_key and not outcome.acceptable
    problem = outcome.problems[0]
    assert "None of these certificates belongs to this renewal's private key" in problem
    assert outcome.key_fingerprint[:23] in problem
    assert "made elsewhere" in problem
    with pytest.raises(KeyMismatch):
        ws.accept_response(outcome, [])
    assert Workspace.open(ws.path).state.stage is Stage.REQUESTED
    assert not (ws.path / "certificate.crt").exists()


def test_missing_intermediate_names_the_issuer_and_its_url(
    signed: tuple[Workspace, bytes],
) -> None:
    ws, leaf = signed
    outcome = ws.analyse_response([Source("star.crt", leaf)])
    assert outcome.matches_key and not outcome.acceptable
    assert outcome.missing_issuer == "CN=Test TLS RSA CA G2,O=Test Trust,C=US"
    assert outcome.aia_url == "http://127.0.0.1:9/Test-inter.crt"
    assert "Test TLS RSA CA G2" in outcome.problems[0]
    assert "http://127.0.0.1:9/Test-inter.crt" in outcome.problems[0]


@pytest.fixture
def aia_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("aia")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: object, **kw: object) -> None:
            super().__init__(*a, directory=str(root), **kw)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def test_fetch_missing_intermediate_from_aia(tmp_path: Path, aia_server: tuple[str, Path]) -> None:
    url, served = aia_server
    ca = TestCA(tmp_path / "aia-ca", "Aia", aia_base=url)
    # The CA publishes its intermediate in DER and its root as PEM, as public CAs do.
    (served / "Aia-inter.crt").write_bytes(der(ca.inter_pem))
    (served / "Aia-root.crt").write_bytes(ca.root_pem)
    ws, leaf = issued(tmp_path, ca)
    outcome = ws.import_response([Source("star.crt", leaf.read_bytes())], fetch_missing=True)
    assert [c.role for c in outcome.chain] == ["leaf", "intermediate", "root"]
    assert outcome.complete


def test_root_completed_from_the_trusted_bundle(
    signed: tuple[Workspace, bytes],
    test_ca: TestCA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import certifi

    from app import chain

    bundle = tmp_path / "cacert.pem"
    bundle.write_bytes(Path(certifi.where()).read_bytes() + test_ca.root_pem)
    monkeypatch.setattr(certifi, "where", lambda: str(bundle))
    chain._trust_store.cache_clear()
    try:
        ws, leaf = signed
        outcome = ws.import_response([Source("star.crt", leaf), Source("ca", test_ca.inter_pem)])
        assert [c.role for c in outcome.chain] == ["leaf", "intermediate", "root"]
        assert outcome.chain[-1].source == "trusted root bundle"
        assert any("completed from the trusted root bundle" in n for n in outcome.notes)
    finally:
        chain._trust_store.cache_clear()


def test_root_not_sent_nor_known_is_a_warning_not_a_block(
    signed: tuple[Workspace, bytes], test_ca: TestCA
) -> None:
    ws, leaf = signed
    outcome = ws.analyse_response([Source("star.crt", leaf), Source("ca.crt", test_ca.inter_pem)])
    assert outcome.acceptable and not outcome.complete
    assert any("root certificate 'CN=Test Root CA" in w for w in outcome.warnings)


def test_intermediate_of_another_ca_is_not_accepted(
    signed: tuple[Workspace, bytes], other_ca: TestCA
) -> None:
    ws, leaf = signed
    outcome = ws.analyse_response([Source("star.crt", leaf), Source("x.crt", other_ca.inter_pem)])
    assert not outcome.acceptable
    assert "intermediate certificate 'CN=Test TLS RSA CA G2" in outcome.problems[0]
    assert [o.common_name for o in outcome.others] == ["Other TLS RSA CA G2"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "is empty"),
        (b"   \n\r\n", "is empty"),
        (b"hello, this is not a certificate", "neither PEM, DER, PKCS#7, ZIP nor PFX"),
        (b"\x30\x82\x01\x00garbage", "binary data but not a certificate"),
        (b"PK\x03\x04broken zip", "damaged ZIP"),
        (b"-----BEGIN CERTIFICATE-----\nMIIB", "cut off"),
        (b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", "base64"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "damaged"),
    ],
)
def test_bad_input_is_a_clear_error_naming_the_file(
    signed: tuple[Workspace, bytes], data: bytes, expected: str
) -> None:
    ws, _ = signed
    with pytest.raises(ImportProblem, match=expected) as info:
        ws.analyse_response([Source("response.crt", data)])
    assert "response.crt" in info.value.message
    assert Workspace.open(ws.path).state.stage is Stage.REQUESTED


def test_truncated_der_certificate(signed: tuple[Workspace, bytes]) -> None:
    ws, leaf = signed
    with pytest.raises(ImportProblem, match=r"star\.cer"):
        ws.analyse_response([Source("star.cer", der(leaf)[:300])])


def test_a_csr_instead_of_the_certificate_is_explained(signed: tuple[Workspace, bytes]) -> None:
    ws, _ = signed
    with pytest.raises(ImportProblem, match="certificate signing request") as info:
        ws.analyse_response([Source("request.csr", ws.csr_pem)])
    assert "certificate the CA sends back" in info.value.hint


def test_warnings_expiring_names_and_usage(tmp_path: Path, test_ca: TestCA) -> None:
    ws = requested(tmp_path)
    leaf = test_ca.sign(ws.csr_pem, tmp_path / "l.crt", days=10, copy_sans=False,
                        extensions="v3_leaf_noeku")  # fmt: skip
    outcome = ws.analyse_response(
        [Source("l.crt", leaf.read_bytes()), Source("ca", test_ca.inter_pem + test_ca.root_pem)]
    )
    text = " | ".join(outcome.warnings)
    assert "expires in 9 days" in text or "expires in 10 days" in text
    assert "not in the certificate: *.example.com, example.com, sbc1.example.com" in text
    assert "lacks serverAuth" in text


def test_sha1_signature_is_warned(tmp_path: Path, test_ca: TestCA) -> None:
    ws = requested(tmp_path)
    leaf = test_ca.sign(ws.csr_pem, tmp_path / "l.crt", digest="sha1")
    outcome = ws.analyse_response(
        [Source("l.crt", leaf.read_bytes()), Source("ca", test_ca.inter_pem + test_ca.root_pem)]
    )
    assert any("signed with SHA1" in w for w in outcome.warnings)


def test_not_yet_valid_is_warned(tmp_path: Path, test_ca: TestCA) -> None:
    ws = requested(tmp_path)
    leaf = test_ca.sign_not_yet_valid(ws.csr_pem, tmp_path / "l.crt")
    outcome = ws.analyse_response(
        [Source("l.crt", leaf.read_bytes()), Source("ca", test_ca.inter_pem + test_ca.root_pem)]
    )
    assert any("is not valid yet" in w for w in outcome.warnings)


def _in_clear(folder: Path) -> list[Path]:
    """Files under `folder` holding an unencrypted private key, in any form we can read."""
    found = []
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                data = b"".join(z.read(n) for n in z.namelist())
        if b"PRIVATE KEY-----" in data and b"ENCRYPTED PRIVATE KEY" not in data:
            found.append(path)
    return found


@pytest.mark.parametrize("form", ["pem", "zip"])
def test_a_key_sent_with_the_response_is_never_kept_in_clear(
    form: str, tmp_path: Path, test_ca: TestCA, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 12, finding 2: a CA portal's bundle with the key in it (here the renewal's own key,
    unencrypted). Only certificates are kept; the key is dropped with a message."""
    from app import cli

    ws, leaf_path = issued(tmp_path, test_ca)
    key_pem = ws.private_key().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    bundle = leaf_path.read_bytes() + test_ca.inter_pem + key_pem + test_ca.root_pem
    response = tmp_path / f"response.{form}"
    if form == "zip":
        with zipfile.ZipFile(response, "w") as z:
            z.writestr("cert/star.crt", leaf_path.read_bytes())
            z.writestr("cert/chain.pem", test_ca.inter_pem + test_ca.root_pem)
            z.writestr("cert/star.key", key_pem)
    else:
        response.write_bytes(bundle)
    assert cli.main(["import", str(ws.path), str(response)]) == 0
    out = capsys.readouterr().out
    assert "also holds a private key: it is not kept" in out
    assert _in_clear(ws.path) == []
    (kept,) = Workspace.open(ws.path).state.responses
    certs = x509.load_pem_x509_certificates((ws.path / kept).read_bytes())
    assert len(certs) == 3 and kept.endswith("-certificates.pem")
    # The key in private.key is still the renewal's own, encrypted.
    assert (ws.path / "private.key").read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY")
