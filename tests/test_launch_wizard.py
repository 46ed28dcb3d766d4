"""Starting the wizard as the README says: `scripts/wizard` or `python main.py`, also on a machine
without a display, and `python main.py --help` (issue 16)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ui.display import no_display_problem

ROOT = Path(__file__).resolve().parents[1]


def _headless_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(name, None)
    return env


@pytest.mark.linux_only  # Windows always has a display: main.py would open the wizard
def test_main_without_a_display_says_what_to_do_in_our_words() -> None:
    proc = subprocess.run(
        [sys.executable, "main.py"], cwd=ROOT, env=_headless_env(),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.startswith("accert: the wizard needs a display")
    assert "xvfb-run scripts/wizard" in proc.stderr
    assert "QT_QPA_PLATFORM=offscreen" in proc.stderr
    assert "Reinstalling" not in proc.stderr and "qt.qpa" not in proc.stderr  # not Qt's abort
    assert "Traceback" not in proc.stderr


def test_main_help_prints_usage_without_a_window() -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "main.py", "--help"], cwd=ROOT, env=_headless_env(),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: python main.py [--dashboard] [-h]")
    assert "accert --help" in proc.stdout and ".venv/bin/accert" in proc.stdout
    assert "PySide6" not in proc.stderr  # -X importtime lists every module: Qt never loaded


@pytest.mark.parametrize(
    ("env", "platform", "ok"),
    [
        ({}, "linux", False),
        ({"DISPLAY": ":0"}, "linux", True),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
        ({"QT_QPA_PLATFORM": "offscreen"}, "linux", True),
        ({"QT_QPA_PLATFORM": "xcb"}, "linux", False),
        ({"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"}, "linux", False),
        ({}, "win32", True),
        ({}, "darwin", True),
    ],
)
def test_display_detection(env: dict[str, str], platform: str, ok: bool) -> None:
    problem = no_display_problem(env, platform)
    assert (problem is None) is ok, problem


@pytest.fixture
def fake_checkout(tmp_path: Path) -> Path:
    """scripts/wizard and pyproject.toml in a folder whose .venv/bin/python records pip runs
    (a real install takes a minute; what is tested is when the script runs one)."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "wizard", tmp_path / "scripts" / "wizard")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "main.py").write_text("")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    fake = bin_dir / "python"
    fake.write_text(
        "#!/usr/bin/env bash\n"
        f'if [ "$1" = "-m" ]; then echo "$*" >> "{tmp_path}/pip.log"; exit 0; fi\n'
        f'if [ "$1" = "main.py" ]; then echo started >> "{tmp_path}/started.log"; exit 0; fi\n'
        f'exec "{sys.executable}" "$@"\n'
    )
    fake.chmod(0o755)
    return tmp_path


def _start(checkout: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(checkout / "scripts" / "wizard")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.linux_only  # scripts/wizard is bash; on Windows the README's steps are pip's
def test_scripts_wizard_installs_only_when_pyproject_changed(fake_checkout: Path) -> None:
    pip_log = fake_checkout / "pip.log"
    first = _start(fake_checkout)
    assert first.returncode == 0, first.stderr
    assert pip_log.read_text().count("pip install") == 1
    assert (fake_checkout / ".venv" / ".accert-installed").exists()
    second = _start(fake_checkout)
    assert second.returncode == 0, second.stderr
    assert pip_log.read_text().count("pip install") == 1  # a start is just a start
    assert second.stderr == ""
    with (fake_checkout / "pyproject.toml").open("a") as f:
        f.write("\n# a new dependency\n")
    _start(fake_checkout)
    assert pip_log.read_text().count("pip install") == 2
    assert (fake_checkout / "started.log").read_text().count("started") == 3
