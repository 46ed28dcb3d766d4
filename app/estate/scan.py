"""Scan the estate: one real TLS handshake per (target, port), in parallel, never hanging.

Each connection has its own timeout (app.tls_probe); on top, the whole scan has a deadline
so that a name lookup the OS will not time out cannot hold the report back. Workers are
daemon threads for the same reason: a stuck one never keeps the program from exiting.
"""

from __future__ import annotations

import datetime as dt
import math
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from app import chain as chains
from app.checks import EXPIRY_WARNING_DAYS, cn_of
from app.csr import sans_of
from app.errors import AccertError
from app.estate.inventory import Inventory, Kind, Target
from app.fingerprints import cert_sha256, public_key_sha256
from app.keys import describe
from app.names import readable_name
from app.tls_probe import ServedChain, fetch_served_chain

if TYPE_CHECKING:
    from app.mediant.devices import SavedDevice

# Handshakes wait on the network, not the CPU: 100 at once scan 200 ports in 2 rounds of the
# slowest answer (32 took 7); each is a socket and a thread that mostly waits.
DEFAULT_WORKERS = 100
DEFAULT_TIMEOUT = 8.0
MAX_WORKERS = 128


class Urgency(IntEnum):
    """Most urgent first: the order of the dashboard and the report."""

    EXPIRED = 0
    EXPIRING = 1  # within the threshold
    UNREACHABLE = 2  # unknown: it may be expired, someone must look
    PROBLEM = 3  # valid for now, but an incomplete chain or a key that is too weak
    OK = 4

    @property
    def label(self) -> str:
        return {0: "expired", 1: "expiring", 2: "unreachable", 3: "check", 4: "ok"}[self.value]


class Match(StrEnum):
    """Does the served certificate belong to the current renewal?"""

    NOT_ASKED = ""  # no renewal given
    CERTIFICATE = "renewed"  # the renewal's certificate is served
    SAME_KEY = "same key"  # the renewal's key, another certificate (e.g. the previous one)
    OTHER = "old"  # another certificate: still to be renewed


@dataclass(frozen=True)
class Renewal:
    """What the current renewal deploys, by fingerprint (colon-hex SHA-256)."""

    leaf_sha256: str = ""
    public_key_sha256: str = ""

    def match(self, leaf: x509.Certificate) -> Match:
        if not (self.leaf_sha256 or self.public_key_sha256):
            return Match.NOT_ASKED
        if self.leaf_sha256 and cert_sha256(leaf) == self.leaf_sha256.upper():
            return Match.CERTIFICATE
        if self.public_key_sha256 and (
            public_key_sha256(leaf.public_key()) == self.public_key_sha256.upper()
        ):
            return Match.SAME_KEY
        return Match.OTHER


@dataclass(frozen=True)
class ScanRow:
    """What one port of one target serves, in the words of the dashboard."""

    target: Target
    port: int
    reachable: bool
    error: str = ""  # why it is unreachable (one line, with the fix)
    subject: str = ""
    common_name: str = ""
    sans: tuple[str, ...] = ()
    issuer: str = ""
    not_after: dt.datetime | None = None
    days_left: int | None = None
    chain_complete: bool = False
    chain_note: str = ""  # what is missing or wrong in the served chain
    served_count: int = 0  # certificates sent by the server, leaf included
    key: str = ""  # "RSA 2048", "ECDSA P-256"
    key_bits: int = 0
    self_signed: bool = False
    leaf_sha256: str = ""
    public_key_sha256: str = ""
    match: Match = Match.NOT_ASKED
    protocol: str = ""
    seconds: float = 0.0
    threshold: int = EXPIRY_WARNING_DAYS
    problems: tuple[str, ...] = field(default=())
    leaf_der: bytes = field(default=b"", repr=False)  # the served certificate, to look inside

    @property
    def urgency(self) -> Urgency:
        if not self.reachable or self.days_left is None:
            return Urgency.UNREACHABLE
        if self.days_left < 0:
            return Urgency.EXPIRED
        if self.days_left <= self.threshold:
            return Urgency.EXPIRING
        return Urgency.PROBLEM if self.problems else Urgency.OK

    @property
    def address(self) -> str:
        host = self.target.host
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    @property
    def sort_key(self) -> tuple[int, int, str, int]:
        days = self.days_left if self.days_left is not None else 1 << 30
        return (self.urgency.value, days, self.target.label.lower(), self.port)

    @property
    def status(self) -> str:
        """One short phrase for the table."""
        if not self.reachable:
            return "unreachable"
        assert self.days_left is not None
        if self.days_left < 0:
            return f"expired {-self.days_left} days ago"
        when = f"expires in {self.days_left} days"
        return f"{when}; {'; '.join(self.problems)}" if self.problems else when


