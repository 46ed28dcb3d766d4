"""`accert request`: the private key and the CSR in a renewal folder.

Its own module so that `accert request` loads the key and CSR engine and nothing else (the
import, export and deployment code stay on disk): see app/cli.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("request", help="make the private key and the CSR")
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


def cmd_request(args: argparse.Namespace) -> int:
    # The engine is imported here, not at the top: `accert request --help` needs none of it.
    from app.names import shown
    from app.request import RequestSpec, Subject, parse_key_type, require_valid
    from app.workspace import STATE_FILE, Workspace, new_request

    if not args.workspace.strip():
        raise _input_error(
            "The renewal folder is empty ('').", "Give a folder name, e.g. renewals/sbc1."
        )
    spec = require_valid(
        RequestSpec(
            Subject(
                args.cn, args.org, args.ou, args.locality, args.state, args.country, args.email
            ),
            tuple(args.san or ()),
            parse_key_type(args.key),
            include_bare_domain=not args.no_bare_domain,
        )
    )
    path = Path(args.workspace)
    progress = lambda m: _err(f"  {m}...")  # noqa: E731
    from app.onedrive import notice_once

    told = notice_once(path.absolute())
    if told:
        _err(f"Note: {told}")
    if (path / STATE_FILE).exists():
        ws = Workspace.open(path)
        if ws.state.stage.value == "new":
            ws.update_request(spec)
        else:
            _refuse_changes(path, ws.state.request, spec)
        summary = ws.generate(progress=progress)
    else:
        ws, summary = new_request(spec, path, progress)
    _err(f"Request saved in {ws.path / 'request.csr'}")
    _err(f"  Subject: {summary.subject}")
    _err(f"  Names:   {', '.join(shown(n) for n in summary.sans)}")
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


def _input_error(message: str, hint: str) -> Exception:
    from app.errors import InputError

    return InputError(message, hint)


def _refuse_changes(path: Path, made: Any, asked: Any) -> None:
    """The CSR in `path` was made for `made`; a re-run asking for anything else is refused,
    saying exactly what differs (names or which subject fields)."""
    if made.all_sans() != asked.all_sans():
        raise _input_error(
            f"{path} already has a CSR for other names ({', '.join(made.all_sans())}).",
            "Use a new folder for a new request; this one is kept as it is.",
        )
    labels = {
        "organization": "--org",
        "organizational_unit": "--ou",
        "locality": "--locality",
        "state": "--state",
        "country": "--country",
        "email": "--email",
        "common_name": "--cn",
    }
    changed = [
        f"{option} '{getattr(made.subject, field)}' there, '{getattr(asked.subject, field)}' now"
        for field, option in labels.items()
        if getattr(made.subject, field) != getattr(asked.subject, field)
    ]
    if made.key_type != asked.key_type:
        changed.append(f"--key {made.key_type.value} there, {asked.key_type.value} now")
    if changed:
        raise _input_error(
            f"{path} already has a CSR for these names with other details: {'; '.join(changed)}.",
            "Run the same command as before to print that CSR again, or use a new folder for a "
            "CSR with the new details (a CSR cannot be changed once made).",
        )
