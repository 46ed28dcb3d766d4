"""The handshake check that proves what a server serves: slow, silent and closed peers."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.fingerprints import cert_sha256
from app.tls_probe import ProbeError, fetch_served_chain
from tests.pki import TestCA, openssl


@pytest.fixture
def slow_tls_server(tmp_path: Path, test_ca: TestCA) -> Iterator[tuple[int, bytes]]:
    """Serves leaf + intermediate, answering each handshake after 300 ms like a busy SBC."""
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", tmp_path / "k",
            "-out", tmp_path / "r.csr", "-subj", "/CN=sbc1.example.com")  # fmt: skip
    leaf = test_ca.sign((tmp_path / "r.csr").read_bytes(), tmp_path / "leaf.crt").read_bytes()
    (tmp_path / "chain.pem").write_bytes(leaf + test_ca.inter_pem)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp_path / "chain.pem", tmp_path / "k")
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            time.sleep(0.3)
            try:
                ctx.wrap_socket(conn, server_side=True).close()
            except OSError:
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], leaf
    stop.set()
    thread.join(2)
    server.close()


def test_slow_server_chain_is_read(slow_tls_server: tuple[int, bytes]) -> None:
    from cryptography import x509

    port, leaf = slow_tls_server
    served = fetch_served_chain("127.0.0.1", port, timeout=5)
    assert served.leaf_sha256 == cert_sha256(x509.load_pem_x509_certificate(leaf))
    assert [c.subject.rfc4514_string() for c in served.chain] == [
        "CN=sbc1.example.com",
        "CN=Test TLS RSA CA G2,O=Test Trust,C=US",
    ]


def test_silent_port_ends_within_the_timeout() -> None:
    silent = socket.create_server(("127.0.0.1", 0))  # accepts TCP, never speaks TLS
    try:  # the message comes once the deadline has passed; a hang is pytest-timeout's
        with pytest.raises(ProbeError, match="did not complete a TLS handshake within 1 s"):
            fetch_served_chain("127.0.0.1", silent.getsockname()[1], timeout=1)
    finally:
        silent.close()


def test_closed_port_is_named() -> None:
    s = socket.create_server(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(ProbeError, match=f"Cannot connect to 127.0.0.1:{port}"):
        fetch_served_chain("127.0.0.1", port, timeout=2)
