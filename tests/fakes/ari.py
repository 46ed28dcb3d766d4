"""A small, faithful ACME Renewal Information endpoint (RFC 9773) over HTTPS on 127.0.0.1.

Debian's pebble 2.4.0 offers no renewalInfo, so ARI is tested here: a directory that names
`renewalInfo`, and GET {renewalInfo}/{certID} answering the suggested window as RFC 9773 §4.2
shows it, where certID is base64url(AKI keyIdentifier) "." base64url(serial as DER INTEGER
content), both unpadded (§4.1). Unknown certIDs get 404, as a CA answers for a certificate it
did not issue.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509

from tests.fakes.tls_listeners import issue
from tests.pki import TestCA


def cert_id(cert: x509.Certificate) -> str:
    """RFC 9773 §4.1, written from the RFC (not from the client under test)."""
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier is not None
    serial = cert.serial_number
    der = serial.to_bytes((serial.bit_length() + 8) // 8, "big", signed=False)

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")

    return f"{b64(aki.key_identifier)}.{b64(der)}"


class AriServer:
    def __init__(self, ca: TestCA, folder: Path, *, offer_ari: bool = True) -> None:
        self.offer_ari = offer_ari
        self.windows: dict[str, tuple[dt.datetime, dt.datetime]] = {}
        self.requests: list[str] = []
        self.fail_with: int | None = None
        chain, key = issue(ca, "localhost", days_left=30)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "ari.crt").write_bytes(chain + ca.inter_pem)
        (folder / "ari.key").write_bytes(key)
        self.ca_bundle = folder / "ari-ca.pem"
        self.ca_bundle.write_bytes(ca.root_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(folder / "ari.crt", folder / "ari.key")
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self._httpd.ari = self  # type: ignore[attr-defined]
        self.base = f"https://localhost:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def directory(self) -> str:
        return f"{self.base}/directory"

    def suggest(self, cert: x509.Certificate, start: dt.datetime, end: dt.datetime) -> None:
        self.windows[cert_id(cert)] = (start, end)

    def answer(self, path: str) -> tuple[int, dict[str, Any]]:
        self.requests.append(path)
        if path == "/directory":
            d: dict[str, Any] = {
                "newNonce": f"{self.base}/nonce",
                "newAccount": f"{self.base}/account",
                "newOrder": f"{self.base}/order",
            }
            if self.offer_ari:
                d["renewalInfo"] = f"{self.base}/renewal-info"
            return 200, d
        if self.fail_with:
            return self.fail_with, {"type": "urn:ietf:params:acme:error:serverInternal"}
        prefix = "/renewal-info/"
        if self.offer_ari and path.startswith(prefix) and path[len(prefix) :] in self.windows:
            start, end = self.windows[path[len(prefix) :]]
            return 200, {
                "suggestedWindow": {
                    "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "end": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
                "explanationURL": f"{self.base}/why",
            }
        return 404, {"type": "urn:ietf:params:acme:error:malformed"}

    def __enter__(self) -> AriServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        status, body = self.server.ari.answer(self.path)  # type: ignore[attr-defined]
        data = json.dumps(body).encode()
        self.send_response(status)
        ctype = "application/json" if status == 200 else "application/problem+json"
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        if status == 200 and self.path.startswith("/renewal-info/"):
            self.send_header("Retry-After", "21600")
        self.end_headers()
        self.wfile.write(data)
