"""Text as Windows makes it: password files saved by PowerShell and Notepad, consoles and
redirects in an ANSI code page (cp1252, cp932). The real `accert` runs in a subprocess."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.ca_response import Source
from app.cli import main
from app.errors import PassphraseError
from app.passwords import from_file
from app.workspace import Workspace
from tests.helpers import console_script, issued
from tests.pki import TestCA, openssl

ACCERT = console_script()

# --- 2. password files as Windows tools write them --------------------------------------------

# What each tool writes for the password "Pässwort-1" (bytes as PowerShell and Notepad save them).
PW = "Pässwort-1"
WRITTEN_BY = {
    # PowerShell 5.1: Set-Content -Encoding UTF8 (a BOM, CRLF)
    "ps51-set-content-utf8": b"\xef\xbb\xbf" + PW.encode() + b"\r\n",
    # PowerShell 5.1: echo pw > file, Out-File (UTF-16 LE with a BOM, CRLF)
    "ps51-redirect": b"\xff\xfe" + (PW + "\r\n").encode("utf-16-le"),
    # PowerShell 7: Set-Content (UTF-8 without a BOM, CRLF)
    "ps7-set-content": PW.encode() + b"\r\n",
    # Set-Content -NoNewline; Notepad (UTF-8)
    "no-newline": PW.encode(),
    # Notepad "UTF-16 BE"
    "notepad-utf16-be": b"\xfe\xff" + PW.encode("utf-16-be"),
    # a Linux editor (LF)
    "lf": PW.encode() + b"\n",
}


@pytest.mark.parametrize("tool", sorted(WRITTEN_BY))
def test_password_files_from_windows_tools(tmp_path: Path, tool: str) -> None:
    path = tmp_path / "pw.txt"
    path.write_bytes(WRITTEN_BY[tool])
    assert from_file(path) == PW


@pytest.mark.parametrize(
    ("data", "words"),
    [
        # cmd.exe `echo Pässwort-1> pw.txt` or Notepad "ANSI": cp1252, not UTF-8
        (PW.encode("cp1252") + b"\r\n", ["is not UTF-8 or UTF-16 text", "byte 2", "ANSI"]),
        ((PW + "\r\n").encode("utf-16-le"), ["UTF-16 without a byte-order mark"]),
        (b"first\r\nsecond\r\n", ["more than one line"]),
        (PW.encode() + b"\r\n\r\n", ["more than one line"]),
        (b"\xef\xbb\xbf\r\n", ["is empty"]),
        (b"\xef\xbb\xbf\xef\xbb\xbf" + PW.encode(), ["byte-order mark"]),
    ],
    ids=["cp1252", "utf16-no-bom", "two-lines", "blank-line", "only-bom", "two-boms"],
)
def test_other_password_files_are_refused_with_a_message(
    tmp_path: Path, data: bytes, words: list[str]
) -> None:
    path = tmp_path / "pw.txt"
    path.write_bytes(data)
    with pytest.raises(PassphraseError) as caught:
        from_file(path)
    text = str(caught.value)
    assert str(path) in text
    for word in words:
        assert word in text
    assert PW not in text and "Pässwort" not in text  # never echoed


def test_a_pfx_password_saved_by_powershell_opens_the_pfx(
    tmp_path: Path, test_ca: TestCA, capsys: Any
) -> None:
    """The PFX password has no U+FEFF in front: openssl opens it with what the user typed."""
    ws, leaf = issued(tmp_path, test_ca)
    ws.import_response([Source("leaf.crt", leaf.read_bytes()),
                        Source("bundle.crt", test_ca.inter_pem + test_ca.root_pem)])  # fmt: skip
    pw_file = tmp_path / "pfx-password.txt"
    pw_file.write_bytes(WRITTEN_BY["ps51-redirect"])
    out = tmp_path / "out"
    code = main(["export", str(ws.path), "--out", str(out), "--preset", "windows",
                 "--pfx-password-file", str(pw_file)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    [pfx] = out.glob("*.pfx")
    listing = openssl("pkcs12", "-in", pfx, "-info", "-noout", "-passin", f"pass:{PW}")
    assert b"MAC" in listing or listing == b""


# --- 4. console code pages ----------------------------------------------------------------------


def _accert(
    args: list[str], encoding: str, env: dict[str, str]
) -> subprocess.CompletedProcess[bytes]:
    assert ACCERT.exists(), f"{ACCERT} is missing: install accert (pip install -e .)"
    run_env = dict(env, PYTHONIOENCODING=encoding)
    run_env.pop("PYTHONUTF8", None)
    return subprocess.run(
        [str(ACCERT), *args], capture_output=True, env=run_env, timeout=120, check=False
    )


def test_show_under_cp1252_prints_what_it_can(tmp_path: Path) -> None:
    """`accert show` of a certificate from Łódź, redirected under cp1252."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, "sbc.example.pl"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Łódź Telekom — Oddział"),
    ])  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now).not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    path = tmp_path / "łódź.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    proc = _accert(["show", str(path)], "cp1252", dict(os.environ))
    assert proc.returncode == 0, proc.stderr.decode("cp1252", "replace")
    out = proc.stdout.decode("cp1252")
    assert "?ód? Telekom" in out  # Ł, ź and the dash are not in cp1252; ó is
    assert "sbc.example.pl" in out
    assert b"Traceback" not in proc.stderr and b"unexpected" not in proc.stderr


def test_export_under_cp932_finishes_and_says_so(
    tmp_path: Path, test_ca: TestCA, isolated_home: Path
) -> None:
    """`accert export` under cp932 (Japanese Windows): its em dashes do not end it in a crash
    after the files were written."""
    ws, leaf = issued(tmp_path, test_ca)
    Workspace.open(ws.path).import_response([
        Source("leaf.crt", leaf.read_bytes()),
        Source("bundle.crt", test_ca.inter_pem + test_ca.root_pem),
    ])  # fmt: skip
    out = tmp_path / "出力"
    proc = _accert(["export", str(ws.path), "--out", str(out)], "cp932", dict(os.environ))
    err = proc.stderr.decode("cp932", "replace")
    assert proc.returncode == 0, err
    text = proc.stdout.decode("cp932")
    assert "unencrypted ? keep it safe" in text  # the em dash, which cp932 lacks
    assert "出力" in text  # what the code page has is kept
    assert "Traceback" not in err and "unexpected" not in err
    assert (out / "star_example_com.key").exists()


def test_windows_workflow_does_not_hide_code_pages() -> None:
    workflow = Path(__file__).resolve().parent.parent / ".github" / "workflows" / "windows.yml"
    assert "PYTHONUTF8" not in workflow.read_text("utf-8")
