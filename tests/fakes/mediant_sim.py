"""A faithful Mediant (firmware 7.2+) REST API simulator for the tests.

A real HTTPS server on 127.0.0.1 in a thread, answering the documented endpoints with the
documented bodies and status codes (see shared/reference/audiocodes.md), plus one real TLS
listener per TLS context that serves the context's *saved* certificate and chain, so the
deployment's handshake check is a real one. Fault modes are switched on per test.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import email.parser
import email.policy
import functools
import hashlib
import json
import re
import secrets
import socket
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.pki import openssl, self_signed

API = "/api/v1"


def _pem_key(key: Any) -> bytes:
    return bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )


@functools.lru_cache(maxsize=256)
def _key_info(key_pem: bytes) -> tuple[bytes, int]:
    """(SPKI, bits) of a PEM key; cached, since 50 simulated devices share one key."""
    key: Any = _load_key(key_pem)
    return _spki(key.public_key()), int(key.key_size)


def _load_key(key_pem: bytes) -> Any:
    # The RSA consistency check costs ~30 ms a load; the simulator only checks the format.
    return serialization.load_pem_private_key(key_pem, None, unsafe_skip_rsa_key_validation=True)


def _spki(public_key: Any) -> bytes:
    return bytes(
        public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


@dataclass
class SimContext:
    """One TLS context: key, device certificate and trusted root store."""

    name: str
    key_pem: bytes
    cert_pem: bytes
    trusted: list[bytes] = field(default_factory=list)

    def key_matches_cert(self) -> bool:
        cert = x509.load_pem_x509_certificate(self.cert_pem)
        return _key_info(self.key_pem)[0] == _spki(cert.public_key())

    def key_size(self) -> int:
        return _key_info(self.key_pem)[1]


@dataclass
class Fault:
    path: str  # substring of the path after /api/v1; "" = every call
    action: str  # "status" (answer `status`) or "drop" (close without answering)
    status: int = 500
    times: int = 1
    method: str | None = None


class MediantSim:
    """Start with `with MediantSim() as sim:`; `sim.port` is the REST HTTPS port."""

    def __init__(
        self,
        *,
        user: str = "Admin",
        password: str = "Admin-pass-1",
        weak_user: tuple[str, str] = ("Monitor", "monitor-pass"),
        auth: str = "basic",  # or "digest"
        contexts: tuple[str, ...] = ("default", "SIP-Teams"),
        product: str = "Mediant 800",
        firmware: str = "7.40A.250.003",
        rest_api: bool = True,
        delay: float = 0.0,
        reset_downtime: float = 0.3,
        csr_key_size: int = 2048,
        ha: str = "Not Operational",
        trusted_limit: int = 20,
    ) -> None:
        self.user, self.password = user, password
        self.weak_user = weak_user
        self.auth = auth
        self.product, self.firmware = product, firmware
        self.serial = f"{secrets.randbelow(10**8):08d}"
        self.rest_api = rest_api
        self.delay = delay
        self.reset_downtime = reset_downtime
        self.csr_key_size = csr_key_size
        self.ha = ha
        # Certificates a context's trusted root store holds (20 per context on 7.0 [doc]).
        self.trusted_limit = trusted_limit
        self.realm = f"ACL_{self.serial}"
        self.lock = threading.RLock()
        self.faults: list[Fault] = []
        self.calls: list[tuple[str, str]] = []  # (method, path) of every authenticated call
        self.connections = 0  # every TCP connection accepted, REST and TLS-context ports alike
        self.csr_requests: list[dict[str, Any]] = []
        self.saves = 0
        self.resets = 0
        self.down_until = 0.0
        # The device's own ACL_<serial>-style certificate (EC: quick to make for 50 devices).
        cert, key = self_signed(self.realm, san=False)
        self.running: list[SimContext] = [SimContext(n, key, cert) for n in contexts]
        self.saved: list[SimContext] = copy.deepcopy(self.running)
        self.web: SimContext = copy.deepcopy(self.running[0])  # what the HTTPS port serves now
        self._tmp = tempfile.TemporaryDirectory(prefix="mediant-sim-")
        self._ssl_cache: dict[bytes, ssl.SSLContext] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listeners: list[socket.socket] = []
        self._httpd: _Server | None = None
        self.port = 0
        self.context_ports: list[int] = []

    # --- life cycle ---

    def __enter__(self) -> MediantSim:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._httpd = _Server(("127.0.0.1", 0), _Handler, self)
        self.port = self._httpd.server_address[1]
        t = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05})
        t.daemon = True
        t.start()
        self._threads.append(t)
        for index in range(len(self.running)):
            sock = socket.create_server(("127.0.0.1", 0))
            sock.settimeout(0.1)
            self._listeners.append(sock)
            self.context_ports.append(sock.getsockname()[1])
            lt = threading.Thread(target=self._listen, args=(sock, index), daemon=True)
            lt.start()
            self._threads.append(lt)

    def stop(self) -> None:
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        for t in self._threads:
            t.join(timeout=2)
        for sock in self._listeners:
            sock.close()
        self._tmp.cleanup()

    @property
    def host_port(self) -> str:
        return f"127.0.0.1:{self.port}"

    def context_port(self, index: int) -> int:
        return self.context_ports[index]

    def end_reset(self) -> None:
        """The device is back: calls are answered again (ends a reset's downtime early)."""
        with self.lock:
            self.down_until = 0.0

    # --- faults ---

    def fail(self, path: str, status: int, times: int = 1, method: str | None = None) -> None:
        """Answer `status` to the next `times` calls whose path contains `path`."""
        with self.lock:
            self.faults.append(Fault(path, "status", status, times, method))

    def drop(self, path: str, times: int = 1, method: str | None = None) -> None:
        """Close the connection without an answer on the next `times` matching calls."""
        with self.lock:
            self.faults.append(Fault(path, "drop", 0, times, method))

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.path in path and fault.method in (None, method):
                    fault.times -= 1
                    return fault
        return None

    # --- state the tests look at ---

    def ssl_context_for(self, ctx: SimContext) -> ssl.SSLContext:
        chain = ctx.cert_pem + b"".join(c for c in ctx.trusted if not _self_issued(c))
        cache_key = hashlib.sha256(chain + ctx.key_pem).digest()
        with self.lock:
            cached = self._ssl_cache.get(cache_key)
            if cached is not None:
                return cached
            base = Path(self._tmp.name) / cache_key.hex()[:16]
            Path(str(base) + ".crt").write_bytes(_order_chain(ctx.cert_pem, ctx.trusted))
            Path(str(base) + ".key").write_bytes(ctx.key_pem)
            sc = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            sc.load_cert_chain(str(base) + ".crt", str(base) + ".key")
            self._ssl_cache[cache_key] = sc
            return sc

    def trusted_store(self, index: int, *, saved: bool = False) -> bytes:
        """The context's trusted root store exactly as GET trustedRoot answers it."""
        with self.lock:
            ctx = (self.saved if saved else self.running)[index]
            return b"".join(ctx.trusted)

    def set_trusted(self, index: int, pems: list[bytes]) -> None:
        """Preload a context's store (running and saved), as a device configured earlier."""
        with self.lock:
            for state in (self.running, self.saved):
                state[index].trusted = [
                    x509.load_pem_x509_certificate(p).public_bytes(serialization.Encoding.PEM)
                    for p in pems
                ]

    def ini(self) -> str:
        with self.lock:
            rows = "\n".join(
                f'TLSContexts {i} = "{c.name}", 0, 0, "DEFAULT", "DEFAULT", 0, 0;'
                for i, c in enumerate(self.running)
            )
        return (
            ";**************\n;** Ini File **\n;**************\n\n"
            f";Board: {self.product}\n;Serial Number: {self.serial}\n"
            f";Software Version: {self.firmware}\n\n"
            f"[SYSTEM Params]\n\nTLSPkeySize = {self.csr_key_size}\n\n"
            "[ TLSContexts ]\n\n"
            "FORMAT Index = Name, TLSVersion, DTLSVersion, ServerCipherString, "
            "ClientCipherString, RequireStrictCert, OcspEnable;\n"
            f"{rows}\n\n[ \\TLSContexts ]\n"
        )

    def _listen(self, sock: socket.socket, index: int) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._serve_tls, args=(conn, index), daemon=True).start()

    def _serve_tls(self, conn: socket.socket, index: int) -> None:
        with self.lock:
            ctx = copy.deepcopy(self.saved[index])
        conn.settimeout(5)
        try:
            with self.ssl_context_for(ctx).wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)  # wait for the client to close
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    # --- the REST API ---

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        """Returns (status, body) where body is dict (JSON), str or bytes (text)."""
        rest = path[len(API) :]
        if rest == "/status" and method == "GET":
            return 200, {
                "productType": self.product,
                "versionID": self.firmware,
                "serialNumber": self.serial,
                "highAvailability": self.ha,
                "operationalState": "UNLOCKED",
                "macAddress": "00908f000000",
            }
        if rest == "/files/ini" and method == "GET":
            return 200, self.ini()
        if rest == "/actions/saveConfiguration" and method == "POST":
            with self.lock:
                self.saved = copy.deepcopy(self.running)
                self.saves += 1
            return 200, {"description": "Configuration was successfully saved"}
        if rest == "/actions/reset" and method == "POST":
            options = json.loads(body or b"{}")
            with self.lock:
                if options.get("saveConfiguration", True):
                    self.saved = copy.deepcopy(self.running)
                    self.saves += 1
                self.running = copy.deepcopy(self.saved)
                self.web = copy.deepcopy(self.saved[0])
                self.resets += 1
                self.down_until = time.monotonic() + self.reset_downtime
            return 200, {"description": "Device will reset now"}
        m = re.fullmatch(r"/files/tls/(\d+)/(privateKey|certificate|trustedRoot)(/.*)?", rest)
        if not m:
            return 404, {"description": "Resource not found"}
        index, what, sub = int(m.group(1)), m.group(2), m.group(3) or ""
        with self.lock:
            if index >= len(self.running):
                return 404, {"description": f"TLS context {index} does not exist"}
            ctx = self.running[index]
            return self._tls(ctx, method, what, sub, headers, body)

    def _tls(
        self, ctx: SimContext, method: str, what: str, sub: str, headers: Any, body: bytes
    ) -> tuple[int, Any]:
        if what == "privateKey" and not sub:
            if method == "GET":
                return 200, {"size": ctx.key_size(), "valid": ctx.key_matches_cert()}
            if method == "PUT":
                data, err = _file_part(headers, body)
                if err:
                    return 400, {"description": err}
                try:
                    key = _load_key(data)
                except (ValueError, TypeError):
                    return 400, {"description": "Private key is not in PEM format"}
                ctx.key_pem = _pem_key(key)
                return 200, {"description": "Private key was successfully changed"}
        if what == "certificate" and not sub:
            if method == "GET":
                return 200, ctx.cert_pem
            if method == "PUT":
                data, err = _file_part(headers, body)
                if err:
                    return 400, {"description": err}
                try:
                    cert = x509.load_pem_x509_certificate(data)
                except ValueError:
                    return 400, {"description": "Certificate is not in PEM format"}
                if _spki(cert.public_key()) != _key_info(ctx.key_pem)[0]:
                    return 400, {"description": "Certificate does not match the private key"}
                ctx.cert_pem = cert.public_bytes(serialization.Encoding.PEM)
                return 200, {"description": "Certificate was successfully changed"}
        if what == "certificate" and sub == "/request" and method == "POST":
            return self._csr(ctx, body)
        if what == "trustedRoot":
            if method == "GET" and not sub:
                return 200, b"".join(ctx.trusted)
            if method == "PUT" and sub in ("", "/incremental"):
                data, err = _file_part(headers, body)
                if err:
                    return 400, {"description": err}
                try:
                    certs = x509.load_pem_x509_certificates(data)
                except ValueError:
                    return 400, {"description": "Certificate is not in PEM format"}
                pems = [c.public_bytes(serialization.Encoding.PEM) for c in certs]
                if sub == "/incremental":
                    if len(certs) != 1:
                        return 400, {"description": "Exactly one certificate expected"}
                    if len(ctx.trusted) >= self.trusted_limit:
                        return 400, {
                            "description": "Cannot add certificate: the trusted root store is "
                            f"full ({self.trusted_limit} certificates)"
                        }
                    ctx.trusted.append(pems[0])
                    return 200, {"description": "Trusted root certificate was successfully added"}
                if len(pems) > self.trusted_limit:
                    return 400, {
                        "description": "Cannot replace the trusted root store: more than "
                        f"{self.trusted_limit} certificates"
                    }
                ctx.trusted = pems
                return 200, {"description": "Trusted root certificates were successfully changed"}
        return 405, {"description": "Method not allowed"}

    def _csr(self, ctx: SimContext, body: bytes) -> tuple[int, Any]:
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            return 400, {"description": "Invalid JSON"}
        self.csr_requests.append(req)
        if not req.get("subjectName"):
            return 400, {"description": "subjectName is mandatory"}
        alg = req.get("signatureAlgorithm", "sha1")  # the device's documented default
        if alg not in ("sha1", "sha256", "sha512"):
            return 400, {"description": "Invalid signatureAlgorithm"}
        # The device makes a new key pair of TLSPkeySize bits for the request.
        key = rsa.generate_private_key(65537, self.csr_key_size)
        ctx.key_pem = _pem_key(key)
        parts = [("CN", req["subjectName"])]
        for json_name, attr in (
            ("organizationalUnit", "OU"),
            ("companyName", "O"),
            ("localityName", "L"),
            ("state", "ST"),
            ("countryCode", "C"),
        ):
            if req.get(json_name):
                parts.append((attr, str(req[json_name])))
        subj = "".join(f"/{a}={v.replace('/', chr(92) + '/')}" for a, v in parts)
        keyfile = Path(self._tmp.name) / f"csr-{secrets.token_hex(4)}.key"
        keyfile.write_bytes(ctx.key_pem)
        try:  # openssl, because cryptography refuses SHA-1 signatures that old firmware makes
            csr = openssl("req", "-new", "-key", keyfile, "-subj", subj, f"-{alg}")
        finally:
            keyfile.unlink()
        return 200, csr


