"""The estate inventory: SBCs, gateways and OVOC servers to watch, kept as a readable file.

TOML by default (config_dir()/inventory.toml), JSON when the file name ends in .json; both
can be edited by hand and shared. Never a password: logins live in the OS credential store
under the same account names as the deployment uses.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.atomic import atomic_write
from app.errors import InputError
from app.paths import config_dir

if TYPE_CHECKING:
    from app.mediant.devices import SavedDevice

INVENTORY_FILE = "inventory.toml"
MAX_TARGETS = 5000  # a typo'd CSV (a whole log pasted in) should fail, not scan for hours


class Kind(StrEnum):
    SBC = "sbc"  # Mediant SBC or gateway: web (443) and SIP-TLS (5061)
    OVOC = "ovoc"  # OVOC management server: web (443)

    @property
    def default_ports(self) -> tuple[int, ...]:
        return (443, 5061) if self is Kind.SBC else (443,)

    @property
    def label(self) -> str:
        return "SBC/gateway" if self is Kind.SBC else "OVOC"


@dataclass(frozen=True)
class Target:
    host: str
    kind: Kind = Kind.SBC
    ports: tuple[int, ...] = ()  # empty: the kind's default ports
    name: str = ""
    contexts: tuple[int, ...] = ()  # device TLS contexts to renew (SBC), for "renew these"
    user: str = ""  # login name for deployment; its password is in the credential store
    server_name: str = ""  # SNI to send when the host is an IP address
    site: str = ""
    notes: str = ""
    platform: str = ""  # the calling platform behind its SIP context(s), e.g. "teams"

    def __post_init__(self) -> None:
        # Callers (a GUI form, a script) may pass plain strings and lists.
        object.__setattr__(self, "kind", Kind(self.kind))
        object.__setattr__(self, "ports", tuple(self.ports))
        object.__setattr__(self, "contexts", tuple(self.contexts))

    @property
    def label(self) -> str:
        return self.name or self.host

    @property
    def scan_ports(self) -> tuple[int, ...]:
        return self.ports or self.kind.default_ports

    @property
    def key(self) -> str:
        """Identity for merging: the name when given (several devices may sit behind one
        address on different ports), else the host."""
        return f"{self.kind.value}:{(self.name or self.host).lower()}"

    def saved_device(self) -> SavedDevice:
        """The deployment's device entry, so "renew these" can preselect this SBC."""
        from app.mediant.devices import SavedDevice

        if self.kind is not Kind.SBC:
            raise InputError(f"{self.label} is an OVOC server, not an SBC.", "")
        return SavedDevice(
            host=self.host,
            port=443,
            user=self.user or "Admin",
            contexts=self.contexts or (0,),
            verify_ports=tuple(p for p in self.scan_ports if p != 443),
            name=self.name,
            platforms=self.platform_contexts(),
        )

    def platform_contexts(self) -> tuple[tuple[int, str], ...]:
        """The platform sits behind the SIP contexts: all but 0 (the web's), or 0 alone."""
        if not self.platform:
            return ()
        contexts = self.contexts or (0,)
        sip = tuple(c for c in contexts if c != 0) or contexts
        return tuple((c, self.platform) for c in sip)


@dataclass(frozen=True)
class Inventory:
    targets: tuple[Target, ...] = ()

    def merged(self, new: Iterable[Target]) -> Inventory:
        """Add targets; one already listed (same kind and host) is replaced by the new one."""
        incoming = list(new)
        keys = {t.key for t in incoming}
        kept = [t for t in self.targets if t.key not in keys]
        return Inventory(tuple(_sorted([*kept, *_dedupe(incoming)])))

    def without(self, host: str) -> Inventory:
        return Inventory(tuple(t for t in self.targets if t.host.lower() != host.lower()))


def _dedupe(targets: list[Target]) -> list[Target]:
    seen: dict[str, Target] = {}
    for t in targets:
        seen[t.key] = t  # the later line of a CSV wins, as when typing it twice
    return list(seen.values())


def _sorted(targets: Iterable[Target]) -> list[Target]:
    return sorted(targets, key=lambda t: (t.site.lower(), t.label.lower(), t.kind.value))


def inventory_path() -> Path:
    return config_dir() / INVENTORY_FILE


