"""A hostile HTTP CONNECT proxy on 127.0.0.1 for the pinning tests.

Whatever host a client asks for, the tunnel goes to `upstream` (a server with another
certificate: the man in the middle). Every byte the proxy receives is counted and kept, so a
test can assert that device traffic never reached it, or that only the CONNECT line did.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType


class ConnectProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.received = bytearray()  # everything any client sent us, CONNECT lines included
        self.connections = 0
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0), backlog=16)
        self._server.settimeout(0.1)
        self.port: int = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._threads.append(t)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _record(self, data: bytes) -> None:
        with self._lock:
            self.received += data

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self.connections += 1
            t = threading.Thread(target=self._tunnel, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _tunnel(self, client: socket.socket) -> None:
        client.settimeout(5)
        head = b""
        try:
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    return
                self._record(chunk)
                head += chunk
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        rest = head.split(b"\r\n\r\n", 1)[1]
        if rest:
            upstream.sendall(rest)
        pump = threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True)
        pump.start()
        self._pump(client, upstream, True)
        pump.join(5)

    def _pump(self, src: socket.socket, dst: socket.socket, record: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if record:
                    self._record(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self._stop.set()
        self._server.close()
        for t in self._threads:
            t.join(2)

    def __enter__(self) -> ConnectProxy:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
