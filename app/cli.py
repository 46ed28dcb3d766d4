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
import re
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from app import __version__
from app.console import make_output_safe
from app.errors import AccertError
from app.peer_text import escape_peer
from app.redact import redact
from app.words import count

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


class _Parser(argparse.ArgumentParser):
    """argparse, minus echoing what may be a password: a hurried `--password=S3cret` or a
    password typed as a stray argument came back in "ambiguous option: --password=S3cret"
    or "unrecognized arguments: S3cret". Option names are shown, their values are not."""

    def error(self, message: str) -> NoReturn:
        message = re.sub(r"(--?[\w-]+)=\S+", r"\1=…", message)
        if message.startswith("unrecognized arguments: "):
            words = message.removeprefix("unrecognized arguments: ").split(" ")
            hidden = sum(1 for w in words if not w.startswith("-"))
            shown = " ".join(w for w in words if w.startswith("-"))
            if hidden:
                extra = f"{count(hidden, 'value')} not shown, in case of a password"
                shown = f"{shown} ({extra})" if shown else f"({extra})"
            message = f"unrecognized arguments: {shown}"
        super().error(message)


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
    parser = _Parser(
        prog="accert",
        description="AudioCodes certificate renewal: key and CSR, CA response, exports, "
        "deployment. Passwords are read from environment variables, files or a prompt, "
        "never from the command line.",
    )
    parser.add_argument("--version", action="version", version=f"accert {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )
    for name, (module_name, help_text) in COMMANDS.items():
        if name == command:
            importlib.import_module(module_name).register(_OnlyOne(sub, name))
        else:
            sub.add_parser(name, help=help_text)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    make_output_safe()
    words = sys.argv[1:] if argv is None else list(argv)
    _tolerate_closed_pipes()
    warnings.showwarning = _warning_in_our_words
    command = chosen_command(words)
    parser = build_parser(command)
    args, unknown = parser.parse_known_args(words)
    if unknown:  # said by the command's own parser, with its usage line
        _subparser(parser, command).error(f"unrecognized arguments: {' '.join(unknown)}")
    _refuse_empty_arguments(parser, command, words)
    if isinstance(getattr(args, "timeout", None), int | float) and args.timeout <= 0:
        _subparser(parser, command).error(
            f"--timeout must be more than 0 seconds (not {args.timeout:g})."
        )
    handler: Handler = args.handler
    # After parsing: --version and --help need no file-writing code (tempfile, ~8 ms).
    from app.atomic import set_notice_listener

    set_notice_listener(lambda text: _err(f"warning: {text}"))
    try:
        code = handler(args)
    except AccertError as exc:
        code = _report(args, f"error: {exc.message}", _command_line_hint(exc, args))
    except KeyboardInterrupt:
        _err("Interrupted; nothing half-written was kept.")
        code = 130
    except OSError as exc:
        said = _os_error(exc)
        code = _crash(args, exc) if said is None else _report(args, *said)
    except Exception as exc:  # the last net: one line for the user, the details in a file
        code = _crash(args, exc)
    _flush_output()
    return code


def _report(args: argparse.Namespace, message: str, hint: str) -> int:
    if args.debug:
        traceback.print_exc()
    _err(message)
    if hint:
        _err(f"  {hint}")
    return 1


def _command_line_hint(exc: AccertError, args: argparse.Namespace) -> str:
    """The engine's hints are written for the wizard ("Enter its password"); on the command
    line, a PFX or key that needs a password given no --password-env/--password-file says
    how to pass it (there may be no terminal to ask on)."""
    from app.errors import PassphraseError

    options = [o for o in ("password_env", "password_file") if hasattr(args, o)]
    if (
        type(exc).__name__ == "PasswordNeeded"
        and isinstance(exc, PassphraseError)
        and options
        and all(getattr(args, o) is None for o in options)
    ):
        return "Pass its password with --password-env VAR or --password-file FILE."
    return exc.hint


def _crash(args: argparse.Namespace, exc: Exception) -> int:
    crash = _record_crash()
    if args.debug:
        traceback.print_exc()
    _err(f"error: unexpected {type(exc).__name__}: {redact(str(exc))}")
    _err(f"  This is a bug. Details are in {crash}; run with --debug to see them here.")
    return 70


# --- the shared error path: what every command's user may get wrong -------------------------


def _subparser(parser: argparse.ArgumentParser, command: str | None) -> argparse.ArgumentParser:
    """The chosen command's own parser (its usage line is the one to show), else the main one."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            chosen: argparse.ArgumentParser = action.choices[command]
            return chosen
    return parser


def _refuse_empty_arguments(
    parser: argparse.ArgumentParser, command: str | None, words: Sequence[str]
) -> None:
    """An empty word ('') where a file, folder, host or name belongs: `Path('')` is the current
    folder, so `--out ''` would quietly write into it. Options whose default is "" (the
    organisation fields) may be left empty on purpose. Exits with argparse's usage error."""
    if "" not in words or command is None:
        return
    sub = _subparser(parser, command)
    by_option = {o: a for a in sub._actions for o in a.option_strings}
    for index, word in enumerate(words):
        if word != "":
            continue
        before = words[index - 1] if index else ""
        action = by_option.get(before)
        if action is None:
            sub.error("an argument is empty (''); give the file, folder or name it stands for.")
        elif action.default != "":
            sub.error(f"{before} is empty (''); give it a value.")


def _os_error(exc: OSError) -> tuple[str, str] | None:
    """A file system error on a path the user gave, in one line with the fix; None when it
    is not about a path (then it is ours to look at)."""
    import errno

    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        where = f" holding {exc.filename}" if exc.filename else ""
        return f"error: the disk{where} is full.", "Free some space and run the command again."
    if exc.filename is None or isinstance(exc, ConnectionError | TimeoutError):
        return None
    path = exc.filename
    if isinstance(exc, FileExistsError):
        kind = "a file" if Path(path).is_file() else "already there"
        return (
            f"error: {path} is {kind}, where accert needs to create a folder.",
            "Give a folder name there (accert creates it), or move the file away.",
        )
    if isinstance(exc, NotADirectoryError):
        return (
            f"error: {path}: a part of this path is a file, not a folder.",
            "Check the path: every part but the last must be a folder.",
        )
    if isinstance(exc, IsADirectoryError):
        return (
            f"error: {path} is a folder, where a file is needed.",
            "Give the file's name, not its folder's.",
        )
    if isinstance(exc, FileNotFoundError):
        return f"error: {path} does not exist.", "Check the path (and the current folder)."
    if isinstance(exc, PermissionError):
        return (
            f"error: no permission for {path}.",
            "Choose a place you may write to (e.g. under your Documents), or ask for access; "
            "on Windows, close any program that holds the file open.",
        )
    return f"error: {path}: {exc.strerror or exc}.", "Check the path and try again."


_WARNINGS_SAID: set[str] = set()


def _warning_in_our_words(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """A library's warning (cryptography's "Attribute's length must be >= 1 and <= 64") as
    one line a user can act on, once, instead of Python's file name, line number and source."""
    text = str(message)
    length = re.search(r"Attribute's length must be >= 1 and <= (\d+), but it was (\d+)", text)
    if length:
        text = (
            f"a certificate here has a name field of {length.group(2)} characters, longer than "
            f"the {length.group(1)} X.509 allows; accert reads it, but devices and CAs may "
            "refuse it."
        )
    elif "could not be parsed as DER, falling back to parsing as BER" in text:
        text = (
            "a file here is not in the strict (DER) form current tools write; it was read all "
            "the same, but a device may refuse it."
        )
    if text in _WARNINGS_SAID:
        return
    _WARNINGS_SAID.add(text)
    _err(f"Note: {redact(text)}")


class _PipeSafe:
    """sys.stdout/sys.stderr that treat a reader gone away (`accert show WS | head -1`) as a
    normal end of the output, as `ls | head` does: the command still finishes its work (an
    import is not left half-done because nobody reads the rest) and exits with its own code."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except BrokenPipeError:
            _to_devnull(self._stream)
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            _to_devnull(self._stream)


def _to_devnull(stream: Any) -> None:
    """Point the stream's file descriptor at the null device: what is still buffered and
    whatever follows goes nowhere, and Python's final flush at exit cannot fail again."""
    import os

    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, stream.fileno())
        os.close(null)
    except (OSError, ValueError):
        pass


def _tolerate_closed_pipes() -> None:
    if sys.stdout is not None and not isinstance(sys.stdout, _PipeSafe):
        sys.stdout = _PipeSafe(sys.stdout)
    if sys.stderr is not None and not isinstance(sys.stderr, _PipeSafe):
        sys.stderr = _PipeSafe(sys.stderr)


def _flush_output() -> None:
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()


def _record_crash() -> Path:
    from app.atomic import append_private
    from app.paths import log_dir

    path = log_dir() / "crash.log"
    append_private(path, escape_peer(redact(traceback.format_exc()), keep_newlines=True) + "\n")
    return path


if __name__ == "__main__":
    sys.exit(main())
