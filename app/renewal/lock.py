"""One `accert renew` at a time per folder of renewals: an OS lock that a kill releases."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from types import TracebackType

from app.errors import AccertError

LOCK_FILE = ".accert-renew.lock"


class RenewBusy(AccertError):
    """Another run holds the lock."""


class RenewLock:
    """`with RenewLock(folder):` holds `folder/.accert-renew.lock` exclusively.

    The lock is the operating system's (flock / LockFileEx through msvcrt), not the file's
    existence: a run killed at any instant leaves no stale lock behind.
    """

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK_FILE
        self._fd: int | None = None

    def __enter__(self) -> RenewLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock(fd)
        except OSError as exc:
            holder = _read_holder(fd)
            os.close(fd)
            raise RenewBusy(
                f"Another accert renew is running on {self.path.parent}{holder}; this run did "
                "nothing.",
                "Let it finish (the scheduled task and a manual run must not overlap), then run "
                "again if needed.",
            ) from exc
        os.ftruncate(fd, 0)
        os.write(
            fd, f"pid {os.getpid()} since {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n".encode()
        )
        self._fd = fd
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            _unlock(self._fd)
            os.close(self._fd)
            self._fd = None


def _read_holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 200).decode("utf-8", "replace").strip()
    except OSError:
        return ""
    return f" ({text})" if text else ""


if sys.platform == "win32":
    import msvcrt

    # Windows byte-range locks are mandatory: a lock on byte 0 would keep the next run from
    # reading who holds it ("pid N since ..."). The locked byte lies far past the text.
    _LOCKED_BYTE = 1 << 30

    def _lock(fd: int) -> None:
        os.lseek(fd, _LOCKED_BYTE, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        finally:
            os.lseek(fd, 0, os.SEEK_SET)

    def _unlock(fd: int) -> None:
        os.lseek(fd, _LOCKED_BYTE, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        finally:
            os.lseek(fd, 0, os.SEEK_SET)

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
