"""`accert sbc-trust`: does a TLS context trust what a platform (Teams...) needs? Add it."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from app.errors import AccertError, InputError
from app.mediant.device_login import (
    add_device_login_options,
    ask_trust_on_first_contact,
    login_target,
)
from app.mediant.devices import SavedDevice, load_devices, parse_host_port
from app.peer_text import escape_peer

EXIT_MISSING = 3  # roots missing: for Task Scheduler and scripts, like `accert scan`


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "sbc-trust",
        help="check (and with --add, complete) a TLS context's trusted roots for a platform",
        description="Read the trusted root store of a device's TLS context and say which of "
        "the platform's roots (e.g. the seven Teams Direct Routing roots) are present and "
        "which are missing, by name; exit 3 when any is missing. Nothing is changed unless "
        "--add is given: then the INI is backed up first, only the missing roots are added "
        "one by one (never replacing the store, never a duplicate, within its limit of 20), "
        "the configuration is saved and the store read back.",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--host", help="HOST[:PORT] of one device (port 443 by default)")
    where.add_argument(
        "--devices",
        type=Path,
        metavar="FILE",
        help='JSON device file ({"devices": [...]}); each device\'s contexts of this platform',
    )
    p.add_argument("--user", default=None, help="device user (Administrator level)")
    add_device_login_options(p)
    p.add_argument(
        "--context", type=int, action="append", metavar="N", help="TLS context index (repeatable)"
    )
    p.add_argument(
        "--platform", required=True, metavar="NAME", help="platform profile, e.g. teams, google"
    )
    p.add_argument("--add", action="store_true", help="add the missing roots (backup first)")
    p.add_argument(
        "--backup-dir",
        type=Path,
        metavar="DIR",
        help="where the INI backups go with --add (default: Documents/accert/device-backups)",
    )
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per device call")
    p.set_defaults(handler=cmd_sbc_trust)


def _jobs(args: argparse.Namespace, platform_key: str) -> list[tuple[SavedDevice, tuple[int, ...]]]:
    if args.host:
        if not args.context:
            raise InputError(
                "Which TLS context?",
                "Give --context N: the context of the platform's SIP interface "
                "(accert sbc-contexts lists them).",
            )
        host, port = parse_host_port(args.host)
        return [(SavedDevice(host, port, user=args.user or "Admin"), tuple(args.context))]
    devices = load_devices(args.devices)
    if not devices:
        raise InputError(f"{args.devices} lists no device.", "Add at least one.")
    jobs = []
    for d in devices:
        if args.user:
            d = replace(d, user=args.user)
        contexts = tuple(args.context or d.contexts_of(platform_key))
        jobs.append((d, contexts))
    return jobs


def cmd_sbc_trust(args: argparse.Namespace) -> int:
    from app.mediant.client import Timing
    from app.mediant.deploy import client_for, write_backup
    from app.mediant.trust import TrustReport, check_store, fix_store
    from app.paths import workspaces_root
    from app.platforms import load_platform

    platform = load_platform(args.platform)
    jobs = _jobs(args, platform.key)
    if args.fingerprint and len(jobs) > 1:
        raise InputError(
            "--fingerprint names one device's certificate.",
            'Put a "fingerprint" per device in the device file instead.',
        )
    backups = Path(args.backup_dir or workspaces_root() / "device-backups")
    timing = Timing(timeout=args.timeout)
    print(f"{platform.title}: {len(platform.roots)} roots, per {platform.source_line}")
    missing_any = failed = False
    for device, contexts in jobs:
        if not contexts:
            failed = True
            _err(
                f"{device.name or device.key}: no TLS context is named for {platform.short} in "
                f"{args.devices}.",
                f'Add "platforms": {{"<context>": "{platform.key}"}} to the device, or give '
                "--context.",
            )
            continue
        try:
            target = login_target(device, args)
            if args.host:
                target = ask_trust_on_first_contact(target)
        except AccertError as exc:
            if args.host:
                raise
            failed = True
            _err(f"{device.key}: {exc.message}", exc.hint)
            continue
        for context in contexts:
            client = client_for(target, timing)
            try:
                report: TrustReport
                if args.add:
                    backups.mkdir(parents=True, exist_ok=True)
                    write = partial(write_backup, backups, target.host, target.port)
                    report = fix_store(
                        client,
                        target.label,
                        context,
                        platform,
                        write,
                        log=lambda line: print(f"  {line}", file=sys.stderr),
                    )
                else:
                    report = check_store(client, target.label, context, platform)
            except AccertError as exc:
                if args.host:
                    raise
                failed = True
                _err(f"{target.label} context {context}: {exc.message}", exc.hint)
                continue
            finally:
                client.close()
            _print(report)
            missing_any |= not report.complete
    if failed:
        return 1
    return EXIT_MISSING if missing_any else 0


def _print(report: Any) -> None:
    from app.mediant.trust import TRUSTED_ROOT_LIMIT

    comparison = report.comparison
    ident = report.identity
    print(f"{report.label}  {escape_peer(ident.product)}, firmware {escape_peer(ident.firmware)}")
    print(f"  context {escape_peer(report.context.label())}: {report.status.text}")
    added = {r.sha256 for r in report.added}
    for root in comparison.platform.roots:
        if root in comparison.missing:
            state = "missing"
        elif root.sha256 in added:
            state = "added"
        else:
            state = "present"
        print(f"    {state:<8} {root.name}  (SHA-1 {root.sha1})")
    print(f"  store: {report.store_size} of {TRUSTED_ROOT_LIMIT} certificates")
    if report.saved:
        print(f"  saved; store read back; backup: {report.backup_path}")
    elif report.backup_path:
        print(f"  nothing to add; nothing changed (backup: {report.backup_path})")
    elif comparison.missing:
        print("  nothing changed; add the missing roots with --add")


def _err(message: str, hint: str = "") -> None:
    print(f"error: {escape_peer(message)}", file=sys.stderr)
    if hint:
        print(f"  {escape_peer(hint)}", file=sys.stderr)
