"""A real OpenSSH server on 127.0.0.1 for the OVOC tests: own config, host key and port.

Password login needs an account sshd can check without PAM, so (as root, which CI is) a
throwaway local user with a random password is created with useradd/chpasswd and removed
afterwards. Every login runs tests/fakes/ovoc_console.py through ForceCommand. The SFTP-less
variant simply has no Subsystem line, so clients must fall back to SCP.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.fakes import require_linux

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
SFTP_SERVER = next(
    (
        p
        for p in ("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server")
        if os.path.exists(p)
    ),
    "/usr/lib/openssh/sftp-server",
)
SIMULATOR = Path(__file__).with_name("ovoc_console.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class TestUser:
    """A local account for SSH logins; `home` is its home folder."""

    name: str
    password: str
    home: Path
    uid: int
    gid: int
    base: Path  # world-traversable folder holding home, keys, configs

    __test__ = False

    def remove(self) -> None:
        # A just-closed session may still be ending under this user: retry briefly, then force.
        for attempt in range(20):
            force = ["-f"] if attempt == 19 else []
            done = subprocess.run(["userdel", *force, self.name], capture_output=True, check=False)
            if done.returncode in (0, 6):  # 6: no such user
                break
            time.sleep(0.1)
        shutil.rmtree(self.base, ignore_errors=True)


def create_user() -> TestUser:
    require_linux("OpenSSH's sshd with a useradd'd account")
    import pwd  # POSIX only: imported here so the module imports on Windows (free_port)

    if os.geteuid() != 0:
        raise RuntimeError(
            "The OVOC SSH tests start a real sshd with password login and need root "
            "(CI runs as root)."
        )
    base = Path(tempfile.mkdtemp(prefix="accert-ovoc-"))
    base.chmod(0o755)
    name = f"acv{secrets.token_hex(4)}"
    home = base / "home"
    subprocess.run(
        [
            "useradd",
            "--no-create-home",
            "--home-dir",
            str(home),
            "--shell",
            "/bin/sh",
            "--user-group",
            name,
        ],
        check=True,
        capture_output=True,
    )
    password = "pw-" + secrets.token_urlsafe(12)
    subprocess.run(
        ["chpasswd"], input=f"{name}:{password}\n".encode(), check=True, capture_output=True
    )
    entry = pwd.getpwnam(name)
    home.mkdir()
    os.chown(home, entry.pw_uid, entry.pw_gid)
    home.chmod(0o755)
    return TestUser(name, password, home, entry.pw_uid, entry.pw_gid, base)


def make_host_key(folder: Path, name: str = "host_ed25519") -> Path:
    key = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


class Sshd:
    """One sshd process; stop() ends it (and only it)."""

    def __init__(
        self,
        user: TestUser,
        folder: Path,
        settings: Path,
        *,
        sftp: bool = True,
        authorized_keys: Path | None = None,
        host_key: Path | None = None,
    ) -> None:
        self.user, self.folder = user, folder
        self.host_key = host_key or make_host_key(folder)
        keys = authorized_keys or folder / "authorized_keys"
        keys.touch()
        keys.chmod(0o644)
        script = folder / "ovoc_console.py"
        shutil.copy(SIMULATOR, script)
        script.chmod(0o755)
        self._settings = [
            "ListenAddress 127.0.0.1",
            f"HostKey {self.host_key}",
            f"PidFile {folder / 'sshd.pid'}",
            "UsePAM no",
            "PasswordAuthentication yes",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            f"AuthorizedKeysFile {keys}",
            "StrictModes no",
            "PermitRootLogin no",
            f"AllowUsers {user.name}",
            "MaxStartups 50",
            "LogLevel VERBOSE",
            f"ForceCommand /usr/bin/python3 {script} {settings}",
        ]
        if sftp:
            self._settings.append(f"Subsystem sftp {SFTP_SERVER}")
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
        self.log = folder / "sshd.log"
        # The free port may be taken by someone else before sshd binds it (other test runs
        # share the machine): then sshd says so and exits, and another port is tried.
        for _ in range(5):
            self.port = free_port()
            if self._start():
                return
        raise RuntimeError(f"sshd found no free port: {self.log.read_text()}")

    def _start(self) -> bool:
        config = self.folder / "sshd_config"
        config.write_text("\n".join([f"Port {self.port}", *self._settings]) + "\n")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT
            )
        # Ready when sshd says it listens (its own log line), however long a loaded machine
        # makes that take; the deadline only bounds a failure.
        ready = f"Server listening on 127.0.0.1 port {self.port}."
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            if ready in text:
                return True
            if self.proc.poll() is not None:
                if "Address already in use" in text:
                    return False
                raise RuntimeError(f"sshd exited: {text}")
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"sshd did not start within 60 s: {self.log.read_text()}")

    def public_host_key(self) -> str:
        return Path(str(self.host_key) + ".pub").read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
