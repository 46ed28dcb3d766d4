"""`accert scan` and `accert inventory`: the estate from the command line and Task Scheduler."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cryptography import x509

from app.checks import EXPIRY_WARNING_DAYS
from app.errors import AccertError, InputError
from app.estate import inventory as inv
from app.estate.report import write_csv, write_html
from app.estate.scan import (
    DEFAULT_TIMEOUT,
    DEFAULT_WORKERS,
    MAX_WORKERS,
    Renewal,
    ScanRow,
    Urgency,
    log_to_workspace,
    renewal_from_workspace,
    scan,
)
from app.words import count

EXIT_EXPIRING = 3  # something expires within the threshold (or has expired)
EXIT_UNREACHABLE = 4  # only with --strict: nothing expiring, but some port gave no answer


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "scan",
        help="check the certificate every SBC, gateway and OVOC in the inventory serves",
        description=(
            "Connects to every port of every target in parallel and lists what it serves, "
            f"most urgent first. Exits {EXIT_EXPIRING} when a certificate expires within the "
            "threshold, so it can run from Windows Task Scheduler."
        ),
    )
    p.add_argument(
        "inventory",
        nargs="?",
        type=Path,
        help=f"inventory file (TOML or JSON; default: {inv.INVENTORY_FILE} in the settings)",
    )
    p.add_argument(
        "--threshold",
        type=int,
        default=EXPIRY_WARNING_DAYS,
        metavar="DAYS",
        help=f"warn about certificates expiring within DAYS (default {EXPIRY_WARNING_DAYS})",
    )
    p.add_argument("--csv", type=Path, metavar="FILE", help="also write the table as CSV")
    p.add_argument("--html", type=Path, metavar="FILE", help="also write an HTML report")
    p.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        metavar="N",
        help=f"connections at once (default {DEFAULT_WORKERS}, at most {MAX_WORKERS})",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"seconds to wait for each connection (default {DEFAULT_TIMEOUT:g})",
    )
    p.add_argument(
        "--renewal",
        type=Path,
        metavar="WORKSPACE",
        help="say for each port whether it serves this renewal's certificate",
    )
    p.add_argument(
        "--ca",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="a private root CA (PEM) to judge chains against; may repeat",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help=f"also exit {EXIT_UNREACHABLE} when a port cannot be reached",
    )
    p.set_defaults(handler=cmd_scan)

    p = subparsers.add_parser("inventory", help="list or import the estate inventory")
    sub = p.add_subparsers(dest="inventory_command", required=True)
    q = sub.add_parser(
        "import-csv",
        help="add targets from a CSV (host, name, kind, ports...)",
        description="Add targets from a spreadsheet saved as CSV. A header row names the "
        "columns, in any order and any case; comma, semicolon or tab separated, as Excel "
        f"saves them. Columns: {inv.CSV_COLUMNS_HELP}. Never a password column: passwords "
        "are asked once and kept in the credential store.",
    )
    q.add_argument("csv", type=Path)
    q.add_argument("--to", type=Path, metavar="INVENTORY", help="inventory file to update")
    q.set_defaults(handler=cmd_import_csv)
    q = sub.add_parser("from-devices", help="add the SBCs saved by deploy-sbc")
    q.add_argument("--to", type=Path, metavar="INVENTORY", help="inventory file to update")
    q.set_defaults(handler=cmd_from_devices)
    q = sub.add_parser("show", help="list the targets")
    q.add_argument("inventory", nargs="?", type=Path)
    q.set_defaults(handler=cmd_show)


def _roots(paths: list[Path]) -> list[x509.Certificate]:
    roots: list[x509.Certificate] = []
    for path in paths:
        try:
            roots += x509.load_pem_x509_certificates(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise InputError(f"Cannot read the CA file {path}: {exc}.", "Give a PEM file.") from exc
    return roots


def _line(row: ScanRow) -> str:
    start = f"{row.urgency.label.upper():<11} {row.target.label:<20} {row.address:<24}"
    if not row.reachable:
        return f"{start} {row.error}"
    match = f" ({row.match.value})" if row.match.value else ""
    return f"{start} {row.common_name:<30} {row.status}{match}"


def cmd_scan(args: argparse.Namespace) -> int:
    if args.workers < 1 or args.timeout <= 0 or args.threshold < 0:
        raise InputError("--workers, --timeout and --threshold must be positive.", "")
    inventory = inv.estate(args.inventory)
    if not inventory.targets:
        raise InputError(
            f"The inventory {args.inventory or inv.inventory_path()} lists no targets.",
            "Add some with `accert inventory import-csv FILE` or edit the file.",
        )
    renewal, roots = Renewal(), _roots(args.ca)
    if args.renewal:
        renewal, cas = renewal_from_workspace(args.renewal)
        roots += cas
    ports = sum(len(t.scan_ports) for t in inventory.targets)
    _err(f"Scanning {count(ports, 'port')} on {count(len(inventory.targets), 'target')}...")
    rows = scan(
        inventory,
        workers=args.workers,
        timeout=args.timeout,
        threshold=args.threshold,
        renewal=renewal,
        extra_roots=roots,
    )
    for row in rows:
        print(_line(row))
    if args.renewal:
        log_to_workspace(args.renewal, rows)
    # A report that cannot be written (estate.csv open in Excel) is said, and the scan's own
    # exit code still tells Task Scheduler what expires.
    unwritten = 0
    for wanted, write, what in (
        (args.csv, write_csv, "CSV"),
        (args.html, write_html, "HTML report"),
    ):
        if not wanted:
            continue
        try:
            _err(f"{what} written to {write(rows, wanted)}")
        except AccertError as exc:
            unwritten += 1
            _err(f"error: {exc.message}" + (f"\n  {exc.hint}" if exc.hint else ""))
    urgent = [r for r in rows if r.urgency <= Urgency.EXPIRING]
    unreachable = [r for r in rows if r.urgency is Urgency.UNREACHABLE]
    _err(
        f"{len(urgent)} expiring within {args.threshold} days or expired, "
        f"{len(unreachable)} unreachable, {len(rows) - len(urgent) - len(unreachable)} fine or "
        "to check."
    )
    if urgent:
        return EXIT_EXPIRING
    if args.strict and unreachable:
        return EXIT_UNREACHABLE
    return 1 if unwritten else 0


def cmd_import_csv(args: argparse.Namespace) -> int:
    result, read = inv.import_csv(args.csv, args.to)
    _err(
        f"{count(read, 'target')} read from {args.csv}; the inventory now lists "
        f"{len(result.targets)}."
    )
    _err(f"Saved in {args.to or inv.inventory_path()}")
    return 0


def cmd_from_devices(args: argparse.Namespace) -> int:
    from app.mediant.devices import load_devices

    new = inv.from_saved_devices(load_devices())
    path = args.to or inv.inventory_path()
    result = (inv.load(path) if path.exists() else inv.Inventory()).merged(new)
    inv.save(result, path)
    _err(
        f"{count(len(new), 'saved device')} added; {path} lists "
        f"{count(len(result.targets), 'target')}."
    )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    inventory = inv.estate(args.inventory)
    for t in inventory.targets:
        ports = " ".join(map(str, t.scan_ports))
        print(f"{t.label:<24} {t.kind.label:<12} {t.host:<32} ports {ports}  {t.site}".rstrip())
    _err(f"{count(len(inventory.targets), 'target')} in {args.inventory or inv.inventory_path()}")
    return 0
