"""What the Windows job leaves to Linux CI, and that Linux CI leaves nothing out.

Tests needing Debian's services (sshd for a useradd'd account, pebble, bind9) carry the
`linux_services` marker, given by tests/conftest.py to every test using a fixture that starts
one; tests of Linux-only things carry `linux_only`. windows.yml deselects exactly those markers
and counts them in its summary; .ci/run and scripts/test pass pytest no filter at all.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import yaml

from tests.conftest import LINUX_SERVICE_FIXTURES

ROOT = Path(__file__).resolve().parent.parent
LINUX_MARKERS = {"linux_services", "linux_only"}
# What starts one of Debian's services (tests/fakes: sshd.py, pebble.py, bind9.py, ovoc_env.py).
SERVICE_STARTERS = {"create_user", "Sshd", "Pebble", "ChallTestSrv", "Bind9", "ovoc_server"}


def _registered_markers() -> dict[str, str]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        lines = tomllib.load(f)["tool"]["pytest"]["ini_options"]["markers"]
    return dict(line.split(": ", 1) for line in lines)


def _tests_job_runs() -> str:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "windows.yml").read_text("utf-8"))
    return "\n".join(step.get("run", "") for step in workflow["jobs"]["tests"]["steps"])


def test_the_linux_markers_are_registered_with_their_reason() -> None:
    markers = _registered_markers()
    assert set(markers) >= LINUX_MARKERS
    assert "sshd" in markers["linux_services"] and "bind9" in markers["linux_services"]
    assert "scripts/wizard" in markers["linux_only"]


def test_the_windows_job_deselects_exactly_those_markers_and_counts_them() -> None:
    runs = _tests_job_runs()
    [expression] = re.findall(r'python -m pytest -q -p no:cacheprovider -m "([^"]+)"', runs)
    assert set(re.findall(r"not (\w+)", expression)) == LINUX_MARKERS
    [counted] = re.findall(r"foreach \(\$marker in ([^)]+)\)", runs)
    assert set(re.findall(r'"(\w+)"', counted)) == LINUX_MARKERS
    assert "--collect-only" in runs and "$env:GITHUB_STEP_SUMMARY" in runs


def test_linux_ci_runs_every_test() -> None:
    """No marker filter, -k or --deselect between .ci/run, scripts/test and pyproject's addopts."""
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    script = (ROOT / "scripts" / "test").read_text("utf-8")
    [ci_call] = [line for line in ci.splitlines() if "scripts/test" in line and "exec" in line]
    [pytest_call] = [line for line in script.splitlines() if re.search(r"-m pytest\b", line)]
    passed = ci_call.split("scripts/test", 1)[1] + pytest_call.split("-m pytest", 1)[1]
    with (ROOT / "pyproject.toml").open("rb") as f:
        passed += " " + tomllib.load(f)["tool"]["pytest"]["ini_options"]["addopts"]
    for option in ("-m", "-k", "--deselect", "--ignore"):
        assert not re.search(rf"(^|\s){option}(\s|=|$)", passed), (option, passed)
    assert "linux_" not in passed


def _called_names(node: ast.AST) -> set[str]:
    return {
        call.func.id
        for call in ast.walk(node)
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
    }


def test_every_fixture_and_test_starting_a_linux_service_gets_the_marker() -> None:
    """A new fixture starting sshd/pebble/bind9 must join LINUX_SERVICE_FIXTURES (or depend on
    one), and a test starting one itself must ask for one of them: otherwise it would run on
    Windows and fail there (tests/fakes' require_linux says so), not be deselected here."""
    unmarked = []
    defined = set()
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.FunctionDef):
                continue
            defined.add(node.name)
            params = {a.arg for a in node.args.args}
            is_fixture = any("fixture" in ast.unparse(d) for d in node.decorator_list)
            is_test = node.name.startswith("test_")
            if not (is_fixture or is_test) or not _called_names(node) & SERVICE_STARTERS:
                continue
            if node.name in LINUX_SERVICE_FIXTURES or params & LINUX_SERVICE_FIXTURES:
                continue
            unmarked.append(f"{path.relative_to(ROOT)}::{node.name}")
    assert unmarked == []
    assert defined >= LINUX_SERVICE_FIXTURES  # a renamed fixture would unmark its tests
