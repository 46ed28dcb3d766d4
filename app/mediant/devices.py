"""The saved device list (config_dir()/devices.json): where and how, never a password.

Passwords live in the OS credential store under one account name per device and user.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from app.atomic import atomic_write
from app.errors import InputError
from app.passwords import delete_secret, load_secret, store_secret
from app.paths import config_dir

if TYPE_CHECKING:  # the deployment (and requests) load only when a device is deployed to
    from app.mediant.deploy import DeviceTarget

DEVICES_FILE = "devices.json"

# Where the key is made, in one line (the wizard shows it next to the choice).
WHEN_TO_CHOOSE = (
    "A wildcard shared by several devices or by OVOC needs a key made here (a device key can "
    "never leave the device); for one device only, either works."
)


@dataclass(frozen=True)
class SavedDevice:
    host: str
    port: int = 443
    user: str = "Admin"
    contexts: tuple[int, ...] = (0,)
    verify_ports: tuple[int, ...] = ()
    reset: bool = False
    name: str = ""
    fingerprint: str | None = None  # only in hand-written device files, for first contact
    password_env: str | None = field(default=None)  # a variable name, never the password
    # Its web certificate is CA-signed: verify with the system trust store instead of a pin.
    trust_system: bool = False
    # The calling platform behind a TLS context, e.g. ((1, "teams"),): its roots are checked
    # (and with add_platform_roots added) in the trusted-roots step, its rules on the cert.
    platforms: tuple[tuple[int, str], ...] = ()
    add_platform_roots: bool = False
    fqdn: str = ""  # the SBC's SIP name the platform connects to, when not its host name

    def contexts_of(self, platform: str) -> tuple[int, ...]:
        return tuple(c for c, p in self.platforms if p == platform.lower())

    def platform_of(self, context: int) -> str:
        return next((p for c, p in self.platforms if c == context), "")

    @property
    def key(self) -> str:
        return f"{self.host.lower()}:{self.port}"

    @property
    def account(self) -> str:
        return f"mediant:{self.user}@{self.host.lower()}:{self.port}"

    def target(
        self,
        password: str,
        *,
        fingerprint: str | None = None,
        trust_system: bool = False,
        replace_fingerprint: bool = False,
    ) -> DeviceTarget:
        from app.mediant.deploy import DeviceTarget

        return DeviceTarget(
            host=self.host,
            port=self.port,
            user=self.user,
            password=password,
            contexts=self.contexts,
            verify_ports=self.verify_ports,
            reset=self.reset,
            fingerprint=fingerprint or self.fingerprint,
            trust_system=trust_system or self.trust_system,
            name=self.name,
            platforms=self.platforms,
            add_platform_roots=self.add_platform_roots,
            fqdn=self.fqdn,
            replace_fingerprint=replace_fingerprint,
        )


def parse_host_port(
    text: str, default_port: int = 443, example: str = "sbc1.example.com:443"
) -> tuple[str, int]:
    """'sbc1', 'sbc1:8443', '10.0.0.5:443', '[fe80::1]:443' -> (host, port).

    A URL pasted from the browser's address bar (https://sbc1.example.com:8443/...) is taken
    for its host and port; the usual slips each get their own message, with `example`."""
    given = text
    text = text.strip()
    url = re.fullmatch(r"(?i)(https?)://([^/?#]*)(?:[/?#].*)?", text)
    if url:
        if url.group(1).lower() == "http":
            raise InputError(
                f"{given!r} is a plain-HTTP address; HTTP carries no certificate.",
                f"Give the host and port, e.g. {example}.",
            )
        text = url.group(2)
    if not text:
        raise InputError("No host was given.", f"Example: {example}")
    if "/" in text or "\\" in text:
        raise InputError(
            f"{given!r} looks like a file path, not a host.",
            f"Give the host name or address, e.g. {example}.",
        )
    if any(c.isspace() for c in text):
        raise InputError(f"{given!r} contains spaces.", f"Example: {example}")
    word_port = re.fullmatch(r"([^:\[\]]+):([^:]*)", text)
    if word_port and not word_port.group(2).isdigit():
        raise InputError(
            f"{word_port.group(2)!r} in {given!r} is not a port number."
            if word_port.group(2)
            else f"{given!r} ends with ':' but no port.",
            f"Give the port as digits, e.g. {word_port.group(1)}:{default_port}, or leave ':' out.",
        )
    m = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?|([^:\s]+)(?::(\d+))?|([0-9a-fA-F:]+)", text)
    if not m:
        raise InputError(
            f"{given!r} is not a host or host:port.",
            f"Example: {example} (an IPv6 address with a port: [2001:db8::1]:443)",
        )
    host = m.group(1) or m.group(3) or m.group(5)
    port_text = m.group(2) or m.group(4)
    port = int(port_text) if port_text else default_port
    if not 0 < port < 65536:
        raise InputError(f"Port {port} in {given!r} is out of range.", "Use 1-65535.")
    return host, port


def _from_json(entry: object, origin: str) -> SavedDevice:
    if not isinstance(entry, dict) or "host" not in entry:
        raise InputError(f'{origin}: every device needs at least a "host".', "")
    if "password" in entry:
        raise InputError(
            f'{origin}: device {entry["host"]} has a "password"; device files never hold one.',
            'Remove it and use "password_env" or the credential store.',
        )
    host, port = parse_host_port(str(entry["host"]), int(entry.get("port", 443)))
    contexts = entry.get("contexts", [entry["context"]] if "context" in entry else [0])
    return SavedDevice(
        host=host,
        port=port,
        user=str(entry.get("user", "Admin")),
        contexts=tuple(int(c) for c in contexts),
        verify_ports=tuple(int(p) for p in entry.get("verify_ports", [])),
        reset=bool(entry.get("reset", False)),
        name=str(entry.get("name", "")),
        fingerprint=entry.get("fingerprint"),
        password_env=entry.get("password_env"),
        trust_system=bool(entry.get("trust_system", False)),
        platforms=_platforms(entry, tuple(int(c) for c in contexts), origin),
        add_platform_roots=bool(entry.get("add_platform_roots", False)),
        fqdn=str(entry.get("fqdn", "")),
    )


def _platforms(
    entry: dict[str, object], contexts: tuple[int, ...], origin: str
) -> tuple[tuple[int, str], ...]:
    """ "platforms": {"1": "teams"} per context, or "platform": "teams" for all its contexts."""
    from app.platforms import platform_names

    raw = entry.get("platforms")
    if raw is None and entry.get("platform"):
        raw = {str(c): entry["platform"] for c in contexts}
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise InputError(
            f'{origin}: device {entry["host"]}: "platforms" must map a context to a platform.',
            'Example: "platforms": {"1": "teams"}',
        )
    known = platform_names()
    pairs = []
    for context, name in raw.items():
        key = str(name).strip().lower()
        if key not in known:
            raise InputError(
                f"{origin}: device {entry['host']}: unknown platform {name!r}.",
                f"Known platforms: {', '.join(known)}.",
            )
        try:
            pairs.append((int(context), key))
        except ValueError:
            raise InputError(
                f"{origin}: device {entry['host']}: {context!r} is not a TLS context index.",
                'Example: "platforms": {"1": "teams"}',
            ) from None
    return tuple(sorted(pairs))


def devices_path() -> Path:
    return config_dir() / DEVICES_FILE


def load_devices(path: Path | None = None) -> list[SavedDevice]:
    """The saved list, or a device file given on the command line (same format)."""
    path = path or devices_path()
    if not path.exists():
        if path == devices_path():
            return []
        raise InputError(f"The device file {path} does not exist.", "Check the path.")
    example = 'A device file is JSON, e.g. {"devices": [{"host": "sbc1.example.com"}]}.'
    if path.is_dir():
        raise InputError(f"The device file {path} is a folder.", "Give the file. " + example)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(
            f"Cannot read the device file {path}: {exc.strerror or exc}.", "Check the path."
        ) from exc
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        where = (
            f" (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
        raise InputError(f"The device file {path} is not valid JSON{where}.", example) from exc
    entries = data.get("devices", []) if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise InputError(f"{path}: expected a list of devices.", 'Use {"devices": [...]}.')
    return [_from_json(e, str(path)) for e in entries]


def save_devices(devices: Sequence[SavedDevice], path: Path | None = None) -> None:
    rows = []
    for d in devices:
        row = asdict(d)
        row["contexts"], row["verify_ports"] = list(d.contexts), list(d.verify_ports)
        row["platforms"] = {str(c): p for c, p in d.platforms}
        for newer in ("platforms", "add_platform_roots", "fqdn"):  # older files stay as they were
            if not row[newer]:
                del row[newer]
        rows.append({k: v for k, v in row.items() if v is not None})
    data = json.dumps({"devices": rows}, indent=2).encode("utf-8")
    atomic_write(path or devices_path(), data, secret=False)


def remember_device(device: SavedDevice) -> None:
    """Add or update (by host:port) in the saved list, keeping the chosen contexts."""
    devices = [d for d in load_devices() if d.key != device.key]
    devices.append(replace(device, fingerprint=None, password_env=None))
    save_devices(sorted(devices, key=lambda d: (d.name or d.host, d.port)))


def forget_device(host: str, port: int) -> None:
    key = f"{host.lower()}:{port}"
    save_devices([d for d in load_devices() if d.key != key])


def store_device_password(device: SavedDevice, password: str) -> None:
    store_secret(device.account, password)


def load_device_password(device: SavedDevice) -> str | None:
    return load_secret(device.account)


def forget_device_password(device: SavedDevice) -> None:
    """The user unticked "remember": the credential store no longer holds it."""
    delete_secret(device.account)
