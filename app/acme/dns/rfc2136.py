"""RFC 2136 dynamic DNS updates signed with TSIG (RFC 8945), through dnspython.

The key file is BIND's format, as `tsig-keygen` or `ddns-confgen` writes it, one key or several:
    key "acme-update" { algorithm hmac-sha256; secret "base64..."; };
The zone is the one the settings name, else the one the server says holds the name (the SOA in
its answer). An _acme-challenge CNAME is followed: the TXT goes to its final target, in the
target's zone (a TSIG key often may update only that small zone).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
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
from app.acme.dns.propagation import Server, cname_target, parse_server
from app.acme.errors import DnsError
from app.acme.settings import TSIG_ALGORITHMS
from app.peer_text import peer_line
from app.redact import register_secret

if TYPE_CHECKING:
    from app.acme.settings import AcmeSettings

TIMEOUT = 10.0
TTL = 60

Key = tuple[dns.name.Name, str, bytes]  # (key name, dnspython's algorithm name, secret)

# Comments as named.conf allows them (#, //, /* */), found only outside quoted strings: a
# base64 secret may hold "//".
_STRING_OR_COMMENT = re.compile(r'"[^"]*"|/\*.*?\*/|//[^\n]*|#[^\n]*', re.DOTALL)
_KEY = re.compile(
    r'(?<![\w.-])key\s+(?:"(?P<quoted>[^"]*)"|(?P<bare>[^"\s{;]+))\s*\{(?P<body>[^{}]*)\}\s*;',
    re.IGNORECASE,
)
_ALG = re.compile(r"(?<![\w-])algorithm\s+\"?(?P<alg>[^\"\s;]+)\"?\s*;", re.IGNORECASE)
_SECRET = re.compile(r'(?<![\w-])secret\s+"(?P<secret>[^"]*)"\s*;', re.IGNORECASE)
# BIND's names (tsig-keygen -a ...), and the RFC 8945 name of HMAC-MD5 some files carry.
_ALGORITHMS = {
    "hmac-sha256": dns.tsig.HMAC_SHA256,
    "hmac-sha384": dns.tsig.HMAC_SHA384,
    "hmac-sha512": dns.tsig.HMAC_SHA512,
    "hmac-sha224": dns.tsig.HMAC_SHA224,
    "hmac-sha1": dns.tsig.HMAC_SHA1,
    "hmac-md5": dns.tsig.HMAC_MD5,
    "hmac-md5.sig-alg.reg.int": dns.tsig.HMAC_MD5,
}


def bind_algorithm(algorithm: str) -> str:
    """BIND's name (hmac-sha256) for dnspython's algorithm name, as the settings record it."""
    wanted = dns.name.from_text(algorithm)
    return next(name for name, alg in _ALGORITHMS.items() if alg == wanted)


def _algorithm(text: str) -> dns.name.Name | None:
    return _ALGORITHMS.get(text.strip().rstrip(".").lower())


def _same_name(a: str, b: str) -> bool:
    return a.strip().rstrip(".").lower() == b.strip().rstrip(".").lower()


def _statements(text: str) -> list[tuple[str, str]]:
    """(name, body) of every `key` statement, comments left out."""
    plain = _STRING_OR_COMMENT.sub(lambda m: m[0] if m[0].startswith('"') else " ", text)
    return [(m["quoted"] or m["bare"] or "", m["body"]) for m in _KEY.finditer(plain)]


def _key_statements(path: Path) -> list[tuple[str, str]]:
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DnsError(
            f"Cannot read the TSIG key file {path}: {getattr(exc, 'strerror', None) or exc}.",
            'Give the file tsig-keygen wrote (key "name" { algorithm ...; secret "..."; };).',
        ) from exc
    keys = _statements(text)
    if not keys:
        raise DnsError(
            f"{path} is not a TSIG key file.",
            'It must read like: key "acme" { algorithm hmac-sha256; secret "..."; }; '
            "(tsig-keygen acme > acme.key writes one).",
        )
    return keys


def key_names(path: Path) -> list[str]:
    """The names of the keys in a BIND key file, in its order (the wizard asks which)."""
    return [name for name, _ in _key_statements(path)]


def read_key_file(path: Path, name: str | None = None) -> Key:
    """The key `name` from a BIND key file (tsig-keygen's or ddns-confgen's output, or several
    keys one after the other); without a name, the file's only key."""
    keys = _key_statements(path)
    names = ", ".join(peer_line(n) for n, _ in keys)
    if name:
        chosen = [(n, body) for n, body in keys if _same_name(n, name)]
        if not chosen:
            raise DnsError(
                f"The TSIG key file {path} holds no key named {peer_line(name)} "
                f"(it holds {names}).",
                "Give one of those names (--tsig-key NAME), or the file that holds that key.",
            )
        keys = chosen[:1]
    elif len(keys) > 1:
        raise DnsError(
            f"The TSIG key file {path} holds {len(keys)} keys ({names}): which one is not said.",
            "Name the one the DNS server allows to update the zone: --tsig-key NAME (the "
            "wizard asks which).",
        )
    return _checked_key(path, *keys[0])


