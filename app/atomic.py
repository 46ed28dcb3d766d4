"""Careful file writes: temporary file, fsync, rename; secrets owner-only."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

from app.errors import AccertError


def restrict_to_owner(path: Path) -> None:
    """Make `path` readable and writable by its owner only."""
    if sys.platform == "win32":  # pragma: no cover - exercised by the Windows CI
        user = os.environ.get("USERNAME", "")
        domain = os.environ.get("USERDOMAIN", "")
        if user:
            import subprocess  # here only: a process start is not needed elsewhere

            # icacls: drop inherited ACEs, grant only the current user (DOMAIN\\user, so a domain
            # account with a local namesake gets the right one). No secret on this line; no
            # console window flashes up from the windowed wizard.
            subprocess.run(
                [
                    "icacls",
                    str(path),
                    "/inheritance:r",
                    "/grant:r",
                    f"{domain}\\{user}:F" if domain else f"{user}:F",
                ],
                check=False,
                capture_output=True,
                creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
            )
        return
    os.chmod(path, 0o700 if path.is_dir() else 0o600)


def atomic_write(path: Path, data: bytes, *, secret: bool = False, overwrite: bool = True) -> None:
    """Write `data` so that `path` holds either the old or the new content, never half.

    With `secret`, the file is created owner-only before a single byte is written.
    With `overwrite=False`, an existing file is an error rather than silently replaced.
    """
    path = Path(path)
    if not overwrite and path.exists():
        raise AccertError(
            f"{path} already exists.", "Choose another folder or remove the old file first."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        if secret:
            restrict_to_owner(tmp)  # mkstemp is already 0600 on POSIX; Windows needs the ACL
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise AccertError(
            f"Could not write {path}: {exc.strerror or exc}.",
            "Check that the folder exists, is writable and the disk is not full.",
        ) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write_text(path: Path, text: str, *, secret: bool = False) -> None:
    atomic_write(path, text.encode("utf-8"), secret=secret)


def append_line(path: Path, line: str) -> None:
    """Append one line durably (used by the append-only log)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8", newline="\n") as handle:
        handle.write(line.rstrip("\n") + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(directory: Path) -> None:
    if sys.platform == "win32":  # pragma: no cover - directories cannot be fsynced there
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
