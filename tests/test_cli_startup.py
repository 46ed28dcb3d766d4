"""`accert` starts like a native tool: only the chosen sub-command's module is imported.

The imports are read from a real `python -m app ...` process (its sys.modules at exit), not
from this test process, which has long imported everything.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys

import pytest

from app import cli

HEAVY = ("requests", "paramiko", "PySide6")
# The engine and the crypto library: not needed to print a version or a usage.
ENGINE = ("cryptography", "app.workspace", "app.ca_response", "app.export", "app.keys")

_PROBE = """
import atexit, os, sys
def dump():
    with open(os.environ["ACCERT_MODULES_OUT"], "w", encoding="utf-8") as out:
        out.write("\\n".join(sorted(sys.modules)))
atexit.register(dump)
sys.argv = ["accert", *sys.argv[1:]]
import runpy
runpy.run_module("app", run_name="__main__", alter_sys=True)
"""


def loaded_by(tmp_path: object, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    out = os.path.join(str(tmp_path), "modules.txt")
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, ACCERT_MODULES_OUT=out),
        timeout=60,
        check=False,
    )
    with open(out, encoding="utf-8") as handle:
        return proc, set(handle.read().split())


def under(modules: set[str], roots: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == r or m.startswith(r + ".") for r in roots))


@pytest.mark.parametrize("args", [("--version",), ("--help",)])
def test_version_and_help_load_no_engine(tmp_path: object, args: tuple[str, ...]) -> None:
    proc, modules = loaded_by(tmp_path, *args)
    assert proc.returncode == 0, proc.stderr
    assert under(modules, HEAVY + ENGINE) == []
    command_modules = {module for module, _ in cli.COMMANDS.values()}
    assert sorted(command_modules & modules) == []


def test_help_lists_every_command_with_its_line(tmp_path: object) -> None:
    proc, _ = loaded_by(tmp_path, "--help")
    text = " ".join(proc.stdout.split())  # argparse wraps long lines
    for name, (_, help_text) in cli.COMMANDS.items():
        assert f"{name} {help_text}" in text


def test_request_help_loads_only_its_own_module(tmp_path: object) -> None:
    proc, modules = loaded_by(tmp_path, "request", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "usage: accert request" in proc.stdout and "--cn CN" in proc.stdout
    assert under(modules, HEAVY + ENGINE) == []
    others = {module for module, _ in cli.COMMANDS.values()} - {"app.request_cli"}
    assert sorted(others & modules) == []


def test_request_itself_loads_no_network_stack(tmp_path: object) -> None:
    proc, modules = loaded_by(tmp_path, "request", str(tmp_path) + "/w", "--cn", "a.example.com")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("-----BEGIN CERTIFICATE REQUEST-----")
    assert under(modules, HEAVY) == []
    # Nor the importer, exporter and chain builder, nor keyring when it is switched off
    # (PYTHON_KEYRING_BACKEND=...fail.Keyring, set by conftest, as on a headless server).
    assert os.environ["PYTHON_KEYRING_BACKEND"] == "keyring.backends.fail.Keyring"
    assert under(modules, ("app.ca_response", "app.export", "app.chain", "keyring")) == []


def _registered(module_name: str) -> dict[str, str | None]:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    importlib.import_module(module_name).register(sub)
    return {action.dest: action.help for action in sub._choices_actions}


def test_the_table_matches_what_each_module_registers() -> None:
    modules = {module for module, _ in cli.COMMANDS.values()}
    registered: dict[str, str | None] = {}
    for module_name in sorted(modules):
        for name, help_text in _registered(module_name).items():
            assert cli.COMMANDS.get(name, ("", ""))[0] == module_name, (
                f"{module_name} registers `{name}`: add it to app.cli.COMMANDS"
            )
            registered[name] = help_text
    assert registered == {name: help_text for name, (_, help_text) in cli.COMMANDS.items()}


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_command_has_its_full_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main([name, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: accert {name}")


def test_chosen_command_skips_global_options() -> None:
    assert cli.chosen_command(["--debug", "request", "--cn", "x"]) == "request"
    assert cli.chosen_command(["--version"]) is None
    assert cli.chosen_command(["no-such-command"]) is None


def test_unknown_command_is_refused_with_the_list(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["requst"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'requst'" in err and "request" in err
