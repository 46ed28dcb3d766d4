"""What a calling platform (Teams Direct Routing, Google's SIP trunk...) needs from an SBC.

Each platform is a profile in resources/platforms/<name>.toml: the root certificates its SIP
proxies chain to (PEM files shipped beside it, each pinned by SHA-256, so the program never
depends on the machine's CA store) and its rules for the SBC's own certificate (wildcards,
names, mutual TLS, who may issue it), with the documentation they come from and its date.
"""

from __future__ import annotations

import functools
import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from app.errors import AccertError, InputError
from app.fingerprints import cert_sha256, public_key_sha256
from app.names import readable_name
from app.paths import resources_dir


@dataclass(frozen=True)
class PlatformRoot:
    name: str  # as the platform's documentation names it
    file: str
    sha256: str  # colon-separated upper-case, as cert_sha256() gives it
    sha1: str  # the thumbprint the platform publishes (upper-case hex, no colons)
    pem: bytes

    @functools.cached_property
    def cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.pem)

    @property
    def subject(self) -> str:
        return readable_name(self.cert.subject)

    @functools.cached_property
    def spki_sha256(self) -> str:
        return public_key_sha256(self.cert.public_key())


@dataclass(frozen=True)
class Platform:
    key: str  # "teams"
    title: str  # "Microsoft Teams Direct Routing"
    short: str  # "Teams": the word in "Teams roots 7/7"
    sources: tuple[str, ...]
    source_date: str
    checked: str
    roots_from: str
    roots: tuple[PlatformRoot, ...]
    wildcard: bool
    fqdn_required: bool
    mutual_tls: bool
    issuer: str  # "public" (a public root accert knows) or "organizations"
    issuer_organizations: tuple[str, ...]
    issuer_note: str

    @property
    def source_line(self) -> str:
        date = "undated" if self.source_date == "unknown" else f"dated {self.source_date}"
        return f"{', '.join(self.sources)} ({date}; checked {self.checked})"


def platforms_dir() -> Path:
    return resources_dir() / "platforms"


def platform_names() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in platforms_dir().glob("*.toml")))


def load_platform(name: str) -> Platform:
    """The profile `name` (case-insensitive), its roots read and checked against their pins."""
    key = name.strip().lower()
    if key not in platform_names():
        raise InputError(
            f"There is no platform profile {name!r}.",
            f"Known platforms: {', '.join(platform_names())}.",
        )
    return _load(key)


def short_name(key: str) -> str:
    """ "teams" -> "Teams", for lists and tables; an unknown key is shown as it is."""
    try:
        return load_platform(key).short
    except AccertError:
        return key


def all_platforms() -> tuple[Platform, ...]:
    return tuple(_load(n) for n in platform_names())


@functools.cache
def _load(key: str) -> Platform:
    path = platforms_dir() / f"{key}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        rules: dict[str, Any] = data.get("rules", {})
        roots = tuple(_root(path.parent, entry) for entry in data.get("roots", []))
        return Platform(
            key=str(data["name"]),
            title=str(data["title"]),
            short=str(data["short"]),
            sources=tuple(str(s) for s in data["source"]),
            source_date=str(data["source_date"]),
            checked=str(data.get("checked", "")),
            roots_from=str(data.get("roots_from", "")),
            roots=roots,
            wildcard=bool(rules.get("wildcard", True)),
            fqdn_required=bool(rules.get("fqdn_required", True)),
            mutual_tls=bool(rules.get("mutual_tls", False)),
            issuer=str(rules.get("issuer", "public")),
            issuer_organizations=tuple(str(o) for o in rules.get("issuer_organizations", [])),
            issuer_note=str(rules.get("issuer_note", "")),
        )
    except (OSError, KeyError, TypeError, ValueError) as exc:  # tomllib errors are ValueErrors
        raise AccertError(
            f"The platform profile {path} cannot be read: {exc}.",
            "Reinstall accert, or fix the file if you edited it.",
        ) from exc


def _root(folder: Path, entry: dict[str, Any]) -> PlatformRoot:
    file = str(entry["file"])
    pem = (folder / file).read_bytes()
    cert = x509.load_pem_x509_certificate(pem)
    pinned = _colon(str(entry["sha256"]))
    actual = cert_sha256(cert)
    if actual != pinned:
        # A root that is not the one the profile names must never reach a device.
        raise AccertError(
            f"The root file {folder / file} has SHA-256 {actual}, not {pinned} as its profile "
            "pins.",
            "Reinstall accert; the shipped root certificates are not to be edited.",
        )
    sha1 = str(entry.get("sha1", "")).replace(":", "").upper()
    if sha1 and hashlib.sha1(cert.public_bytes(Encoding.DER)).hexdigest().upper() != sha1:
        raise AccertError(
            f"The root file {folder / file} does not have the SHA-1 thumbprint {sha1} its "
            "platform publishes.",
            "Reinstall accert; the shipped root certificates are not to be edited.",
        )
    return PlatformRoot(str(entry["name"]), file, actual, sha1, pem)


def _colon(hex_text: str) -> str:
    plain = hex_text.replace(":", "").strip().upper()
    return ":".join(plain[i : i + 2] for i in range(0, len(plain), 2))
