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
