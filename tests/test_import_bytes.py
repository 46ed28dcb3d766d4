"""Every valid DER certificate, PKCS#7 bundle and PFX is read whatever its bytes are.

The importer once stripped whitespace from the whole input before deciding it was DER, so a
certificate whose signature happened to end in 0x09-0x0d or 0x20 (about 1 in 40) was refused as
"binary data but not a certificate". Mutation fuzzing cannot find that (it looks for crashes in
damaged input); a property over *valid* inputs does.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.ca_response import Source, parse
from app.fingerprints import cert_sha256
from tests.conftest import TEST_PASSPHRASE
from tests.helpers import requested
from tests.pki import openssl

WHITESPACE = b"\t\n\x0b\x0c\r "
KEYS = {
    "ec256": ec.generate_private_key(ec.SECP256R1()),
    "ec384": ec.generate_private_key(ec.SECP384R1()),
    "rsa2048": rsa.generate_private_key(65537, 2048),
}
PROPERTY = settings(
    max_examples=int(os.environ.get("ACCERT_FUZZ_EXAMPLES", "200")),
    deadline=None,  # RSA signing varies; this test is about correctness, not time
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)


def _certificate(key_name: str, serial: int, cn: str, org: str, days: int) -> x509.Certificate:
    key = KEYS[key_name]
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
        + ([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)] if org else [])
    )
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
        .sign(key, hashes.SHA256())
    )


certificates = st.builds(
    _certificate,
    key_name=st.sampled_from(sorted(KEYS)),
    serial=st.integers(1, 2**159 - 1),
    cn=st.from_regex(r"[a-z][a-z0-9]{0,20}\.example\.(com|net)", fullmatch=True),
    # Organisation fields take any Unicode (no NUL: cryptography refuses it at build time).
    org=st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
    ),
    days=st.integers(1, 3650),
)
file_names = st.sampled_from(["leaf.cer", "leaf.crt", "leaf.der", "response", "pasted text"])


def _read(name: str, data: bytes, password: str | None = None) -> list[str]:
    return [cert_sha256(c) for c in parse([Source(name, data, password)]).certificates]


@PROPERTY
@given(cert=certificates, name=file_names)
def test_every_der_certificate_is_read_as_it_is(cert: x509.Certificate, name: str) -> None:
    der = cert.public_bytes(serialization.Encoding.DER)
    assert _read(name, der) == [cert_sha256(cert)]


@PROPERTY
@given(certs=st.lists(certificates, min_size=1, max_size=3), name=file_names)
def test_every_pkcs7_bundle_is_read_as_it_is(certs: list[x509.Certificate], name: str) -> None:
    p7b = pkcs7.serialize_certificates(certs, serialization.Encoding.DER)
    assert sorted(_read(name, p7b)) == sorted({cert_sha256(c) for c in certs})


@PROPERTY
@given(
    cert=certificates,
    password=st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        min_size=1,
        max_size=30,
    ),
    name=st.sampled_from(["server.pfx", "server.p12", "response"]),
)
def test_every_pfx_is_read_as_it_is(cert: x509.Certificate, password: str, name: str) -> None:
    key = next(k for k in KEYS.values() if k.public_key() == cert.public_key())
    pfx = pkcs12.serialize_key_and_certificates(
        b"x", key, cert, None, serialization.BestAvailableEncryption(password.encode())
    )
    parsed = parse([Source(name, pfx, password)])
    assert [cert_sha256(c) for c in parsed.certificates] == [cert_sha256(cert)]
    assert parsed.private_key is not None
    assert parsed.private_key.public_key() == cert.public_key()


def _der_ending_in(byte: int) -> bytes:
    """A certificate whose DER ends in `byte` (ECDSA signatures are random: ~256 tries)."""
    for serial in range(1, 20_000):
        der = _certificate("ec256", serial, "sbc.example.com", "Example Ltd", 365).public_bytes(
            serialization.Encoding.DER
        )
        if der[-1] == byte:
            return der
    raise AssertionError(f"no certificate ending in {byte:#04x}")


@pytest.mark.parametrize("byte", list(WHITESPACE))
def test_regression_der_ending_in_a_whitespace_byte(byte: int) -> None:
    """The case that failed: the last signature byte looked like whitespace and was stripped."""
    der = _der_ending_in(byte)
    assert der[-1:] in [bytes([b]) for b in WHITESPACE]
    assert len(_read("sbc_example_com.cer", der)) == 1


def test_regression_der_ending_in_newline_through_accert(tmp_path: Path) -> None:
    """The same as a user meets it: a CA-signed DER .cer ending in 0x0a, imported by `accert`."""
    ws = requested(tmp_path)
    csr_file = tmp_path / "r.csr"
    csr_file.write_bytes(ws.csr_pem)
    ca_key = tmp_path / "ca.key"
    ca_crt = tmp_path / "ca.crt"
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", ca_key, "-out", ca_crt, "-subj", "/CN=Papercut Root", "-days", "30",
            "-addext", "basicConstraints=critical,CA:true",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    leaf = tmp_path / "star_example_com.cer"
    for serial in range(1, 2000):  # an ECDSA CA signs randomly: find one ending in "\n"
        openssl("x509", "-req", "-in", csr_file, "-CA", ca_crt, "-CAkey", ca_key,
                "-set_serial", str(serial), "-days", "20", "-copy_extensions", "copy",
                "-outform", "DER", "-out", leaf)  # fmt: skip
        if leaf.read_bytes().endswith(b"\n"):
            break
    assert leaf.read_bytes().endswith(b"\n")
    proc = subprocess.run(
        [sys.executable, "-m", "app", "import", str(ws.path), str(leaf), str(ca_crt)],
        capture_output=True, text=True, timeout=120, check=False,
        env=dict(os.environ, ACCERT_PASSPHRASE=TEST_PASSPHRASE),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Verdict: Matches your key; chain complete" in proc.stdout
    assert "binary data" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("last", [0x0A, 0x20, 0x41])
def test_der_with_a_line_end_added_is_still_read(last: int) -> None:
    """The second chance: a gateway that appended CRLF to a DER file, even when the signature
    itself ends in a whitespace byte (only the added bytes may go; found by this test failing
    about 1 run in 40 when it stripped them all)."""
    der = _der_ending_in(last)
    assert len(_read("leaf.cer", der + b"\r\n")) == 1
    assert len(_read("leaf.cer", der + b"\n")) == 1


@pytest.mark.parametrize("serial", [3])
def test_a_certificate_with_a_small_serial_and_a_line_end_is_not_taken_for_a_pfx(
    serial: int,
) -> None:
    """Serial number 3 puts INTEGER 3 then a SEQUENCE near the start of a certificate, as the
    start of a PFX has them: with a CRLF added it was taken for a PFX and asked a password
    (CI caught it in test_der_with_a_line_end_added_is_still_read, whose CA counts serials)."""
    der = _certificate("ec256", serial, "sbc.example.com", "", 30).public_bytes(
        serialization.Encoding.DER
    )
    for name in ("leaf.cer", "response"):
        assert _read(name, der + b"\r\n") == _read(name, der), name


def test_ber_pfx_is_read_and_explained_without_cryptography_warning(tmp_path: Path) -> None:
    """A PFX in BER (indefinite lengths, as some old tools write): read, with our note, and
    cryptography's own UserWarning never reaches the user's terminal."""
    cert = _certificate("ec256", 9, "sbc.example.com", "", 30)
    pfx = pkcs12.serialize_key_and_certificates(
        b"x", KEYS["ec256"], cert, None, serialization.BestAvailableEncryption(b"Pfx-Pass-2026")
    )
    assert pfx[:2] == b"\x30\x82"
    ber = b"\x30\x80" + pfx[4:] + b"\x00\x00"  # the outer SEQUENCE with an indefinite length
    parsed = parse([Source("old.pfx", ber, "Pfx-Pass-2026")])
    assert [cert_sha256(c) for c in parsed.certificates] == [cert_sha256(cert)]
    assert any("strict (DER) form" in n for n in parsed.notes)
    for blob in (ber, ber[: len(ber) // 2]):
        (tmp_path / "old.pfx").write_bytes(blob)
        proc = subprocess.run(
            [sys.executable, "-W", "default", "-m", "app", "show", str(tmp_path / "old.pfx"),
             "--password-env", "PFXPW"],
            capture_output=True, text=True, timeout=60, check=False,
            env=dict(os.environ, PFXPW="Pfx-Pass-2026"),
        )  # fmt: skip
        assert "UserWarning" not in proc.stderr and "BER" not in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
        if blob is ber:
            assert proc.returncode == 0, proc.stderr
            assert "strict (DER) form" in proc.stdout
        else:
            assert proc.returncode == 1
            assert proc.stderr.startswith("error: The password for old.pfx is wrong")
