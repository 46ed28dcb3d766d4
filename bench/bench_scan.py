"""Scan an estate of 200 TLS servers against scanning one; each answers after --delay seconds.

Each server is a real TLS listener on 127.0.0.1 serving its own certificate (leaf and
intermediate) and waiting --delay before its handshake, as a device across a WAN does. They run
in a child process, so their side of the handshakes does not use the scanner's CPU and
interpreter, as real devices would not.
Prints the wall times and the 200/1 ratio (with the default 100 workers the floor is 200/100,
i.e. 2 rounds of the delay, then the scanner's own CPU; the target is at most 5).
A command, not a test:
    .venv/bin/python bench/bench_scan.py [--targets 200] [--workers 100] [--delay 0.1]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
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


def serve(count: int, delay: float, folder: Path) -> None:
    """The simulated estate, in its own process (as remote devices use their own CPUs): prints
    the ports on one line, then serves until its stdin closes."""
    ca = TestCA(folder / "ca", "Bench")
    listeners = []
    for i in range(count):
        cert, key = issue(ca, f"sbc{i}.example.com", days_left=10 + i)
        listeners.append(TlsListener(cert + ca.inter_pem, key, folder / f"s{i}", delay=delay))
    print(json.dumps([lis.port for lis in listeners]), flush=True)
    sys.stdin.read()
    stop_all(listeners)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--delay", type=float, default=0.1, help="seconds before each handshake")
    parser.add_argument("--rounds", type=int, default=3, help="best of this many runs")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)  # the child's folder
    args = parser.parse_args()
    if args.serve:
        serve(args.targets, args.delay, args.serve)
        return 0
    with tempfile.TemporaryDirectory(prefix="accert-bench-scan-") as tmp:
        os.environ["ACCERT_HOME"] = str(Path(tmp) / "home")
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", tmp, "--targets", str(args.targets),
             "--delay", str(args.delay)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert child.stdin is not None and child.stdout is not None
        try:
            ports = json.loads(child.stdout.readline())
            print(f"{args.targets} TLS listeners ready in {time.perf_counter() - start:.1f} s")
            targets = [Target("127.0.0.1", ports=(port,), name=f"sbc{i}") for i, port in
                       enumerate(ports)]  # fmt: skip
            one = timed(targets[:1], args.workers, args.rounds)
            many = timed(targets, args.workers, args.rounds)
        finally:
            child.stdin.close()
            child.wait(timeout=60)
    floor = math.ceil(args.targets / args.workers)
    print(f"1 target:      {one * 1000:8.1f} ms")
    print(f"{args.targets} targets:  {many * 1000:8.1f} ms  ({args.workers} workers)")
    print(f"ratio {args.targets}/1: {many / one:.2f} (floor {floor} rounds of the handshake delay)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
