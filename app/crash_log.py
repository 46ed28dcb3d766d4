"""A fatal signal (a crash in Qt's C++ code) leaves a report in the logs folder.

faulthandler writes the Python stacks of every thread into this run's own file; a run that ends
normally deletes its empty file. The next start collects the non-empty ones as reports to show.
"""

from __future__ import annotations

import atexit
import contextlib
import faulthandler
import os
import time
from pathlib import Path
from typing import IO

from app.paths import log_dir

RUNNING_PREFIX = "wizard-running-"  # this run's faulthandler file: wizard-running-<pid>.log
REPORT_PREFIX = "wizard-crash-"  # a crash kept for the user: wizard-crash-<UTC stamp>.log
STALE_AFTER_S = 7 * 24 * 3600  # an empty file this old belongs to no running wizard

_file: IO[str] | None = None


def enable_crash_log(folder: Path | None = None) -> Path:
    """Make faulthandler write fatal errors into a file of this run; return its path."""
    global _file
    folder = folder or log_dir()
    path = folder / f"{RUNNING_PREFIX}{os.getpid()}.log"
    if _file is None:
        _file = path.open("w", encoding="utf-8")
        faulthandler.enable(file=_file, all_threads=True)
        atexit.register(disable_crash_log)
    return path


def disable_crash_log() -> None:
    """A normal end: stop writing, and remove this run's file if nothing was written."""
    global _file
    if _file is None:
        return
    faulthandler.disable()
    path = Path(_file.name)
    _file.close()
    _file = None
    with contextlib.suppress(OSError):
        if path.stat().st_size == 0:
            path.unlink()


def collect_crash_reports(folder: Path | None = None) -> list[Path]:
    """Earlier runs' crashes, renamed as reports (newest last); stale empty files removed."""
    folder = folder or log_dir()
    reports: list[Path] = []
    own = f"{RUNNING_PREFIX}{os.getpid()}.log"
    for path in sorted(folder.glob(f"{RUNNING_PREFIX}*.log")):
        if path.name == own:
            continue
        try:
            info = path.stat()
        except OSError:
            continue
        if info.st_size == 0:
            # Either another wizard that is still open, or one killed without a crash.
            if time.time() - info.st_mtime > STALE_AFTER_S:
                with contextlib.suppress(OSError):
                    path.unlink()
            continue
        import datetime as dt  # only for a crash report: not at every start

        stamp = dt.datetime.fromtimestamp(info.st_mtime, dt.UTC).strftime("%Y%m%d-%H%M%S")
        target = folder / f"{REPORT_PREFIX}{stamp}-{path.stem.rsplit('-', 1)[-1]}.log"
        try:
            path.replace(target)
        except OSError:
            continue  # still open elsewhere (Windows): next start
        reports.append(target)
    return sorted(reports, key=lambda p: p.stat().st_mtime)
