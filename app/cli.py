"""The `accert` command: every step of the wizard, for scripts and for tests.

Sub-commands load lazily, so `accert --version`, `accert --help` and a short command start like a
native tool: building the parser imports no engine, no `requests`, no `paramiko`, no Qt. Only the
chosen command's module is imported; the others are listed from the table below.

Adding a sub-command:

1. In its module (beside its engine, e.g. `app/acme/cli.py`) write `register(subparsers)`, which
   calls `subparsers.add_parser("name", help=..., ...)`, adds its arguments and ends with
   `p.set_defaults(handler=cmd_name)`; `cmd_name(args) -> int` is the exit code. Keep the
   module's top-level imports to what its arguments need; import the engine inside the handler.
2. Add a row to COMMANDS: `"name": ("app.acme.cli", "the same one-line help")`. One module may
   register several commands (one row each). tests/test_cli_startup.py checks that every row's
   module registers that command with that help, and that nothing heavy loads for `--help`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app import __version__
from app.atomic import set_notice_listener
from app.console import make_output_safe
from app.errors import AccertError
from app.peer_text import escape_peer
from app.redact import redact

Handler = Callable[[argparse.Namespace], int]

# name -> (module whose register(subparsers) adds it, one-line help shown by `accert --help`).
# The order is the order of `accert --help`.
COMMANDS: dict[str, tuple[str, str]] = {
    "request": ("app.request_cli", "make the private key and the CSR"),
    "import": ("app.workspace_cli", "import the CA's response (PEM, DER, P7B, ZIP, PFX)"),
    "export": ("app.workspace_cli", "write key, certificates, PFX, JKS"),
    "show": ("app.workspace_cli", "describe a renewal folder or a certificate file"),
    "list": ("app.workspace_cli", "list renewals"),
    "reminder": ("app.workspace_cli", "write a calendar reminder (.ics) to renew in time"),
    "open-pfx": ("app.workspace_cli", "start a renewal from an existing PFX (key + chain)"),
    "acme": (
        "app.acme.cli",
        "get the certificate from the CA over ACME (DNS-01, EAB) and import it",
    ),
    "deploy-sbc": (
        "app.mediant.cli",
        "deploy the renewal to AudioCodes SBCs/gateways over their REST API",
    ),
    "device-csr": (
        "app.mediant.cli",
        "let a device make the key and CSR (the key never leaves it)",
    ),
    "sbc-contexts": (
        "app.mediant.cli",
        "list a device's TLS contexts (index and name), changing nothing",
    ),
    "verify": ("app.mediant.cli", "show the certificate a TLS port serves"),
    "sbc-trust": (
        "app.mediant.trust_cli",
        "check (and with --add, complete) a TLS context's trusted roots for a platform",
    ),
    "deploy-ovoc": (
        "app.ovoc.cli",
        "copy the certificate files to OVOC over SSH and run its certificate import",
    ),
    "scan": (
        "app.estate.cli",
        "check the certificate every SBC, gateway and OVOC in the inventory serves",
    ),
    "inventory": ("app.estate.cli", "list or import the estate inventory"),
    "renew": (
        "app.renewal.cli",
        "renew ACME certificates that are due: order, export, deploy, prove, report",
    ),
    "schedule": (
        "app.renewal.cli",
        "run accert renew daily (Windows Task Scheduler, or the cron line elsewhere)",
    ),
    "selftest": (
        "app.selftest_cli",
        "check this installation: request, sign, import, export, read back (headless)",
    ),
}


def _err(text: str) -> None:
    # Messages quote peers (subjects, device answers): nothing in them reaches the terminal raw.
    print(escape_peer(text, keep_newlines=True), file=sys.stderr)


class _OnlyOne:
    """The sub-parsers as a command's register() sees them, keeping only the chosen command.

    A module may register several commands; the ones not chosen go to a throw-away parser, so
    the chosen command's arguments are exactly what its module declares.
    """

    def __init__(self, subparsers: Any, chosen: str) -> None:
        self._subparsers = subparsers
        self._chosen = chosen

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        if name == self._chosen:
            parser: argparse.ArgumentParser = self._subparsers.add_parser(name, **kwargs)
            return parser
        return argparse.ArgumentParser(prog=name, add_help=False)


def chosen_command(argv: Sequence[str]) -> str | None:
    """The sub-command named on the command line: the first word after the global options
    (which take no value)."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser, with the arguments of `command` only (its module is the one imported).
    Every other command is listed by name and help, so `accert --help` shows them all."""
    parser = argparse.ArgumentParser(
        prog="accert",
        description="AudioCodes certificate renewal: key and CSR, CA response, exports, "
        "deployment. Passwords are read from environment variables, files or a prompt, "
        "never from the command line.",
    )
    parser.add_argument("--version", action="version", version=f"accert {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        if name == command:
            importlib.import_module(module_name).register(_OnlyOne(sub, name))
        else:
            sub.add_parser(name, help=help_text)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    make_output_safe()
    set_notice_listener(lambda text: _err(f"warning: {text}"))
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(chosen_command(words))
    args = parser.parse_args(words)
    handler: Handler = args.handler
    try:
        return handler(args)
    except AccertError as exc:
        if args.debug:
            traceback.print_exc()
        _err(f"error: {exc.message}")
        if exc.hint:
            _err(f"  {exc.hint}")
        return 1
    except KeyboardInterrupt:
        _err("Interrupted; nothing half-written was kept.")
        return 130
    except Exception as exc:  # the last net: one line for the user, the details in a file
        crash = _record_crash()
        if args.debug:
            traceback.print_exc()
        _err(f"error: unexpected {type(exc).__name__}: {redact(str(exc))}")
        _err(f"  This is a bug. Details are in {crash}; run with --debug to see them here.")
        return 70


def _record_crash() -> Path:
    from app.paths import log_dir

    path = log_dir() / "crash.log"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(escape_peer(redact(traceback.format_exc()), keep_newlines=True) + "\n")
    return path


if __name__ == "__main__":
    sys.exit(main())
