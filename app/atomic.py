"""Careful file writes: temporary file, fsync, rename; secrets owner-only.

Every file accert writes goes through here, so one rule covers them all: a target held open by
another program (Excel on estate.csv, the Explorer preview pane, OneDrive or an antivirus on
renewal.json) is retried for a few seconds, then named as such; a secret that cannot be made
owner-only is said once per folder, and an unencrypted key is then not written at all.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from app.errors import AccertError, ProtectionError

ON_WINDOWS = sys.platform == "win32"

# Windows errors of a file another program holds: ERROR_ACCESS_DENIED (5, also a delete still
# pending, or a read-only target), ERROR_SHARING_VIOLATION (32), ERROR_LOCK_VIOLATION (33).
LOCKED_WINERRORS = frozenset({5, 32, 33})
REPLACE_PATIENCE_S = 5.0  # how long a locked target is retried before the user is asked

T = TypeVar("T")

# --- secrets: owner-only, or said (once per folder) -----------------------------------------

_told_lock = threading.Lock()
_told: dict[Path, str] = {}  # folder -> what was said about it
_listener: Callable[[str], None] | None = None


def set_notice_listener(listener: Callable[[str], None] | None) -> None:
    """Who hears that a folder could not be made private (the CLI prints it; said once)."""
    global _listener
    _listener = listener


def unprotected_notice(folder: Path) -> str | None:
    """What was said about `folder`, if its secrets could not be made owner-only."""
    with _told_lock:
        return _told.get(Path(folder))


def _tell_once(folder: Path, reason: str) -> None:
    text = (
        f"Files in {folder} cannot be made private to your account ({reason}); the encrypted "
        "key, PFX, JKS and device backups there keep the folder's permissions. Use a folder on "
        "an NTFS drive under your user profile for renewals and exports."
    )
    with _told_lock:
        if folder in _told:
            return
        _told[folder] = text
    if _listener is not None:
        _listener(text)


def restrict_to_owner(path: Path) -> None:
    """Make `path` readable and writable by its owner only; ProtectionError when impossible."""
    if ON_WINDOWS:
        from app import winacl

        winacl.restrict(path)
        return
    try:
        os.chmod(path, 0o700 if path.is_dir() else 0o600)
    except OSError as exc:
        raise ProtectionError(f"chmod failed: {exc.strerror or exc}", "") from exc


def protect_folder(folder: Path) -> bool:
    """Owner-only for a renewal folder; when the drive cannot, said once. True when protected."""
    try:
        restrict_to_owner(folder)
    except ProtectionError as exc:
        _tell_once(Path(folder), exc.message)
        return False
    return True


def _protect_temp(tmp: Path, final: Path, plaintext: bool) -> None:
    try:
        restrict_to_owner(tmp)
    except ProtectionError as exc:
        if plaintext:
            raise ProtectionError(
                f"{final.parent} cannot be made private to your account ({exc.message}), so "
                f"the unencrypted key {final.name} was not written there.",
                "Choose a folder on an NTFS drive under your user profile (not a FAT/exFAT "
                "stick or a share), or export the key encrypted: a PFX or an encrypted PEM.",
            ) from exc
        _tell_once(final.parent, exc.message)


# --- locked targets: retried, then named ---------------------------------------------------


def _winerror(exc: BaseException) -> int | None:
    value = getattr(exc, "winerror", None)
    return value if isinstance(value, int) else None


def retry_locked(action: Callable[[], T], patience: float | None = None) -> T:
    """Run `action`; while Windows says another program holds the file, try again (with a
    growing pause) for `patience` seconds, then let the last error through."""
    deadline = time.monotonic() + (REPLACE_PATIENCE_S if patience is None else patience)
    pause = 0.05
    while True:
        try:
            return action()
        except PermissionError as exc:
            if _winerror(exc) not in LOCKED_WINERRORS or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


def write_error(path: Path, exc: OSError) -> AccertError:
    """The message for a write that failed, naming the likely cause and its fix."""
    code = _winerror(exc)
    reason = exc.strerror or str(exc)
    if code in (32, 33):
        return AccertError(
            f"Could not write {path}: another program has it open (Windows error {code}: "
            f"{reason}).",
            _lock_hint(path),
        )
    if code == 5:
        return AccertError(
            f"Could not write {path}: Windows refused access (error 5: {reason}).",
            "It may be marked Read-only (see its Properties) or held by OneDrive sync or an "
            "antivirus scan: clear Read-only, close it where it is open, pause OneDrive sync "
            "if the folder is in OneDrive, and try again.",
        )
    if exc.errno == errno.ENOSPC:
        return AccertError(f"Could not write {path}: the disk is full.", "Free some space.")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return AccertError(
            f"Could not write {path}: {reason}.",
            f"Check that you may write in {path.parent}, or choose another folder.",
        )
    return AccertError(
        f"Could not write {path}: {reason}.",
        "Check that the folder exists, is writable and the disk is not full.",
    )


def _lock_hint(path: Path) -> str:
    if path.suffix.lower() in (".csv", ".xlsx", ".xls"):
        return "Close it in Excel (or wherever it is open) and try again."
    if path.suffix.lower() in (".html", ".htm", ".txt", ".ics"):
        return (
            "Close it where it is open (the browser, Notepad, the Explorer preview pane) and "
            "try again."
        )
    return (
        "Close it where it is open (an editor, the Explorer preview pane), or pause OneDrive "
        "sync if the folder is in OneDrive, and try again."
    )


# --- writing -----------------------------------------------------------------------------------


def temp_name_prefix(name: str) -> str:
    """The temporary file is never longer than max(12, len(name)) characters (a long OneDrive
    path must not cross MAX_PATH because of it), and still starts like the file it becomes."""
    return "." + name[: max(3, len(name) - 9)]


def temp_glob(name: str) -> str:
    """A glob matching the temporary files of `name` (mkstemp adds 8 random characters)."""
    return temp_name_prefix(name) + "?" * 8


def atomic_write(
    path: Path,
    data: bytes,
    *,
    secret: bool = False,
    plaintext: bool = False,
    overwrite: bool = True,
) -> None:
    """Write `data` so that `path` holds either the old or the new content, never half.

    With `secret`, the file is created owner-only before a single byte is written; when the
    folder cannot do that, it is said once. With `plaintext` (an unencrypted key), it is then
    not written at all. With `overwrite=False`, an existing file is an error.
    """
    path = Path(path)
    secret = secret or plaintext
    if not overwrite and path.exists():
        raise AccertError(
            f"{path} already exists.", "Choose another folder or remove the old file first."
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=temp_name_prefix(path.name), dir=path.parent)
    except OSError as exc:
        raise write_error(path, exc) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            if secret:  # before a byte is written; mkstemp is 0600 on POSIX, Windows needs the ACL
                _protect_temp(tmp, path, plaintext)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        retry_locked(lambda: os.replace(tmp, path))
        _fsync_dir(path.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise write_error(path, exc) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write_text(path: Path, text: str, *, secret: bool = False) -> None:
    atomic_write(path, text.encode("utf-8"), secret=secret)


def append_line(path: Path, line: str) -> None:
    """Append one line durably (used by the append-only log)."""

    def append() -> None:
        with open(path, "a", encoding="utf-8", newline="\n") as handle:
            handle.write(line.rstrip("\n") + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        retry_locked(append)
    except OSError as exc:
        raise write_error(path, exc) from exc


def _fsync_dir(directory: Path) -> None:
    if sys.platform == "win32":  # pragma: no cover - directories cannot be fsynced there
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def append_private(path: Path, text: str) -> None:
    """Append `text` to a file only its owner may read (crash logs: they quote paths, hosts
    and, redacted, what went wrong). An older file with wider rights is narrowed first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        restrict_to_owner(path)
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
