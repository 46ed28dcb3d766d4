"""The Windows build and its CI job, checked here as far as Linux can: the version numbers
Windows wants (parsed as packaging does), what Inno Setup is given, and a workflow that loads
as GitHub loads it and calls only commands and options that exist."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from packaging.version import InvalidVersion

from app.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "windows.yml"
ISS = ROOT / "installer" / "accert.iss"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "installer" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- 7. versions and the installer ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "numbers"),
    [
        ("0.1.0", (0, 1, 0, 0)),
        ("0.2.0rc1", (0, 2, 0, 0)),
        ("1.4", (1, 4, 0, 0)),
        ("2.0.1.7.9", (2, 0, 1, 7)),
        ("1.0.post2", (1, 0, 0, 0)),
        ("3.1.0.dev4", (3, 1, 0, 0)),
    ],
)
def test_windows_version_numbers_as_packaging_parses_them(
    version: str, numbers: tuple[int, ...]
) -> None:
    versions = _load("versions")
    assert versions.windows_numbers(version) == numbers
    assert versions.windows_version(version) == ".".join(map(str, numbers))


def test_a_version_windows_cannot_hold_is_refused() -> None:
    versions = _load("versions")
    with pytest.raises(InvalidVersion):
        versions.windows_numbers("banana")
    with pytest.raises(ValueError, match="65535"):
        versions.windows_numbers("1.70000")


def test_inno_setup_gets_four_numbers_for_a_release_candidate() -> None:
    build = _load("build")
    defines = build.iscc_defines(None, "0.2.0rc1")
    assert "/DAppVersion=0.2.0rc1" in defines and "/DAppVersionNumbers=0.2.0.0" in defines
    assert not any(d.startswith("/DIconFile") for d in defines)


def test_the_spec_uses_the_same_version_numbers() -> None:
    spec = (ROOT / "installer" / "accert.spec").read_text("utf-8")
    assert "windows_numbers(VERSION)" in spec and "int(part)" not in spec


def _iss_sections() -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = ""
    text = ISS.read_text("utf-8").replace("\\\n", " ")  # Inno Setup's line continuation
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if re.fullmatch(r"\[\w+\]", line):
            current = line[1:-1]
            continue
        sections.setdefault(current, []).append(line)
    return sections


def test_installer_offers_per_machine_mode_and_the_path() -> None:
    sections = _iss_sections()
    setup = dict(line.split("=", 1) for line in sections["Setup"] if "=" in line)
    assert setup["PrivilegesRequired"] == "lowest"  # per user by default, no administrator
    assert setup["PrivilegesRequiredOverridesAllowed"] == "commandline dialog"  # /ALLUSERS
    assert setup["ChangesEnvironment"] == "yes"
    assert setup["VersionInfoVersion"] == "{#AppVersionNumbers}"
    assert setup["DefaultDirName"] == "{autopf}\\accert"
    [task] = sections["Tasks"]
    assert task.startswith('Name: "addtopath"')
    registry = sections["Registry"]
    user = next(r for r in registry if r.startswith("Root: HKCU"))
    machine = next(r for r in registry if r.startswith("Root: HKLM"))
    assert 'Subkey: "Environment"' in user and "(not IsAdminInstallMode)" in user
    assert "Session Manager\\Environment" in machine and "Check: IsAdminInstallMode" in machine
    for entry in (user, machine):
        assert 'ValueData: "{olddata};{app}"' in entry and "Tasks: addtopath" in entry
        assert "NeedsAddPath(ExpandConstant('{app}'))" in entry
    code = "\n".join(sections["Code"])
    assert "function NeedsAddPath(Dir: String): Boolean;" in code
    assert "RemoveFromPath(ExpandConstant('{app}'))" in code  # the uninstaller takes it out


# --- 9. the Windows CI job -----------------------------------------------------------------------


def _workflow() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_workflow_loads_and_every_step_is_real() -> None:
    data = _workflow()
    assert set(data["jobs"]) == {"tests", "installer"}
    for name, job in data["jobs"].items():
        assert job["runs-on"] == "windows-latest", name
        assert job["defaults"]["run"]["shell"] == "pwsh"
        for step in job["steps"]:
            assert ("run" in step) != ("uses" in step), step
            if "uses" in step:
                assert step["uses"].split("@")[0] in {
                    "actions/checkout", "actions/setup-python", "actions/setup-java",
                    "actions/upload-artifact",
                }  # fmt: skip
            else:
                assert step.get("name"), step
    assert "PYTHONUTF8" not in WORKFLOW.read_text("utf-8")


def test_workflow_runs_the_suite_mypy_for_win32_and_the_windows_checks() -> None:
    jobs = _workflow()["jobs"]
    tests = _runs(jobs["tests"])
    assert "python -m mypy --platform win32" in tests
    assert "python -m pytest -q -p no:cacheprovider" in tests
    installer = _runs(jobs["installer"])
    assert "selftest --verbose --require-credential-store" in installer
    assert '"--selftest", "--on-screen"' in installer
    assert (
        "AreAccessRulesProtected" in installer
        and "WindowsIdentity]::GetCurrent().User" in installer
    )
    assert '"/ALLUSERS"' in installer and "/TASKS=addtopath" in installer


def test_every_native_command_in_the_workflow_is_checked() -> None:
    """pwsh does not stop on a failing program: each one is followed by a check of its code."""
    for job in _workflow()["jobs"].values():
        for step in job["steps"]:
            lines = step.get("run", "").splitlines()
            for index, line in enumerate(lines):
                command = line.strip()
                if re.match(r"^(python |& \"|accert |choco )", command):
                    after = "\n".join(lines[index + 1 : index + 3])
                    assert "$LASTEXITCODE" in after, (step["name"], command)


def test_the_options_the_workflow_passes_exist() -> None:
    parser = build_parser("selftest")
    args = parser.parse_args(["selftest", "--verbose", "--require-credential-store"])
    assert args.require_credential_store and args.verbose
    assert str(parser.parse_args(["selftest", "--keep", "acl"]).keep) == "acl"


def test_selftest_requiring_the_credential_store_fails_without_one(tmp_path: Path) -> None:
    """Here (no credential store, ACCERT_PASSPHRASE set by the test fixture) the environment
    fallback would pass; required, it is refused, as it must be on a Windows runner."""
    report = tmp_path / "report.txt"
    proc = subprocess.run(
        [sys.executable, "-m", "app", "selftest", "--require-credential-store",
         "--report", str(report)],
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    text = report.read_text("utf-8")
    assert "credential-store" in text and "self-test FAILED" in text
    assert "Traceback" not in proc.stdout + proc.stderr


def test_selftest_with_a_credential_store_keeps_the_passphrase_there(
    memory_keyring: Any, tmp_path: Path
) -> None:
    from app.selftest import run

    outcome = run(require_credential_store=True)
    assert outcome.ok, outcome.lines()
    [check] = [c for c in outcome.checks if c.name == "credential-store"]
    assert check.ok and "in the credential store" in check.detail
    assert memory_keyring.store == {}  # forgotten again afterwards


def test_the_wizard_binary_takes_on_screen(tmp_path: Path) -> None:
    report = tmp_path / "wizard.txt"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "installer" / "entry_wizard.py"), "--selftest",
         "--on-screen", "--no-gui", "--report", str(report)],
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "self-test PASSED" in report.read_text("utf-8")
