"""The wizard's cold start against a bare PySide6 QWizard, and the GUI thread during RSA-4096.

1. Cold start: a fresh Python process runs `main.py` as a user does (display check, crash log,
   excepthook, window) with 5 renewals in its home, and exits once the Start page has painted
   and then listed them. The reference is a bare QWizard with one empty page, started the same
   way in the same run; the median of --rounds runs each. The ratio says what our imports and
   pages cost on top of Qt itself; the time to the listed renewals is shown beside it.
2. Responsiveness: the wizard makes an RSA-4096 key and CSR (the slowest step) while a 5 ms
   timer ticks on the GUI thread; the longest gap between ticks is the longest the window
   could not repaint or react. RSA key generation time varies a lot from key to key (a search
   for primes), so --keys keys are made and the worst stall of all is reported.
3. Progress flood: --flood-tasks tasks on the task runner each report --flood-lines progress
   lines, 0.2 ms apart (far more than a deployment to many devices or a scan of hundreds of
   ports reports), into a label; the longest gap between 5 ms ticks, and how long until every
   line was shown. Workers post to the relay, which runs what they post in slices between
   the window's own events. (Threads that never let go of the GIL would starve the GUI thread
   whatever the relay does; workers wait on the network.)
4. Memory: the peak resident memory of each cold-start process (from the kernel, os.wait4),
   ours against the bare QWizard's (median of the runs).
A command, not a test (offscreen Qt; no display needed):
    .venv/bin/python bench/bench_gui.py [--rounds 5] [--keys 3] [--flood-tasks 8]
"""

from __future__ import annotations

import argparse
import functools
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Each child says when its first paint happens (the parent times it from the process's
# start, so the interpreter's own start-up counts too), then its peak resident memory, then
# (ours) when the Start page has listed the renewals, which it does after its first paint.
_CHILD = """
import sys, resource, time
sys.path.insert(0, {root!r})
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWizard, QWizardPage
{build}
class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            print("painted", time.process_time(), flush=True)
            # ru_maxrss: KiB on Linux, the platform these benchmarks run on.
            print(f"{{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}}", flush=True)
            QTimer.singleShot(0, after_paint)
            app.removeEventFilter(self)
        return False
def after_paint():
{after}
f = FirstPaint()
{run}
"""

BARE = (
    """
app = QApplication(sys.argv)
window = QWizard()
window.addPage(QWizardPage())
""",
    """
app.installEventFilter(f)
window.show()
app.exec()
""",
    "    app.quit()",
)

# As a user starts it (`python main.py`): the display check, the crash log, the excepthook,
# the window. The QApplication is made first only so the timing filter can be put in place
# (ui.launch.main() takes that one), and the filter watches from the window's show() on, as
# for the bare one: a Python filter on every event of the window's construction would cost
# more than what it measures.
OURS = (
    """
app = QApplication(sys.argv)
""",
    """
import ui.launch
_made = ui.launch.create_window
def _watched(pool=None):
    window = _made(pool)
    app.installEventFilter(f)
    return window
ui.launch.create_window = _watched
import main
main.main(["main.py"])
""",
    """
    start = next(w for w in app.topLevelWidgets() if w.objectName() == "wizard").currentPage()
    if not start.listed:
        QTimer.singleShot(1, after_paint)
        return
    print("listed", start.renewals.topLevelItemCount(), flush=True)
    app.quit()
""",
)


class ColdStart(NamedTuple):
    painted: float  # seconds from the process's start to its first paint
    cpu: float  # the process's CPU seconds (user + system) then: what a busy machine's other
    # processes do not change, unlike the wall time
    memory: float  # its peak resident MB then
    listed: float  # seconds to the renewals listed (0 for the bare window)


def cold_start(child: tuple[str, str, str], env: dict[str, str]) -> ColdStart:
    build, run, after = child
    code = _CHILD.format(root=str(ROOT), build=build, run=run, after=after)
    with tempfile.TemporaryFile("w+") as err:  # a file, so a chatty child never blocks on it
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", code],
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            cwd=ROOT,
        )
        assert child.stdout is not None
        first = child.stdout.readline()
        painted = time.perf_counter() - start
        cpu = float(first.split()[1]) if first.startswith("painted ") else 0.0
        memory = child.stdout.readline()
        listed = child.stdout.readline()
        listed_after = time.perf_counter() - start if listed.startswith("listed") else 0.0
        rest = child.stdout.read()  # the child quits after its first paint (and listing)
        try:
            child.wait(timeout=120)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        err.seek(0)
        if child.returncode != 0 or not cpu or not memory.strip() or rest:
            raise SystemExit(f"the window did not start: {err.read().strip()[-2000:]}")
        if after.strip() != "app.quit()" and listed.split()[1:] != [str(RENEWALS)]:
            raise SystemExit(f"the Start page did not list the {RENEWALS} renewals: {listed}")
    return ColdStart(painted, cpu, float(memory), listed_after)


