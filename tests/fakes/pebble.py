"""Let's Encrypt's test CA, `pebble`, with `pebble-challtestsrv` as the DNS it resolves through.

Both are Debian's packages (scripts/install-test-deps.sh), started on free loopback ports with a
TLS certificate made here. Pebble validates DNS-01 by asking challtestsrv (or, for the RFC 2136
tests, a real bind9) for `_acme-challenge` TXT records; a DNS hook script publishes them through
challtestsrv's management API, as a user's script would through their DNS provider's.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.fakes import require_linux

PEBBLE = shutil.which("pebble")
CHALLTESTSRV = shutil.which("pebble-challtestsrv")
HOOK_SCRIPT = Path(__file__).with_name("challtest_hook.py")


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_tcp_udp_port() -> int:
    """A port free for both TCP and UDP (a DNS server listens on both)."""
    for _ in range(50):
        port = free_port(socket.SOCK_DGRAM)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port for both TCP and UDP on 127.0.0.1")


def _require(tool: str | None, name: str) -> str:
    require_linux(name)
    if tool is None:
        raise RuntimeError(
            f"{name} is not installed: run scripts/install-test-deps.sh (Debian package pebble)"
        )
    return tool


def make_tls_cert(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway root and a server certificate for 127.0.0.1/localhost: (bundle, cert, key)."""
    now = dt.datetime.now(dt.UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Pebble HTTPS Test Root")])
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False
        )
        .sign(root_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(root_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    bundle, cert_file, key_file = folder / "https-root.pem", folder / "cert.pem", folder / "key.pem"
    bundle.write_bytes(root.public_bytes(pem))
    cert_file.write_bytes(cert.public_bytes(pem))
    key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return bundle, cert_file, key_file


class PortTaken(RuntimeError):
    """The server could not bind a port chosen free a moment before: start it on new ones."""


def _check_bound(proc: subprocess.Popen[bytes], name: str, log: Path) -> None:
    """pebble exits when a port is taken; challtestsrv logs it and runs on without that server."""
    said = log.read_text()[-2000:]
    if "address already in use" in said:
        proc.kill()
        proc.wait(10)
        raise PortTaken(f"{name}: a port was taken meanwhile:\n{said}")
    if proc.poll() is not None:
        raise RuntimeError(f"{name} exited ({proc.returncode}):\n{said}")


def _wait_port(port: int, proc: subprocess.Popen[bytes], name: str, log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        _check_bound(proc, name, log)
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                _check_bound(proc, name, log)  # not someone else's listener on that port
                return
        time.sleep(0.05)
    raise RuntimeError(f"{name} did not listen on {port}:\n{log.read_text()[-2000:]}")


@dataclass
class ChallTestSrv:
    """pebble-challtestsrv: a mock DNS server (UDP+TCP) with a management API for TXT records."""

    folder: Path
    dns_port: int = 0
    management_port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ChallTestSrv:
        for _attempt in range(3):  # a free port may be taken before the server binds it
            try:
                return self._start()
            except PortTaken:
                continue
        return self._start()

    def _start(self) -> ChallTestSrv:
        self.dns_port = free_tcp_udp_port()
        self.management_port = free_port()
        log = self.folder / "challtestsrv.log"
        self.proc = subprocess.Popen(
            [
                _require(CHALLTESTSRV, "pebble-challtestsrv"),
                "-dns01",
                f"127.0.0.1:{self.dns_port}",
                "-management",
                f"127.0.0.1:{self.management_port}",
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
                "-defaultIPv6",
                "",
            ],
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        _wait_port(self.management_port, self.proc, "pebble-challtestsrv", log)
        _wait_port(self.dns_port, self.proc, "pebble-challtestsrv", log)  # DNS over TCP too
        return self

    @property
    def dns(self) -> str:
        return f"127.0.0.1:{self.dns_port}"

    @property
    def management(self) -> str:
        return f"http://127.0.0.1:{self.management_port}"

    def post(self, path: str, body: dict[str, str]) -> None:
        request = urllib.request.Request(
            self.management + path, data=json.dumps(body).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()

    def set_txt(self, name: str, value: str) -> None:
        self.post("/set-txt", {"host": name.rstrip(".") + ".", "value": value})

    def clear_txt(self, name: str) -> None:
        self.post("/clear-txt", {"host": name.rstrip(".") + "."})

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@dataclass
class Pebble:
    """A running pebble: directory URL, the CA bundle for its HTTPS, its issuing roots."""

    folder: Path
    dns_server: str
    eab_keys: dict[str, str] = field(default_factory=dict)  # kid -> base64url HMAC
    eab_required: bool = False
    alternate_roots: int = 0
    authz_reuse: int = 100
    blocklist: tuple[str, ...] = ()
    nonce_reject: int = 0  # percent of nonces pebble refuses with badNonce
    port: int = 0
    management_port: int = 0
    ca_bundle: Path = Path()
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Pebble:
        for _attempt in range(3):  # a free port may be taken before pebble binds it
            try:
                return self._start()
            except PortTaken:
                continue
        return self._start()

    def _start(self) -> Pebble:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.ca_bundle, cert, key = make_tls_cert(self.folder)
        self.port, self.management_port = free_port(), free_port()
        config = {
            "pebble": {
                "listenAddress": f"127.0.0.1:{self.port}",
                "managementListenAddress": f"127.0.0.1:{self.management_port}",
                "certificate": str(cert),
                "privateKey": str(key),
                # http-01/tls-alpn-01 are not used (DNS-01 only); these ports stay closed.
                "httpPort": free_port(),
                "tlsPort": free_port(),
                "ocspResponderURL": "",
                "externalAccountBindingRequired": self.eab_required,
                "externalAccountMACKeys": self.eab_keys,
                "domainBlocklist": list(self.blocklist),
            }
        }
        config_file = self.folder / "pebble-config.json"
        config_file.write_text(json.dumps(config, indent=2))
        env = {
            **os.environ,
            "PEBBLE_VA_NOSLEEP": "1",  # no random 0-15 s sleeps before validating
            # No random badNonce unless a test asks for it (its default is 5 %).
            "PEBBLE_WFE_NONCEREJECT": str(self.nonce_reject),
            "PEBBLE_AUTHZREUSE": str(self.authz_reuse),
            "PEBBLE_ALTERNATE_ROOTS": str(self.alternate_roots),
        }
        log = self.folder / "pebble.log"
        self.proc = subprocess.Popen(
            [
                _require(PEBBLE, "pebble"),
                "-config",
                str(config_file),
                "-dnsserver",
                self.dns_server,
            ],
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.folder,
        )
        _wait_port(self.port, self.proc, "pebble", log)
        _wait_port(self.management_port, self.proc, "pebble", log)
        return self

    @property
    def directory(self) -> str:
        return f"https://127.0.0.1:{self.port}/dir"

    def _management_get(self, path: str) -> bytes:
        ctx = ssl.create_default_context(cafile=str(self.ca_bundle))
        url = f"https://127.0.0.1:{self.management_port}{path}"
        with urllib.request.urlopen(url, context=ctx, timeout=5) as response:
            return bytes(response.read())

    def root_pem(self, index: int = 0) -> bytes:
        """The root that issues (pebble's management API /roots/N); it is not in the chain."""
        return self._management_get(f"/roots/{index}")

    def intermediate_pem(self, index: int = 0) -> bytes:
        return self._management_get(f"/intermediates/{index}")

    @property
    def log(self) -> str:
        return (self.folder / "pebble.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def new_eab_key() -> tuple[str, str]:
    """A key id and an HMAC key as a CA's portal shows them (base64url, no padding)."""
    hmac = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    return f"kid-{secrets.token_hex(4)}", hmac


def hook_command(challtestsrv: ChallTestSrv, *, publish: bool = True) -> str:
    """The DNS hook a user would write, here publishing into challtestsrv (lego's convention)."""
    mode = "" if publish else " --publish-nothing"
    return f'"{sys.executable}" "{HOOK_SCRIPT}" --api {challtestsrv.management}{mode}'