def _key_bits(leaf: x509.Certificate) -> int:
    key = leaf.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.curve.key_size
    return 0


def _problems(leaf: x509.Certificate, key_bits: int, complete: bool, note: str) -> list[str]:
    out = []
    if not complete:
        out.append(note or "chain incomplete")
    if isinstance(leaf.public_key(), rsa.RSAPublicKey) and key_bits < 2048:
        out.append(f"RSA {key_bits} is too weak")
    return out


def describe_served(
    target: Target,
    served: ServedChain,
    *,
    renewal: Renewal,
    extra_roots: Sequence[x509.Certificate],
    threshold: int,
    now: dt.datetime,
    seconds: float,
) -> ScanRow:
    leaf = served.leaf
    self_signed = chains.is_self_signed(leaf)
    report = chains.build(leaf, served.chain[1:], extra_roots=extra_roots)
    if self_signed:
        complete, note = False, "self-signed (no CA)"
    elif report.complete:
        complete, note = True, ""
    elif report.problems:
        complete, note = False, "wrong chain served"
    elif report.missing_intermediate:
        complete, note = False, "intermediate not served"
    else:
        complete, note = False, "root not trusted here"
    bits = _key_bits(leaf)
    return ScanRow(
        target=target,
        port=served.port,
        reachable=True,
        subject=readable_name(leaf.subject),
        common_name=cn_of(leaf),
        sans=sans_of(leaf.extensions),
        issuer=readable_name(leaf.issuer),
        not_after=leaf.not_valid_after_utc,
        days_left=(leaf.not_valid_after_utc - now).days,
        chain_complete=complete,
        chain_note=note,
        served_count=len(served.chain),
        key=describe(leaf.public_key()),
        key_bits=bits,
        self_signed=self_signed,
        leaf_sha256=served.leaf_sha256,
        public_key_sha256=public_key_sha256(leaf.public_key()),
        match=renewal.match(leaf),
        protocol=served.protocol,
        seconds=seconds,
        leaf_der=leaf.public_bytes(serialization.Encoding.DER),
        threshold=threshold,
        problems=tuple(_problems(leaf, bits, complete, note)),
    )


def _unreachable(target: Target, port: int, error: str, seconds: float, threshold: int) -> ScanRow:
    return ScanRow(
        target=target, port=port, reachable=False, error=error, seconds=seconds, threshold=threshold
    )


