"""Put the files into OVOC's import folder: SFTP, or SCP where the server has no SFTP subsystem.

The folder is created when missing (profile mode, not world-writable by default). Files already
in it are moved aside into a sibling folder `<folder>_previous_<time>`, kept, never overwritten:
a stale PFX or old key left beside the new files is what confuses the import.
"""

from __future__ import annotations

import io
import shlex
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import paramiko

from app.errors import DeployError

Log = Callable[[str], None]


@dataclass(frozen=True)
class RemoteFile:
    name: str
    data: bytes = field(repr=False)
    mode: int
    role: str  # "server certificate", "private key", ...


@dataclass(frozen=True)
class TransferResult:
    method: str  # "sftp" or "scp"
    directory: str
    created_directory: bool
    placed: tuple[str, ...]  # remote paths written
    moved_aside_to: str | None  # folder holding what was there before
    moved_aside: tuple[str, ...]  # names moved


def upload(
    transport: paramiko.Transport,
    directory: str,
    files: Sequence[RemoteFile],
    *,
    directory_mode: int = 0o750,
    move_aside: bool = True,
    log: Log = lambda _line: None,
    timeout: float = 30.0,
    force_scp: bool = False,
) -> TransferResult:
    host = transport.getpeername()[0]
    directory = directory.rstrip("/") or "/"
    sftp = None if force_scp else _open_sftp(transport, log)
    try:
        if sftp is not None:
            return _SftpSide(sftp, host).run(directory, files, directory_mode, move_aside, log)
        return _ScpSide(transport, host, timeout).run(
            directory, files, directory_mode, move_aside, log
        )
    except (OSError, paramiko.SSHException, EOFError) as exc:
        raise DeployError(
            f"Copying the files to {host}:{directory} failed: {exc}.",
            "Check that the SSH user may write there and that the disk is not full.",
        ) from exc
    finally:
        if sftp is not None:
            sftp.close()


def _open_sftp(transport: paramiko.Transport, log: Log) -> paramiko.SFTPClient | None:
    try:
        return paramiko.SFTPClient.from_transport(transport)
    except (paramiko.SSHException, EOFError) as exc:
        log(f"SFTP is not available ({exc}); using SCP instead.")
        return None


def _aside_name(directory: str, taken: Callable[[str], bool]) -> str:
    base = f"{directory}_previous_{time.strftime('%Y%m%d-%H%M%S')}"
    name, n = base, 1
    while taken(name):
        n += 1
        name = f"{base}-{n}"
    return name


def _world_writable(directory: str, mode: int) -> str:
    # Left as found (someone chose it, maybe per the field note's chmod 777), but said.
    return (
        f"warning: {directory} is world-writable (mode {mode:04o}); any local user could "
        f"swap the key before the import. Consider chmod 750 {directory}."
    )


class _SftpSide:
    def __init__(self, sftp: paramiko.SFTPClient, host: str) -> None:
        self.sftp, self.host = sftp, host

    def _exists(self, path: str) -> bool:
        try:
            self.sftp.stat(path)
        except FileNotFoundError:
            return False
        return True

    def run(
        self, directory: str, files: Sequence[RemoteFile], mode: int, move_aside: bool, log: Log
    ) -> TransferResult:
        sftp = self.sftp
        created = False
        try:
            attrs = sftp.stat(directory)
        except FileNotFoundError:
            attrs = None
        if attrs is None:
            try:
                sftp.mkdir(directory, mode)
            except OSError as exc:
                raise DeployError(
                    f"Cannot create {directory} on {self.host}: {exc}.",
                    "Create it once as the OVOC user (mkdir -m 750 "
                    f"{directory}) or check the profile's folder.",
                ) from exc
            sftp.chmod(directory, mode)  # mkdir honours the server's umask; set it exactly
            created = True
            log(f"created {directory} (mode {mode:04o})")
        elif not stat.S_ISDIR(attrs.st_mode or 0):
            raise DeployError(
                f"{directory} on {self.host} exists but is not a folder.",
                "Rename that file on the server or change the folder in the profile.",
            )
        elif (attrs.st_mode or 0) & 0o002:
            log(_world_writable(directory, stat.S_IMODE(attrs.st_mode or 0)))
        aside_to, moved = None, []
        existing = [
            a.filename for a in sftp.listdir_attr(directory) if stat.S_ISREG(a.st_mode or 0)
        ]
        if existing and move_aside:
            aside_to = _aside_name(directory, self._exists)
            sftp.mkdir(aside_to, 0o700)
            for name in sorted(existing):
                sftp.rename(f"{directory}/{name}", f"{aside_to}/{name}")
                moved.append(name)
            log(f"moved {len(moved)} existing file(s) to {aside_to}: {', '.join(moved)}")
        placed = []
        for f in files:
            path = f"{directory}/{f.name}"
            with sftp.open(path, "wb") as handle:
                # chmod while still empty, so a key is never readable by others, even briefly
                sftp.chmod(path, f.mode)
                handle.write(f.data)
            size = sftp.stat(path).st_size
            if size != len(f.data):
                raise DeployError(
                    f"{path} on {self.host} has {size} bytes, expected {len(f.data)}.",
                    "The disk may be full; free space and deploy again.",
                )
            placed.append(path)
            log(f"sftp: wrote {path} ({f.role}, {len(f.data)} bytes, mode {f.mode:04o})")
        return TransferResult("sftp", directory, created, tuple(placed), aside_to, tuple(moved))


