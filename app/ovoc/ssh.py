"""SSH to OVOC with paramiko, checking the server's host key against accert's own known-hosts.

First contact raises HostKeyUnknown carrying the SHA-256 fingerprint, so the CLI or the wizard
can show it and ask; passing that fingerprint as `host_key_pin` accepts and records it. A key
that differs from the recorded one is refused (HostKeyChanged), whatever the pin says.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import paramiko

from app.atomic import atomic_write
from app.errors import DeployError, InputError
from app.paths import config_dir
from app.peer_text import escape_peer

KNOWN_HOSTS_FILE = "ovoc_known_hosts"

# paramiko's transport thread logs every failed connection with a traceback; with no handler
# configured, Python's last-resort handler printed it under our own one-line error. What went
# wrong reaches the user as a DeployError instead.
logging.getLogger("paramiko").addHandler(logging.NullHandler())
_lock = threading.Lock()


class HostKeyUnknown(DeployError):
    """First contact: the engineer must compare and accept the fingerprint."""

    def __init__(self, host: str, port: int, key_type: str, fingerprint: str) -> None:
        super().__init__(
            f"{host}:{port} is not known yet. "
            f"Its {key_type} host key fingerprint is {fingerprint}.",
            "Compare it with the one OVOC shows (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on the "
            f"server) and, if it is the same, pass --host-key {fingerprint}.",
        )
        self.host, self.port, self.key_type, self.fingerprint = host, port, key_type, fingerprint


class HostKeyChanged(DeployError):
    """The server presents another key than the one recorded: possible interception."""

    def __init__(self, host: str, port: int, fingerprint: str, known: str) -> None:
        super().__init__(
            f"WARNING: the host key of {host}:{port} has changed (now {fingerprint}, "
            f"recorded {known}). Someone may be intercepting the connection; nothing was sent.",
            "If OVOC was reinstalled, confirm the new fingerprint with its administrator, then "
            f"run again with --host-key {fingerprint} --replace-host-key (it replaces the "
            f"recorded key in {known_hosts_path()} only if the server shows exactly that key).",
        )
        self.host, self.port, self.fingerprint, self.known = host, port, fingerprint, known


class HostKeyPinMismatch(DeployError):
    """The pin given by the engineer is not the server's key."""


@dataclass(frozen=True)
class SshTarget:
    host: str
    port: int = 22
    user: str = "acems"
    password: str | None = field(default=None, repr=False)
    key_file: Path | None = None
    key_passphrase: str | None = field(default=None, repr=False)
    host_key_pin: str | None = None  # "SHA256:base64" as ssh-keygen -l prints it
    # A reinstalled server: the pin (required) replaces a recorded key that differs.
    replace_host_key: bool = False
    timeout: float = 15.0


def known_hosts_path() -> Path:
    return config_dir() / KNOWN_HOSTS_FILE


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's form: SHA256:<base64 without padding>."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def normalize_pin(pin: str) -> str:
    text = pin.strip()
    if text.upper().startswith("SHA256:"):
        text = text[7:]
    text = text.rstrip("=")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise InputError(
            f"{pin!r} is not an SSH host key fingerprint.",
            "Give it as ssh-keygen -l prints it: SHA256: and 43 base64 characters.",
        )
    return "SHA256:" + text


