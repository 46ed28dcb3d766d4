"""Scan an estate of 200 TLS servers against scanning one; each answers after --delay seconds.

Each server is a real TLS listener on 127.0.0.1 serving its own certificate (leaf and
intermediate) and waiting --delay before its handshake, as a device across a WAN does.
Prints the wall times and the 200/1 ratio (with the default 64 workers the floor is 200/64,
i.e. 4 rounds of the delay; the target is at most 5). A command, not a test:
    .venv/bin/python bench/bench_scan.py [--targets 200] [--workers 64] [--delay 0.1]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.estate.inventory import Target
from app.estate.scan import DEFAULT_WORKERS, Urgency, scan
from tests.fakes.tls_listeners import TlsListener, issue, stop_all
from tests.pki import TestCA


def timed(targets: list[Target], workers: int, rounds: int) -> float:
    best = math.inf
    for _ in range(rounds):
        start = time.perf_counter()
        rows = scan(targets, workers=workers, timeout=10)
        best = min(best, time.perf_counter() - start)
        bad = [r for r in rows if r.urgency is Urgency.UNREACHABLE]
        if bad:
            raise SystemExit(f"{len(bad)} unreachable, e.g. {bad[0].error}")
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--delay", type=float, default=0.1, help="seconds before each handshake")
    parser.add_argument("--rounds", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="accert-bench-scan-") as tmp:
        os.environ["ACCERT_HOME"] = str(Path(tmp) / "home")
        ca = TestCA(Path(tmp) / "ca", "Bench")
        start = time.perf_counter()
        listeners = []
        for i in range(args.targets):
            cert, key = issue(ca, f"sbc{i}.example.com", days_left=10 + i)
            listeners.append(
                TlsListener(cert + ca.inter_pem, key, Path(tmp) / f"s{i}", delay=args.delay)
            )
        print(f"{args.targets} TLS listeners ready in {time.perf_counter() - start:.1f} s")
        targets = [
            Target("127.0.0.1", ports=(lis.port,), name=f"sbc{i}")
            for i, lis in enumerate(listeners)
        ]
        try:
            one = timed(targets[:1], args.workers, args.rounds)
            many = timed(targets, args.workers, args.rounds)
        finally:
            stop_all(listeners)
    floor = math.ceil(args.targets / args.workers)
    print(f"1 target:      {one * 1000:8.1f} ms")
    print(f"{args.targets} targets:  {many * 1000:8.1f} ms  ({args.workers} workers)")
    print(f"ratio {args.targets}/1: {many / one:.2f} (floor {floor} rounds of the handshake delay)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