# --- reading ---------------------------------------------------------------------------------

_HOST = re.compile(r"[A-Za-z0-9_.\-:%\[\]]+")
SECRET_FIELDS = {"password", "passwd", "pass", "secret", "pwd", "kennwort", "passwort"}


def _ints(value: Any, what: str, origin: str, *, low: int, high: int) -> tuple[int, ...]:
    """'443 5061', '443;5061', [443, 5061] or 443 -> (443, 5061)."""
    if value is None or value == "":
        return ()
    items = value if isinstance(value, list) else re.split(r"[\s,;|/]+", str(value).strip())
    out: list[int] = []
    for item in items:
        if item == "":
            continue
        try:
            number = int(item)
        except (TypeError, ValueError):
            raise InputError(
                f"{origin}: {what} {item!r} is not a number.", f"Write e.g. {what}=443 5061."
            ) from None
        if not low <= number <= high:
            raise InputError(f"{origin}: {what} {number} is out of range.", f"Use {low}-{high}.")
        if number not in out:
            out.append(number)
    return tuple(out)


def _kind(value: Any, origin: str) -> Kind:
    text = str(value or "sbc").strip().lower()
    aliases = {"sbc": Kind.SBC, "gateway": Kind.SBC, "gw": Kind.SBC, "mediant": Kind.SBC}
    aliases |= {"device": Kind.SBC, "ovoc": Kind.OVOC, "ems": Kind.OVOC, "em": Kind.OVOC}
    if text not in aliases:
        raise InputError(f"{origin}: kind {value!r} is not known.", 'Use "sbc" or "ovoc".')
    return aliases[text]


def target_from_mapping(entry: Mapping[str, Any], origin: str) -> Target:
    """One target from a TOML/JSON table or a CSV row (keys already lower-case)."""
    secrets = SECRET_FIELDS & {k.lower() for k, v in entry.items() if v not in (None, "")}
    if secrets:
        raise InputError(
            f"{origin}: has a {sorted(secrets)[0]!r} field; the inventory never holds passwords.",
            "Remove that column or key; accert asks once and keeps it in the credential store.",
        )
    raw_host = str(entry.get("host") or "").strip()
    if not raw_host:
        raise InputError(f"{origin}: every target needs a host.", "Add host = sbc1.example.com.")
    host, port_in_host = _split_host(raw_host, origin)
    ports = _ints(entry.get("ports", entry.get("port")), "ports", origin, low=1, high=65535)
    if port_in_host and port_in_host not in ports:
        ports = (port_in_host, *ports)
    return Target(
        host=host,
        kind=_kind(entry.get("kind"), origin),
        ports=ports,
        name=str(entry.get("name") or "").strip(),
        contexts=_ints(entry.get("contexts"), "contexts", origin, low=0, high=99),
        user=str(entry.get("user") or "").strip(),
        server_name=str(entry.get("server_name") or "").strip(),
        site=str(entry.get("site") or "").strip(),
        notes=str(entry.get("notes") or "").strip(),
        platform=_platform(entry.get("platform"), origin),
    )


def _platform(value: Any, origin: str) -> str:
    from app.platforms import platform_names

    text = str(value or "").strip().lower()
    if text and text not in platform_names():
        raise InputError(
            f"{origin}: platform {value!r} is not known.",
            f"Known platforms: {', '.join(platform_names())}.",
        )
    return text


def _split_host(text: str, origin: str) -> tuple[str, int | None]:
    """'sbc1', 'sbc1:5061', '[fe80::1]:443', 'fe80::1', 'https://sbc1/' -> host, port."""
    text = re.sub(r"^[a-z]+://", "", text, flags=re.I).rstrip("/")
    m = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?|([^:\s/]+)(?::(\d+))?", text)
    if m:
        host, port = m.group(1) or m.group(3), m.group(2) or m.group(4)
    elif text.count(":") >= 2 and _HOST.fullmatch(text):  # a bare IPv6 address
        host, port = text, None
    else:
        raise InputError(f"{origin}: {text!r} is not a host name or address.", "")
    if not _HOST.fullmatch(host):
        raise InputError(f"{origin}: {host!r} is not a host name or address.", "")
    number = int(port) if port else None
    if number is not None and not 0 < number < 65536:
        raise InputError(f"{origin}: port {number} is out of range.", "Use 1-65535.")
    return host, number


