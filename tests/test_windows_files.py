"""Windows' file behaviour, reproduced here: owner-only ACLs by icacls (and when a drive cannot
have them), targets another program holds open, long OneDrive paths.

Nothing of accert is replaced. What Windows would answer is: pywin32's token calls (a fake
`win32api`/`win32security` with pywin32's signatures), icacls.exe (the real command line is
recorded and answered with icacls's own output) and `os.replace` raising the PermissionError
Windows raises (winerror 32/5).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import app.atomic
from app import winacl
from app.atomic import atomic_write, temp_glob
from app.ca_response import Source
from app.cli import main
from app.errors import AccertError, ProtectionError
from app.export import Artifact, ExportOptions
from app.workspace import Workspace
from tests import test_estate_cli
from tests.fakes.tls_listeners import TlsListener
from tests.helpers import issued
from tests.pki import TestCA

two_devices = test_estate_cli.two_devices  # the estate of test_estate_cli.py

SID = "S-1-5-21-1004336348-1177238915-682003330-1001"
ICACLS = r"C:\Windows\System32\icacls.exe"
REAL_RUN = subprocess.run


class FakeIcacls:
    """icacls.exe as Windows runs it: every call recorded; a path under a `fat` folder answers
    as on a FAT/exFAT stick (exit 1, 'This function is not supported on this system.')."""

    def __init__(self, fat: Path | None = None) -> None:
        self.fat = fat
        self.calls: list[list[str]] = []

    def __call__(self, args: Any, *rest: Any, **kwargs: Any) -> Any:
        if not (isinstance(args, list) and args and args[0].endswith("icacls.exe")):
            return REAL_RUN(args, *rest, **kwargs)  # openssl, keytool...: the real ones
        self.calls.append(list(args))
        assert kwargs.get("capture_output") is True and kwargs.get("check") is False
        target = args[1]
        if self.fat is not None and Path(target).is_relative_to(self.fat):
            out = (
                f"{target}: This function is not supported on this system.\r\n"
                "Successfully processed 0 files; Failed processing 1 files\r\n"
            )
            return subprocess.CompletedProcess(args, 1, out.encode("cp437"), b"")
        out = (
            f"processed file: {target}\r\n"
            "Successfully processed 1 files; Failed processing 0 files\r\n"
        )
        return subprocess.CompletedProcess(args, 0, out.encode("cp437"), b"")


def _pywin32(sid: str) -> dict[str, types.ModuleType]:
    """win32api / win32security with pywin32's calls for the process token's user SID."""
    api = types.ModuleType("win32api")
    api.GetCurrentProcess = lambda: -1  # type: ignore[attr-defined]  # the pseudo-handle
    sec = types.ModuleType("win32security")
    sec.TOKEN_QUERY = 8  # type: ignore[attr-defined]
    sec.TokenUser = 1  # type: ignore[attr-defined]
    token, pysid = object(), object()

    def open_process_token(process: int, access: int) -> object:
        assert (process, access) == (-1, 8)
        return token

    def get_token_information(handle: object, klass: int) -> tuple[object, int]:
        assert handle is token and klass == 1
        return pysid, 0

    def convert(value: object) -> str:
        assert value is pysid
        return sid

    sec.OpenProcessToken = open_process_token  # type: ignore[attr-defined]
    sec.GetTokenInformation = get_token_information  # type: ignore[attr-defined]
    sec.ConvertSidToStringSid = convert  # type: ignore[attr-defined]
    return {"win32api": api, "win32security": sec}


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeIcacls]:
    """Turn on accert's Windows file path with Windows' answers; returns the icacls record."""

    def start(fat: Path | None = None) -> FakeIcacls:
        fake = FakeIcacls(fat)
        monkeypatch.setattr(app.atomic, "ON_WINDOWS", True)
        monkeypatch.setenv("SYSTEMROOT", r"C:\Windows")
        for name, module in _pywin32(SID).items():
            monkeypatch.setitem(sys.modules, name, module)
        monkeypatch.setattr(subprocess, "run", fake)
        monkeypatch.setattr(app.atomic, "_told", {})
        return fake

    return start


def imported(tmp_path: Path, ca: TestCA) -> Workspace:
    ws, leaf = issued(tmp_path, ca)
    ws.import_response([Source("leaf.crt", leaf.read_bytes()),
                        Source("bundle.crt", ca.inter_pem + ca.root_pem)])  # fmt: skip
    return ws


# --- 1. owner-only by the token's SID, icacls by its full path, checked --------------------------


def test_icacls_command_line_names_the_sid_and_system32(
    tmp_path: Path, windows: Callable[..., FakeIcacls]
) -> None:
    icacls = windows()
    folder = tmp_path / "My Renewals"
    folder.mkdir()
    target = folder / "private.key"
    atomic_write(target, b"secret", secret=True)
    [call] = icacls.calls
    tmp = call[1]
    assert Path(tmp).parent == folder and Path(tmp).name.startswith(".pri")
    assert call == [ICACLS, tmp, "/inheritance:r", "/grant:r", f"*{SID}:(F)"]
    assert subprocess.list2cmdline(call) == (
        rf'C:\Windows\System32\icacls.exe "{tmp}" /inheritance:r /grant:r *{SID}:(F)'
    )
    assert target.read_bytes() == b"secret"


def test_a_folder_passes_owner_only_on_and_systemroot_is_honoured(
    tmp_path: Path, windows: Callable[..., FakeIcacls], monkeypatch: pytest.MonkeyPatch
) -> None:
    icacls = windows()
    monkeypatch.setenv("SYSTEMROOT", r"D:\WINNT")
    assert app.atomic.protect_folder(tmp_path)
    assert icacls.calls == [
        [r"D:\WINNT\System32\icacls.exe", str(tmp_path), "/inheritance:r", "/grant:r",
         f"*{SID}:(OI)(CI)(F)"]
    ]  # fmt: skip


def test_unencrypted_key_is_refused_where_the_drive_has_no_acls(
    tmp_path: Path, test_ca: TestCA, windows: Callable[..., FakeIcacls], capsys: Any
) -> None:
    """A FAT/exFAT stick: `accert export` says why once and writes nothing there."""
    ws = imported(tmp_path, test_ca)
    stick = tmp_path / "E-drive"
    icacls = windows(fat=stick)
    code = main(["export", str(ws.path), "--out", str(stick / "certs")])
    err = capsys.readouterr().err
    assert code == 1, err
    assert (
        f"error: {stick / 'certs'} cannot be made private to your account (This function is "
        "not supported on this system.), so the unencrypted key star_example_com.key was not "
        "written there." in err
    )
    assert "NTFS" in err and "PFX" in err
    assert err.count("error:") == 1 and "Traceback" not in err
    assert list((stick / "certs").iterdir()) == []  # not the key, nor the certificates
    assert len(icacls.calls) == 1 and icacls.calls[0][0] == ICACLS


def test_encrypted_secrets_on_such_a_drive_are_written_and_said_once(
    tmp_path: Path, test_ca: TestCA, windows: Callable[..., FakeIcacls]
) -> None:
    ws = imported(tmp_path, test_ca)
    stick = tmp_path / "E-drive"
    icacls = windows(fat=stick)
    heard: list[str] = []
    app.atomic.set_notice_listener(heard.append)
    try:
        arts = frozenset({Artifact.PFX, Artifact.PFX_LEGACY, Artifact.CERT})
        result = ws.export(stick, ExportOptions(arts, "Pfx-Pass-1"))
    finally:
        app.atomic.set_notice_listener(None)
    assert sorted(f.path.name for f in result.files) == [
        "star_example_com-legacy.pfx", "star_example_com.crt", "star_example_com.pfx"
    ]  # fmt: skip
    assert len(icacls.calls) == 2  # each PFX was tried
    assert len(heard) == 1, heard  # ...and it is said once
    assert heard[0].startswith(f"Files in {stick} cannot be made private to your account")
    assert heard[0] in result.checks


def test_icacls_missing_or_failing_is_an_error_not_silence(
    tmp_path: Path, windows: Callable[..., FakeIcacls], monkeypatch: pytest.MonkeyPatch
) -> None:
    windows()

    def missing(*_args: Any, **_kwargs: Any) -> Any:
        raise FileNotFoundError(2, "The system cannot find the file specified")

    monkeypatch.setattr(subprocess, "run", missing)
    with pytest.raises(ProtectionError, match=r"icacls\.exe could not be run"):
        winacl.restrict(tmp_path)
    with pytest.raises(ProtectionError, match="was not written"):
        atomic_write(tmp_path / "x.key", b"k", plaintext=True)
    assert not (tmp_path / "x.key").exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left


def test_without_pywin32_the_sid_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "win32security", None)  # import fails as without pywin32
    with pytest.raises(ProtectionError, match="pywin32"):
        winacl.current_user_sid()


# --- 3. a target another program holds open ----------------------------------------------------


def _locked(winerror: int, times: int | None, seen: list[str]) -> Callable[[Any, Any], None]:
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        seen.append(str(src))
        if times is None or len(seen) <= times:
            exc = PermissionError(13, _WINDOWS_TEXT[winerror], str(dst))
            exc.winerror = winerror  # type: ignore[attr-defined]  # as on Windows
            raise exc
        real(src, dst)

    return replace


_WINDOWS_TEXT = {
    5: "Access is denied",
    32: "The process cannot access the file because it is being used by another process",
}


def test_a_briefly_held_file_is_retried_until_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OneDrive or an antivirus holds renewal.json for a moment: the write waits it out."""
    target = tmp_path / "renewal.json"
    target.write_text("old")
    seen: list[str] = []
    monkeypatch.setattr(os, "replace", _locked(32, 3, seen))
    atomic_write(target, b"new")
    assert target.read_text() == "new" and len(seen) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["renewal.json"]


