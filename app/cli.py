"""The `accert` command: every step of the wizard, for scripts and for tests."""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from app import __version__
from app.ca_response import PasswordNeeded, Source
from app.errors import AccertError, InputError
from app.export import PRESETS, Artifact, ExportOptions, KeyFormat
from app.passwords import read_password
from app.paths import log_dir
from app.redact import redact
from app.request import RequestSpec, Subject, parse_key_type
from app.workspace import STATE_FILE, Stage, Workspace, create_from_pfx, list_workspaces

Handler = Callable[[argparse.Namespace], int]

# Sub-commands that live beside their engines (deployment, estate scan).
PLUGINS = ("app.mediant.cli", "app.ovoc.cli", "app.estate.cli", "app.selftest_cli")


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def _password_options(parser: argparse.ArgumentParser, name: str, what: str) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        f"--{name}-env", metavar="VAR", help=f"read {what} from this environment variable"
    )
    group.add_argument(
        f"--{name}-file",
        metavar="FILE",
        type=Path,
        help=f"read {what} from the first line of this file",
    )


def _password(args: argparse.Namespace, name: str, label: str, *, confirm: bool = False) -> str:
    attr = name.replace("-", "_")
    return read_password(
        label, env=getattr(args, f"{attr}_env"), file=getattr(args, f"{attr}_file"), confirm=confirm
    )


# --- request ----------------------------------------------------------------------------------


def cmd_request(args: argparse.Namespace) -> int:
    spec = RequestSpec(
        Subject(args.cn, args.org, args.ou, args.locality, args.state, args.country, args.email),
        tuple(args.san or ()),
        parse_key_type(args.key),
        include_bare_domain=not args.no_bare_domain,
    )
    path = Path(args.workspace)
    if (path / STATE_FILE).exists():
        ws = Workspace.open(path)
        if ws.state.stage.value == "new":
            ws.update_request(spec)
        elif ws.state.request.all_sans() != spec.all_sans() or ws.state.request.subject != (
            spec.subject
        ):
            raise InputError(
                f"{path} already has a CSR for other names.",
                "Use a new folder for a new request; this one is kept as it is.",
            )
    else:
        ws = Workspace.create(spec, path)
    summary = ws.generate(progress=lambda m: _err(f"  {m}..."))
    _err(f"Request saved in {ws.path / 'request.csr'}")
    _err(f"  Subject: {summary.subject}")
    _err(f"  Names:   {', '.join(summary.sans)}")
    _err(
        f"  Key:     {summary.key} (encrypted in {ws.path / 'private.key'}), signed "
        f"{summary.signature}"
    )
    _err(
        "Next: paste this CSR into your CA's order form, then run "
        f"`accert import {ws.path} <files the CA sends>`."
    )
    sys.stdout.write(ws.csr_pem.decode("ascii"))
    return 0


# --- import -----------------------------------------------------------------------------------


def _read_sources(files: Sequence[str], password: str | None) -> list[Source]:
    sources: list[Source] = []
    for name in files:
        if name == "-":
            sources.append(Source("pasted text", sys.stdin.buffer.read(), password))
            continue
        path = Path(name)
        try:
            sources.append(Source(path.name, path.read_bytes(), password))
        except OSError as exc:
            raise InputError(
                f"Cannot read {path}: {exc.strerror or exc}.",
                "Check the path and that the file exists.",
            ) from exc
    return sources


def _print_outcome(outcome: object) -> None:
    from app.response_check import ImportOutcome

    assert isinstance(outcome, ImportOutcome)
    print(f"Verdict: {outcome.verdict()}")
    for cert in outcome.chain or outcome.others:
        for line in cert.lines():
            print(f"  {line}")
    for problem in outcome.problems:
        print(f"PROBLEM: {problem}")
    for warning in outcome.warnings:
        print(f"WARNING: {warning}")
    for note in outcome.notes:
        print(f"Note: {note}")


def cmd_import(args: argparse.Namespace) -> int:
    ws = Workspace.open(Path(args.workspace))
    password = None
    if args.password_env or args.password_file:
        password = _password(args, "password", "PFX password")
    sources = _read_sources(args.files, password)
    try:
        outcome = ws.analyse_response(sources, fetch_missing=args.fetch_missing)
    except PasswordNeeded as exc:
        raise PasswordNeeded(
            exc.message, "Pass the PFX password with --password-env VAR or --password-file FILE."
        ) from exc
    _print_outcome(outcome)
    if not outcome.acceptable:
        hint = ""
        if outcome.matches_key and outcome.aia_url and not args.fetch_missing:
            hint = " Add --fetch-missing to download the missing certificate."
        _err(f"error: nothing was imported into {ws.path}.{hint}")
        return 1
    ws.accept_response(outcome, sources)
    print(f"Imported into {ws.path}. Next: `accert export {ws.path} --out FOLDER`.")
    return 0