class _ScpSide:
    """SCP's sink protocol over an exec channel, plus a few shell commands for mkdir and mv."""

    def __init__(self, transport: paramiko.Transport, host: str, timeout: float) -> None:
        self.transport, self.host, self.timeout = transport, host, timeout

    def _run(self, command: str) -> tuple[int, str]:
        chan = self.transport.open_session(timeout=self.timeout)
        try:
            chan.settimeout(self.timeout)
            chan.exec_command(command)
            out = io.BytesIO()
            while True:
                chunk = chan.recv(65536)
                if not chunk:
                    break
                out.write(chunk)
            err = chan.recv_stderr(65536) if chan.recv_stderr_ready() else b""
            rc = chan.recv_exit_status()
        finally:
            chan.close()
        return rc, (out.getvalue() + err).decode("utf-8", "replace")

    def _check(self, command: str, what: str) -> str:
        rc, text = self._run(command)
        if rc != 0:
            raise DeployError(
                f"{what} on {self.host} failed: {text.strip() or f'exit status {rc}'}.",
                "Check that the SSH user may write to the OVOC import folder.",
            )
        return text

    def run(
        self, directory: str, files: Sequence[RemoteFile], mode: int, move_aside: bool, log: Log
    ) -> TransferResult:
        q = shlex.quote(directory)
        created = False
        rc, text = self._run(f"test -d {q} && stat -c %a -- {q}")
        if rc != 0:
            self._check(f"mkdir -m {mode:04o} -- {q}", f"Creating {directory}")
            created = True
            log(f"created {directory} (mode {mode:04o})")
        elif text.strip().isdigit() and int(text.strip(), 8) & 0o002:
            log(_world_writable(directory, int(text.strip(), 8)))
        listing = self._check(
            f"find {q} -mindepth 1 -maxdepth 1 -type f -printf '%f\\n'", f"Listing {directory}"
        )
        existing = sorted(n for n in listing.splitlines() if n)
        aside_to, moved = None, []
        if existing and move_aside:
            aside_to = _aside_name(
                directory, lambda p: self._run(f"test -e {shlex.quote(p)}")[0] == 0
            )
            sources = " ".join(shlex.quote(f"{directory}/{n}") for n in existing)
            self._check(
                f"mkdir -m 700 -- {shlex.quote(aside_to)} && "
                f"mv -- {sources} {shlex.quote(aside_to)}/",
                f"Moving the old files of {directory} aside",
            )
            moved = existing
            log(f"moved {len(moved)} existing file(s) to {aside_to}: {', '.join(moved)}")
        placed = []
        for f in files:
            self._send(directory, f)
            placed.append(f"{directory}/{f.name}")
            log(
                f"scp: wrote {directory}/{f.name} "
                f"({f.role}, {len(f.data)} bytes, mode {f.mode:04o})"
            )
        return TransferResult("scp", directory, created, tuple(placed), aside_to, tuple(moved))

    def _send(self, directory: str, f: RemoteFile) -> None:
        chan = self.transport.open_session(timeout=self.timeout)
        try:
            chan.settimeout(self.timeout)
            chan.exec_command(f"scp -t -- {shlex.quote(directory)}")
            self._ack(chan, f.name)
            chan.sendall(f"C{f.mode:04o} {len(f.data)} {f.name}\n".encode())
            self._ack(chan, f.name)
            chan.sendall(f.data + b"\0")
            self._ack(chan, f.name)
            chan.shutdown_write()
            rc = chan.recv_exit_status()
            if rc != 0:
                raise DeployError(f"scp of {f.name} to {self.host} ended with status {rc}.", "")
        finally:
            chan.close()

    def _ack(self, chan: paramiko.Channel, name: str) -> None:
        code = chan.recv(1)
        if code == b"\0":
            return
        message = b""
        while not message.endswith(b"\n"):
            chunk = chan.recv(1)
            if not chunk:
                break
            message += chunk
        text = message.decode("utf-8", "replace").strip()
        if not code:
            text = text or (chan.recv_stderr(4096).decode("utf-8", "replace").strip())
            text = text or "the connection closed"
        raise DeployError(
            f"SCP refused {name} on {self.host}: {text}.",
            "Check that the SSH user may write to the OVOC import folder and that scp is there.",
        )