def _entry_name(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


def _load_known() -> paramiko.HostKeys:
    keys = paramiko.HostKeys()
    path = known_hosts_path()
    if path.exists():
        keys.load(str(path))
    return keys


def recorded_key(host: str, port: int) -> paramiko.PKey | None:
    entry = _load_known().lookup(_entry_name(host, port))
    if not entry:
        return None
    return next(iter(entry.values()))


def _save_known(keys: paramiko.HostKeys) -> None:
    """Write the known-hosts file whole or not at all (a crash must not lose the others)."""
    path = known_hosts_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    keys.save(str(tmp))
    atomic_write(path, tmp.read_bytes())
    tmp.unlink()


def remember_host_key(host: str, port: int, key: paramiko.PKey) -> None:
    with _lock:
        keys = _load_known()
        name = _entry_name(host, port)
        if name in keys:
            del keys[name]  # one key per server: a new key type must not hide behind the old one
        keys.add(name, key.get_name(), key)
        _save_known(keys)


def forget_host_key(host: str, port: int) -> bool:
    """Remove a recorded key (after the engineer confirmed a reinstall). True if one was there."""
    with _lock:
        keys = _load_known()
        name = _entry_name(host, port)
        if name not in keys:
            return False
        del keys[name]
        _save_known(keys)
        return True


def check_host_key(
    host: str, port: int, key: paramiko.PKey, pin: str | None, *, replace: bool = False
) -> None:
    """Accept a recorded key, or a new one the engineer pinned; refuse everything else.

    With `replace`, a recorded key that differs is replaced, but only by the pinned key: the
    engineer confirmed the reinstalled server's fingerprint, so nothing is accepted blindly.
    """
    seen = fingerprint(key)
    # A pin the engineer gives decides first: a server that does not match it is refused,
    # even when its key is the one recorded.
    if pin is not None and normalize_pin(pin) != seen:
        raise HostKeyPinMismatch(
            f"{host}:{port} presented host key {seen}, not the pinned {normalize_pin(pin)}. "
            "Nothing was sent.",
            "Check that you connect to the right server and that the fingerprint was copied whole.",
        )
    known = recorded_key(host, port)
    if known is not None and known.asbytes() == key.asbytes():
        return
    if known is not None and not (replace and pin is not None):
        raise HostKeyChanged(host, port, seen, fingerprint(known))
    if pin is None:
        raise HostKeyUnknown(host, port, key.get_name(), seen)
    remember_host_key(host, port, key)


def connect(target: SshTarget) -> paramiko.Transport:
    """An authenticated SSH transport; the caller closes it."""
    try:
        sock = socket.create_connection((target.host, target.port), timeout=target.timeout)
    except OSError as exc:
        raise DeployError(
            f"Cannot reach {target.host}:{target.port} over SSH: {exc.strerror or exc}.",
            "Check the host name, the port (22) and that a firewall lets SSH through.",
        ) from exc
    transport = paramiko.Transport(sock)
    try:
        transport.banner_timeout = target.timeout
        transport.auth_timeout = target.timeout
        check_host_key(
            target.host,
            target.port,
            _handshake(transport, target),
            target.host_key_pin,
            replace=target.replace_host_key,
        )
        _authenticate(transport, target)
        return transport
    except BaseException:
        transport.close()
        raise


def _handshake(transport: paramiko.Transport, target: SshTarget) -> paramiko.PKey:
    """The key exchange; the server's host key. Every way it fails is a DeployError."""
    where = f"{target.host}:{target.port}"
    hint = "Check that this is the SSH port of the OVOC server (22 unless it was changed)."
    timed_out = DeployError(
        f"{where} did not complete an SSH handshake within {target.timeout:g} s.", hint
    )
    # Our deadline decides; paramiko's own key-exchange timer (which ends in a bare EOFError,
    # the same as a server that hangs up) is only a backstop after it.
    transport.handshake_timeout = target.timeout + 10
    started = time.monotonic()
    try:
        transport.start_client(timeout=target.timeout)
    except (paramiko.SSHException, OSError, EOFError) as exc:
        said = str(exc).strip().rstrip(".")
        if time.monotonic() - started >= target.timeout:
            raise timed_out from exc
        if said.startswith("Error reading SSH protocol banner"):
            reason = "it sent no SSH greeting"
        elif isinstance(exc, ConnectionResetError):  # errno 104 / WinError 10054 wording
            reason = "the server reset the connection"
        else:  # paramiko's words may quote the server's; an EOFError has none
            reason = escape_peer(said) or "the server closed the connection"
        raise DeployError(f"{where} did not complete an SSH handshake: {reason}.", hint) from exc
    try:
        return transport.get_remote_server_key()
    except paramiko.SSHException as exc:  # start_client returns, without an error, when its
        # time is up: a server that accepts TCP and says nothing
        raise timed_out from exc


def _authenticate(transport: paramiko.Transport, target: SshTarget) -> None:
    where = f"{target.user}@{target.host}"
    try:
        if target.key_file is not None:
            key = _load_key(target.key_file, target.key_passphrase)
            transport.auth_publickey(target.user, key)
        elif target.password is not None:
            _auth_password(transport, target.user, target.password)
        else:
            raise InputError(
                f"No password or key file was given for {where}.",
                "Pass --password-env VAR or --key-file FILE.",
            )
    except paramiko.AuthenticationException as exc:
        how = "key" if target.key_file is not None else "password"
        raise DeployError(
            f"{where} refused the SSH login ({how}): {exc}.",
            "Check the user name and password (or that the public key is in the user's "
            "authorized_keys).",
        ) from exc
    except (paramiko.SSHException, OSError, EOFError) as exc:
        raise DeployError(
            f"SSH login to {where} failed: {exc}.", "Try again; check the server."
        ) from exc
    if not transport.is_authenticated():
        raise DeployError(f"{where} did not accept the SSH login.", "Check the credentials.")


def _auth_password(transport: paramiko.Transport, user: str, password: str) -> None:
    try:
        transport.auth_password(user, password)
    except paramiko.BadAuthenticationType as exc:
        if "keyboard-interactive" not in exc.allowed_types:
            raise
        # Servers with PasswordAuthentication off still ask for the same password this way.
        transport.auth_interactive(user, lambda _t, _i, prompts: [password for _ in prompts])


def _load_key(path: Path, passphrase: str | None) -> paramiko.PKey:
    try:
        return paramiko.PKey.from_path(path, passphrase or None)
    except paramiko.PasswordRequiredException as exc:
        raise DeployError(
            f"The SSH key {path} is protected by a passphrase.",
            "Pass it with --key-passphrase-env.",
        ) from exc
    except (OSError, paramiko.SSHException, ValueError) as exc:
        raise DeployError(
            f"Cannot read the SSH key {path}: {exc}.",
            "Use an OpenSSH or PEM private key file (Ed25519, ECDSA or RSA).",
        ) from exc


def check_login(target: SshTarget) -> str:
    """The wizard's "Test connection": host key checked, login accepted, nothing sent.

    Returns the host key fingerprint; raises HostKeyUnknown on first contact (show it, ask,
    then call again with `host_key_pin`), HostKeyChanged, or DeployError for a refused login.
    """
    transport = connect(target)
    try:
        return fingerprint(transport.get_remote_server_key())
    finally:
        transport.close()
