"""The estate scan against real TLS servers on 127.0.0.1: one per kind of trouble."""

from __future__ import annotations

import datetime as dt
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from app.estate.inventory import Kind, Target
from app.estate.scan import Match, Renewal, ScanRow, Urgency, renew_these, scan
from app.fingerprints import cert_sha256, public_key_sha256
from tests.fakes.tls_listeners import (
    TlsListener,
    closed_port,
    issue,
    silent_listener,
    stop_all,
)
from tests.pki import TestCA, self_signed


@dataclass
class Estate:
    targets: list[Target]
    roots: list[x509.Certificate]
    renewal: Renewal
    silent_port: int


@pytest.fixture(scope="module")
def estate(
    tmp_path_factory: pytest.TempPathFactory, test_ca: TestCA, other_ca: TestCA
) -> Iterator[Estate]:
    tmp = tmp_path_factory.mktemp("estate")
    inter = test_ca.inter_pem
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    renewal_cert, renewal_key = issue(test_ca, "renewed.example.com", days_left=89)
    from cryptography.hazmat.primitives import serialization

    renewal_private = serialization.load_pem_private_key(renewal_key, None)
    old_same_key, _ = issue(test_ca, "samekey.example.com", days_left=40, key=renewal_private)  # type: ignore[arg-type]
    plan: dict[str, tuple[bytes, bytes]] = {}

    def leaf(name: str, **kw: object) -> tuple[bytes, bytes]:
        return issue(test_ca, f"{name}.example.com", **kw)  # type: ignore[arg-type]

    cert, key = leaf("fine", days_left=200)
    plan["fine"] = (cert + inter, key)
    cert, key = leaf("expiring", days_left=10)
    plan["expiring"] = (cert + inter, key)
    cert, key = leaf("expired", days_left=-5, valid_days=30)
    plan["expired"] = (cert + inter, key)
    cert, key = leaf("leafonly", days_left=300)
    plan["leafonly"] = (cert, key)  # the intermediate is not served
    cert, key = leaf("rsa", days_left=120, key=rsa_key)
    plan["rsa"] = (cert + inter, key)
    plan["renewed"] = (renewal_cert + inter, renewal_key)
    plan["samekey"] = (old_same_key + inter, renewal_key)
    cert, key = issue(other_ca, "otherca.example.com", days_left=150)
    plan["otherca"] = (cert + other_ca.inter_pem, key)  # its root is not given to the scan
    plan["selfsigned"] = self_signed("acl_12345", days=365)

    listeners = [TlsListener(chain, k, tmp / name) for name, (chain, k) in plan.items()]
    silent = silent_listener()
    targets = [
        Target(host="127.0.0.1", ports=(lis.port,), name=name)
        for name, lis in zip(plan, listeners, strict=True)
    ]
    targets.append(Target(host="127.0.0.1", ports=(closed_port(),), name="closed"))
    targets.append(Target(host="127.0.0.1", ports=(silent.getsockname()[1],), name="silent"))
    renewal_x509 = x509.load_pem_x509_certificate(renewal_cert)
    renewal = Renewal(cert_sha256(renewal_x509), public_key_sha256(renewal_x509.public_key()))
    yield Estate(
        targets,
        [x509.load_pem_x509_certificate(test_ca.root_pem)],
        renewal,
        silent.getsockname()[1],
    )
    silent.close()
    stop_all(listeners)


@pytest.fixture(scope="module")
def scanned(estate: Estate) -> tuple[list[ScanRow], float, list[ScanRow]]:
    seen: list[ScanRow] = []
    start = time.monotonic()
    rows = scan(
        estate.targets,
        workers=8,
        timeout=1.0,
        threshold=30,
        renewal=estate.renewal,
        extra_roots=estate.roots,
        progress=seen.append,
    )
    return rows, time.monotonic() - start, seen


def by_name(rows: list[ScanRow]) -> dict[str, ScanRow]:
    return {r.target.name: r for r in rows}


def test_every_port_is_reported_once_and_progress_saw_each(
    scanned: tuple[list[ScanRow], float, list[ScanRow]], estate: Estate
) -> None:
    rows, _, seen = scanned
    assert sorted(r.target.name for r in rows) == sorted(t.name for t in estate.targets)
    assert sorted(r.target.name for r in seen) == sorted(r.target.name for r in rows)


def test_silent_and_closed_ports_do_not_hold_the_scan(
    scanned: tuple[list[ScanRow], float, list[ScanRow]], estate: Estate
) -> None:
    rows, _, _ = scanned  # a port that held the scan would hang it: pytest-timeout's
    r = by_name(rows)
    assert not r["closed"].reachable and "Cannot connect" in r["closed"].error
    assert not r["silent"].reachable
    assert "did not complete a TLS handshake within 1 s" in r["silent"].error
    assert r["silent"].urgency is Urgency.UNREACHABLE and r["silent"].status == "unreachable"


def test_sorted_by_urgency_expired_first_fine_last(
    scanned: tuple[list[ScanRow], float, list[ScanRow]],
) -> None:
    rows, _, _ = scanned
    names = [r.target.name for r in rows]
    assert names[0] == "expired" and names[1] == "expiring"
    assert [r.urgency for r in rows] == sorted(r.urgency for r in rows)
    assert set(names[2:4]) == {"closed", "silent"}
    assert names[-1] == "fine"  # the latest expiry of the fine ones


