"""The commands that work on a renewal folder or a certificate file: `accert import`, `export`,
`show`, `list`, `reminder` and `open-pfx` (`request` has its own module, app/request_cli.py).

The engine (app.workspace and what it needs) is imported inside each handler, so building the
parser for one of these commands stays cheap: see app/cli.py.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.errors import InputError
from app.passwords import read_password

if TYPE_CHECKING:
    from app.ca_response import Source
    from app.workspace import Workspace


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
        label,
        env=getattr(args, f"{attr}_env"),
        file=getattr(args, f"{attr}_file"),
        confirm=confirm,
        option=f"--{name}-env",
    )


def _password_given(args: argparse.Namespace, name: str) -> bool:
    """True when --NAME-env or --NAME-file was on the command line (even empty: that is then
    an error worth saying, not a reason to carry on without the password)."""
    attr = name.replace("-", "_")
    return getattr(args, f"{attr}_env") is not None or getattr(args, f"{attr}_file") is not None


def register(subparsers: Any) -> None:
    from app.export import PRESETS, KeyFormat

    p = subparsers.add_parser("import", help="import the CA's response (PEM, DER, P7B, ZIP, PFX)")
    p.add_argument("workspace")
    p.add_argument("files", nargs="+", metavar="FILE", help="file(s); - reads pasted text")
    _password_options(p, "password", "the PFX password")
    p.add_argument(
        "--fetch-missing",
        action="store_true",
        help="download a missing intermediate from the certificate's AIA URL",
    )
    p.add_argument(
        "--platform",
        action="append",
        metavar="NAME",
        help="check the certificate against a calling platform's rules, e.g. teams (repeat); "
        "default: the platforms your saved devices name",
    )
    p.set_defaults(handler=cmd_import)

    p = subparsers.add_parser("export", help="write key, certificates, PFX, JKS")
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
        help="private key file format (default: apache, unencrypted PKCS#1/SEC1). "
        "apache-encrypted derives its key from the password with the format's old one-round "
        "MD5 (EVP_BytesToKey): use it only for a tool that needs it; pkcs8-encrypted uses "
        "PBKDF2-SHA256 with 600 000 rounds",
    )
    p.add_argument("--overwrite", action="store_true", help="replace files already there")
    p.add_argument(
        "--save-password",
        action="store_true",
        help="keep the PFX/JKS password in the credential store, so accert renew exports the "
        "successor the same way unattended",
    )
    p.add_argument(
        "--allow-onedrive",
        action="store_true",
        help="write an unencrypted key into a folder OneDrive syncs (refused by default)",
    )
    p.set_defaults(handler=cmd_export)

    p = subparsers.add_parser("show", help="describe a renewal folder or a certificate file")
    p.add_argument("target", metavar="WORKSPACE|FILE")
    _password_options(p, "password", "the PFX password")
    p.set_defaults(handler=cmd_show)

    p = subparsers.add_parser("list", help="list renewals")
    p.add_argument("--root", help="folder holding renewals (default: Documents/accert)")
    p.set_defaults(handler=cmd_list)

    p = subparsers.add_parser("reminder", help="write a calendar reminder (.ics) to renew in time")
    p.add_argument("workspace", metavar="WORKSPACE")
    p.add_argument(
        "--days", type=int, default=30, help="how many days before expiry to renew (default 30)"
    )
    p.set_defaults(handler=cmd_reminder)

    p = subparsers.add_parser("open-pfx", help="start a renewal from an existing PFX (key + chain)")
    p.add_argument("file")
    p.add_argument("workspace", nargs="?", help="renewal folder to create")
    _password_options(p, "password", "the PFX password")
    p.set_defaults(handler=cmd_open_pfx)


# --- import -----------------------------------------------------------------------------------


def _read_sources(files: Sequence[str], password: str | None) -> list[Source]:
    from app.ca_response import Source

    sources: list[Source] = []
    for name in files:
        if name == "-":
            sources.append(Source("pasted text", sys.stdin.buffer.read(), password))
            continue
        path = Path(name)
        # A missing file, a folder, no permission: said by the shared rule in app.cli.main,
        # with the path and the fix for each.
        sources.append(Source(path.name, path.read_bytes(), password))
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
    from app.workspace import Workspace

    ws = Workspace.open(Path(args.workspace))
    password = None
    if _password_given(args, "password"):
        password = _password(args, "password", "PFX password")
    sources = _read_sources(args.files, password)
    outcome = ws.analyse_response(
        sources, fetch_missing=args.fetch_missing, platforms=args.platform or ()
    )
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


def _warn_if_weak(password: str) -> None:
    """What the wizard's strength meter says, for the command line: a warning, not a refusal
    (an old appliance may limit the length)."""
    from app.flow import password_strength

    score, advice = password_strength(password)
    if score <= 1:
        _err(f"WARNING: the PFX/JKS password is weak. {advice}")


def cmd_export(args: argparse.Namespace) -> int:
    from app.export import PRESETS, Artifact, ExportOptions, KeyFormat
    from app.workspace import Workspace

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
    has_password = _password_given(args, "pfx-password")
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
        _warn_if_weak(password)
    result = ws.export(
        Path(args.out),
        ExportOptions(
            frozenset(artifacts),
            password,
            key_format,
            args.overwrite,
            allow_onedrive=args.allow_onedrive,
        ),
    )
    if args.save_password and password is not None:
        from app.renewal.credentials import save_export_password

        save_export_password(result.folder, password)
        print("The PFX/JKS password is kept in the credential store for accert renew.")
    print(f"Exported to {result.folder}:")
    for f in result.files:
        print(f"  {f.path.name:<34} {f.description}")
    from app.atomic import unprotected_notice

    told = unprotected_notice(result.folder)  # already said as a warning
    for check in result.checks:
        if check != told:
            print(f"  checked: {check}")
    if any(f.secret for f in result.files):
        print("Keep the key and PFX/JKS files safe: they let anyone impersonate your servers.")
    return 0


# --- show, list, open-pfx, reminder -------------------------------------------------------------


def cmd_reminder(args: argparse.Namespace) -> int:
    from app.reminder import renew_by, write_reminder
    from app.workspace import Workspace

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
    from app.workspace import STATE_FILE, Workspace

    target = Path(args.target)
    if (target / STATE_FILE).exists():
        return _show_workspace(Workspace.open(target))
    if target.is_dir():
        raise InputError(
            f"{target} is a folder but not a renewal.",
            "Give a renewal folder or a certificate file.",
        )
    password = None
    if _password_given(args, "password"):
        password = _password(args, "password", "PFX password")
    from app import chain as chains
    from app.ca_response import parse
    from app.certinfo import info
    from app.checks import leaf_warnings

    parsed = parse(_read_sources([str(target)], password))
    for note in parsed.notes:
        print(f"Note: {note}")
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
    from app.names import shown
    from app.workspace import Stage

    s = ws.state
    print(f"Renewal: {ws.path}")
    print(f"  Stage:    {s.stage.label}")
    # Each international name as the certificate holds it, then as it reads.
    print(f"  Subject:  {shown(s.request.subject.common_name)}")
    print(f"  Names:    {', '.join(shown(n) for n in s.request.all_sans())}")
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
    for line in _acme_lines(s.acme):
        print(f"  {line}")
    if s.renews:
        print(f"  Renews:   {s.renews}")
    if s.renewed_by:
        print(f"  Renewed:  by {s.renewed_by} (accert renew follows it)")
    print(f"  Log:      {ws.log_path}")
    return 0


def _acme_lines(record: dict[str, Any]) -> list[str]:
    """How the certificate was ordered from an ACME CA, as renewal.json recorded it (never a
    secret: the EAB HMAC and TSIG secrets are in the credential store, not in the record)."""
    from app.peer_text import escape_peer

    settings = record.get("settings")
    if not isinstance(settings, dict) or not settings.get("directory"):
        return []
    issued = str(record.get("issued_at", ""))[:16].replace("T", " ")
    lines = [
        f"ACME:     {escape_peer(settings['directory'])}"
        + (f", issued {escape_peer(issued)} UTC" if issued else "")
    ]
    account = escape_peer(record.get("account_url") or "not recorded")
    if settings.get("eab_kid"):
        account += f" (EAB key id {escape_peer(settings['eab_kid'])})"
    lines.append(f"  Account: {account}")
    method = settings.get("dns_method")
    if method == "hook":
        dns = f"a hook: {escape_peer(settings.get('dns_hook', ''))}"
    elif method == "rfc2136":
        if settings.get("tsig_key_file"):
            key = f"key file {escape_peer(settings['tsig_key_file'])}"
            if settings.get("tsig_key_name"):  # recorded since accert acme takes --tsig-key
                key += (
                    f", key {escape_peer(settings['tsig_key_name'])} "
                    f"({escape_peer(settings.get('tsig_algorithm', ''))})"
                )
        else:  # named in the wizard; its secret is in the credential store
            key = (
                f"key {escape_peer(settings.get('tsig_key_name', ''))} "
                f"({escape_peer(settings.get('tsig_algorithm', ''))})"
            )
        zone = settings.get("rfc2136_zone")
        dns = (
            f"RFC 2136 updates at {escape_peer(settings.get('rfc2136_server', ''))}"
            + (f" to zone {escape_peer(zone)}" if zone else "")
            + f", TSIG {key}"
        )
    else:
        dns = "TXT records created by hand"
    lines.append(f"  DNS-01:  {dns}")
    return lines


def cmd_list(args: argparse.Namespace) -> int:
    from app.peer_text import escape_peer
    from app.salvage import DAMAGED, listed_name
    from app.workspace import list_workspaces

    root = Path(args.root) if args.root else None
    if root is not None and not root.is_dir():
        raise InputError(
            f"{root} {'is a file, not a folder' if root.exists() else 'does not exist'}.",
            "Give the folder that holds your renewal folders (or leave --root out for "
            "Documents/accert).",
        )
    found = list_workspaces(root)
    if not found:
        where = root if root is not None else "the default folder (Documents/accert)"
        print(f"No renewals in {where}." + ("" if root else " Others: --root FOLDER."))
    # An international name in both forms, as `show` prints it; escaped: a PFX's CN may be
    # anything; a damaged renewal's name says which file it was read from. The column is as
    # wide as its longest name, so the others stay aligned.
    names = [listed_name(s.common_name, s.name_from) for s in found]
    width = max([30, *map(len, names)])
    for s, name in zip(found, names, strict=True):
        status = DAMAGED if s.error else s.stage.label
        line = f"{s.updated[:16]:<17} {name:<{width}} {status:<32} {s.path}"
        if s.renewed_by:
            line += f"  (renewed by {Path(s.renewed_by).name})"
        elif s.renews:
            line += f"  (renews {Path(s.renews).name})"
        print(line)
        if s.error:  # why, and what to do, under the row
            print(f"{'':<17} {escape_peer(s.error)}")
    return 0


def cmd_open_pfx(args: argparse.Namespace) -> int:
    from app.ca_response import Source
    from app.workspace import create_from_pfx

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
