"""Is the TXT record there yet? Asked of the zone's authoritative servers (or given resolvers).

Public resolvers cache a missing record for the zone's negative TTL; the CA asks the
authoritative servers, so those are what we check, every 2 s, until each answers every value.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rdatatype
import dns.resolver

from app.acme.dns import TxtRecord
from app.acme.errors import AcmeCancelled, DnsError
from app.peer_text import peer_line

INTERVAL = 2.0
QUERY_TIMEOUT = 3.0
MAX_CNAME_HOPS = 8  # as resolvers cap a chain; more is a mistake


@dataclass(frozen=True)
class Server:
    address: str
    port: int = 53
    label: str = ""
    recursive: bool = False  # a resolver the user named may recurse; an NS answers for itself

    def __str__(self) -> str:
        where = self.address if self.port == 53 else f"{self.address}:{self.port}"
        return f"{self.label} ({where})" if self.label and self.label != self.address else where


def parse_server(text: str, default_port: int = 53) -> Server:
    """HOST, HOST:PORT, [v6]:PORT or a bare IPv6 address."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, ""
    try:
        number = int(port) if port else default_port
        if not 0 < number < 65536:
            raise ValueError
    except ValueError:
        raise DnsError(
            f"{text!r} is not HOST[:PORT].", "E.g. 192.0.2.53 or ns1.example.com:53."
        ) from None
    address = _address_of(host)
    return Server(address, number, host, recursive=True)