# --- export -----------------------------------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> int:
    ws = Workspace.open(Path(args.workspace))
    artifacts: set[Artifact] = set()
    for preset in args.preset or []:
        artifacts |= PRESETS[preset].artifacts
    if not args.preset:
        artifacts |= {
            Artifact.KEY,
            Artifact.CERT,
            Artifact.CHAIN,
            Artifact.FULLCHAIN,
            Artifact.ROOT,
        }
    has_password = bool(args.pfx_password_env or args.pfx_password_file)
    if has_password and not args.preset:
        artifacts.add(Artifact.PFX_LEGACY if args.legacy_pfx else Artifact.PFX)
    elif args.legacy_pfx:
        artifacts.add(Artifact.PFX_LEGACY)
    if args.jks:
        artifacts.add(Artifact.JKS)
    password = None
    key_format = KeyFormat(args.key_format)
    if artifacts & {Artifact.PFX, Artifact.PFX_LEGACY, Artifact.JKS} or key_format.value.endswith(
        "encrypted"
    ):
        password = _password(args, "pfx-password", "Password for the PFX/JKS", confirm=True)
    result = ws.export(
        Path(args.out), ExportOptions(frozenset(artifacts), password, key_format, args.overwrite)
    )
    print(f"Exported to {result.folder}:")
    for f in result.files:
        print(f"  {f.path.name:<34} {f.description}")
    for check in result.checks:
        print(f"  checked: {check}")
    if any(f.secret for f in result.files):
        print("Keep the key and PFX/JKS files safe: they let anyone impersonate your servers.")
    return 0


# --- show, list, open-pfx, reminder -------------------------------------------------------------


def cmd_reminder(args: argparse.Namespace) -> int:
    from app.reminder import renew_by, write_reminder

    if args.days < 0:
        raise InputError("--days must be 0 or more.", "E.g. --days 30.")
    ws = Workspace.open(Path(args.workspace))
    leaf = ws.certificate()
    not_after = leaf.not_valid_after_utc
    path = write_reminder(
        ws.state.request.subject.common_name, not_after, ws.path, lead_days=args.days
    )
    day = renew_by(not_after, args.days)
    print(f"Renew by {day:%Y-%m-%d} (it expires on {not_after:%Y-%m-%d}).")
    print(f"Calendar reminder: {path} (open it to add it to Outlook or any calendar)")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    target = Path(args.target)
    if (target / STATE_FILE).exists():
        return _show_workspace(Workspace.open(target))
    if target.is_dir():
        raise InputError(
            f"{target} is a folder but not a renewal.",
            "Give a renewal folder or a certificate file.",
        )
    password = None
    if args.password_env or args.password_file:
        password = _password(args, "password", "PFX password")
    from app import chain as chains
    from app.ca_response import parse
    from app.certinfo import info
    from app.checks import leaf_warnings

    parsed = parse(_read_sources([str(target)], password))
    if parsed.private_key is not None:
        leaf = chains.find_leaf(parsed.certificates, parsed.private_key.public_key())
        print(
            "Private key: present, matches the certificate"
            if leaf
            else "Private key: present, matches NO certificate here"
        )
    else:
        leaf = chains.guess_leaf(parsed.certificates)
    assert leaf is not None
    report = chains.build(leaf, parsed.certificates)
    for index, cert in enumerate(report.chain):
        role = (
            "leaf"
            if index == 0
            else ("root" if report.has_root and index == len(report.chain) - 1 else "intermediate")
        )
        for line in info(cert, role).lines():
            print(line)
    for cert in report.unrelated:
        for line in info(cert, "other").lines():
            print(line)
    print(
        "Chain: complete"
        if report.complete
        else f"Chain: incomplete, missing '{report.missing_issuer}'"
        + (f" (available at {report.aia_url})" if report.aia_url else "")
    )
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    for warning in leaf_warnings(leaf, report.chain[1:]):
        print(f"WARNING: {warning}")
    return 0


