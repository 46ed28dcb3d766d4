"""Run every benchmark under bench/ and print one table: the ratios each one measured in its
own run (so a noisy machine does not mislead), its wall time and its peak memory.

    .venv/bin/python bench/run_all.py [--only NAME ...] [--quick] [--markdown]

Each bench_*.py runs as its own process (its peak RSS is read from the kernel's accounting
for that process through os.wait4), one after the other so they do not disturb each other.
A benchmark that fails is reported and the others still run; the exit code is then 1.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
# Extra arguments that keep a run short (--quick), for the benchmarks that know them.
QUICK_ARGS = {
    "bench_engine.py": ["--rounds", "3"],
    "bench_sbc_fleet.py": ["--sizes", "1,10"],
}

# "ratio 50/1: 1.94", "ratio: 0.8", "50/1 ratio 1.94" ...
_RATIO = re.compile(r"ratio\s*(?P<label>[\w/.-]*)\s*[:=]?\s*(?P<value>\d+(?:\.\d+)?)", re.I)
# bench_engine's table: "<what>  <ours> ms  <reference> ms  <ratio>  <reference name>"
_ROW = re.compile(
    r"^(?P<what>\S.*?)\s+(?P<ours>\d+(?:\.\d+)?) (?P<unit>ms|s)\s+"
    r"(?P<ref>\d+(?:\.\d+)? (?:ms|s)|-)\s+(?P<ratio>\d+(?:\.\d+)?|-)(?:\s+(?P<against>.*))?$"
)


@dataclass
class Result:
    name: str
    code: int
    seconds: float
    peak_mb: float
    output: str
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # (what, measured, ratio)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or cpu
    return f"{os.cpu_count()} CPU(s), {cpu}, {platform.system()} {platform.release()}, " + (
        f"Python {platform.python_version()}"
    )


def run_one(script: Path, extra: list[str], timeout: float) -> Result:
    """Run one benchmark; the child is reaped with os.wait4 to read its own peak RSS."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", QT_QPA_PLATFORM="offscreen")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    log = BENCH_DIR / f".{script.stem}.out"
    start = time.perf_counter()
    with open(log, "w+", encoding="utf-8") as sink:
        child = subprocess.Popen(
            [sys.executable, str(script), *extra],
            cwd=REPO,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = start + timeout
        status, usage = 0, None
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                child.kill()
                pid, status, usage = os.wait4(child.pid, 0)
                sink.write(f"\n(killed after {timeout:.0f} s)\n")
                break
            time.sleep(0.05)
        child.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
        seconds = time.perf_counter() - start
        sink.seek(0)
        output = sink.read()
    log.unlink(missing_ok=True)
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    scale = 1024 if sys.platform != "darwin" else 1
    peak = usage.ru_maxrss * scale / 1e6 if usage else 0.0
    return Result(script.name, child.returncode, seconds, peak, output)


def extract(result: Result) -> None:
    for line in result.output.splitlines():
        row = _ROW.match(line.strip())
        if row:
            measured = f"{row['ours']} {row['unit']}"
            if row["ref"] != "-":
                measured += f" vs {row['ref']}" + (f" ({row['against']})" if row["against"] else "")
            result.rows.append((row["what"], measured, row["ratio"]))
            continue
        ratio = _RATIO.search(line)
        if ratio:
            result.rows.append((line.strip()[:60], "", ratio["value"]))


def table(results: list[Result], markdown: bool) -> str:
    head = ("benchmark", "measurement", "measured", "ratio")
    lines: list[tuple[str, str, str, str]] = []
    for r in results:
        status = "" if r.code == 0 else f" FAILED (exit {r.code})"
        lines.append(
            (r.name + status, "whole run", f"{r.seconds:.1f} s, peak {r.peak_mb:.0f} MB", "")
        )
        for what, measured, ratio in r.rows:
            lines.append(("", what, measured, ratio))
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in lines]
        return "\n".join(out)
    widths = [max(len(row[i]) for row in [head, *lines]) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*row).rstrip() for row in [head, *lines])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="run only benchmarks containing NAME")
    parser.add_argument("--quick", action="store_true", help="fewer rounds and sizes")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per benchmark")
    parser.add_argument("--verbose", action="store_true", help="also print each one's output")
    args = parser.parse_args()
    scripts = sorted(BENCH_DIR.glob("bench_*.py"))
    if args.only:
        scripts = [s for s in scripts if any(n in s.name for n in args.only)]
    if not scripts:
        print("No benchmark found under bench/.", file=sys.stderr)
        return 1
    print(f"Machine: {machine()}")
    print(f"Date:    {time.strftime('%Y-%m-%d %H:%M %Z')}")
    results = []
    for script in scripts:
        extra = QUICK_ARGS.get(script.name, []) if args.quick else []
        print(f"running {script.name} {' '.join(extra)}...", file=sys.stderr, flush=True)
        result = run_one(script, extra, args.timeout)
        extract(result)
        if args.verbose or result.code != 0:
            print(result.output, file=sys.stderr)
        results.append(result)
    print()
    print(table(results, args.markdown))
    return 0 if all(r.code == 0 for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
