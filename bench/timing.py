"""What the benchmarks share: the median of timed rounds and the table run_all.py reads."""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

# (what, accert's seconds, the reference's seconds or None, the reference's name)
Row = tuple[str, float, float | None, str]


def rounds_and_home(
    description: str | None, prefix: str, default_rounds: int = 7
) -> tuple[int, Path]:
    """The `--rounds N` of the command line, and a fresh temporary folder whose home/ is
    accert's for this process: a benchmark's renewals, settings and key passphrase never touch
    the user's own, and the credential store is off (the passphrase comes from the environment)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rounds", type=int, default=default_rounds)
    rounds: int = parser.parse_args().rounds
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ.update(ACCERT_HOME=str(tmp / "home"), ACCERT_PASSPHRASE="benchmark passphrase",
                      PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")  # fmt: skip
    return rounds, tmp


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