def _address_of(host: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        answer = dns.resolver.resolve(host, "A", lifetime=QUERY_TIMEOUT * 2)
        return str(next(iter(answer)))
    except (dns.exception.DNSException, StopIteration) as exc:
        raise DnsError(
            f"The DNS server name {host} does not resolve ({type(exc).__name__}).",
            "Give its IP address instead.",
        ) from exc


def authoritative_servers(name: str) -> list[Server]:
    """The name servers of the zone holding `name`, found through the system's resolver."""
    try:
        zone = dns.resolver.zone_for_name(name, lifetime=QUERY_TIMEOUT * 3)
        ns = dns.resolver.resolve(zone, "NS", lifetime=QUERY_TIMEOUT * 3)
    except dns.exception.DNSException as exc:
        raise DnsError(
            f"The name servers of the zone holding {name} cannot be found ({type(exc).__name__}).",
            "Pass the servers to check with --dns-resolver HOST (e.g. your internal DNS).",
        ) from exc
    servers: list[Server] = []
    for rdata in ns:
        host = str(rdata.target).rstrip(".")
        try:
            servers.append(Server(_address_of(host), 53, host))
        except DnsError:
            continue  # one unresolvable NS is the zone's problem, not ours; others decide
    if not servers:
        raise DnsError(
            f"No name server of the zone {zone} resolves to an address.",
            "Pass the servers to check with --dns-resolver HOST.",
        )
    return servers


def cname_target(name: str, servers: Sequence[Server] = ()) -> str | None:
    """Where `name` finally points when it is a CNAME (a delegated _acme-challenge, perhaps
    through several), as CAs follow it; None when it is no CNAME. Asked of `servers` (the
    resolvers the user named) when given, else of the system's resolver."""
    chain = [name]
    while True:
        target = _cname_of(chain[-1], servers)
        if target is None:
            return chain[-1] if len(chain) > 1 else None
        looped = any(target.lower() == seen.lower() for seen in chain)
        chain.append(target)
        if looped or len(chain) > MAX_CNAME_HOPS + 1:
            shown = " -> ".join(peer_line(n) for n in chain)
            raise DnsError(
                f"The CNAME {peer_line(name)} "
                + ("loops" if looped else f"goes through more than {MAX_CNAME_HOPS} names")
                + f": {shown}.",
                "Point the CNAME at the name that is to hold the TXT record (a name with no "
                "CNAME of its own); the CA could not follow it either.",
            )


def _cname_of(name: str, servers: Sequence[Server]) -> str | None:
    """The target of `name`'s own CNAME record (one step), or None."""
    if not servers:
        try:
            answer = dns.resolver.resolve(name, "CNAME", lifetime=QUERY_TIMEOUT * 2)
        except dns.exception.DNSException:
            return None  # no CNAME (or no answer): the record lives at the name itself
        return next((str(r.target).rstrip(".") for r in answer), None)
    query = dns.message.make_query(name, dns.rdatatype.CNAME)
    for server in servers:
        try:
            response = dns.query.udp(query, server.address, timeout=QUERY_TIMEOUT, port=server.port)
        except (dns.exception.DNSException, OSError):
            continue  # the next one may answer
        owner = dns.name.from_text(name)
        for rrset in response.answer:
            if rrset.rdtype == dns.rdatatype.CNAME and rrset.name == owner:
                return next((str(r.target).rstrip(".") for r in rrset), None)
        return None  # it answered, with no CNAME at the name
    return None


def txt_values(name: str, server: Server) -> set[str] | None:
    """The TXT strings at `name` on `server`; None when it does not answer."""
    query = dns.message.make_query(name, dns.rdatatype.TXT)
    if not server.recursive:
        query.flags &= ~dns.flags.RD  # ask what this server holds, not what it can find
    try:
        response = dns.query.udp(query, server.address, timeout=QUERY_TIMEOUT, port=server.port)
        if response.flags & dns.flags.TC:
            response = dns.query.tcp(query, server.address, timeout=QUERY_TIMEOUT, port=server.port)
    except (dns.exception.DNSException, OSError):
        return None
    values: set[str] = set()
    for rrset in response.answer:
        if rrset.rdtype == dns.rdatatype.TXT:
            for rdata in rrset:
                values.add(b"".join(rdata.strings).decode("ascii", "replace"))
    return values


def wait_visible(
    records: Iterable[TxtRecord],
    servers_for: Callable[[str], tuple[str, list[Server]]],
    timeout: float,
    *,
    progress: Callable[[str], None],
    cancelled: Callable[[], bool],
    interval: float = INTERVAL,
) -> None:
    """Until every server answers every value of every record; else name what is missing.

    `servers_for(name)` gives the name to ask (a CNAME's target) and the servers to ask."""
    by_name: dict[str, set[str]] = {}
    for record in records:
        by_name.setdefault(record.name, set()).add(record.value)
    where = {name: servers_for(name) for name in by_name}
    servers = {name: found for name, (_, found) in where.items()}
    deadline = time.monotonic() + timeout
    last_line = ""
    while True:
        missing: list[tuple[str, str, Server]] = []
        seen_all = 0
        total = 0
        for name, wanted in by_name.items():
            for server in servers[name]:
                total += 1
                have = txt_values(where[name][0], server) or set()
                lacking = sorted(wanted - have)
                if lacking:
                    missing.extend((name, value, server) for value in lacking)
                else:
                    seen_all += 1
        if not missing:
            progress(f"TXT records visible at {seen_all} of {total} name servers")
            return
        name0 = missing[0][0]
        count = len(servers[name0])
        ok = count - len({s for n, _, s in missing if n == name0})
        line = (
            f"Waiting for TXT {name0}: visible at {ok} of {count} name server{'s' * (count != 1)}"
        )
        if line != last_line:
            progress(line)
            last_line = line
        if time.monotonic() >= deadline:
            name, value, server = missing[0]
            raise DnsError(
                f'The TXT record {name} = "{value}" was not visible at {server} '
                f"within {timeout:g} s.",
                "Check that the record was created in the zone this server serves (the hook or "
                "the DNS console), or allow more time with --propagation-timeout. The CA was "
                "not asked to validate; nothing was imported.",
            )
        step = min(interval, max(0.0, deadline - time.monotonic()))
        end = time.monotonic() + step
        while time.monotonic() < end:
            if cancelled():
                raise AcmeCancelled("Stopped while waiting for DNS.", "Nothing was imported.")
            time.sleep(min(0.2, max(0.0, end - time.monotonic())))


def describe(servers: list[Server]) -> str:
    return ", ".join(peer_line(str(s)) for s in servers)
