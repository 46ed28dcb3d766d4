"""Small helpers the engine tests share: run openssl/keytool, make renewals."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from app.request import KeyType, RequestSpec, Subject
from app.workspace import Workspace
from tests.pki import TestCA, openssl

KEYTOOL = shutil.which("keytool")


def console_script(name: str = "accert") -> Path:
    """The program pip installs for `name`: .venv/bin/NAME, or NAME.exe in Scripts on Windows,
    which is not beside python.exe outside a venv (the Windows job installs without one)."""
    folder = Path(sysconfig.get_path("scripts"))
    return folder / (f"{name}.exe" if sys.platform == "win32" else name)


def keytool(*args: str | Path, password: str) -> str:
    if KEYTOOL is None:
        raise RuntimeError("Java keytool is not installed: run scripts/test, which installs it")
    proc = subprocess.run(
        [KEYTOOL, *map(str, args), "-storepass:env", "KS_PASS"],
        capture_output=True,
        env=dict(os.environ, KS_PASS=password),
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"keytool {args} failed: {proc.stdout!r} {proc.stderr!r}")
    return proc.stdout.decode(errors="replace")


def wildcard_spec(key: KeyType = KeyType.RSA2048, cn: str = "*.example.com") -> RequestSpec:
    return RequestSpec(
        Subject(cn, "Example Ltd", "Voice", "London", "Greater London", "GB", "pki@example.com"),
        ("sbc1.example.com",),
        key,
    )


def requested(tmp_path: Path, key: KeyType = KeyType.RSA2048, name: str = "ws") -> Workspace:
    ws = Workspace.create(wildcard_spec(key), tmp_path / name)
    ws.generate()
    return ws


def issued(tmp_path: Path, ca: TestCA, key: KeyType = KeyType.RSA2048) -> tuple[Workspace, Path]:
    """A renewal with its CSR signed by `ca`, not yet imported: (workspace, leaf file)."""
    ws = requested(tmp_path, key)
    leaf = ca.sign(ws.csr_pem, tmp_path / "star_example_com.crt")
    return ws, leaf


def other_csr(tmp_path: Path) -> bytes:
    """A CSR for the same names made elsewhere, with another key (e.g. on the device)."""
    openssl(
        "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", tmp_path / "elsewhere.key",
        "-out", tmp_path / "elsewhere.csr", "-subj", "/CN=*.example.com",
        "-addext", "subjectAltName=DNS:*.example.com,DNS:example.com",
    )  # fmt: skip
    return (tmp_path / "elsewhere.csr").read_bytes()


# What a damaged renewal still holds, and the name its row shows (escaped, with its source).
DAMAGED_ROWS = {
    "with-csr": "csr.example.com (from request.csr)",
    "san-only-csr": "san.example.com (from request.csr)",
    "cert-only": "cert.example.com (from certificate.crt)",
    "bad-csr-and-cert": "fallback.example.com (from certificate.crt)",
    "nothing-left": "nothing-left (from the folder name)",
    "forged-csr": "evil.example.com\\x1b[2J\\u202e<b> (from request.csr)",
}


def damaged_renewals(root: Path) -> dict[str, Path]:
    """Renewal folders under `root` whose renewal.json is cut short, each holding what
    DAMAGED_ROWS says their row shows. The CSRs and certificates are made by openssl, except
    the forged CN, which openssl will not write."""
    folders = {name: root / name for name in DAMAGED_ROWS}
    for folder in folders.values():
        folder.mkdir(parents=True)
        (folder / "renewal.json").write_text('{"stage": "requested", "request": ', "utf-8")

    def csr(folder: Path, *subj_and_ext: str) -> None:
        openssl(
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", folder / "private.key", "-out", folder / "request.csr", *subj_and_ext,
        )  # fmt: skip

    def cert(folder: Path, cn: str) -> None:
        openssl(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", folder / "cert.key", "-out", folder / "certificate.crt",
            "-subj", f"/CN={cn}",
        )  # fmt: skip
        (folder / "cert.key").unlink()  # the key made on the device stays there

    csr(folders["with-csr"], "-subj", "/CN=csr.example.com/O=Example Ltd")
    csr(
        folders["san-only-csr"],
        "-subj",
        "/O=Example Ltd",
        "-addext",
        "subjectAltName=DNS:san.example.com",
    )
    cert(folders["cert-only"], "cert.example.com")
    cert(folders["bad-csr-and-cert"], "fallback.example.com")
    (folders["bad-csr-and-cert"] / "request.csr").write_bytes(
        b"-----BEGIN CERTIFICATE REQUEST-----\nMIIBAAAA\n-----END CERTIFICATE REQUEST-----\n"
    )
    _forged_csr(folders["forged-csr"] / "request.csr", "evil.example.com\x1b[2J\u202e<b>")
    return folders


def _forged_csr(out: Path, cn: str) -> None:
    """A CSR whose CN holds what a careless or hostile tool may write: controls, bidi, markup."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn, _validate=False)])
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(name)
        .sign(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256())
    )
    out.write_bytes(request.public_bytes(serialization.Encoding.PEM))
