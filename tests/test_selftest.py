"""`accert selftest` from source, in a real process, as the installer's CI runs it frozen."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def accert(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


def test_selftest_passes_and_leaves_the_users_home_untouched(isolated_home: Path) -> None:
    proc = accert("selftest", "--verbose")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    verdict = proc.stdout.strip().splitlines()[-1]
    assert verdict.startswith("accert ") and "self-test PASSED" in verdict
    for step in ("resources", "commands", "request", "sign", "import", "export", "read-back"):
        assert step in verdict
    # What a user would check: both PFX profiles and the JKS really were read back.
    assert "legacy (3DES/SHA-1)" in proc.stdout and "JKS via" in proc.stdout
    assert not isolated_home.exists() or not any(isolated_home.rglob("*"))


def test_selftest_gui_opens_and_closes_a_window_offscreen(tmp_path: Path) -> None:
    report = tmp_path / "verdict.txt"
    proc = accert(
        "selftest", "--gui", "--report", str(report), env={"QT_QPA_PLATFORM": "offscreen"}
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    written = report.read_text("utf-8").splitlines()
    assert written[-1] == proc.stdout.strip().splitlines()[-1]
    assert "gui: " in written[-1] and "shown" in written[-1] and "offscreen" in written[-1]
    assert any(line.split()[:2] == ["ok", "gui"] for line in written)


def test_selftest_failure_is_one_verdict_line_and_a_nonzero_exit(tmp_path: Path) -> None:
    # No credential store and a passphrase too short to protect a key: the request step fails.
    keep = tmp_path / "work"
    proc = accert("selftest", "--keep", str(keep), env={"ACCERT_PASSPHRASE": "short"})
    assert proc.returncode == 1
    verdict = proc.stdout.strip().splitlines()[-1]
    assert "self-test FAILED" in verdict and "request: PassphraseError" in verdict
    assert "export: not run: request failed" in verdict
    assert "Traceback" not in proc.stdout + proc.stderr
    assert keep.is_dir()  # --keep leaves the folder to look at


def test_selftest_is_listed_in_the_help() -> None:
    proc = accert("--help")
    assert proc.returncode == 0 and "selftest" in proc.stdout


def test_wizard_program_selftest_flag_runs_headless_and_writes_its_verdict(tmp_path: Path) -> None:
    # The windowed program's entry script, from source: on Windows it has no console, so the
    # verdict must reach the --report file, and the exit code must say how it went.
    report = tmp_path / "wizard.txt"
    entry = ROOT / "installer" / "entry_wizard.py"
    proc = subprocess.run(
        [sys.executable, str(entry), "--selftest", "--report", str(report)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "", "PYTHONPATH": str(ROOT)},
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    verdict = report.read_text("utf-8").splitlines()[-1]
    assert "self-test PASSED" in verdict and "gui: " in verdict and "on offscreen" in verdict
