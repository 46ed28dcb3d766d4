"""The task helper under load, through its real worker threads: thousands of tasks that finish,
fail, report progress and are cancelled, with garbage collection forced on the GUI thread and
on the workers, repeated. The wizard once vanished (a segmentation fault) when a task finished;
this is the test that would crash the interpreter if ownership went wrong again.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from app.errors import AccertError
from tests.test_wizard import wait_listed
from ui import tasks as tasks_module
from ui.tasks import TaskRunner, on_gui

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support"),  # offscreen Qt
]

ROUNDS = 3
PER_ROUND = 3000
REPO = Path(__file__).resolve().parent.parent


def _work(i: int, kind: int, progress: object = None) -> dict[str, int]:
    if i % 97 == 0:
        gc.collect()  # a collection on a worker thread: nothing of Qt's may be freed here
    if kind == 1:
        raise AccertError(f"task {i} refused", "hint")
    if kind == 2:
        assert callable(progress)
        for step in range(3):
            progress(f"{i}:{step}")
    if kind == 4:
        raise RuntimeError(f"task {i} broke")
    return {"i": i}


def test_thousands_of_tasks_finish_fail_report_and_cancel_without_a_crash(qtbot: QtBot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    layout = QVBoxLayout(window)
    status = QLabel("idle")
    layout.addWidget(status)
    unexpected: list[str] = []
    runner = TaskRunner(on_unexpected=lambda exc, _d: unexpected.append(str(exc)), parent=window)
    # Two tasks run at once (a deployment does not wait for a scan): each waits for the other.
    both = threading.Barrier(2, timeout=20)
    met: list[object] = []
    for _ in range(2):
        runner.run("meet", both.wait, on_done=met.append, on_error=met.append)
    qtbot.waitUntil(lambda: len(met) == 2, timeout=30_000)
    assert sorted(met) == [0, 1]  # both passed the barrier; a timeout would be a BrokenBarrier

    done: list[int] = []
    errors: list[str] = []
    progress: dict[int, list[str]] = defaultdict(list)
    cancelled: set[int] = set()
    for round_ in range(ROUNDS):
        for seen in (done, errors, progress, unexpected, cancelled):
            seen.clear()

        def on_done(result: dict[str, int]) -> None:
            done.append(result["i"])
            # What pages do when a task ends: change what is shown, make and drop widgets.
            status.setText(f"done {result['i']}")
            if result["i"] % 50 == 0:
                extra = QLabel(str(result["i"]), window)
                extra.deleteLater()
            if len(done) % 200 == 0:
                gc.collect()

        for i in range(PER_ROUND):
            kind = i % 5
            wants_progress = kind == 2
            task = runner.run(
                f"task {i}",
                _work,
                i,
                kind,
                on_done=on_done,
                on_error=lambda exc: errors.append(exc.message),
                progress=wants_progress,
                on_progress=lambda message, i=i: progress[i].append(message),
            )
            if i % 7 == 3:  # the page moved on: its result must never arrive
                task.cancel()
                cancelled.add(i)
            if i % 500 == 0:
                gc.collect()

        qtbot.waitUntil(lambda: not runner.active, timeout=30_000)
        gc.collect()

        expected_done = {i for i in range(PER_ROUND) if i % 5 in (0, 2, 3)} - cancelled
        assert sorted(done) == sorted(expected_done), f"round {round_}"
        assert sorted(errors) == sorted(
            f"task {i} refused" for i in range(PER_ROUND) if i % 5 == 1 and i not in cancelled
        )
        assert sorted(unexpected) == sorted(
            f"task {i} broke" for i in range(PER_ROUND) if i % 5 == 4 and i not in cancelled
        )
        # Progress arrives in order, before the result, and never for a cancelled task.
        assert set(progress) == {i for i in expected_done if i % 5 == 2}
        for i, messages in progress.items():
            assert messages == [f"{i}:0", f"{i}:1", f"{i}:2"]
        assert runner.busy() == []
        assert tasks_module.relay().tasks == {}  # nothing left waiting for an outcome

    status.setText("finished")
    assert status.text() == "finished"
    # Not a timed test (speed belongs in bench/): about 5 s alone on a 2-core machine.


def test_runners_that_come_and_go_while_their_tasks_finish(qtbot: QtBot) -> None:
    """A window closed while its tasks still run: results of cancelled tasks are dropped."""
    for _ in range(20):
        window = QWidget()
        runner = TaskRunner(parent=window)
        seen: list[object] = []
        for i in range(50):
            runner.run(
                "work", time.sleep, 0.001 * (i % 3), on_done=seen.append, on_error=seen.append
            )
        for task in list(runner.active):
            task.cancel()
        runner.wait(10_000)
        window.deleteLater()
        del window, runner
        gc.collect()
    qtbot.waitUntil(lambda: tasks_module.relay().tasks == {}, timeout=10_000)


class _Scanner(QDialog):
    """A dialog whose work outlives it: rows and a result arrive after it was deleted."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.label = QLabel("scanning", self)

    def row(self, text: str) -> None:
        self.label.setText(text)

    def finished_scan(self, result: object) -> None:
        self.label.setText(f"done: {result}")

    def refused(self, exc: AccertError) -> None:
        self.label.setText(exc.message)


