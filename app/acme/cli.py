"""`accert acme`: ask the CA for the certificate directly (ACME, RFC 8555) and import it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.passwords import read_password

if TYPE_CHECKING:
    from app.acme.dns import TxtRecord
    from app.acme.settings import AcmeSettings

MANUAL_TIMEOUT = 1800.0  # a person creates the records by hand: give them half an hour


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "acme",
        help="get the certificate from the CA over ACME (DNS-01, EAB) and import it",
        description="Order a certificate for the renewal's CSR from an ACME CA (RFC 8555), prove "
        "the names with DNS-01 TXT records, and import the chain with the checks of `accert "
        "import`. The key never leaves the renewal folder. The ACME account is made once per CA "
        "and EAB key id, kept encrypted, and reused (later runs need no HMAC).",
    )
    p.add_argument("workspace", metavar="WS", help="renewal folder with a CSR (accert request)")
    p.add_argument(
        "--directory", required=True, metavar="URL", help="the CA's ACME directory URL (https)"
    )
    p.add_argument("--eab-kid", default="", metavar="KID", help="External Account Binding key id")
    hmac = p.add_mutually_exclusive_group()
    hmac.add_argument(
        "--eab-hmac-env", metavar="VAR", help="read the EAB HMAC key from this variable"
    )
    hmac.add_argument(
        "--eab-hmac-file", metavar="F", type=Path, help="read the EAB HMAC key from this file"
    )
    p.add_argument("--email", default="", metavar="ADDR", help="contact for the CA's notices")
    dns_group = p.add_mutually_exclusive_group(required=True)
    dns_group.add_argument(
        "--dns-hook",
        metavar="CMD",
        help="run `CMD present FQDN. VALUE` / `CMD cleanup FQDN. VALUE` (.ps1, .cmd, or any "
        "program)",
    )
    dns_group.add_argument(
        "--dns-manual",
        action="store_true",
        help="print the TXT records to create by hand, then wait until they are visible",
    )
    dns_group.add_argument(
        "--dns-rfc2136",
        metavar="SERVER[:PORT]",
        help="create the records by RFC 2136 dynamic update (TSIG) on this primary server",
    )
    p.add_argument(
        "--tsig-key-file",
        metavar="F",
        help="BIND key file for --dns-rfc2136, as tsig-keygen or ddns-confgen write it (the "
        "secret is read from it, never given on the command line)",
    )
    p.add_argument(
        "--tsig-key",
        metavar="NAME",
        help="the key to use when the key file holds several",
    )
    p.add_argument(
        "--zone",
        metavar="ZONE",
        help="the zone to update (default: the one the server's SOA answer names); for a "
        "hidden primary or split-horizon DNS that does not answer that question",
    )
    p.add_argument(
        "--dns-resolver",
        action="append",
        metavar="HOST[:PORT]",
        help="check the TXT records here (repeat) instead of the zone's authoritative servers",
    )
    p.add_argument(
        "--propagation-timeout",
        type=float,
        metavar="S",
        help="how long to wait for the TXT records to be visible (default 300 s; manual 1800 s)",
    )
    p.add_argument(
        "--ca-bundle",
        metavar="FILE",
        help="PEM root(s) trusted for the CA's HTTPS (private ACME CAs); default: system store",
    )
    p.add_argument(
        "--preferred-chain",
        default="",
        metavar="ISSUER-CN",
        help="take the CA's alternate chain whose top certificate is issued by this CN",
    )
    p.set_defaults(handler=cmd_acme)


def _show_records(records: list[TxtRecord]) -> None:
    _err("")
    _err("Create these TXT records in your DNS now (one name may need two values; keep both):")
    for record in records:
        _err(f'  {record.fqdn:<50} TXT  "{record.value}"   (for {record.identifier})')
    _err("accert checks every 2 s and goes on as soon as every record is visible.")
    _err("")


def _keep_tsig_secret(settings: AcmeSettings) -> None:
    """As the wizard does: the credential store keeps the key's secret, so `accert renew` still
    has it when the key file is gone (while it is there, the file is read again)."""
    from app.acme.dns.rfc2136 import keep_secret
    from app.errors import AccertError
    from app.peer_text import peer_line

    name, file = peer_line(settings.tsig_key_name), settings.tsig_key_file
    try:
        kept = keep_secret(settings)
    except AccertError as exc:
        _err(f"  The secret of TSIG key {name} could not be kept ({exc.message}).")
        kept = False
    if kept:
        _err(f"  TSIG key {name}: its secret is kept in the credential store for accert renew.")
    else:
        _err(f"  accert renew will read the TSIG key from {file} again: keep the file there.")


def cmd_acme(args: argparse.Namespace) -> int:
    from app.acme.dns.rfc2136 import bind_algorithm, read_key_file
    from app.acme.issue import issue
    from app.acme.settings import DEFAULT_PROPAGATION_TIMEOUT, AcmeSettings
    from app.errors import InputError
    from app.workspace import Workspace
    from app.workspace_cli import _print_outcome

    if args.tsig_key and not args.tsig_key_file:
        raise InputError(
            "--tsig-key names a key in --tsig-key-file.",
            "Add --tsig-key-file FILE: the BIND key file that holds it.",
        )
    if args.dns_rfc2136 and not args.tsig_key_file:
        raise InputError(
            "--dns-rfc2136 needs --tsig-key-file F.",
            "Give the BIND key file the DNS administrator made (tsig-keygen NAME writes one).",
        )
    if args.tsig_key_file and not args.dns_rfc2136:
        raise InputError("--tsig-key-file goes with --dns-rfc2136.", "Add --dns-rfc2136 SERVER.")
    if args.zone and not args.dns_rfc2136:
        raise InputError(
            "--zone goes with --dns-rfc2136.",
            "Add --dns-rfc2136 SERVER, or leave --zone out.",
        )
    if (args.eab_hmac_env or args.eab_hmac_file) and not args.eab_kid:
        raise InputError("An EAB HMAC key needs its key id.", "Add --eab-kid KID.")
    if args.ca_bundle and not Path(args.ca_bundle).is_file():
        raise InputError(f"The CA bundle {args.ca_bundle} does not exist.", "Check the path.")
    method = "hook" if args.dns_hook else "rfc2136" if args.dns_rfc2136 else "manual"
    timeout = args.propagation_timeout
    if timeout is None:
        timeout = MANUAL_TIMEOUT if method == "manual" else DEFAULT_PROPAGATION_TIMEOUT
    key_file = Path(args.tsig_key_file).resolve() if args.tsig_key_file else None
    # Read now: a wrong file or key name is said before anything is asked of the CA.
    key = read_key_file(key_file, args.tsig_key) if key_file else None
    settings = AcmeSettings(
        directory=args.directory,
        eab_kid=args.eab_kid,
        email=args.email,
        dns_method=method,
        dns_hook=args.dns_hook or "",
        rfc2136_server=args.dns_rfc2136 or "",
        tsig_key_file=str(key_file or ""),
        tsig_key_name=key[0].to_text(omit_final_dot=True) if key else "",
        tsig_algorithm=bind_algorithm(key[1]) if key else "",
        rfc2136_zone=args.zone or "",
        resolvers=tuple(args.dns_resolver or ()),
        propagation_timeout=timeout,
        ca_bundle=str(Path(args.ca_bundle).resolve()) if args.ca_bundle else "",
        preferred_chain=args.preferred_chain,
    )
    hmac = None
    if args.eab_hmac_env or args.eab_hmac_file:
        hmac = read_password(
            "EAB HMAC key", env=args.eab_hmac_env, file=args.eab_hmac_file, option="--eab-hmac-env"
        )
    ws = Workspace.open(Path(args.workspace))
    outcome = issue(
        ws,
        settings,
        eab_hmac=hmac,
        progress=lambda message: _err(f"  {message}"),
        show_records=_show_records,
    )
    if key is not None:
        _keep_tsig_secret(settings)
    _print_outcome(outcome)
    print(f"Imported into {ws.path}. Next: `accert export {ws.path} --out FOLDER`.")
    return 0