def _show_workspace(ws: Workspace) -> int:
    from app.certinfo import info

    s = ws.state
    print(f"Renewal: {ws.path}")
    print(f"  Stage:    {s.stage.label}")
    print(f"  Subject:  {s.request.subject.common_name}")
    print(f"  Names:    {', '.join(s.request.all_sans())}")
    where = {
        "local": "made here, encrypted at rest",
        "pfx": "from a PFX, encrypted at rest",
        "device": "made on the device, never here",
    }.get(s.key_origin, s.key_origin)
    print(f"  Key:      {s.request.key_type.label} ({where})")
    if (ws.path / "request.csr").exists():
        summary = ws.csr_summary()
        print(f"  CSR:      {summary.subject}; key SHA-256 {summary.public_key_sha256}")
    if s.stage.at_least(Stage.ISSUED):
        leaf = ws.certificate()
        intermediates, root = ws.split_chain()
        for line in info(leaf, "leaf").lines():
            print(f"  {line}")
        for cert in intermediates:
            for line in info(cert, "intermediate").lines():
                print(f"  {line}")
        if root is not None:
            for line in info(root, "root").lines():
                print(f"  {line}")
        print("  Chain:    " + ("complete" if root is not None else "root not known"))
    for record in s.exports:
        print(f"  Exported: {record.get('at')} to {record.get('folder')}")
    for record in s.deployments:
        print(
            f"  Deployed: {record.get('at')} {record.get('target', '')} "
            f"{'OK' if record.get('ok') else 'FAILED'}"
        )
    print(f"  Log:      {ws.log_path}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    root = Path(args.root) if args.root else None
    found = list_workspaces(root)
    if not found:
        print("No renewals yet.")
    for s in found:
        status = s.error or s.stage.label
        print(f"{s.updated[:16]:<17} {s.common_name:<30} {status:<32} {s.path}")
    return 0


def cmd_open_pfx(args: argparse.Namespace) -> int:
    password = _password(args, "password", "PFX password")
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc.strerror}.", "Check the path.") from exc
    ws = create_from_pfx(
        Source(path.name, data, password), Path(args.workspace) if args.workspace else None
    )
    print(
        f"Created renewal {ws.path} from {path.name} "
        f"({ws.state.request.subject.common_name}). Next: `accert export {ws.path} --out DIR`."
    )
    return 0


# --- the parser -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="accert",
        description="AudioCodes certificate renewal: key and CSR, CA response, exports, "
        "deployment. Passwords are read from environment variables, files or a prompt, "
        "never from the command line.",
    )
    parser.add_argument("--version", action="version", version=f"accert {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("request", help="make the private key and the CSR")
    p.add_argument("workspace", help="renewal folder (created when missing)")
    p.add_argument("--cn", required=True, help="common name, e.g. *.example.com")
    p.add_argument(
        "--san", action="append", metavar="NAME", help="another DNS name or IP address (repeat)"
    )
    p.add_argument(
        "--no-bare-domain",
        action="store_true",
        help="for a wildcard CN, do not add the bare domain (example.com)",
    )
    p.add_argument("--org", default="", help="organisation (O)")
    p.add_argument("--ou", default="", help="organisational unit (OU)")
    p.add_argument("--locality", default="", help="city (L)")
    p.add_argument("--state", default="", help="state or county (ST)")
    p.add_argument("--country", default="", help="two-letter ISO country code (C), e.g. GB")
    p.add_argument("--email", default="", help="contact e-mail")
    p.add_argument(
        "--key", default="rsa2048", help="rsa2048 (default), rsa3072, rsa4096, ec256 or ec384"
    )
    p.set_defaults(handler=cmd_request)

    p = sub.add_parser("import", help="import the CA's response (PEM, DER, P7B, ZIP, PFX)")
    p.add_argument("workspace")
    p.add_argument("files", nargs="+", metavar="FILE", help="file(s); - reads pasted text")
    _password_options(p, "password", "the PFX password")
    p.add_argument(
        "--fetch-missing",
        action="store_true",
        help="download a missing intermediate from the certificate's AIA URL",
    )
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("export", help="write key, certificates, PFX, JKS")
    p.add_argument("workspace")
    p.add_argument("--out", required=True, help="folder to write into")
    p.add_argument(
        "--preset",
        action="append",
        choices=sorted(PRESETS),
        help="a ready set of files (repeat); default: the PEM files",
    )
    _password_options(p, "pfx-password", "the PFX/JKS password")
    p.add_argument(
        "--legacy-pfx",
        action="store_true",
        help="PFX in the legacy profile (3DES, SHA-1 MAC) for Windows Server 2016, "
        "Java 8 and older appliances",
    )
    p.add_argument("--jks", action="store_true", help="also a Java KeyStore")
    p.add_argument(
        "--key-format",
        default="apache",
        choices=[k.value for k in KeyFormat],
        help="private key file format (default: apache, unencrypted PKCS#1/SEC1)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace files already there")
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("show", help="describe a renewal folder or a certificate file")
    p.add_argument("target", metavar="WORKSPACE|FILE")
    _password_options(p, "password", "the PFX password")
    p.set_defaults(handler=cmd_show)

    p = sub.add_parser("list", help="list renewals")
    p.add_argument("--root", help="folder holding renewals (default: Documents/accert)")
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser("reminder", help="write a calendar reminder (.ics) to renew in time")
    p.add_argument("workspace", metavar="WORKSPACE")
    p.add_argument(
        "--days", type=int, default=30, help="how many days before expiry to renew (default 30)"
    )
    p.set_defaults(handler=cmd_reminder)

    p = sub.add_parser("open-pfx", help="start a renewal from an existing PFX (key + chain)")
    p.add_argument("file")
    p.add_argument("workspace", nargs="?", help="renewal folder to create")
    _password_options(p, "password", "the PFX password")
    p.set_defaults(handler=cmd_open_pfx)

    for module_name in PLUGINS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that part of the product is not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
    path = log_dir() / "crash.log"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(redact(traceback.format_exc()) + "\n")
    return path


if __name__ == "__main__":
    sys.exit(main())
