"""`accert schedule`: run `accert renew` daily, unattended.

Windows: a Task Scheduler task made with schtasks.exe. It runs as the current user, because the
passwords are in that user's Credential Manager; by default it runs whether the user is logged
on or not, which needs the user's Windows password stored with the task: schtasks asks for it
itself (/RP *), so it never appears on a command line. `logged_on_only` (/IT) needs no password
but runs only while the user is logged on. ("Do not store password", /NP, is not offered: such
a task cannot open Credential Manager.)

Elsewhere: the crontab line, printed for the user to add.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.errors import AccertError, InputError

TASK_FOLDER = "accert"
MAX_TASK_RUN = 261  # characters Task Scheduler accepts in /TR


class ScheduleError(AccertError):
    """schtasks refused, or is missing."""


def is_windows() -> bool:
    return os.name == "nt"


def parse_daily(text: str) -> dt.time:
    m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text.strip())
    if not m:
        raise InputError(
            f"--daily {text!r} is not a time of day.", "Give HH:MM, e.g. --daily 06:30."
        )
    return dt.time(int(m.group(1)), int(m.group(2)))


def next_run(at: dt.time, now: dt.datetime | None = None) -> dt.datetime:
    now = now or dt.datetime.now()
    candidate = now.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    return candidate if candidate > now else candidate + dt.timedelta(days=1)


def task_name(target: Path | None) -> str:
    """\\accert\\renew <folder> for one lineage, \\accert\\renew all for --all."""
    if target is None:
        return f"\\{TASK_FOLDER}\\renew all"
    name = re.split(r"[\\/]", str(target).rstrip("\\/"))[-1]  # a Windows path, also in tests
    safe = re.sub(r'[:*?"<>|]', "_", name) or "renewal"
    return f"\\{TASK_FOLDER}\\renew {safe}"


def installed_exe() -> str:
    """accert.exe beside the running program when frozen, else this Python's `accert` script."""
    if getattr(sys, "frozen", False):
        return str(Path(sys.executable).with_name("accert.exe"))
    script = Path(sys.executable).with_name("accert.exe" if os.name == "nt" else "accert")
    return str(script)


def current_user() -> str:
    domain = os.environ.get("USERDOMAIN")
    user = os.environ.get("USERNAME") or getpass.getuser()
    return f"{domain}\\{user}" if domain else user


@dataclass(frozen=True)
class Schedule:
    renew_args: tuple[str, ...]  # after `accert`: ("renew", WS, ...)
    at: dt.time
    target: Path | None  # None: --all

    @property
    def name(self) -> str:
        return task_name(self.target)


def task_command(exe: str, schedule: Schedule) -> str:
    """What the task runs: the Windows command line of accert.exe renew ..."""
    return subprocess.list2cmdline([exe, *schedule.renew_args])


def schtasks_create(
    exe: str, schedule: Schedule, *, user: str, logged_on_only: bool = False
) -> list[str]:
    run = task_command(exe, schedule)
    if len(run) > MAX_TASK_RUN:
        raise InputError(
            f"The task's command line is {len(run)} characters; Task Scheduler takes at most "
            f"{MAX_TASK_RUN}.",
            "Move the renewals to a shorter folder, or schedule --all --root DIR.",
        )
    args = [
        "schtasks", "/Create", "/TN", schedule.name, "/TR", run,
        "/SC", "DAILY", "/ST", f"{schedule.at:%H:%M}", "/RU", user,
    ]  # fmt: skip
    args += ["/IT"] if logged_on_only else ["/RP", "*"]
    return [*args, "/RL", "LIMITED", "/F"]


def schtasks_query(name: str) -> list[str]:
    return ["schtasks", "/Query", "/TN", name, "/V", "/FO", "LIST"]


def schtasks_delete(name: str) -> list[str]:
    return ["schtasks", "/Delete", "/TN", name, "/F"]


def schtasks_list() -> list[str]:
    return ["schtasks", "/Query", "/FO", "CSV", "/NH"]


def accert_tasks(csv_text: str) -> list[str]:
    """Task names under \\accert\\ in `schtasks /Query /FO CSV /NH` output."""
    names: list[str] = []
    for line in csv_text.splitlines():
        first = line.split('","', 1)[0].strip().strip('"')
        if first.lower().startswith(f"\\{TASK_FOLDER}\\") and first not in names:
            names.append(first)
    return names


def cron_line(exe: str, schedule: Schedule, log: Path) -> str:
    command = shlex.join([exe, *schedule.renew_args])
    return (
        f"{schedule.at.minute} {schedule.at.hour} * * * {command} >> {shlex.quote(str(log))} 2>&1"
    )


