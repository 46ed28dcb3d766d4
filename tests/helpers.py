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