def _self_issued(pem: bytes) -> bool:
    cert = x509.load_pem_x509_certificate(pem)
    return cert.issuer == cert.subject


def _order_chain(leaf_pem: bytes, trusted: list[bytes]) -> bytes:
    """Leaf, then the issuers found in the trusted store (not the self-signed root)."""
    out = [leaf_pem]
    current = x509.load_pem_x509_certificate(leaf_pem)
    pool = [x509.load_pem_x509_certificate(p) for p in trusted]
    for _ in range(len(pool)):
        if current.issuer == current.subject:
            break
        issuer = next((c for c in pool if c.subject == current.issuer), None)
        if issuer is None or issuer.issuer == issuer.subject:
            break
        out.append(issuer.public_bytes(serialization.Encoding.PEM))
        current = issuer
    return b"".join(out)


def _file_part(headers: Any, body: bytes) -> tuple[bytes, str]:
    """The multipart/form-data part named `file`, as the device requires."""
    ctype = headers.get("Content-Type", "")
    if not ctype.startswith("multipart/form-data"):
        return b"", "Expected multipart/form-data with a 'file' part"
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body
    )
    for part in msg.iter_parts():  # type: ignore[attr-defined]
        if part.get_param("name", header="content-disposition") == "file":
            data = part.get_payload(decode=True) or b""
            if b"-----BEGIN " not in data:
                return b"", "File is not in PEM format"
            return bytes(data), ""
    return b"", "Missing 'file' part"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr: tuple[str, int], handler: type, sim: MediantSim) -> None:
        self.sim = sim
        super().__init__(addr, handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = self.socket.accept()
        with self.sim.lock:
            self.sim.connections += 1
        # The web server presents context 0's certificate as it was at the last start.
        sc = self.sim.ssl_context_for(self.sim.web)
        return sc.wrap_socket(conn, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # dropped connections are part of the tests


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body wait on the client's delayed ACK
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        sim = self.server.sim
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if time.monotonic() < sim.down_until:
            self._drop()
            return
        if sim.delay:
            time.sleep(sim.delay)
        path = self.path.split("?", 1)[0]
        if not sim.rest_api or not path.startswith(API + "/"):
            self._send(404, "<html><body>Not Found</body></html>", "text/html")
            return
        who = self._authenticate(method)
        if who is None:
            return
        rest = path[len(API) :]
        if who == "weak" and rest.startswith(("/files", "/actions")):
            self._send(403, {"description": "Insufficient user privileges"})
            return
        fault = sim._take_fault(method, rest)
        if fault is not None:
            if fault.action == "drop":
                self._drop()
                return
            self._send(fault.status, {"description": _FAULT_TEXT.get(fault.status, "Error")})
            return
        with sim.lock:
            sim.calls.append((method, rest))
        status, answer = sim.handle(method, path, self.headers, body)
        self._send(status, answer)

    def _authenticate(self, method: str) -> str | None:
        sim = self.server.sim
        header = self.headers.get("Authorization", "")
        users = {sim.user: (sim.password, "admin"), sim.weak_user[0]: (sim.weak_user[1], "weak")}
        if sim.auth == "basic" and header.startswith("Basic "):
            try:
                user, _, pw = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                user, pw = "", ""
            if user in users and users[user][0] == pw:
                return users[user][1]
        if sim.auth == "digest" and header.startswith("Digest "):
            fields = dict(re.findall(r'(\w+)="?([^",]*)"?', header[7:]))
            user = fields.get("username", "")
            if user in users:
                ha1 = _md5(f"{user}:{sim.realm}:{users[user][0]}")
                ha2 = _md5(f"{method}:{fields.get('uri', '')}")
                expect = _md5(
                    f"{ha1}:{fields.get('nonce')}:{fields.get('nc')}:{fields.get('cnonce')}"
                    f":{fields.get('qop')}:{ha2}"
                )
                if fields.get("response") == expect:
                    return users[user][1]
        if sim.auth == "digest":
            nonce = secrets.token_hex(16)
            challenge = f'Digest realm="{sim.realm}", nonce="{nonce}", qop="auth", algorithm=MD5'
        else:
            challenge = f'Basic realm="{sim.realm}"'
        self._send(401, {"description": "Unauthorized"}, extra={"WWW-Authenticate": challenge})
        return None

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(
        self,
        status: int,
        answer: Any,
        ctype: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        if isinstance(answer, dict):
            data, ctype = json.dumps(answer).encode(), "application/json"
        elif isinstance(answer, str):
            data, ctype = answer.encode(), ctype or "text/plain"
        else:
            data, ctype = answer, ctype or "application/x-pem-file"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


_FAULT_TEXT = {
    409: "Device is busy: HA synchronization in progress, try again later",
    500: "Internal server error",
    503: "Service unavailable",
}


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


__all__ = ["MediantSim", "SimContext"]