def load(path: Path | None = None) -> Inventory:
    """Read an inventory (TOML, or JSON by suffix). The default one may not exist yet."""
    path = path or inventory_path()
    if not path.exists():
        if path == inventory_path():
            return Inventory()
        raise InputError(f"The inventory {path} does not exist.", "Check the path.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeError) as exc:
        raise InputError(f"Cannot read the inventory {path}: {exc}.", "") from exc
    try:
        data: Any = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise InputError(f"{path} is not valid {kind}: {exc}.", "Fix the line named.") from exc
    entries = data.get("targets", []) if isinstance(data, dict) else data
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InputError(f"{path}: expected a list of targets.", "Use [[targets]] tables.")
    if len(entries) > MAX_TARGETS:
        raise InputError(f"{path} lists {len(entries)} targets.", f"At most {MAX_TARGETS}.")
    targets = [
        target_from_mapping({str(k).lower(): v for k, v in e.items()}, f"{path} target {i}")
        for i, e in enumerate(entries, 1)
    ]
    return Inventory(tuple(_dedupe(targets)))


# --- writing ---------------------------------------------------------------------------------


def _row(t: Target) -> dict[str, Any]:
    row: dict[str, Any] = {"name": t.name, "host": t.host, "kind": t.kind.value}
    row |= {"ports": list(t.ports), "contexts": list(t.contexts), "user": t.user}
    row |= {"server_name": t.server_name, "site": t.site, "notes": t.notes}
    row |= {"platform": t.platform}
    return {k: v for k, v in row.items() if v not in ("", [])}


def _toml_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(int(v)) for v in value) + "]"
    # A JSON string is a valid TOML basic string (same escapes), and it keeps it one line.
    return json.dumps(str(value), ensure_ascii=False)


def dumps_toml(inventory: Inventory) -> str:
    lines = [
        "# accert estate inventory: one [[targets]] table per SBC, gateway or OVOC server.",
        '# kind = "sbc" (default ports 443 and 5061) or "ovoc" (443). Never put passwords here.',
    ]
    for t in inventory.targets:
        lines += ["", "[[targets]]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in _row(t).items()]
    return "\n".join(lines) + "\n"


def save(inventory: Inventory, path: Path | None = None) -> Path:
    path = path or inventory_path()
    if path.suffix.lower() == ".json":
        data = json.dumps({"targets": [_row(t) for t in inventory.targets]}, indent=2)
    else:
        data = dumps_toml(inventory)
    atomic_write(path, data.encode("utf-8"), secret=False)
    return path


# --- CSV import ------------------------------------------------------------------------------

_COLUMNS = {
    "host": ("host", "hostname", "address", "ip", "ip address", "fqdn", "device", "server"),
    "name": ("name", "label", "device name", "description"),
    "kind": ("kind", "type", "role"),
    "ports": ("ports", "port", "tls ports"),
    "contexts": ("contexts", "context", "tls context", "tls contexts"),
    "user": ("user", "username", "login", "user name"),
    "server_name": ("server_name", "sni", "server name"),
    "site": ("site", "location", "region"),
    "notes": ("notes", "note", "comment", "comments"),
    "platform": ("platform", "calling platform", "sip platform"),
}
_ALIASES = {alias: key for key, aliases in _COLUMNS.items() for alias in aliases}
# Said the same in `accert inventory import-csv --help` and in the README (a test checks both).
CSV_COLUMNS_HELP = (
    "host (required; or hostname, address, ip, fqdn; may end in :port), name, "
    "kind (sbc or ovoc; sbc when empty), ports (several separated by spaces, e.g. 443 5061; "
    "when empty 443 5061 for sbc, 443 for ovoc), contexts (TLS context indexes, e.g. 0 1), "
    "user, server_name (the SNI for a host given by IP address), site, notes"
)


def parse_csv(text: str, origin: str) -> list[Target]:
    """Targets from a spreadsheet export: a header row naming at least the host column.

    The delimiter (comma, semicolon as in European Excel, or tab) is detected.
    """
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise InputError(f"{origin} is empty.", "Export the device list with a header row.")
    first = text.splitlines()[0]
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower().replace("-", " ") for h in next(reader)]
    keys = [_ALIASES.get(h, _ALIASES.get(h.replace("_", " "), h)) for h in header]
    if "host" not in keys:
        raise InputError(
            f"{origin}: no host column in the header ({', '.join(header)}).",
            "Name one column host (or hostname, address, ip).",
        )
    targets: list[Target] = []
    for line_no, cells in enumerate(reader, 2):
        if not any(c.strip() for c in cells):
            continue
        if len(targets) >= MAX_TARGETS:
            raise InputError(f"{origin} has more than {MAX_TARGETS} rows.", "Split it.")
        row = {k: c.strip() for k, c in zip(keys, cells, strict=False)}
        targets.append(target_from_mapping(row, f"{origin} line {line_no}"))
    return _dedupe(targets)