def _checked_key(path: Path, name: str, body: str) -> Key:
    shown = f"TSIG key {peer_line(name)} in {path}"
    try:
        key_name = dns.name.from_text(name)
    except dns.exception.DNSException as exc:
        raise DnsError(
            f"The {shown} has a name that is not a DNS name ({type(exc).__name__}).",
            "Name keys as tsig-keygen does: letters, digits, dots and hyphens.",
        ) from exc
    alg, secret = _ALG.search(body), _SECRET.search(body)
    if alg is None:
        raise DnsError(
            f"The {shown} has no algorithm.", "Add the line BIND has: algorithm hmac-sha256;"
        )
    if secret is None:
        raise DnsError(f"The {shown} has no secret.", 'Add the line BIND has: secret "base64...";')
    algorithm = _algorithm(alg["alg"])
    if algorithm is None:
        raise DnsError(
            f"The {shown} uses an algorithm accert does not know ({peer_line(alg['alg'])}).",
            f"Use one of {', '.join(TSIG_ALGORITHMS)} (tsig-keygen -a hmac-sha256 NAME).",
        )
    register_secret(secret["secret"])
    try:
        raw = base64.b64decode(secret["secret"], validate=True)
        if not raw:
            raise ValueError("empty")
    except (binascii.Error, ValueError) as exc:
        raise DnsError(
            f"The secret of the {shown} is not base64.",
            "Copy the key file again as tsig-keygen wrote it: the secret is the text between "
            'the quotes after secret "...".',
        ) from exc
    return key_name, str(algorithm), raw


def named_key(name: str, algorithm: str, secret: str) -> Key:
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
    except dns.exception.DNSException as exc:
        raise DnsError(
            f"{peer_line(name)!r} is not a TSIG key name.",
            'Give the name from the key file: key "name" { ... };',
        ) from exc
    alg = _algorithm(algorithm)
    if alg is None:
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


def keep_secret(settings: AcmeSettings) -> bool:
    """After an order that worked with the settings' key file: the credential store keeps that
    key's secret where the wizard keeps its (by server and key name), so `accert renew` still has
    it once the file is gone, the latest one if the administrator changed it. False when there is
    no store, or no key file to read."""
    key_file, name = Path(settings.tsig_key_file), settings.tsig_key_name
    if not (settings.tsig_key_file and name and key_file.exists()):
        return False
    secret = base64.b64encode(read_key_file(key_file, name)[2]).decode("ascii")
    return remember_secret(settings.rfc2136_server, name, secret)