@pytest.mark.parametrize(
    ("name", "winerror", "words"),
    [
        ("estate.csv", 32, ["another program has it open", "Close it in Excel"]),
        ("device-pins.json", 32, ["another program has it open", "preview pane", "OneDrive"]),
        ("renewal.json", 5, ["Windows refused access", "Read-only", "OneDrive", "antivirus"]),
    ],
)
def test_a_file_held_open_is_named_as_such(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, winerror: int, words: list[str]
) -> None:
    target = tmp_path / name
    target.write_text("old")
    monkeypatch.setattr(app.atomic, "REPLACE_PATIENCE_S", 0.6)
    seen: list[str] = []
    monkeypatch.setattr(os, "replace", _locked(winerror, None, seen))
    start = time.monotonic()
    with pytest.raises(AccertError) as caught:
        atomic_write(target, b"new")
    assert time.monotonic() - start >= 0.6 and len(seen) >= 3  # retried, then told
    text = str(caught.value)
    assert f"Could not write {target}" in text and f"error {winerror}" in text
    for word in words:
        assert word in text
    assert "disk is not full" not in text
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporary file left


def test_posix_permission_errors_are_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []

    def denied(src: Any, dst: Any) -> None:
        seen.append(str(src))
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", denied)
    with pytest.raises(AccertError, match=f"Check that you may write in {tmp_path}"):
        atomic_write(tmp_path / "a.txt", b"x")
    assert len(seen) == 1