def read_csv(path: Path) -> list[Target]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc.strerror or exc}.", "Check the path.") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # Excel's "CSV" on Western Windows
    return parse_csv(text, str(path))


def import_csv(csv_path: Path, inventory: Path | None = None) -> tuple[Inventory, int]:
    """Merge a CSV into the inventory file; returns the new inventory and the rows read."""
    new = read_csv(csv_path)
    path = inventory or inventory_path()
    result = (load(path) if path.exists() else Inventory()).merged(new)
    save(result, path)
    return result, len(new)


def from_saved_devices(devices: Iterable[SavedDevice]) -> list[Target]:
    """The deployment's saved device list as inventory targets (web port plus verify ports)."""
    return [
        Target(
            host=d.host,
            kind=Kind.SBC,
            ports=tuple(dict.fromkeys((d.port, *d.verify_ports))),
            name=d.name,
            contexts=d.contexts,
            user=d.user,
            platform=d.platforms[0][1] if d.platforms else "",
        )
        for d in devices
    ]


# --- one list: the dashboard, the Deploy page and `accert inventory` -------------------------
#
# The Deploy page keeps each SBC's deployment details (contexts, account, ports to verify, reset)
# in devices.json; the dashboard and `accert inventory` keep what to watch in the inventory. The
# user sees one list: the user's own inventory includes every saved device, the Deploy page every
# SBC of the inventory, and removing a device from either removes it from both.


def estate(path: Path | None = None) -> Inventory:
    """The inventory, plus the SBCs saved on the Deploy page it does not list yet.

    Only the user's own inventory (path None) is joined with the saved devices; a file named
    on purpose is shown as it is.
    """
    inventory = load(path)
    if path is not None and path != inventory_path():
        return inventory
    from app.mediant.devices import load_devices

    listed = {t.host.lower() for t in inventory.targets if t.kind is Kind.SBC}
    extra = [t for t in from_saved_devices(load_devices()) if t.host.lower() not in listed]
    if not extra:
        return inventory
    return Inventory(tuple(_sorted([*inventory.targets, *_dedupe(extra)])))


def deploy_devices() -> list[SavedDevice]:
    """The Deploy page's list: the saved devices, plus the inventory's SBCs not among them."""
    from app.mediant.devices import load_devices

    devices = load_devices()
    saved = {d.host.lower() for d in devices}
    try:
        targets = load().targets
    except InputError:
        targets = ()  # a broken inventory file is reported by the dashboard, not here
    return devices + [
        t.saved_device() for t in targets if t.kind is Kind.SBC and t.host.lower() not in saved
    ]


def forget_host(host: str) -> None:
    """Remove a device from the one list: the inventory's targets and the saved devices."""
    from app.mediant.devices import forget_device, load_devices

    for d in load_devices():
        if d.host.lower() == host.lower():
            forget_device(d.host, d.port)
    path = inventory_path()
    if path.exists():
        current = load(path)
        smaller = current.without(host)
        if smaller != current:
            save(smaller, path)


def replace_target(inventory: Inventory, old: Target, new: Target) -> Inventory:
    return Inventory(tuple(new if t == old else t for t in inventory.targets))


__all__ = [
    "INVENTORY_FILE",
    "Inventory",
    "Kind",
    "Target",
    "deploy_devices",
    "dumps_toml",
    "estate",
    "forget_host",
    "from_saved_devices",
    "import_csv",
    "inventory_path",
    "load",
    "parse_csv",
    "read_csv",
    "replace_target",
    "save",
]