def scan(
    inventory: Inventory | Iterable[Target],
    *,
    workers: int = DEFAULT_WORKERS,
    timeout: float = DEFAULT_TIMEOUT,
    threshold: int = EXPIRY_WARNING_DAYS,
    renewal: Renewal | None = None,
    extra_roots: Sequence[x509.Certificate] = (),
    progress: Callable[[ScanRow], None] | None = None,
    cancel: threading.Event | None = None,
    now: dt.datetime | None = None,
) -> list[ScanRow]:
    """Handshake with every (target, port) and describe what each serves, most urgent first.

    `progress` is called from the calling thread as each row is ready (a GUI runs the whole
    scan in a worker and forwards rows by signal). Setting `cancel` ends the scan early; the
    ports not yet scanned are then reported as unreachable ("cancelled").
    """
    targets = list(inventory.targets if isinstance(inventory, Inventory) else inventory)
    jobs = [(t, p) for t in targets for p in t.scan_ports]
    if not jobs:
        return []
    workers = max(1, min(workers, MAX_WORKERS, len(jobs)))
    renewal = renewal or Renewal()
    # Roots only: an intermediate given here would hide that a device does not serve it.
    extra_roots = [c for c in extra_roots if chains.is_self_signed(c)]
    now = now or dt.datetime.now(dt.UTC)
    cancel = cancel or threading.Event()
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    done: queue.SimpleQueue[tuple[int, ScanRow]] = queue.SimpleQueue()
    for i in range(len(jobs)):
        todo.put(i)

    def work() -> None:
        while not cancel.is_set():
            try:
                i = todo.get_nowait()
            except queue.Empty:
                return
            target, port = jobs[i]
            start = time.monotonic()
            try:
                served = fetch_served_chain(
                    target.host, port, timeout=timeout, server_name=target.server_name or None
                )
                row = describe_served(
                    target,
                    served,
                    renewal=renewal,
                    extra_roots=extra_roots,
                    threshold=threshold,
                    now=now,
                    seconds=time.monotonic() - start,
                )
            except AccertError as exc:
                row = _unreachable(target, port, exc.message, time.monotonic() - start, threshold)
            except Exception as exc:  # one odd server must not end the whole scan
                text = f"{target.host}:{port}: {type(exc).__name__}: {exc}"
                row = _unreachable(target, port, text, time.monotonic() - start, threshold)
            done.put((i, row))

    chains.trusted_roots_for(x509.Name([]))  # load the trust store once, before the threads
    for _ in range(workers):
        threading.Thread(target=work, name="estate-scan", daemon=True).start()
    # Each port takes at most a connect and a handshake timeout; allow one extra round.
    rounds = math.ceil(len(jobs) / workers) + 1
    deadline = time.monotonic() + rounds * (2 * timeout + 1)
    rows: dict[int, ScanRow] = {}
    while len(rows) < len(jobs) and not cancel.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            i, row = done.get(timeout=min(remaining, 0.25))
        except queue.Empty:
            continue
        rows[i] = row
        if progress:
            progress(row)
    why = "scan cancelled" if cancel.is_set() else "no answer before the scan's deadline"
    cancel.set()  # idle workers stop taking jobs
    for i, (target, port) in enumerate(jobs):
        if i not in rows:
            rows[i] = _unreachable(target, port, f"{target.host}:{port}: {why}.", 0.0, threshold)
            if progress:
                progress(rows[i])
    return sorted(rows.values(), key=lambda r: r.sort_key)


def renewal_from_workspace(path: object) -> tuple[Renewal, list[x509.Certificate]]:
    """The renewal's fingerprints and CA certificates (to judge chains) from its folder.

    Needs no passphrase: the key's fingerprint comes from the CSR, the rest from the
    imported certificate when there is one.
    """
    from pathlib import Path

    from app import csr
    from app.workspace import Workspace

    ws = Workspace.open(Path(str(path)))
    leaf_fp, key_fp, cas = "", "", []
    try:
        leaf = ws.certificate()
        leaf_fp, key_fp = cert_sha256(leaf), public_key_sha256(leaf.public_key())
        cas = ws.ca_certificates()
    except AccertError:
        key_fp = public_key_sha256(csr.load(ws.csr_pem, "request.csr").public_key())
    return Renewal(leaf_fp, key_fp), cas


def worst(rows: Iterable[ScanRow]) -> Urgency:
    return min((r.urgency for r in rows), default=Urgency.OK)


def renew_these(rows: Iterable[ScanRow]) -> tuple[list[SavedDevice], list[Target]]:
    """The dashboard's "renew these": the SBCs as the deployment's device entries (once
    each, whatever ports were selected) and the OVOC servers, in the order given."""
    devices: dict[str, SavedDevice] = {}
    ovocs: dict[str, Target] = {}
    for row in rows:
        t = row.target
        if t.kind is Kind.SBC:
            devices.setdefault(t.key, t.saved_device())
        else:
            ovocs.setdefault(t.key, t)
    return list(devices.values()), list(ovocs.values())


def log_to_workspace(path: object, rows: Sequence[ScanRow]) -> None:
    """Note in the renewal's log which ports already serve it and which still do not."""
    from pathlib import Path

    from app.workspace import Workspace

    def where(match: Match) -> list[str]:
        return [f"{r.target.label} {r.address}" for r in rows if r.match is match]

    Workspace.open(Path(str(path))).log(
        "estate-scan",
        ports=len(rows),
        serving_renewal=where(Match.CERTIFICATE),
        same_key_other_certificate=where(Match.SAME_KEY),
        still_old=where(Match.OTHER),
        unreachable=[f"{r.target.label} {r.address}" for r in rows if not r.reachable],
    )