# --- 8. the temporary name stays short -----------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["star_example_com-fullchain-with-a-long-descriptive-name.crt", "renewal.json"]
)
def test_temporary_name_is_not_longer_than_the_final_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Under a long OneDrive path, the temporary file must not cross MAX_PATH first."""
    seen: list[str] = []
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        seen.append(str(src))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    atomic_write(tmp_path / name, b"x")
    [tmp] = seen
    assert len(tmp) <= len(str(tmp_path / name))
    assert Path(tmp).match(temp_glob(name))


def test_temporary_names_of_short_files_stay_at_twelve_characters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda s, d: (seen.append(str(s)), real(s, d)))
    atomic_write(tmp_path / "ca.crt", b"x")
    assert len(Path(seen[0]).name) == 12


def test_scan_with_estate_csv_open_in_excel_keeps_its_exit_codes(
    two_devices: tuple[Path, TlsListener, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Task Scheduler alerts on exit 3: a locked estate.csv must not hide what expires, and
    the HTML report is still written."""
    path, _, root = two_devices
    out_csv, out_html = tmp_path / "estate.csv", tmp_path / "estate.html"
    out_csv.write_text("open in Excel")
    monkeypatch.setattr(app.atomic, "REPLACE_PATIENCE_S", 0.3)
    real = os.replace

    def excel_holds_the_csv(src: Any, dst: Any) -> None:
        if Path(dst) == out_csv:
            exc = PermissionError(13, _WINDOWS_TEXT[32], str(dst))
            exc.winerror = 32  # type: ignore[attr-defined]
            raise exc
        real(src, dst)

    monkeypatch.setattr(os, "replace", excel_holds_the_csv)
    args = ["scan", str(path), "--timeout", "1", "--ca", str(root)]
    assert main([*args, "--csv", str(out_csv), "--html", str(out_html)]) == 3
    err = capsys.readouterr().err
    assert f"error: Could not write {out_csv}: another program has it open" in err
    assert "Close it in Excel" in err and "HTML report written" in err
    assert out_csv.read_text() == "open in Excel" and "<svg" in out_html.read_text()
    # Nothing expiring within 3 days: the unwritten report is then the exit code's reason.
    assert main([*args, "--threshold", "3", "--csv", str(out_csv)]) == 1


