"""`accert selftest`: the headless self-test the installer's CI runs on the installed program."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

from app.errors import InputError
from app.selftest import GuiProbe, run


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "selftest",
        help="check this installation: request, sign, import, export, read back (headless)",
        description="Make a renewal in a temporary folder, sign it with a throwaway CA, import "
        "it, export both PFX profiles, JKS and PEM, and read every file back. Prints one "
        "verdict line; the exit code is 0 only when every check passed.",
    )
    p.add_argument(
        "--gui",
        action="store_true",
        help="also open the wizard window offscreen and close it (needs the GUI package)",
    )
    p.add_argument(
        "--require-credential-store",
        action="store_true",
        help="fail unless the key's passphrase is kept in the OS credential store (Windows "
        "Credential Manager), as on a user's PC; no ACCERT_PASSPHRASE fallback",
    )
    p.add_argument("--verbose", "-v", action="store_true", help="one line per check as well")
    p.add_argument(
        "--report", type=Path, metavar="FILE", help="also write the verdict (and checks) here"
    )
    p.add_argument(
        "--keep", type=Path, metavar="FOLDER", help="work in this folder and keep it, to look at"
    )
    p.set_defaults(handler=cmd_selftest)


def load_gui_probe() -> GuiProbe:
    """The Qt side lives in ui/ so the engine never imports Qt; it is looked up only when asked."""
    try:
        module = importlib.import_module("ui.selftest_probe")
    except ImportError as exc:
        raise InputError(
            f"The GUI package is not installed here ({exc}).",
            "Run the self-test without --gui, or install accert with its GUI.",
        ) from exc
    probe: GuiProbe = module.probe
    return probe


def cmd_selftest(args: argparse.Namespace) -> int:
    return run_and_report(
        gui=args.gui,
        verbose=args.verbose,
        report=args.report,
        keep=args.keep,
        require_credential_store=args.require_credential_store,
    )


def run_and_report(
    *,
    gui: bool,
    verbose: bool = False,
    report: Path | None = None,
    keep: Path | None = None,
    require_credential_store: bool = False,
) -> int:
    """Run the self-test, print the verdict (and the checks), optionally into a file too."""
    outcome = run(
        gui_probe=load_gui_probe() if gui else None,
        keep=keep,
        require_credential_store=require_credential_store,
    )
    lines = [*(outcome.lines() if verbose or not outcome.ok else []), outcome.verdict()]
    if sys.stdout is not None:  # a windowed Windows program has no console
        for line in lines:
            print(line)
    if report is not None:
        from app.atomic import atomic_write_text

        atomic_write_text(report, "\n".join([*outcome.lines(), outcome.verdict()]) + "\n")
    return 0 if outcome.ok else 1