def run_schtasks(args: Sequence[str], *, capture: bool = True) -> subprocess.CompletedProcess[str]:
    """schtasks; uncaptured, the console is its own, so /RP * asks the user directly."""
    try:
        return subprocess.run(list(args), capture_output=capture, text=True, check=False)
    except OSError as exc:
        raise ScheduleError(
            f"Cannot run schtasks.exe: {exc.strerror or exc}.",
            "Run accert schedule on Windows, where Task Scheduler is.",
        ) from exc


# --- what is scheduled (for the wizard and the dashboard) ---------------------------------------

SCHEDULES_FILE = "renew-schedules.json"


def _schedules_path() -> Path:
    from app.paths import config_dir

    return config_dir() / SCHEDULES_FILE


def load_schedules() -> dict[str, dict[str, str]]:
    """Task name -> {"target": folder or "", "root": folder or "", "daily": "HH:MM"}."""
    import json

    try:
        data = json.loads(_schedules_path().read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


def _save_schedules(entries: dict[str, dict[str, str]]) -> None:
    import json

    from app.atomic import atomic_write_text

    atomic_write_text(_schedules_path(), json.dumps(entries, indent=2, sort_keys=True) + "\n")


def record_schedule(schedule: Schedule, root: Path | None = None) -> None:
    entries = load_schedules()
    entries[schedule.name] = {
        "target": str(Path(schedule.target).resolve()) if schedule.target else "",
        "root": str(Path(root).resolve()) if root else "",
        "daily": f"{schedule.at:%H:%M}",
    }
    _save_schedules(entries)


def forget_schedules(names: Sequence[str]) -> None:
    entries = load_schedules()
    for name in names:
        entries.pop(name, None)
    _save_schedules(entries)


def schedule_for(folder: Path) -> str:
    """'daily at 06:30' when a recorded schedule keeps the lineage of `folder` renewed, else ''.

    A schedule names a renewal (renew follows its lineage to the newest) or --all under a root.
    """
    from app.renewal.lineage import same_folder
    from app.renewal.run import acme_settings
    from app.workspace import Workspace

    try:
        ws = Workspace.open(folder)
    except AccertError:
        return ""
    if acme_settings(ws) is None and not ws.state.renews:
        return ""
    members = {folder.resolve()}
    current = ws
    for _ in range(1000):  # back along `renews` to the lineage's first renewal
        if not current.state.renews:
            break
        previous = Path(current.state.renews)
        members.add(previous.resolve())
        try:
            current = Workspace.open(previous)
        except AccertError:
            break
    for entry in load_schedules().values():
        target, root = entry.get("target", ""), entry.get("root", "")
        hit = any(same_folder(target, m) for m in members) if target else False
        if not target:
            from app.paths import workspaces_root

            base = Path(root) if root else workspaces_root()
            hit = same_folder(folder.parent, base)
        if hit:
            return f"daily at {entry.get('daily', '?')}"
    return ""


@dataclass(frozen=True)
class Registered:
    name: str
    next_run: dt.datetime
    command: str  # the task's command line, or the crontab line for the user to add
    windows: bool


def register(folder: Path, at: dt.time, *, logged_on_only: bool = True) -> Registered:
    """What the wizard's "Renew automatically" does.

    On Windows a task that runs while the user is logged on (the wizard has no console for
    schtasks to ask the Windows password on); elsewhere nothing is registered and the cron line
    is returned for the user to add.
    """
    plan = Schedule(("renew", str(Path(folder).resolve())), at, Path(folder))
    exe = installed_exe()
    when = next_run(at)
    if not is_windows():
        from app.paths import log_dir

        record_schedule(plan)  # as `accert schedule` does: the user adds the line
        return Registered(plan.name, when, cron_line(exe, plan, log_dir() / "renew.log"), False)
    done = run_schtasks(
        schtasks_create(exe, plan, user=current_user(), logged_on_only=logged_on_only)
    )
    if done.returncode != 0:
        raise ScheduleError(
            f"schtasks could not create the task {plan.name}: "
            f"{(done.stderr or done.stdout).strip()}",
            "Run accert schedule in a terminal to see why.",
        )
    record_schedule(plan)
    return Registered(plan.name, when, task_command(exe, plan), True)


def self_renewing(root: Path | None = None) -> dict[str, str]:
    """Leaf SHA-256 -> 'renews itself, daily at 06:30' for the newest renewal of every
    scheduled ACME lineage under `root`: what the dashboard marks."""
    from app.workspace import Workspace, list_workspaces

    marks: dict[str, str] = {}
    if not load_schedules():
        return marks
    for summary in list_workspaces(root):
        if summary.error or summary.renewed_by:
            continue
        when = schedule_for(summary.path)
        if not when:
            continue
        try:
            leaf = Workspace.open(summary.path).state.leaf_sha256
        except AccertError:
            continue
        if leaf:
            marks[leaf] = f"renews itself, {when}"
    return marks
