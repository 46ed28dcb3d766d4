"""`accert deploy-ovoc` aimed at something that is not a working SSH server: one clear error
naming the host and what happened, no traceback (paramiko's thread logs its own), nothing sent.

The peers are real sockets on 127.0.0.1 that do what a wrong port or a dying server does.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.ca_response import Source
from app.workspace import Workspace
from tests.helpers import issued
from tests.pki import TestCA
from tests.test_cli_papercuts import accert, one_error


def _closes(conn: socket.socket) -> None:
    conn.close()


def _answers_http(conn: socket.socket) -> None:
    conn.recv(100)  # whatever comes: the answer of a web server on the wrong port
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
    conn.close()


def _greets_then_closes(conn: socket.socket) -> None:
    conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")  # a server that hangs up during the key exchange
    conn.recv(4096)
    # Hang up with a FIN, then read until the client closes: a plain close() here would race
    # the client's KEXINIT, and if that arrived first the kernel would send a reset instead
    # ("Connection reset by peer"), another case than the one this peer stands for.
    conn.shutdown(socket.SHUT_WR)
    while conn.recv(4096):
        pass


def _greets_then_resets(conn: socket.socket) -> None:
    conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")  # a firewall or a dying server: a reset (RST)
    # After the client's greeting and its whole first packet (KEXINIT): it waits for ours.
    data = b""
    while (
        b"\r\n" not in data
        or len(rest := data.split(b"\r\n", 1)[1]) < 4
        or len(rest) < 4 + int.from_bytes(rest[:4], "big")
    ):
        more = conn.recv(4096)
        if not more:
            return
        data += more
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def _greets_then_stalls(conn: socket.socket) -> None:
    conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
    while conn.recv(4096):  # the key exchange never goes on; open until the client gives up
        pass


@pytest.fixture
def peer(request: pytest.FixtureRequest) -> Iterator[int]:
    """A one-connection TCP server on 127.0.0.1 behaving as request.param; its port."""
    behave: Callable[[socket.socket], None] = request.param
    server = socket.create_server(("127.0.0.1", 0))
    port: int = server.getsockname()[1]

    def serve() -> None:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn, contextlib.suppress(OSError):
            behave(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    server.close()
    thread.join(timeout=30)


@pytest.fixture
def imported(tmp_path: Path, test_ca: TestCA) -> Workspace:
    ws, leaf = issued(tmp_path, test_ca)
    chain = test_ca.inter_pem + test_ca.root_pem  # OVOC takes the root too
    ws.import_response([Source(leaf.name, leaf.read_bytes()), Source("ca.crt", chain)])
    return ws


@pytest.mark.parametrize(
    ("peer", "said"),
    [
        (_closes, "did not complete an SSH handshake: it sent no SSH greeting."),
        (_answers_http, "did not complete an SSH handshake: it sent no SSH greeting."),
        (
            _greets_then_closes,
            "did not complete an SSH handshake: the server closed the connection.",
        ),
        (
            _greets_then_resets,
            "did not complete an SSH handshake: the server reset the connection.",
        ),
        (_greets_then_stalls, "did not complete an SSH handshake within 15 s."),
    ],
    indirect=["peer"],
    ids=["closes", "http", "dies-in-kex", "reset-in-kex", "stalls-in-kex"],
)
def test_not_an_ssh_server_is_one_clear_error(peer: int, said: str, imported: Workspace) -> None:
    proc = accert(
        "deploy-ovoc", imported.path, "--host", "127.0.0.1", "--port", str(peer),
        "--password-env", "OVOC_SSH_PW", "--root-password-env", "OVOC_ROOT_PW",
        "--host-key", "SHA256:" + "A" * 43, OVOC_SSH_PW="not-sent", OVOC_ROOT_PW="not-sent",
    )  # fmt: skip
    one_error(
        proc, f"127.0.0.1:{peer} {said}", "Check that this is the SSH port of the OVOC server"
    )
    assert "paramiko" not in proc.stderr and "Exception" not in proc.stderr, proc.stderr
