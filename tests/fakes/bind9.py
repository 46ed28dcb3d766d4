"""A real BIND 9 (`named`) on a free loopback port, authoritative for one zone that accepts
RFC 2136 dynamic updates signed with a TSIG key made by `tsig-keygen`.

Other keys may be known to it without the right to update the zone. Hidden, it is a hidden
primary as companies run them: it answers only signed queries (so an unsigned SOA query is
REFUSED), and a second `named`, its public secondary, serves the zone by NOTIFY and transfer.

`extra_zones` adds small zones, each updatable by one key only, as DNS administrators keep one
for ACME: `records` (extra lines of the first zone) delegates an _acme-challenge there by CNAME."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable
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

OPTIONS = """
options {{
    directory "{dir}";
    pid-file "{dir}/named.pid";
    session-keyfile "{dir}/session.key";
    managed-keys-directory "{dir}";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion {recursion};
    dnssec-validation no;
    allow-query {{ any; }};
    notify no;
}};
controls {{ }};
"""

CONF = (
    OPTIONS
    + """{includes}
zone "{zone}" {{
    type primary;
    file "{dir}/{zone}.db";
    allow-update {{ key "{key}"; }};
{hidden}}};
{extra}"""
)

EXTRA_ZONE = """zone "{zone}" {{
    type primary;
    file "{dir}/{zone}.db";
    allow-update {{ key "{key}"; }};
}};
"""

HIDDEN = """    allow-query {{ {signed} }};
    allow-transfer {{ 127.0.0.1; }};
    notify explicit;
    also-notify {{ 127.0.0.1 port {public_port}; }};
"""

SECONDARY = (
    OPTIONS
    + """zone "{zone}" {{
    type secondary;
    file "{dir}/{zone}.db";
    primaries {{ 127.0.0.1 port {primary_port}; }};
}};
"""
)


@dataclass
class Bind9:
    folder: Path
    zone: str = "rfc.example.test"
    key_name: str = "acme-update"
    other_keys: tuple[str, ...] = ()  # known to the server, not allowed to update the zone
    hidden: bool = False
    extra_zones: tuple[tuple[str, str], ...] = ()  # (zone, the one key that may update it)
    records: str = ""  # more lines for the first zone's file ({zone} is replaced)
    # A CNAME into another zone it serves is followed only when recursing (BIND 9.18), as the
    # resolver a CA asks does: then it answers the chain from its own zones.
    recursive: bool = False
    port: int = 0
    public_port: int = 0  # the public secondary's, when hidden
    proc: subprocess.Popen[bytes] | None = None
    secondary: subprocess.Popen[bytes] | None = None

    def start(self) -> Bind9:
        require_linux("bind9")
        if not Path(NAMED).exists():
            raise RuntimeError("named is not installed: run scripts/install-test-deps.sh (bind9)")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o777)  # named may drop to the 'bind' user for its journal
        keys = (self.key_name, *self.other_keys)
        for name in keys:
            keygen = subprocess.run(
                [TSIG_KEYGEN, "-a", "hmac-sha256", name], capture_output=True, check=True
            )
            self.key_file_of(name).write_bytes(keygen.stdout)
        (self.folder / f"{self.zone}.db").write_text(
            ZONE_FILE.format(zone=self.zone) + self.records.replace("{zone}", self.zone)
        )
        for zone, _key in self.extra_zones:
            (self.folder / f"{zone}.db").write_text(ZONE_FILE.format(zone=zone))
        self.port = free_tcp_udp_port()
        hidden = ""
        if self.hidden:
            self.public_port = free_tcp_udp_port()
            signed = " ".join(f'key "{name}";' for name in keys)
            hidden = HIDDEN.format(signed=signed, public_port=self.public_port)
        conf = self.folder / "named.conf"
        conf.write_text(
            CONF.format(
                dir=self.folder,
                port=self.port,
                recursion="yes" if self.recursive else "no",
                zone=self.zone,
                key=self.key_name,
                includes="\n".join(f'include "{self.key_file_of(n)}";' for n in keys),
                hidden=hidden,
                extra="".join(
                    EXTRA_ZONE.format(dir=self.folder, zone=zone, key=key)
                    for zone, key in self.extra_zones
                ),
            )
        )
        self.proc = _named(conf, self.port)
        if self.hidden:
            public = self.folder / "public"
            public.mkdir(exist_ok=True)
            public.chmod(0o777)
            conf = public / "named.conf"
            conf.write_text(
                SECONDARY.format(
                    dir=public,
                    port=self.public_port,
                    recursion="no",
                    zone=self.zone,
                    primary_port=self.port,
                )
            )
            self.secondary = _named(conf, self.public_port)
            _wait_for(lambda: "transferred serial" in _log(conf), conf, "transfer the zone")
        return self

    def key_file_of(self, name: str) -> Path:
        return self.folder / f"{name}.key"

    @property
    def key_file(self) -> Path:
        return self.key_file_of(self.key_name)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def public_address(self) -> str:
        """Where the world (and the CA) reads the zone: the public secondary when hidden."""
        return f"127.0.0.1:{self.public_port or self.port}"

    def txt(self, name: str) -> list[str]:
        """The TXT values bind9 holds at `name`, as dig reads them (where the world does)."""
        answer = subprocess.run(
            ["dig", "+short", "-p", str(self.public_port or self.port), "@127.0.0.1", "TXT",
             name],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        return answer.split()

    def stop(self) -> None:
        for proc in (self.secondary, self.proc):
            if proc and proc.poll() is None:
                proc.terminate()
                proc.wait(10)


def _log(conf: Path) -> str:
    return (conf.parent / "named.log").read_text(errors="replace")


def _wait_for(ready: Callable[[], bool], conf: Path, what: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.05)
    raise RuntimeError(f"named did not {what}:\n{_log(conf)[-3000:]}")


def _named(conf: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [NAMED, "-g", "-c", str(conf), "-n", "1"],
        stdout=(conf.parent / "named.log").open("wb"),
        stderr=subprocess.STDOUT,
    )

    def running() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"named exited:\n{_log(conf)[-3000:]}")
        if "running" not in _log(conf):
            return False
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    try:
        _wait_for(running, conf, "start")
    except BaseException:
        proc.kill()
        proc.wait(10)
        raise
    return proc
