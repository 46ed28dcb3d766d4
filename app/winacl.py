"""Owner-only files on Windows: the process token's SID, icacls by its full path, checked.

POSIX modes do not exist there; a file's ACL does. The account is named by the SID of the
token this process runs with (never %USERDOMAIN%\\%USERNAME%, which may not resolve, or resolve
to a local namesake), and icacls.exe is run from System32 (a bare `icacls` would be found in the
current folder first).
"""

from __future__ import annotations

import codecs
import ntpath
import os
import subprocess
from pathlib import Path

from app.errors import ProtectionError

# icacls is a console program: from the windowed wizard, no console window flashes up.
_NO_WINDOW = getattr(subprocess, "CREATE_NO_WINDOW", 0)
ICACLS_TIMEOUT_S = 60


def current_user_sid() -> str:
    """The SID of the user this process runs as, e.g. S-1-5-21-…-1001 (Windows only)."""
    try:
        import win32api  # pywin32, a Windows-only dependency (see pyproject.toml)
        import win32security
    except ImportError as exc:
        raise ProtectionError(f"pywin32 is missing ({exc})", "") from exc
    try:
        token = win32security.OpenProcessToken(
            win32api.GetCurrentProcess(), win32security.TOKEN_QUERY
        )
        sid, _attributes = win32security.GetTokenInformation(token, win32security.TokenUser)
        return str(win32security.ConvertSidToStringSid(sid))
    except Exception as exc:  # pywintypes.error: the token cannot be read
        raise ProtectionError(f"Cannot read this process's account SID ({exc}).", "") from exc


def icacls_exe() -> str:
    """%SystemRoot%\\System32\\icacls.exe, by its full path."""
    root = os.environ.get("SYSTEMROOT") or r"C:\Windows"  # case-insensitive on Windows
    return ntpath.join(root, "System32", "icacls.exe")


def icacls_command(path: Path | str, sid: str, *, directory: bool) -> list[str]:
    """Inherited entries removed, full control for this account only (`*SID` needs no name
    lookup). A folder passes that on to what is created in it: (OI) files, (CI) folders."""
    grant = f"*{sid}:(OI)(CI)(F)" if directory else f"*{sid}:(F)"
    return [icacls_exe(), str(path), "/inheritance:r", "/grant:r", grant]


def restrict(path: Path) -> None:
    """Make `path` accessible to the current account only; ProtectionError when Windows
    cannot (FAT/exFAT has no ACLs, a share refuses, the token cannot be read)."""
    sid = current_user_sid()
    argv = icacls_command(path, sid, directory=path.is_dir())
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            check=False,
            timeout=ICACLS_TIMEOUT_S,
            creationflags=_NO_WINDOW,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProtectionError(f"{argv[0]} could not be run ({exc})", "") from exc
    if proc.returncode != 0:
        raise ProtectionError(_reason(proc.stdout + proc.stderr, path), "")


def _reason(output: bytes, path: Path) -> str:
    """icacls's own words (in the console's OEM code page), without its counting line."""
    encoding = "oem" if _has_codec("oem") else "utf-8"
    text = output.decode(encoding, errors="replace")
    for line in text.splitlines():
        line = line.strip()
        if line and not line.lower().startswith("successfully processed"):
            # "C:\...\x.tmp: This function is not supported on this system."
            prefix = f"{path}:"
            return line[len(prefix) :].strip() if line.startswith(prefix) else line
    return "icacls failed without saying why"


def _has_codec(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True
