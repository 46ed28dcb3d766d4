"""Deploy one renewal to 1, 10 and 50 simulated Mediant devices answering in ~100 ms a call.

Prints the wall times and the 50/1 ratio (target: under 3). A command, not a test:
    .venv/bin/python bench/bench_sbc_fleet.py [--delay 0.1] [--sizes 1,10,50]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.mediant.client import Timing
from app.mediant.deploy import DeviceTarget
from app.mediant.fleet import deploy_fleet
from app.tls_probe import fetch_served_chain
from tests.fakes.mediant_material import make_material
from tests.fakes.mediant_sim import MediantSim
from tests.pki import TestCA


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.1, help="seconds per device call")
    parser.add_argument("--sizes", default="1,10,50")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="accert-bench-") as tmp:
        os.environ["ACCERT_HOME"] = str(Path(tmp) / "home")
        ca = TestCA(Path(tmp) / "ca", "Bench")
        material = make_material(ca, Path(tmp) / "material")
        timing = Timing(timeout=30, backoff=0.1, verify_attempts=2, verify_interval=0.2)
        times: dict[int, float] = {}
        for n in sizes:
            with ExitStack() as stack:
                sims = [stack.enter_context(MediantSim(delay=args.delay)) for _ in range(n)]
                targets = [
                    DeviceTarget(
                        "127.0.0.1",
                        s.port,
                        s.user,
                        s.password,
                        (1,),
                        (s.context_port(1),),
                        fingerprint=fetch_served_chain("127.0.0.1", s.port).leaf_sha256,
                        name=f"sbc{i:02d}",
                    )
                    for i, s in enumerate(sims)
                ]
                calls_before = sum(len(s.calls) for s in sims)
                t0 = time.perf_counter()
                report = deploy_fleet(targets, material, Path(tmp) / f"backups-{n}", timing=timing)
                times[n] = time.perf_counter() - t0
                calls = sum(len(s.calls) for s in sims) - calls_before
                if not report.ok:
                    print(report.text())
                    return 1
            print(
                f"{n:3d} device(s): {times[n]:6.2f} s wall, {calls / n:.0f} REST calls per device "
                f"at {args.delay * 1000:.0f} ms each"
            )
        if 1 in times and max(sizes) in times and max(sizes) > 1:
            ratio = times[max(sizes)] / times[1]
            verdict = "OK" if ratio < 3 else "over target"
            print(f"ratio {max(sizes)}/1: {ratio:.2f} (target < 3: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
