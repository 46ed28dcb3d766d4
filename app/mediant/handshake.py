"""A handshake that reads the served chain, with a deadline that works with pyOpenSSL.

app.tls_probe.fetch_served_chain puts a timeout on the socket, which pyOpenSSL treats as a
non-blocking socket: do_handshake() then raises WantReadError as soon as the peer is not
instant. Until that is fixed there, this loop waits for the socket with select().
"""

from __future__ import annotations

import contextlib
import ipaddress
import select
import socket
import time

from OpenSSL import SSL

from app.tls_probe import ProbeError, ServedChain


def served_chain(host: str, port: int, *, timeout: float = 10.0) -> ServedChain:
    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    # Not verified on purpose: callers compare fingerprints, a stronger check for a pin.
    ctx.set_verify(SSL.VERIFY_NONE, lambda *_: True)
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise ProbeError(
            f"Cannot connect to {host}:{port}: {exc.strerror or exc}.",
            "Check the host name, the port and that a firewall lets you through.",
        ) from exc
    raw.setblocking(False)
    conn = SSL.Connection(ctx, raw)
    try:
        if not _is_ip(host):
            conn.set_tlsext_host_name(host.encode("idna"))
        conn.set_connect_state()
        deadline = time.monotonic() + timeout
        while True:
            try:
                conn.do_handshake()
                break
            except SSL.WantReadError:
                _wait(raw, deadline, read=True, where=f"{host}:{port}")
            except SSL.WantWriteError:
                _wait(raw, deadline, read=False, where=f"{host}:{port}")
            except (SSL.Error, OSError) as exc:
                raise ProbeError(
                    f"TLS handshake with {host}:{port} failed: {exc or type(exc).__name__}.",
                    "Is this a TLS port? HTTPS is usually 443, SIP-TLS 5061.",
                ) from exc
        chain = tuple(c.to_cryptography() for c in conn.get_peer_cert_chain() or [])
        if not chain:
            raise ProbeError(f"{host}:{port} presented no certificate.", "")
        return ServedChain(host, port, chain, conn.get_protocol_version_name())
    finally:
        with contextlib.suppress(SSL.Error, OSError):
            conn.shutdown()
        raw.close()


def _wait(raw: socket.socket, deadline: float, *, read: bool, where: str) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise ProbeError(f"TLS handshake with {where} timed out.", "Is the port open and TLS?")
    r, w, _ = select.select([raw] if read else [], [] if read else [raw], [], remaining)
    if not r and not w:
        raise ProbeError(f"TLS handshake with {where} timed out.", "Is the port open and TLS?")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
