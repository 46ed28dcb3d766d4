"""RFC 2136 dynamic DNS updates signed with TSIG (RFC 8945), through dnspython.

The key file is BIND's format, as `tsig-keygen` writes it:
    key "acme-update" { algorithm hmac-sha256; secret "base64..."; };
The zone is the one the server says holds the name (the SOA in its answer).
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path

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
from app.acme.errors import DnsError, peer

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
            f"({peer(alg.group('alg'))}).",
            "Use hmac-sha256 and the secret as tsig-keygen wrote it.",
        ) from exc
    return dns.name.from_text(match.group("name")), str(algorithm), raw


class Rfc2136Publisher:
    def __init__(self, server: str, key_file: str) -> None:
        self.server: Server = parse_server(server)
        self.key_name, self.algorithm, secret = read_key_file(Path(key_file))
        self.key_label = self.key_name.to_text(omit_final_dot=True)
        self.keyring = {self.key_name: dns.tsig.Key(self.key_name, secret, self.algorithm)}

    def zone_of(self, name: str) -> dns.name.Name:
        query = dns.message.make_query(name, dns.rdatatype.SOA)
        try:
            response = dns.query.tcp(
                query, self.server.address, timeout=TIMEOUT, port=self.server.port
            )
        except (dns.exception.DNSException, OSError) as exc:
            raise DnsError(
                f"The DNS server {self.server} does not answer ({type(exc).__name__}).",
                "Check the address and port given with --dns-rfc2136, and the firewall (TCP 53).",
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