class Rfc2136Publisher:
    def __init__(
        self,
        server: str,
        key: Key,
        zone: str = "",
        resolvers: Sequence[str] = (),
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.server: Server = parse_server(server)
        # Where an _acme-challenge CNAME is followed: the resolvers the user named, else the
        # system's (the CNAME lives in the name's own DNS, not necessarily on this server).
        self.resolvers = [parse_server(r) for r in resolvers]
        self.say = progress or (lambda _message: None)
        self.targets: dict[str, str] = {}  # _acme-challenge name -> the name that holds its TXT
        self.placed: dict[TxtRecord, tuple[dns.name.Name, dns.name.Name]] = {}  # -> owner, zone
        self.said: set[str] = set()
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
    def for_settings(
        cls,
        settings: AcmeSettings,
        secret: str | None,
        progress: Callable[[str], None] | None = None,
    ) -> Rfc2136Publisher:
        """The key the settings name: from their key file while it is there (the file the DNS
        administrator keeps current), else with `secret`, else with the secret the credential
        store keeps for this server and key (the wizard, and `accert acme` once its key file is
        gone)."""
        key_file = Path(settings.tsig_key_file) if settings.tsig_key_file else None
        name = settings.tsig_key_name
        if key_file is not None and (not name or key_file.exists()):
            key = read_key_file(key_file, name or None)
        else:
            secret = secret or remembered_secret(settings.rfc2136_server, name)
            if not secret:
                server = peer_line(settings.rfc2136_server)
                if key_file is not None:
                    raise DnsError(
                        f"The TSIG key file {key_file} is gone, and the credential store has no "
                        f"secret of key {peer_line(name)} for {server}.",
                        f"Give the key file again: accert acme ... --tsig-key-file FILE "
                        f"--tsig-key {peer_line(name)}.",
                    )
                raise DnsError(
                    f"The secret of TSIG key {peer_line(name)} for {server} is not in the "
                    "credential store.",
                    "Open the ACME dialog in the wizard and enter the TSIG secret again.",
                )
            key = named_key(name, settings.tsig_algorithm, secret)
        return cls(
            settings.rfc2136_server, key, settings.rfc2136_zone, settings.resolvers, progress
        )

    def check_names(self, names: Iterable[str]) -> None:
        """Before any order: every _acme-challenge record (or its CNAME's target) lies in the
        zone the settings name, and no CNAME loops."""
        for name in names:
            self.target_of("_acme-challenge." + name.removeprefix("*."))

    def target_of(self, record: str) -> str:
        """Where the TXT for `record` goes: its CNAME's final target when it is one (the TSIG key
        often may update only that small zone), as lego does; else the record itself."""
        if record not in self.targets:
            target = cname_target(record, self.resolvers) or record
            if target != record and self.zone is not None:
                try:
                    inside = dns.name.from_text(target).is_subdomain(self.zone)
                except dns.exception.DNSException:
                    inside = False
                if not inside:
                    zone = self.zone.to_text(omit_final_dot=True)
                    raise DnsError(
                        f"{peer_line(record)} is a CNAME to {peer_line(target)}, which is "
                        f"outside the zone {peer_line(zone)}: an update to that zone cannot "
                        "create it.",
                        f"Give the zone that holds {peer_line(target)} (or no zone: the "
                        "server's SOA answer then says which).",
                    )
            self._check_in_zone(target)
            self.targets[record] = target
        return self.targets[record]

    def _check_in_zone(self, record: str) -> None:
        if self.zone is None:
            return
        try:
            inside = dns.name.from_text(record).is_subdomain(self.zone)
        except dns.exception.DNSException:
            return  # not a DNS name: the CA says so in its own words
        if not inside:
            zone = self.zone.to_text(omit_final_dot=True)
            raise DnsError(
                f"The TXT record {peer_line(record)} is outside the zone {peer_line(zone)}: "
                "an update to that zone cannot create it.",
                f"Give the zone that holds {peer_line(record.removeprefix('_acme-challenge.'))} "
                "(or no zone: the server's SOA answer then says which).",
            )

    def zone_of(self, name: str) -> dns.name.Name:
        if self.zone is not None:
            self._check_in_zone(name)
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
        rcode = response.rcode()
        if rcode != dns.rcode.NOERROR and rcode != dns.rcode.NXDOMAIN:
            raise DnsError(
                f"The DNS server {self.server} did not say which zone holds {name} "
                f"({dns.rcode.to_text(rcode)}).",
                "A primary that answers only some queries (hidden primary, split horizon) needs "
                "the zone given: --zone ZONE (the Zone field in the wizard).",
            )
        raise DnsError(
            f"The DNS server {self.server} is not authoritative for {name}.",
            "Give the primary server of the zone that holds the name, or the zone itself "
            "(--zone ZONE; the Zone field in the wizard).",
        )

    def _send(self, record: TxtRecord, add: bool) -> None:
        placed = self.placed.get(record)
        if placed is None:
            target = self.target_of(record.name)
            placed = dns.name.from_text(target), self.zone_of(target)
            if add and target != record.name and record.name not in self.said:
                self.said.add(record.name)  # once, though a name and its wildcard share it
                self.say(
                    f"{peer_line(record.name)} is a CNAME to {peer_line(target)}; updating "
                    f"{peer_line(target)} in zone "
                    f"{peer_line(placed[1].to_text(omit_final_dot=True))}"
                )
        owner, zone = placed  # the cleanup removes exactly what was added, where it was added
        update = dns.update.UpdateMessage(
            zone, keyring=self.keyring, keyname=self.key_name, keyalgorithm=self.algorithm
        )
        rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, f'"{record.value}"')
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
            shown = zone.to_text(omit_final_dot=True)
            hint = (
                f"Allow updates for key {self.key_label} in the zone's configuration "
                "(BIND: update-policy or allow-update { key ...; };)."
            )
            if rcode in (dns.rcode.NOTAUTH, dns.rcode.NOTZONE):
                hint = (
                    f"{self.server} is not the primary of a zone {shown}: give the zone that "
                    "holds the name (--zone; the Zone field in the wizard), or leave it out, "
                    "and the primary server of that zone."
                )
            raise DnsError(
                f"The DNS server {self.server} refused to {what} TXT "
                f"{peer_line(owner.to_text(omit_final_dot=True))} in zone "
                f"{shown} ({dns.rcode.to_text(rcode)}).",
                hint,
            )
        if add:
            self.placed[record] = placed
        else:
            self.placed.pop(record, None)

    def present(self, record: TxtRecord) -> None:
        self._send(record, add=True)

    def cleanup(self, record: TxtRecord) -> None:
        self._send(record, add=False)