# --- 8. keytool: never from the current folder, read the same in every language -----------------


KEYTOOL_NAME = "keytool.exe" if sys.platform == "win32" else "keytool"


def _fake_keytool(folder: Path) -> Path:
    """A planted keytool, never run here: what is checked is which one would be."""
    folder.mkdir(parents=True, exist_ok=True)
    fake = folder / KEYTOOL_NAME
    fake.write_text('#!/bin/sh\necho planted >> "$(dirname "$0")/ran"\nexit 1\n')
    fake.chmod(0o755)
    return fake


def test_keytool_is_never_taken_from_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows tries the current folder first; a keytool.exe beside the user's files would get
    the keystore password. Reproduced with PATH's relative entries, which mean the same."""
    from app.jks_export import find_keytool

    real = shutil.which("keytool")
    assert real, "Java's keytool is missing: scripts/install-test-deps.sh installs it"
    planted = _fake_keytool(tmp_path / "Downloads")
    monkeypatch.chdir(planted.parent)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", os.pathsep.join([".", "", str(Path(real).parent)]))
    # What a search from here would run (on Windows in PATHEXT's case: .\keytool.EXE).
    here = os.path.join(os.curdir, KEYTOOL_NAME)
    assert os.path.normcase(shutil.which("keytool") or "") == os.path.normcase(here)
    assert find_keytool() == str(Path(real).parent / KEYTOOL_NAME)
    # JAVA_HOME's own keytool comes first, as Java tools expect.
    java = tmp_path / "jdk"
    _fake_keytool(java / "bin")
    monkeypatch.setenv("JAVA_HOME", str(java))
    assert find_keytool() == str(java / "bin" / KEYTOOL_NAME)


def test_the_jks_check_reads_keytool_in_any_language(
    tmp_path: Path, test_ca: TestCA, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The keytool fallback's self-check counts PEM blocks, not the translated
    'Certificate chain length' line: a German Java gives the same answer."""
    from app import jks_export

    ws = imported(tmp_path, test_ca)
    monkeypatch.setitem(sys.modules, "jks", None)  # no pyjks: Java's keytool makes the JKS
    monkeypatch.setenv("JAVA_TOOL_OPTIONS", "-Duser.language=de -Duser.country=DE")
    result = ws.export(tmp_path / "out", ExportOptions(frozenset({Artifact.JKS}), "Jks-Pass-1"))
    [jks_file] = [f.path for f in result.files]
    assert jks_export.read_jks_chain_length(jks_file.read_bytes(), "Jks-Pass-1") == 3
    assert any(c.endswith("key entry with a chain of 3") for c in result.checks), result.checks
