"""Command-line start-up: `accert` as a whole process against the native tools it replaces.

Run: .venv/bin/python bench/bench_cli.py [--pairs N]

Rows (each the median of N runs, accert and its reference alternating, so a load that comes
and goes on a busy machine falls on both sides):
- `accert request` (RSA-2048 key encrypted at rest, CSR with two names, the renewal's state
  and log) against `openssl req -new -newkey rsa:2048 -nodes` writing the same key and CSR;
- the same with an ECDSA P-256 key (informative: key generation is free on both sides, so this
  row is start-up and file writes alone);
- `accert --version` against a bare `python -c pass` (the interpreter's own start-up).
Both are fresh processes timed from the parent, as a user waits for them. The program run is
the `accert` console script next to this interpreter (what `pip install` gives a user), or
`python -m app` when there is none. No credential store (the 'fail' keyring backend), so the
key's passphrase comes from ACCERT_PASSPHRASE, as on a headless server or in CI.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def accert_command() -> list[str]:
    script = Path(sys.executable).parent / ("accert.exe" if os.name == "nt" else "accert")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "app"]


def run(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env, cwd=REPO)
    return time.perf_counter() - start


def alternate(ours: list[str], theirs: list[str], pairs: int, env: dict[str, str],
              fresh: list[str] | None = None) -> tuple[float, float]:  # fmt: skip
    """Medians of `pairs` runs of each, alternating which goes first; `fresh` names an
    argument to suffix with the run number (a new folder or file for each run)."""
    a_times, b_times = [], []
    for n in range(pairs):
        a = [f"{arg}{n}" if fresh and arg in fresh else arg for arg in ours]
        b = [f"{arg}{n}" if fresh and arg in fresh else arg for arg in theirs]
        if n % 2:
            b_times.append(run(b, env))
            a_times.append(run(a, env))
        else:
            a_times.append(run(a, env))
            b_times.append(run(b, env))
    return statistics.median(a_times), statistics.median(b_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="accert-bench-cli-") as tmp:
        env = dict(os.environ, ACCERT_HOME=str(Path(tmp) / "home"),
                   ACCERT_PASSPHRASE="benchmark passphrase",
                   PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")  # fmt: skip
        # Bytecode caching on, as in an installed accert (pip and PyInstaller ship .pyc files):
        # otherwise every run would compile our sources again.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        accert = accert_command()
        # One run each first, so both sides start with warm caches (.pyc, the OpenSSL config).
        run([*accert, "--version"], env)
        rows: list[tuple[str, float, float, str]] = []
        ws, key, csr = f"{tmp}/ws", f"{tmp}/key", f"{tmp}/csr"
        ours = [*accert, "request", ws, "--cn", "sbc.example.com", "--san", "sbc2.example.com"]
        theirs = ["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes",
                  "-subj", "/CN=sbc.example.com",
                  "-addext", "subjectAltName=DNS:sbc.example.com,DNS:sbc2.example.com",
                  "-keyout", key, "-out", csr]  # fmt: skip
        run([f"{ws}-warm" if arg == ws else arg for arg in ours], env)
        a, b = alternate(ours, theirs, args.pairs, env, fresh=[ws, key, csr])
        rows.append(("accert request RSA 2048 (process)", a, b, "openssl req -newkey rsa:2048"))
        # The same with an ECDSA key, made in microseconds by both: what is left is start-up
        # and files, where an interpreter and its imports cannot match a C program.
        fresh = {ws: f"{ws}-ec", key: f"{key}-ec", csr: f"{csr}-ec"}
        ours = [fresh.get(arg, arg) for arg in [*ours, "--key", "ec256"]]
        theirs = [fresh.get(arg, arg) for arg in theirs]
        theirs = [*theirs[:4], "ec", "-pkeyopt", "ec_paramgen_curve:P-256", *theirs[5:]]
        a, b = alternate(ours, theirs, args.pairs, env, fresh=list(fresh.values()))
        rows.append(("accert request ECDSA P-256 (process)", a, b, "openssl req -newkey ec -nodes"))
        a, b = alternate([*accert, "--version"], [sys.executable, "-c", "pass"], args.pairs, env)
        rows.append(("accert --version (process)", a, b, "python -c pass"))
    print(f"{'what':<40} {'accert':>10} {'reference':>10} {'ratio':>7}  reference "
          f"(-nodes; median of {args.pairs} alternating pairs)")  # fmt: skip
    for name, ours_s, ref_s, ref_name in rows:
        print(f"{name:<40} {ours_s * 1000:>7.1f} ms {ref_s * 1000:>7.1f} ms "
              f"{ours_s / ref_s:>7.2f}  {ref_name}")  # fmt: skip


if __name__ == "__main__":
    main()
