"""Run `python -m app ARGS...` and kill it the moment it moves a file matching GLOB into place.

    python tests/fakes/kill_at_rename.py GLOB ARGS...

An atomic write's temporary file lives for microseconds where fsync costs nothing (tmpfs, a
CI machine's /tmp): a test polling for it from outside misses it. Here the child stops itself
at exactly that instant, through Python's audit hook for os.rename/os.replace: the temporary
file is written and synced, the file it replaces not yet touched. The kill is a SIGKILL
(TerminateProcess on Windows): no cleanup, no except, no finally, as in the crash tests.
Nothing in the engine changes; the hook watches what it does.
"""

from __future__ import annotations

import fnmatch
import os
import runpy
import signal
import sys


def main() -> None:
    pattern = sys.argv[1]
    sys.argv = [sys.argv[0], *sys.argv[2:]]
    sys.path[0] = os.getcwd()  # as `python -m app` run from the repository

    def hook(event: str, args: tuple[object, ...]) -> None:
        if event == "os.rename" and fnmatch.fnmatch(os.fsdecode(args[0]), pattern):  # type: ignore[arg-type]
            os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))

    sys.addaudithook(hook)
    runpy.run_module("app", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