def test_what_a_deleted_dialog_was_waiting_for_is_dropped(qtbot: QtBot) -> None:
    """Results, refusals and rows for a dialog Qt has deleted meanwhile raise nothing; a bug
    in the work is still reported; the runner forgets the tasks."""
    window = QWidget()
    qtbot.addWidget(window)
    unexpected: list[str] = []
    runner = TaskRunner(on_unexpected=lambda exc, _d: unexpected.append(str(exc)), parent=window)
    dialog = _Scanner(window)
    go = threading.Event()

    def scan(outcome: str, rows: Callable[[str], None]) -> str:
        assert go.wait(30)
        rows("a row for a dialog that is gone")
        if outcome == "refused":
            raise AccertError("refused", "hint")
        if outcome == "broke":
            raise RuntimeError("broke")
        return outcome

    for outcome in ("ok", "refused", "broke"):
        runner.run(
            "scan",
            scan,
            outcome,
            on_gui(dialog.row),
            on_done=dialog.finished_scan,
            on_error=dialog.refused,
        )
    dialog.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog), timeout=10_000)
    go.set()
    qtbot.waitUntil(lambda: not runner.active, timeout=30_000)
    # The rows were posted before the outcomes, on the same queue: delivered (dropped) by now.
    assert unexpected == ["broke"]


def test_a_fatal_signal_leaves_a_crash_report(tmp_path: Path) -> None:
    """faulthandler writes a crash into the logs folder, where the next start finds it."""
    env = {"ACCERT_HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen", "PATH": os.defpath}
    if "SYSTEMROOT" in os.environ:  # Windows: a Python started without it cannot run
        env["SYSTEMROOT"] = os.environ["SYSTEMROOT"]
    code = (
        "from app.crash_log import enable_crash_log; enable_crash_log(); "
        "import faulthandler; faulthandler._sigsegv()"
    )
    child = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, timeout=60
    )
    assert child.returncode != 0
    from app.crash_log import collect_crash_reports

    reports = collect_crash_reports(tmp_path / "logs")
    assert len(reports) == 1
    text = reports[0].read_text(encoding="utf-8")
    assert "Segmentation fault" in text and "<string>" in text


def test_the_installed_pyside_keeps_python_s_reference_counts_on_emit(qtbot: QtBot) -> None:
    """PySide6 6.12.0 returns True from Signal.emit() without a reference of its own: every emit
    takes one of True's, and on Python 3.11 the interpreter aborts once they run out (the crash
    users saw when a task ended). pyproject excludes that version; this catches a repeat."""
    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        fired = Signal(int)

    emitter = Emitter()
    emitter.fired.connect(lambda _v: None)

    def lost_after(emits: int) -> int:
        before = sys.getrefcount(True) + sys.getrefcount(False)
        for i in range(emits):
            emitter.fired.emit(i)
        return before - (sys.getrefcount(True) + sys.getrefcount(False))

    # Compared between 100 and 5,000 emits: another thread still ending (a worker of the test
    # before) may move True's count by a few, but a loss on every emit moves it by thousands.
    few, many = lost_after(100), lost_after(5000)
    assert many - few < 100, (
        f"this PySide6 loses a reference on every Signal.emit() ({many} lost in 5,000); "
        "install another version"
    )


def test_the_next_start_offers_the_crash_report(qtbot: QtBot, isolated_home: Path) -> None:
    import faulthandler

    from app.crash_log import disable_crash_log
    from ui.feedback import CrashReportDialog
    from ui.launch import open_window

    logs = isolated_home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    (logs / "wizard-running-4242.log").write_text(
        "Fatal Python error: Segmentation fault\n\nCurrent thread (most recent call first):\n"
        '  File "ui/tasks.py", line 69 in _done\n',
        encoding="utf-8",
    )
    asked: list[Path] = []
    try:
        w = open_window()
        qtbot.addWidget(w)
        w.ask_show_crash = lambda report: asked.append(report) or True  # the user says Show
        qtbot.waitUntil(lambda: bool(w.findChildren(CrashReportDialog)), timeout=10_000)
        # Settled before the test lets go of it: qtbot holds windows weakly, so a garbage
        # collection could otherwise delete this one while its first listing is under way.
        wait_listed(qtbot, w)
    finally:
        disable_crash_log()
        faulthandler.enable()  # pytest's own, as before
    assert len(asked) == 1 and asked[0].name.startswith("wizard-crash-")
    assert asked[0].parent == logs and asked[0].exists()  # kept, under a name of its own
    dialog = w.findChildren(CrashReportDialog)[0]
    assert dialog.isVisible()
    assert "Segmentation fault" in dialog.details.toPlainText()
    assert "ui/tasks.py" in dialog.details.toPlainText()
    dialog.reject()
    # Offered once: the next start finds nothing new.
    from app.crash_log import collect_crash_reports

    assert collect_crash_reports(logs) == []
    w.close()