def test_what_each_server_serves(scanned: tuple[list[ScanRow], float, list[ScanRow]]) -> None:
    r = by_name(scanned[0])
    fine = r["fine"]
    assert fine.common_name == "fine.example.com" and fine.sans == ("fine.example.com",)
    assert fine.issuer == "CN=Test TLS RSA CA G2,O=Test Trust,C=US"
    assert fine.days_left == 200 and fine.chain_complete and fine.served_count == 2
    assert fine.key == "ECDSA P-256" and fine.urgency is Urgency.OK
    assert r["expiring"].days_left == 10 and r["expiring"].urgency is Urgency.EXPIRING
    assert r["expiring"].status == "expires in 10 days"
    assert r["expired"].days_left == -5 and r["expired"].status == "expired 5 days ago"
    assert r["rsa"].key == "RSA 2048" and r["rsa"].key_bits == 2048


def test_incomplete_and_untrusted_chains_are_named(
    scanned: tuple[list[ScanRow], float, list[ScanRow]],
) -> None:
    r = by_name(scanned[0])
    assert not r["leafonly"].chain_complete
    assert r["leafonly"].chain_note == "intermediate not served"
    assert r["leafonly"].urgency is Urgency.PROBLEM
    assert r["otherca"].chain_note == "root not trusted here"
    assert r["selfsigned"].self_signed and r["selfsigned"].chain_note == "self-signed (no CA)"


def test_which_ports_serve_the_current_renewal(
    scanned: tuple[list[ScanRow], float, list[ScanRow]],
) -> None:
    r = by_name(scanned[0])
    assert r["renewed"].match is Match.CERTIFICATE
    assert r["samekey"].match is Match.SAME_KEY
    assert r["fine"].match is Match.OTHER
    assert r["closed"].match is Match.NOT_ASKED


def test_threshold_moves_a_certificate_into_expiring(estate: Estate) -> None:
    fine = [t for t in estate.targets if t.name in ("fine", "rsa")]
    rows = scan(fine, timeout=2, threshold=150, extra_roots=estate.roots)
    assert {r.target.name: r.urgency for r in rows} == {
        "rsa": Urgency.EXPIRING,
        "fine": Urgency.OK,
    }


def test_cancel_reports_the_rest_as_cancelled(estate: Estate) -> None:
    import threading

    cancel = threading.Event()
    cancel.set()
    rows = scan(estate.targets, timeout=1, cancel=cancel)
    assert len(rows) == len(estate.targets)
    assert all(r.error.endswith("scan cancelled.") for r in rows if not r.reachable)


def test_default_ports_by_kind() -> None:
    assert Target("sbc1").scan_ports == (443, 5061)
    assert Target("ovoc1", kind=Kind.OVOC).scan_ports == (443,)
    assert scan([]) == []


def test_days_are_counted_from_the_given_time(estate: Estate) -> None:
    fine = [t for t in estate.targets if t.name == "fine"]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=190)
    (row,) = scan(fine, timeout=2, now=later, extra_roots=estate.roots)
    assert row.days_left == 10 and row.urgency is Urgency.EXPIRING


def test_renew_these_gives_each_sbc_once_and_the_ovoc_servers(
    scanned: tuple[list[ScanRow], float, list[ScanRow]],
) -> None:
    rows = scanned[0]
    picked = [r for r in rows if r.urgency <= Urgency.EXPIRING]
    ovoc = ScanRow(Target("ovoc.example.com", kind=Kind.OVOC), 443, reachable=False)
    devices, ovocs = renew_these([*picked, *picked, ovoc])
    assert [d.name for d in devices] == ["expired", "expiring"]
    assert devices[0].contexts == (0,) and devices[0].user == "Admin"
    assert [t.host for t in ovocs] == ["ovoc.example.com"]


class _MuteServer:
    """Accepts TLS connections and never answers; counts how many are open at once."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port: int = self.server.getsockname()[1]
        self.accepted = 0
        self.most_at_once = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        with selectors.DefaultSelector() as sel:
            sel.register(self.server, selectors.EVENT_READ)
            while not self._stop.is_set():
                for key, _ in sel.select(timeout=0.05):
                    if key.fileobj is self.server:
                        conn, _ = self.server.accept()
                        sel.register(conn, selectors.EVENT_READ)
                        self.accepted += 1
                    else:
                        conn = key.fileobj  # type: ignore[assignment]
                        if not conn.recv(4096):  # the prober gave up and closed
                            sel.unregister(conn)
                            conn.close()
                open_now = len(sel.get_map()) - 1
                self.most_at_once = max(self.most_at_once, open_now)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.server.close()


def test_many_silent_ports_are_probed_workers_at_a_time_each_giving_up() -> None:
    """12 ports that never answer TLS, 6 workers: 6 handshakes wait at once (so the scan takes
    rounds of the timeout, not 12 of them), each ends at its own timeout, none is left open."""
    mute = _MuteServer()
    try:
        targets = [Target("127.0.0.1", ports=(mute.port,), name=f"mute{i}") for i in range(12)]
        rows = scan(targets, workers=6, timeout=2)
    finally:
        mute.close()
    assert len(rows) == 12 and all(r.urgency is Urgency.UNREACHABLE for r in rows)
    assert all("did not complete a TLS handshake within 2 s" in r.error for r in rows)
    assert mute.accepted == 12
    assert mute.most_at_once == 6


def test_a_known_intermediate_does_not_hide_that_a_device_omits_it(
    estate: Estate, test_ca: TestCA
) -> None:
    leafonly = [t for t in estate.targets if t.name == "leafonly"]
    cas = [*estate.roots, x509.load_pem_x509_certificate(test_ca.inter_pem)]
    (row,) = scan(leafonly, timeout=2, extra_roots=cas)
    assert not row.chain_complete and row.chain_note == "intermediate not served"
