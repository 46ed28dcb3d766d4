"""Finding 7 of issue 12: the AIA "fetch missing" download has limits.

A hostile (or broken) HTTP server on 127.0.0.1 answers the import's AIA request with an endless
body, a redirect loop, a redirect to file://, or a trickle; each ends in a clear ChainProblem,
quickly and without reading the body whole.
"""

from __future__ import annotations

import socketserver
import threading
import time
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from app import chain
from app.ca_response import Source
from app.errors import ChainProblem
from tests.helpers import issued
from tests.pki import TestCA


class Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    sent = 0

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path
        if "loop" in path:
            self.send_response(302)
            self.send_header("Location", path)
            self.end_headers()
        elif "to-file" in path:
            self.send_response(301)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()
        elif "declared" in path:
            self.send_response(200)
            self.send_header("Content-Length", str(200 * 1024 * 1024))
            self.end_headers()
        elif "trickle" in path:
            self.send_response(200)
            self.end_headers()
            try:
                for _ in range(40):
                    self.wfile.write(b"0")
                    self.wfile.flush()
                    time.sleep(0.25)
            except OSError:
                pass  # the client gave up, as it should
        else:  # 200 MB, no length: only the cap stops it
            self.send_response(200)
            self.end_headers()
            chunk = b"\0" * 65536
            try:
                for _ in range(200 * 16):
                    self.wfile.write(chunk)
                    type(self).sent += len(chunk)
            except OSError:
                pass


@pytest.fixture
def hostile() -> Iterator[str]:
    Hostile.sent = 0
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Hostile)
    # server_close() waits for the handlers: none outlives its test (printing into another's).
    server.daemon_threads = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_endless_answer_is_cut_at_1_mb_through_the_import(hostile: str, tmp_path: Path) -> None:
    ca = TestCA(tmp_path / "aia-ca", "Aia", aia_base=hostile + "/endless")
    ws, leaf = issued(tmp_path, ca)
    tracemalloc.start()
    with pytest.raises(ChainProblem) as caught:
        ws.import_response([Source("star.crt", leaf.read_bytes())], fetch_missing=True)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "larger than 1024 KB" in caught.value.message and hostile in caught.value.message
    assert peak < 16 * 1024 * 1024  # the 200 MB were not read (the issue saw 440 MB)
    time.sleep(0.2)
    assert Hostile.sent < 32 * 1024 * 1024  # the client stopped reading early


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/declared.crt", "larger than 1024 KB"),
        ("/loop.crt", "more than 3 redirects"),
        ("/to-file.crt", "file:///etc/passwd is not an http or https address"),
        ("/trickle.crt", "more than 2 s"),
    ],
)
def test_each_limit_has_its_own_message(hostile: str, path: str, words: str) -> None:
    with pytest.raises(ChainProblem) as caught:  # a limit not kept would hang: pytest-timeout
        chain.fetch_issuer(hostile + path, timeout=2)
    assert words in caught.value.message


def test_only_http_and_https(tmp_path: Path) -> None:
    (tmp_path / "inter.crt").write_text("not fetched")
    with pytest.raises(ChainProblem, match="not an http or https address"):
        chain.fetch_issuer((tmp_path / "inter.crt").as_uri())
