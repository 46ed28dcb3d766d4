"""What the benchmarks share: the median of timed rounds and the table run_all.py reads."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable

# (what, accert's seconds, the reference's seconds or None, the reference's name)
Row = tuple[str, float, float | None, str]


def timed(fn: Callable[[], object], rounds: int) -> float:
    """The median wall time of `rounds` calls of fn, in seconds."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def print_rows(rows: Iterable[Row]) -> None:
    """One line a row, `what  12.3 ms  45.6 ms  0.27  reference`: the form run_all.py collects."""
    print(f"{'what':<40} {'accert':>10} {'reference':>10} {'ratio':>7}  reference")
    for name, ours_s, ref_s, ref_name in rows:
        ratio = f"{ours_s / ref_s:.2f}" if ref_s else "-"
        ref = f"{ref_s * 1000:.1f} ms" if ref_s else "-"
        print(f"{name:<40} {ours_s * 1000:>7.1f} ms {ref:>10} {ratio:>7}  {ref_name}")
