"""RFC 2136 dynamic DNS updates signed with TSIG (RFC 8945), through dnspython.

The key file is BIND's format, as `tsig-keygen` writes it:
    key "acme-update" { algorithm hmac-sha256; secret "base64..."; };
The zone is the one the server says holds the name (the SOA in its answer).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update

from app.acme.dns import TxtRecord
from app.acme.dns.propagation import Server, parse_server
from app.acme.errors import DnsError
from app.peer_text import peer_line

if TYPE_CHECKING:
    from app.acme.settings import AcmeSettings

TIMEOUT = 10.0
TTL = 60

_KEY = re.compile(
    r'key\s+"?(?P<name>[^"\s{]+)"?\s*\{(?P<body>.*?)\}\s*;', re.DOTALL | re.IGNORECASE
)
_ALG = re.compile(r"algorithm\s+\"?(?P<alg>[A-Za-z0-9.-]+)\"?\s*;", re.IGNORECASE)
_ALGORITHMS = {
    dns.tsig.HMAC_SHA256,
    dns.tsig.HMAC_SHA384,
    dns.tsig.HMAC_SHA512,
    dns.tsig.HMAC_SHA224,
    dns.tsig.HMAC_SHA1,
    dns.tsig.HMAC_MD5,
}
_SECRET = re.compile(r'secret\s+"(?P<secret>[^"]+)"\s*;', re.IGNORECASE)


def read_key_file(path: Path) -> tuple[dns.name.Name, str, bytes]:
    """(key name, algorithm, secret) from a BIND key file."""
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DnsError(
            f"Cannot read the TSIG key file {path}: {getattr(exc, 'strerror', None) or exc}.",
            'Give the file tsig-keygen wrote (key "name" { algorithm ...; secret "..."; };).',
        ) from exc
    match = _KEY.search(text)
    alg = _ALG.search(match.group("body")) if match else None
    secret = _SECRET.search(match.group("body")) if match else None
    if not (match and alg and secret):
        raise DnsError(
            f"{path} is not a TSIG key file.",
            'It must read like: key "acme" { algorithm hmac-sha256; secret "..."; }; '
            "(tsig-keygen acme > acme.key writes one).",
        )
    try:
        raw = base64.b64decode(secret.group("secret"), validate=True)
        algorithm = dns.name.from_text(alg.group("alg"))
        if algorithm not in _ALGORITHMS:
            raise ValueError(algorithm)
    except (binascii.Error, ValueError, dns.exception.DNSException) as exc:
        raise DnsError(
            f"The TSIG key in {path} has an unreadable secret or unknown algorithm "
            f"({peer_line(alg.group('alg'))}).",
            "Use hmac-sha256 and the secret as tsig-keygen wrote it.",
        ) from exc
    return dns.name.from_text(match.group("name")), str(algorithm), raw


def named_key(name: str, algorithm: str, secret: str) -> tuple[dns.name.Name, str, bytes]:
    """(key name, algorithm, secret) from what a person typed: the secret base64 as
    tsig-keygen prints it, the algorithm as BIND names it (hmac-sha256)."""
    try:
        raw = base64.b64decode(secret.strip(), validate=True)
        if not raw:
            raise ValueError("empty")
    except (binascii.Error, ValueError) as exc:
        raise DnsError(
            f"The TSIG secret of key {peer_line(name)} is not base64.",
            'Copy it from the key file: the text between the quotes after secret "...".',
        ) from exc
    try:
        key_name = dns.name.from_text(name.strip())
        alg = dns.name.from_text(algorithm)
    except dns.exception.DNSException as exc:
        raise DnsError(
            f"{peer_line(name)!r} is not a TSIG key name.",
            'Give the name from the key file: key "name" { ... };',
        ) from exc
    if alg not in _ALGORITHMS:
        raise DnsError(f"Unknown TSIG algorithm {peer_line(algorithm)}.", "Use hmac-sha256.")
    return key_name, str(alg), raw


def _secret_account(server: str, key_name: str) -> str:
    digest = hashlib.sha256(f"{server.strip()}\n{key_name.strip().lower()}".encode())
    return f"acme-tsig:{digest.hexdigest()[:20]}"


def remember_secret(server: str, key_name: str, secret: str) -> bool:
    """Keep a TSIG secret in the OS credential store (never a file); False when there is none."""
    from app import passwords

    if not (key_name and secret and passwords.keyring_available()):
        return False
    passwords.store_secret(_secret_account(server, key_name), secret.strip())
    return True


def remembered_secret(server: str, key_name: str) -> str | None:
    from app import passwords

    return passwords.load_secret(_secret_account(server, key_name)) if key_name else None


class Rfc2136Publisher:
    def __init__(
        self,
        server: str,
        key: tuple[dns.name.Name, str, bytes],
        zone: str = "",
    ) -> None:
        self.server: Server = parse_server(server)
        self.key_name, self.algorithm, secret = key
        self.key_label = self.key_name.to_text(omit_final_dot=True)
        self.keyring = {self.key_name: dns.tsig.Key(self.key_name, secret, self.algorithm)}
        try:
            self.zone = dns.name.from_text(zone.strip()) if zone.strip() else None
        except dns.exception.DNSException as exc:
            raise DnsError(
                f"{peer_line(zone)!r} is not a DNS zone name ({type(exc).__name__}).",
                "Give the zone as the server knows it, e.g. example.com, or leave it empty.",
            ) from exc

    @classmethod
    def for_settings(cls, settings: AcmeSettings, secret: str | None) -> Rfc2136Publisher:
        """The key file the settings name, or the named key with `secret` (else the one the
        credential store keeps for this server and key)."""
        if settings.tsig_key_file:
            key = read_key_file(Path(settings.tsig_key_file))
        else:
            secret = secret or remembered_secret(settings.rfc2136_server, settings.tsig_key_name)
            if not secret:
                raise DnsError(
                    f"The secret of TSIG key {peer_line(settings.tsig_key_name)} for "
                    f"{peer_line(settings.rfc2136_server)} is not in the credential store.",
                    "Open the ACME dialog in the wizard and enter the TSIG secret again.",
                )
            key = named_key(settings.tsig_key_name, settings.tsig_algorithm, secret)
        return cls(settings.rfc2136_server, key, settings.rfc2136_zone)

    def zone_of(self, name: str) -> dns.name.Name:
        if self.zone is not None:
            return self.zone
        query = dns.message.make_query(name, dns.rdatatype.SOA)
        try:
            response = dns.query.tcp(
                query, self.server.address, timeout=TIMEOUT, port=self.server.port
            )
        except (dns.exception.DNSException, OSError) as exc:
            raise DnsError(
                f"The DNS server {self.server} does not answer ({type(exc).__name__}).",
                "Check the DNS server's address and port, and the firewall (TCP 53).",
            ) from exc
        for rrset in (*response.answer, *response.authority):
            if rrset.rdtype == dns.rdatatype.SOA:
                return rrset.name
        raise DnsError(
            f"The DNS server {self.server} is not authoritative for {name}.",
            "Give the primary server of the zone that holds the name.",
        )

    def _send(self, record: TxtRecord, add: bool) -> None:
        zone = self.zone_of(record.name)
        update = dns.update.UpdateMessage(
            zone, keyring=self.keyring, keyname=self.key_name, keyalgorithm=self.algorithm
        )
        rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, f'"{record.value}"')
        owner = dns.name.from_text(record.name)
        if add:
            update.add(owner, TTL, rdata)
        else:
            update.delete(owner, rdata)
        try:
            response = dns.query.tcp(
                update, self.server.address, timeout=TIMEOUT, port=self.server.port
            )
        except dns.tsig.PeerError as exc:
            raise DnsError(
                f"The DNS server {self.server} rejected the TSIG key {self.key_label} "
                f"({type(exc).__name__}).",
                "Check the key name, algorithm and secret against the server's configuration, "
                "and that both clocks are right (TSIG allows 5 minutes).",
            ) from exc
        except (dns.exception.DNSException, OSError) as exc:
            raise DnsError(
                f"The dynamic update to {self.server} failed ({type(exc).__name__}).",
                "Check the server address and that it accepts updates over TCP.",
            ) from exc
        rcode = response.rcode()
        if rcode != dns.rcode.NOERROR:
            what = "add" if add else "remove"
            raise DnsError(
                f"The DNS server {self.server} refused to {what} TXT {record.name} in zone "
                f"{zone} ({dns.rcode.to_text(rcode)}).",
                f"Allow updates for key {self.key_label} in the zone's configuration "
                "(BIND: update-policy or allow-update { key ...; };).",
            )

    def present(self, record: TxtRecord) -> None:
        self._send(record, add=True)

    def cleanup(self, record: TxtRecord) -> None:
        self._send(record, add=False)
