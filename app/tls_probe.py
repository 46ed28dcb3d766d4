"""Ask a server which certificate chain it serves, by a real TLS handshake."""

from __future__ import annotations

import functools
import select
import socket
import time
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL

from app.errors import AccertError
from app.fingerprints import cert_sha256
from app.names import is_ip


class ProbeError(AccertError):
    """No TLS handshake could be made with the server."""


@dataclass(frozen=True)
class ServedChain:
    host: str
    port: int
    chain: tuple[x509.Certificate, ...]  # as sent, leaf first
    protocol: str

    @property
    def leaf(self) -> x509.Certificate:
        return self.chain[0]

    @property
    def leaf_sha256(self) -> str:
        return cert_sha256(self.leaf)

    def chain_pem(self) -> bytes:
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.chain)


@functools.cache
def _client_context() -> SSL.Context:
    """One context for every probe: making one costs about a millisecond of CPU (an estate
    scan makes hundreds of handshakes); OpenSSL lets connections share it across threads."""
    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    ctx.set_verify(SSL.VERIFY_NONE, lambda *_: True)
    return ctx


def fetch_served_chain(
    host: str, port: int, *, timeout: float = 10.0, server_name: str | None = None
) -> ServedChain:
    """Handshake with host:port and return the certificates it presents.

    The peer is deliberately not verified here: this reads what is served so the caller
    can compare it with what it expects (by fingerprint), which is a stronger check.
    """
    ctx = _client_context()
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise ProbeError(
            f"Cannot connect to {host}:{port}: {exc.strerror or exc}.",
            "Check the host name, the port and that a firewall lets you through.",
        ) from exc
    conn = SSL.Connection(ctx, raw)
    try:
        sni = server_name or host
        if not is_ip(sni):
            conn.set_tlsext_host_name(sni.encode("idna"))
        conn.set_connect_state()
        _handshake(conn, raw, host, port, timeout)
        peer = conn.get_peer_cert_chain() or []
        chain = tuple(c.to_cryptography() for c in peer)
        if not chain:
            leaf = conn.get_peer_certificate()
            if leaf is None:
                raise ProbeError(f"{host}:{port} presented no certificate.", "")
            chain = (leaf.to_cryptography(),)
        return ServedChain(host, port, chain, conn.get_protocol_version_name())
    finally:
        try:
            conn.shutdown()
        except SSL.Error:
            pass
        except OSError:
            pass
        raw.close()


def _handshake(
    conn: SSL.Connection, raw: socket.socket, host: str, port: int, timeout: float
) -> None:
    """Handshake with a deadline. pyOpenSSL cannot use socket timeouts (it then sees a
    non-blocking socket and raises WantRead), so wait with select() between attempts."""
    raw.setblocking(False)
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn.do_handshake()
            return
        except SSL.WantReadError:
            wait_read = True
        except SSL.WantWriteError:
            wait_read = False
        except (SSL.Error, OSError) as exc:
            raise _handshake_failure(exc, host, port) from exc
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ProbeError(
                f"{host}:{port} accepted the connection but did not complete a TLS handshake "
                f"within {timeout:g} s.",
                "Is this a TLS port? A device busy restarting may need a minute more.",
            )
        readable, writable, _ = select.select(
            [raw] if wait_read else [], [] if wait_read else [raw], [], remaining
        )
        del readable, writable


# OpenSSL's reasons when the first bytes back are not a TLS record: a plain-HTTP listener
# ("HTTP/1.1 400 ..."), SSH's banner, a SIP-over-TCP port.
_NOT_TLS = ("wrong version number", "packet length too long", "unknown protocol", "record layer")


def _handshake_failure(exc: Exception, host: str, port: int) -> ProbeError:
    """OpenSSL's error list ([('SSL routines', '', 'wrong version number')]) in words."""
    tls_port_hint = "Give the TLS port: HTTPS is usually 443, SIP-TLS 5061."
    if isinstance(exc, SSL.SysCallError) or (isinstance(exc, OSError) and not exc.args[1:]):
        return ProbeError(
            f"{host}:{port} closed the connection during the TLS handshake.",
            "Is this a TLS port? " + tls_port_hint + " A device may also refuse our address.",
        )
    reasons = [
        str(part[-1])
        for part in (exc.args[0] if exc.args and isinstance(exc.args[0], list) else [])
        if isinstance(part, tuple) and part
    ]
    if any(marker in reason for reason in reasons for marker in _NOT_TLS):
        return ProbeError(
            f"{host}:{port} answered, but not with TLS: this port does not speak TLS (it may "
            "be a plain-HTTP port such as 80, or another protocol).",
            tls_port_hint,
        )
    said = "; ".join(reasons) or (
        exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
    )
    return ProbeError(
        f"The TLS handshake with {host}:{port} failed ({said}).",
        "Is this a TLS port? " + tls_port_hint,
    )
