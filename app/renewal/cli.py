"""`accert renew` and `accert schedule`: unattended renewal from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.errors import AccertError, InputError

EXIT_FAILED = 3  # something failed; the new certificate, if made, stays ready


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def _mail_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("e-mail the report (SMTP with STARTTLS)")
    g.add_argument("--smtp", metavar="HOST[:PORT]", help="mail relay (port 587 by default)")
    g.add_argument("--mail-from", metavar="ADDR", help="sender address")
    g.add_argument("--mail-to", metavar="ADDR", action="append", help="recipient (repeatable)")
    g.add_argument("--smtp-user", metavar="USER", default="", help="log in as USER")
    g.add_argument("--smtp-ca-bundle", metavar="FILE", help="CA of a relay with a private CA")
    return None


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "renew",
        help="renew ACME certificates that are due: order, export, deploy, prove, report",
        description="For a renewal whose certificate came by ACME (accert acme): when at most "
        "--days are left, or the CA's renewal window (RFC 9773) is open, make a new renewal "
        "beside it with a new key, order with the recorded ACME settings and stored account, "
        "export as it was last exported, deploy to every SBC/gateway and OVOC it was deployed "
        "to, prove each by a TLS handshake, and write a report. Exit 0 when everything is done "
        "or nothing was due, 3 when anything failed. Passwords come from the credential store "
        "or the --...-env variables; nothing is ever asked.",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "workspace", nargs="?", type=Path, help="the renewal (or any of its lineage)"
    )
    where.add_argument("--all", action="store_true", help="every ACME renewal under --root")
    p.add_argument(
        "--root", type=Path, help="with --all: folder of renewals (default Documents/accert)"
    )
    p.add_argument("--days", type=int, default=30, help="renew when at most N days are left (30)")
    p.add_argument("--force", action="store_true", help="renew now, due or not")
    p.add_argument("--dry-run", action="store_true", help="say what would happen, change nothing")
    p.add_argument("--password-env", metavar="VAR", help="the SBCs' password from this variable")
    p.add_argument("--ovoc-password-env", metavar="VAR", help="OVOC's SSH password")
    p.add_argument("--ovoc-root-password-env", metavar="VAR", help="OVOC's root password")
    p.add_argument("--pfx-password-env", metavar="VAR", help="the PFX/JKS export password")
    p.add_argument("--report", type=Path, metavar="FILE", help="also write the report here "
                   "(.html or .json)")  # fmt: skip
    _mail_options(p)
    p.add_argument("--smtp-password-env", metavar="VAR", help="the mail account's password")
    p.add_argument(
        "--save-smtp-password",
        action="store_true",
        help="keep the --smtp-password-env password in the credential store for later runs",
    )
    p.set_defaults(handler=cmd_renew)

    s = subparsers.add_parser(
        "schedule",
        help="run accert renew daily (Windows Task Scheduler, or the cron line elsewhere)",
        description="Register a daily Task Scheduler task, as the current user (whose "
        "Credential Manager holds the passwords), running the installed accert.exe renew; "
        "shows the task. By default it runs whether you are logged on or not: schtasks asks "
        "for your Windows password once and keeps it with the task. Elsewhere, prints the "
        "crontab line.",
    )
    target = s.add_mutually_exclusive_group()
    target.add_argument("workspace", nargs="?", type=Path, help="the renewal to keep renewed")
    target.add_argument("--all", action="store_true", help="every ACME renewal under --root")
    s.add_argument("--root", type=Path, help="with --all: folder of renewals")
    s.add_argument("--daily", metavar="HH:MM", help="time of day (local) to run")
    s.add_argument("--remove", action="store_true", help="delete the task (all accert tasks "
                   "without WS or --all)")  # fmt: skip
    s.add_argument(
        "--logged-on-only",
        action="store_true",
        help="Windows: run only while you are logged on (no password stored with the task)",
    )
    s.add_argument("--days", type=int, default=None, help="passed to accert renew")
    s.add_argument("--report", type=Path, metavar="FILE", help="passed to accert renew")
    _mail_options(s)
    s.set_defaults(handler=cmd_schedule)


# --- renew --------------------------------------------------------------------------------------


def _targets(args: argparse.Namespace) -> tuple[list[Path], Path]:
    from app.paths import workspaces_root
    from app.renewal.run import acme_settings
    from app.workspace import Workspace, list_workspaces

    if not args.all:
        if args.root:
            raise InputError(
                "--root goes with --all.", "Give either a renewal or --all --root DIR."
            )
        path = Path(args.workspace)
        return [path], path.resolve().parent
    root = Path(args.root) if args.root else workspaces_root()
    if not root.is_dir():
        raise InputError(f"{root} is not a folder.", "Give the folder that holds the renewals.")
    found: list[Path] = []
    for summary in sorted(list_workspaces(root), key=lambda s: str(s.path)):
        if summary.error:
            _err(f"skipped: {summary.error}")
            continue
        ws = Workspace.open(summary.path)
        if ws.state.renewed_by:
            continue  # not the newest of its lineage
        if acme_settings(ws) is not None or ws.state.renews:
            found.append(summary.path)
    return found, root


def _mail_settings(args: argparse.Namespace) -> Any:
    if not args.smtp:
        if args.mail_to or args.mail_from:
            raise InputError("--mail-to and --mail-from need --smtp HOST[:PORT].", "")
        return None
    from app.renewal.mail import MailSettings, parse_server, save_smtp_password, smtp_password

    if not args.mail_from or not args.mail_to:
        raise InputError("--smtp needs --mail-from ADDR and --mail-to ADDR.", "")
    host, port = parse_server(args.smtp)
    password = ""
    if args.smtp_user:
        password = smtp_password(host, port, args.smtp_user, args.smtp_password_env)
        if args.save_smtp_password:
            save_smtp_password(host, port, args.smtp_user, password)
    if args.smtp_ca_bundle and not Path(args.smtp_ca_bundle).is_file():
        raise InputError(f"The CA bundle {args.smtp_ca_bundle} does not exist.", "Check the path.")
    return MailSettings(
        host, port, args.mail_from, tuple(args.mail_to), args.smtp_user, password,
        args.smtp_ca_bundle or "",
    )  # fmt: skip


def cmd_renew(args: argparse.Namespace) -> int:
    from app.renewal import report
    from app.renewal.credentials import PasswordSources
    from app.renewal.lock import RenewLock
    from app.renewal.run import RenewOptions, RenewOutcome, renew

    if args.days < 0:
        raise InputError("--days must be 0 or more.", "E.g. --days 30.")
    mail = _mail_settings(args)  # checked before anything else happens
    options = RenewOptions(
        days=args.days,
        force=args.force,
        dry_run=args.dry_run,
        passwords=PasswordSources(
            args.password_env, args.ovoc_password_env, args.ovoc_root_password_env,
            args.pfx_password_env,
        ),
    )  # fmt: skip
    paths, lock_folder = _targets(args)
    if not paths:
        print("No ACME renewal to look after here.")
        return 0
    outcomes: list[RenewOutcome] = []
    with RenewLock(lock_folder):
        for path in paths:
            try:
                outcome = renew(path, options, say=lambda m: _err(f"  {m}"))
            except AccertError as exc:
                if not args.all:
                    raise
                outcome = RenewOutcome(path, "failed", f"{exc.message} {exc.hint}".strip())
            if outcome.status in ("renewed", "failed") and outcome.renewal and outcome.steps:
                json_path, html_path = report.write([outcome], outcome.renewal)
                outcome = _with_reports(outcome, json_path, html_path)
            outcomes.append(outcome)
    print(report.text(outcomes), end="")
    for o in outcomes:
        if o.report_html:
            print(f"Report: {o.report_html} (and {o.report_json.name if o.report_json else ''})")
    if args.report:
        print(f"Report: {report.write_file(outcomes, args.report)}")
    failed = any(o.failed for o in outcomes)
    if mail is not None and any(o.status in ("renewed", "failed") for o in outcomes):
        from app.renewal.mail import send

        try:
            send(mail, outcomes)
            print(f"Report mailed to {', '.join(mail.recipients)}.")
        except AccertError as exc:
            _err(f"error: {exc.message}")
            if exc.hint:
                _err(f"  {exc.hint}")
            failed = True
    return EXIT_FAILED if failed else 0


def _with_reports(outcome: Any, json_path: Path, html_path: Path) -> Any:
    from dataclasses import replace

    return replace(outcome, report_json=json_path, report_html=html_path)


# --- schedule -----------------------------------------------------------------------------------


def _renew_args(args: argparse.Namespace) -> tuple[str, ...]:
    words: list[str] = ["renew"]
    if args.all:
        words.append("--all")
        if args.root:
            words += ["--root", str(Path(args.root).resolve())]
    else:
        words.append(str(Path(args.workspace).resolve()))
    if args.days is not None:
        words += ["--days", str(args.days)]
    if args.report:
        words += ["--report", str(Path(args.report).resolve())]
    if args.smtp:
        words += ["--smtp", args.smtp, "--mail-from", args.mail_from or ""]
        for to in args.mail_to or ():
            words += ["--mail-to", to]
        if args.smtp_user:
            words += ["--smtp-user", args.smtp_user]
        if args.smtp_ca_bundle:
            words += ["--smtp-ca-bundle", str(Path(args.smtp_ca_bundle).resolve())]
    return tuple(words)


def cmd_schedule(args: argparse.Namespace) -> int:
    from app.renewal import schedule as sched

    windows = sched.is_windows()
    if args.remove:
        return _remove(args, windows)
    if not (args.workspace or args.all):
        raise InputError("Which renewals?", "Give a renewal folder, or --all [--root DIR].")
    if not args.daily:
        raise InputError("When?", "Give --daily HH:MM, e.g. --daily 06:30.")
    if args.workspace is not None:
        from app.workspace import Workspace

        Workspace.open(Path(args.workspace))  # a typo fails now, not every night
    if args.smtp and not (args.mail_from and args.mail_to):
        raise InputError("--smtp needs --mail-from ADDR and --mail-to ADDR.", "")
    at = sched.parse_daily(args.daily)
    plan = sched.Schedule(_renew_args(args), at, None if args.all else Path(args.workspace))
    exe = sched.installed_exe()
    when = sched.next_run(at)
    root = Path(args.root) if args.all and args.root else None
    if not windows:
        from app.paths import log_dir

        print("Add this line to your crontab (crontab -e):")
        print(sched.cron_line(exe, plan, log_dir() / "renew.log"))
        print(f"Next run: {when:%Y-%m-%d %H:%M}")
        sched.record_schedule(plan, root)
        return 0
    command = sched.schtasks_create(
        exe, plan, user=sched.current_user(), logged_on_only=args.logged_on_only
    )
    if not args.logged_on_only:
        _err("schtasks asks for your Windows password: the task keeps it, to run while you are "
             "logged off with your Credential Manager.")  # fmt: skip
    created = sched.run_schtasks(command, capture=False)
    if created.returncode != 0:
        raise sched.ScheduleError(
            f"schtasks could not create the task {plan.name} (exit {created.returncode}).",
            "Check the password you typed; or use --logged-on-only to store none.",
        )
    sched.record_schedule(plan, root)
    shown = sched.run_schtasks(sched.schtasks_query(plan.name))
    print(shown.stdout.strip())
    print(f"Task {plan.name}: {sched.task_command(exe, plan)}")
    print(f"Next run: {when:%Y-%m-%d %H:%M}")
    return 0


def _remove(args: argparse.Namespace, windows: bool) -> int:
    from app.renewal import schedule as sched

    chosen = args.all or args.workspace
    if not windows:
        print("Remove the accert renew line from your crontab (crontab -e).")
        names = [sched.task_name(None if args.all else Path(args.workspace))] if chosen else []
        sched.forget_schedules(names or list(sched.load_schedules()))
        return 0
    if chosen:
        names = [sched.task_name(None if args.all else Path(args.workspace))]
    else:
        listed = sched.run_schtasks(sched.schtasks_list())
        names = sched.accert_tasks(listed.stdout)
        if not names:
            print("No accert task is scheduled.")
            return 0
    for name in names:
        done = sched.run_schtasks(sched.schtasks_delete(name))
        if done.returncode != 0:
            raise sched.ScheduleError(
                f"schtasks could not delete {name}: {done.stderr.strip() or done.stdout.strip()}",
                "See Task Scheduler (taskschd.msc), folder accert.",
            )
        print(f"Removed the task {name}.")
    sched.forget_schedules(names)
    return 0
