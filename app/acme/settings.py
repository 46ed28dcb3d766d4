"""How a certificate is asked of an ACME CA: the choices renewal.json records (never the HMAC)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any
from urllib.parse import urlsplit

from app.errors import InputError

DNS_METHODS = ("hook", "manual", "rfc2136")
# TSIG algorithms offered (RFC 8945; HMAC-MD5 is left out: BIND calls it deprecated).
TSIG_ALGORITHMS = ("hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1")
DEFAULT_PROPAGATION_TIMEOUT = 300.0


@dataclass(frozen=True)
class AcmeSettings:
    directory: str
    eab_kid: str = ""
    email: str = ""
    dns_method: str = "hook"  # "hook" | "manual" | "rfc2136"
    dns_hook: str = ""  # the command: lego's exec convention (present/cleanup FQDN. VALUE)
    rfc2136_server: str = ""  # HOST[:PORT] of the primary that takes dynamic updates
    tsig_key_file: str = ""  # BIND key file (key "name" { algorithm ...; secret "..."; };)
    # The key by name: the wizard's, whose secret is in the credential store, never here; with
    # a key file, the key in it (accert acme keeps its secret in the store too, for when the
    # file is gone). An empty name with a key file: its only key.
    tsig_key_name: str = ""
    tsig_algorithm: str = ""
    rfc2136_zone: str = ""  # the zone to update; empty: the one the server's SOA answer names
    resolvers: tuple[str, ...] = ()  # HOST[:PORT] to check propagation; default: the zone's NS
    propagation_timeout: float = DEFAULT_PROPAGATION_TIMEOUT
    ca_bundle: str = ""  # PEM file that verifies the CA's HTTPS; default: the system store
    preferred_chain: str = ""  # issuer CN of the chain's top certificate, as certbot does

    def __post_init__(self) -> None:
        validate(self)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["resolvers"] = list(self.resolvers)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AcmeSettings:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "resolvers" in values:
            values["resolvers"] = tuple(values["resolvers"] or ())
        if "propagation_timeout" in values:
            values["propagation_timeout"] = float(values["propagation_timeout"])
        return cls(**values)


def validate(s: AcmeSettings) -> None:
    parts = urlsplit(s.directory)
    if parts.scheme != "https" or not parts.hostname:
        raise InputError(
            f"The ACME directory must be an https:// URL (got {s.directory!r}).",
            "Copy the directory URL from your CA's ACME documentation, e.g. "
            "https://acme-v02.api.letsencrypt.org/directory.",
        )
    if s.dns_method not in DNS_METHODS:
        raise InputError(
            f"Unknown DNS method {s.dns_method!r}.", "Use a hook, manual or RFC 2136 updates."
        )
    if s.dns_method == "hook" and not s.dns_hook.strip():
        raise InputError(
            "The DNS hook command is empty.",
            "Give the script that creates the TXT record (see README, ACME).",
        )
    if s.dns_method == "rfc2136":
        _validate_rfc2136(s)
    if not 0 < s.propagation_timeout <= 86400:
        raise InputError(
            f"The propagation timeout must be between 1 and 86400 seconds "
            f"(got {s.propagation_timeout:g}).",
            "The default, 300 s, suits most DNS providers.",
        )


def _validate_rfc2136(s: AcmeSettings) -> None:
    if not s.rfc2136_server.strip():
        raise InputError(
            "RFC 2136 updates need the DNS server that takes them.",
            "Give the zone's primary server as HOST or HOST:PORT (--dns-rfc2136 SERVER).",
        )
    if not (s.tsig_key_file or s.tsig_key_name.strip()):
        raise InputError(
            "RFC 2136 updates need a TSIG key.",
            "Give the key's name and secret as the DNS administrator set them up "
            "(--tsig-key-file FILE on the command line).",
        )
    # A key file may hold an HMAC-MD5 key (BIND still makes them); the wizard offers none.
    known = (*TSIG_ALGORITHMS, "hmac-md5") if s.tsig_key_file else TSIG_ALGORITHMS
    if s.tsig_key_name and s.tsig_algorithm not in known:
        raise InputError(
            f"Unknown TSIG algorithm {s.tsig_algorithm!r}.",
            f"Use one the server is set up with: {', '.join(TSIG_ALGORITHMS)}.",
        )
    zone = s.rfc2136_zone.strip()
    if zone and (" " in zone or "/" in zone or ".." in zone):
        raise InputError(
            f"{zone!r} is not a DNS zone.",
            "Give the zone as the server knows it, e.g. example.com, or leave it empty.",
        )


LAST_USED_FILE = "acme-last.json"


def remember(settings: AcmeSettings) -> None:
    """The wizard offers the last CA and DNS method again (no secret is in the settings)."""
    from app.atomic import atomic_write_text
    from app.paths import config_dir

    atomic_write_text(config_dir() / LAST_USED_FILE, json.dumps(settings.to_dict(), indent=2))


def last_used() -> AcmeSettings | None:
    from app.paths import config_dir

    try:
        data = json.loads((config_dir() / LAST_USED_FILE).read_text("utf-8"))
        return AcmeSettings.from_dict(data)
    except (OSError, ValueError, TypeError, InputError):
        return None  # nothing remembered, or from an older version: start from the presets
