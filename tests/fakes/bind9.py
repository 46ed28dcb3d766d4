"""A real BIND 9 (`named`) on a free loopback port, authoritative for one zone that accepts
RFC 2136 dynamic updates signed with a TSIG key made by `tsig-keygen`."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.fakes import require_linux
from tests.fakes.pebble import free_tcp_udp_port

NAMED = shutil.which("named") or "/usr/sbin/named"
TSIG_KEYGEN = shutil.which("tsig-keygen") or "/usr/sbin/tsig-keygen"

ZONE_FILE = """$TTL 60
@   IN SOA ns1.{zone}. hostmaster.{zone}. 1 60 60 3600 60
@   IN NS  ns1.{zone}.
ns1 IN A   127.0.0.1
; an _acme-challenge delegated elsewhere by CNAME, as many companies do for ACME
_acme-challenge.delegated IN CNAME _acme-challenge.acme-zone.{zone}.
"""

CONF = """
options {{
    directory "{dir}";
    pid-file "{dir}/named.pid";
    session-keyfile "{dir}/session.key";
    managed-keys-directory "{dir}";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    allow-query {{ any; }};
    notify no;
}};
controls {{ }};
include "{dir}/update.key";
zone "{zone}" {{
    type primary;
    file "{dir}/{zone}.db";
    allow-update {{ key "{key}"; }};
}};
"""


@dataclass
class Bind9:
    folder: Path
    zone: str = "rfc.example.test"
    key_name: str = "acme-update"
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Bind9:
        require_linux("bind9")
        if not Path(NAMED).exists():
            raise RuntimeError("named is not installed: run scripts/install-test-deps.sh (bind9)")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o777)  # named may drop to the 'bind' user for its journal
        keygen = subprocess.run(
            [TSIG_KEYGEN, "-a", "hmac-sha256", self.key_name],
            capture_output=True,
            check=True,
        )
        self.key_file.write_bytes(keygen.stdout)
        (self.folder / f"{self.zone}.db").write_text(ZONE_FILE.format(zone=self.zone))
        self.port = free_tcp_udp_port()
        conf = self.folder / "named.conf"
        conf.write_text(
            CONF.format(dir=self.folder, port=self.port, zone=self.zone, key=self.key_name)
        )
        log = self.folder / "named.log"
        self.proc = subprocess.Popen(
            [NAMED, "-g", "-c", str(conf), "-n", "1"],
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"named exited:\n{log.read_text()[-3000:]}")
            if "running" in log.read_text(errors="replace"):
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", self.port)) == 0:
                        return self
            time.sleep(0.05)
        raise RuntimeError(f"named did not start:\n{log.read_text()[-3000:]}")

    @property
    def key_file(self) -> Path:
        return self.folder / "update.key"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def txt(self, name: str) -> list[str]:
        """The TXT values bind9 holds at `name`, as dig reads them."""
        answer = subprocess.run(
            ["dig", "+short", "-p", str(self.port), "@127.0.0.1", "TXT", name],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        return answer.split()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
