"""`installer/build.py --smoke` times the frozen `accert` against the same commands from source.
The frozen bundle takes a minute to build (scripts/test does it); here the installed `accert`
console script stands in for it, so the timing's own mechanics are checked: the same three
commands run on both sides and really succeed, and a failing run stops the build with its error.
The figures themselves belong in bench/README (no timed assertions here)."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.helpers import console_script

ROOT = Path(__file__).resolve().parent.parent


def _build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build", ROOT / "installer" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _console_script() -> Path:
    script = console_script()
    assert script.is_file(), f"{script} missing: pip install -e . makes it"
    return script


def test_each_command_is_timed_on_both_sides_with_wall_and_cpu(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _build().compare_start(_console_script(), pairs=1)
    out = capsys.readouterr().out
    ms, cpu_ms, ratio = r"\d+\.\d ms", r"(?:\d+\.\d ms|n/a)", r"(?:\d+\.\d\d|n/a)"
    for label in ("accert --version", "accert --help", r"accert request \(ECDSA P-256\)"):
        wall = rf"wall {ms} frozen / {ms} source = {ratio}"
        row = re.search(rf"{label}\s+{wall};\s+CPU {cpu_ms} / {cpu_ms} = {ratio}", out)
        assert row, (label, out)
        if hasattr(os, "wait4"):  # the kernel's CPU accounting is read on POSIX
            assert "n/a" not in row.group(0), row.group(0)
    assert "medians of 1 alternating runs" in out


def test_a_run_that_fails_stops_the_timing_with_its_error(tmp_path: Path) -> None:
    build = _build()
    with pytest.raises(SystemExit) as stopped:
        build.run_timed(
            [sys.executable, "-m", "app", "request", str(tmp_path / "ws"), "--key", "rsa2048"],
            dict(os.environ),
            ROOT,
        )
    message = str(stopped.value)
    assert "request" in message and "--cn" in message  # the command, and argparse's complaint