RENEWALS = 5  # a user's Start page lists a few (the first paint must not wait for them)


def with_renewals(n: int) -> None:
    """n renewals in ACCERT_HOME, waiting for their CA as most listed ones are."""
    from app.request import KeyType, RequestSpec, Subject
    from app.workspace import Workspace

    for i in range(n):
        subject = Subject(f"sbc{i}.example.com", organization="Example Ltd")
        Workspace.create(RequestSpec(subject, key_type=KeyType.EC256)).generate()


def _stamp(stamps: list[float]) -> None:
    stamps.append(time.perf_counter())


def longest_stall_during_rsa4096(keys: int) -> tuple[float, list[float], int]:
    """(worst gap between 5 ms ticks over all keys in ms, seconds per key, ticks in all)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QWizard

    from app.request import KeyType
    from ui.launch import create_window
    from ui.pages.csr import CsrPage
    from ui.pages.names import NamesPage

    worst, took, ticks = 0.0, [], 0
    for _ in range(keys):
        w = create_window()
        w.confirm_close = lambda lost: True
        w.show()
        app = QApplication.instance()
        assert app is not None
        w.next()  # Start -> Names (a new renewal is the default choice)
        names = w.currentPage()
        assert isinstance(names, NamesPage)
        names.cn.setText("*.example.com")
        names.org.setText("Example Ltd")
        names.country.setCurrentIndex(max(names.country.findData("GB"), 0))
        names.key_type.setCurrentIndex(names.key_type.findData(KeyType.RSA4096.value))
        app.processEvents()
        if not w.button(QWizard.WizardButton.NextButton).isEnabled():
            raise SystemExit("the names page did not accept the bench's names")
        stamps: list[float] = []
        timer = QTimer()
        timer.timeout.connect(functools.partial(_stamp, stamps))
        timer.start(5)
        start = time.perf_counter()
        w.next()  # Names -> Key and CSR: the key is made in the pool
        page = w.currentPage()
        assert isinstance(page, CsrPage)
        while not page.isComplete():
            app.processEvents()
            time.sleep(0.001)
            if time.perf_counter() - start > 120:
                raise SystemExit("RSA-4096 generation did not finish in 120 s")
        took.append(time.perf_counter() - start)
        timer.stop()
        gaps = [b - a for a, b in itertools.pairwise(stamps)]
        worst = max(worst, max(gaps) * 1000 if gaps else float("inf"))
        ticks += len(stamps)
        w.close()
        w.deleteLater()
    return worst, took, ticks


def longest_stall_during_progress_flood(tasks: int, lines: int) -> tuple[float, float, int]:
    """(worst gap between 5 ms ticks in ms, seconds until the last line was shown, lines)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QLabel

    from ui.tasks import TaskRunner, WorkerPool

    app = QApplication.instance()
    assert app is not None
    label = QLabel("waiting")
    label.show()
    shown = [0]

    def show(message: str) -> None:
        label.setText(message)
        shown[0] += 1

    def report(n: int, progress: Callable[[str], None]) -> None:
        for i in range(n):
            progress(f"device {i}: uploading")
            time.sleep(0.0002)  # the network between two lines: the GIL is let go, as in I/O

    # As many workers as tasks: they all post at once, as a deployment's threads do.
    runner = TaskRunner(WorkerPool(tasks))
    stamps: list[float] = []
    timer = QTimer()
    timer.timeout.connect(functools.partial(_stamp, stamps))
    timer.start(5)
    start = time.perf_counter()
    for _ in range(tasks):
        runner.run(
            "flood", report, lines, on_done=lambda _r: None, on_error=print, progress=True,
            on_progress=show,
        )  # fmt: skip
    while runner.active:
        app.processEvents()
        time.sleep(0.001)
        if time.perf_counter() - start > 120:
            raise SystemExit("the progress flood was not delivered in 120 s")
    took = time.perf_counter() - start
    timer.stop()
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    label.close()
    return (max(gaps) * 1000 if gaps else float("inf")), took, shown[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="cold starts of each window")
    parser.add_argument("--keys", type=int, default=3, help="RSA-4096 keys made in the wizard")
    parser.add_argument("--flood-tasks", type=int, default=8, help="tasks reporting at once")
    parser.add_argument("--flood-lines", type=int, default=5000, help="progress lines per task")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="accert-bench-gui-") as tmp:
        env = dict(
            os.environ,
            QT_QPA_PLATFORM="offscreen",
            ACCERT_HOME=str(Path(tmp) / "home"),
            ACCERT_PASSPHRASE="bench-passphrase-long-enough",
        )
        # Bytecode caching on, as in an installed accert (pip and PyInstaller ship .pyc files,
        # and so does PySide6 itself): otherwise every start would compile our sources again.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ.update(env)
        with_renewals(RENEWALS)
        cold_start(BARE, env)  # warm the disk cache for both sides alike
        cold_start(OURS, env)
        bare, ours = [], []
        for _ in range(args.rounds):  # interleaved, so a busy moment hits both
            bare.append(cold_start(BARE, env))
            ours.append(cold_start(OURS, env))
        b = statistics.median(r.painted for r in bare)
        o = statistics.median(r.painted for r in ours)
        b_cpu = statistics.median(r.cpu for r in bare)
        o_cpu = statistics.median(r.cpu for r in ours)
        b_mb = statistics.median(r.memory for r in bare)
        o_mb = statistics.median(r.memory for r in ours)
        o_listed = statistics.median(r.listed for r in ours)
        # Rows in bench_engine's form, which run_all.py puts in its table.
        print(f"{'cold start to first paint':34} {o * 1000:8.1f} ms {b * 1000:8.1f} ms "
              f"{o / b:6.2f}  bare PySide6 QWizard, median of {args.rounds}")  # fmt: skip
        print(f"{'CPU time to first paint':34} {o_cpu * 1000:8.1f} ms {b_cpu * 1000:8.1f} ms "
              f"{o_cpu / b_cpu:6.2f}  the same processes (user + system)")  # fmt: skip
        print(f"{RENEWALS} renewals listed, from the start {o_listed * 1000:.1f} ms "
              f"(first paint + {(o_listed - o) * 1000:.1f} ms)")  # fmt: skip
        print(f"peak memory at first paint {o_mb:.0f} MB vs {b_mb:.0f} MB bare, "
              f"ratio: {o_mb / b_mb:.2f}")  # fmt: skip
        import keyring
        from keyring.backends.fail import Keyring as NoKeyring

        # No credential store: the passphrase comes from ACCERT_PASSPHRASE.
        keyring.set_keyring(NoKeyring())  # type: ignore[no-untyped-call]
        stall, took, ticks = longest_stall_during_rsa4096(args.keys)
        what = f"longest GUI stall, RSA-4096 key+CSR x{len(took)}"
        print(f"{what:34} {stall:8.1f} ms {50:8.1f} ms {stall / 50:6.2f}  target; keys in "
              f"{min(took):.2f}-{max(took):.2f} s, {ticks} ticks of 5 ms")  # fmt: skip
        flood, took_flood, lines = longest_stall_during_progress_flood(
            args.flood_tasks, args.flood_lines
        )
        what = f"longest GUI stall, {lines} progress lines"
        print(f"{what:34} {flood:8.1f} ms {50:8.1f} ms {flood / 50:6.2f}  target; "
              f"{args.flood_tasks} tasks at once, all shown in {took_flood:.2f} s "
              f"({lines / took_flood:,.0f} lines/s)")  # fmt: skip
        if max(stall, flood) >= 50:
            print("the longest stall is over the 50 ms target")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
