"""Many small TLS servers on 127.0.0.1 serving chosen certificates, for the estate scan.

Certificates are issued here with `cryptography` by a TestCA's intermediate, because the
scan needs dates openssl's command line cannot make (already expired, expiring tomorrow).
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
import time
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.pki import TestCA

PEM = serialization.Encoding.PEM


def issue(
    ca: TestCA,
    cn: str,
    *,
    days_left: float,
    valid_days: float = 90,
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | None = None,
) -> tuple[bytes, bytes]:
    """A leaf for `cn` from the CA's intermediate that ends `days_left` days from now
    (negative: already expired). Returns (certificate PEM, key PEM)."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    issuer = x509.load_pem_x509_certificate(ca.inter_pem)
    ca_key = serialization.load_pem_private_key(ca.inter_key.read_bytes(), None)
    end = dt.datetime.now(dt.UTC) + dt.timedelta(days=days_left, hours=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(end - dt.timedelta(days=valid_days))
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    key_pem = key.private_bytes(
        PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(PEM), key_pem


class TlsListener:
    """Serves `chain_pem` (leaf first) with `key_pem` on 127.0.0.1 until stopped.

    `delay` seconds pass before each handshake is answered, like a distant or busy device;
    connections are then answered one after another, as one small device would.
    """

    def __init__(self, chain_pem: bytes, key_pem: bytes, folder: Path, delay: float = 0) -> None:
        self.delay = delay
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "chain.pem").write_bytes(chain_pem)
        (folder / "key.pem").write_bytes(key_pem)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(folder / "chain.pem", folder / "key.pem")
        self.server = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.server.settimeout(0.2)
        self.port: int = self.server.getsockname()[1]
        self.handshakes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(2)
            if self.delay:
                time.sleep(self.delay)
            try:
                with self.context.wrap_socket(conn, server_side=True):
                    self.handshakes += 1
            except OSError:
                conn.close()

    def stop(self) -> None:
        stop_all([self])

    def __enter__(self) -> TlsListener:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def stop_all(listeners: list[TlsListener]) -> None:
    """Stop many at once: signal all, then wait (each notices within its 0.2 s poll)."""
    for lis in listeners:
        lis._stop.set()
    for lis in listeners:
        lis._thread.join(2)
        lis.server.close()


def closed_port() -> int:
    """A port nobody listens on (just released)."""
    s = socket.create_server(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


def silent_listener() -> socket.socket:
    """Accepts TCP (the kernel completes it) but never answers TLS; close it when done."""
    return socket.create_server(("127.0.0.1", 0), backlog=64)
