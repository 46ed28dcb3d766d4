"""The one way slow work leaves the GUI thread: a QRunnable calling a plain app function.

Results, errors and progress come back by signal, so the page's handlers run on the GUI
thread. Tests may pass an ImmediatePool to run the work in place.

Ownership (lesson 13, and the cause of the wizard vanishing when a task finished): no QObject
is made per task. Workers emit on one relay that lives on the GUI thread for the whole process
and is never freed; each signal names its task by number, and the task itself is a plain Python
object the runner keeps until its outcome has been handled on the GUI thread. So nothing Qt
delivers to is dropped inside its own slot, and a worker never holds the last reference to a
QObject (the runnable holds a task number and the relay, and lets go of the function, its
arguments and the traceback's frames before it reports).
"""

from __future__ import annotations

import itertools
import threading
import traceback
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QThread, QThreadPool, Signal, Slot

from app.errors import AccertError

Progress = Callable[[str], None]


class Pool(Protocol):
    def start(self, runnable: QRunnable) -> None: ...


class ImmediatePool:
    """Runs each task at once on the calling thread (tests that want no waiting)."""

    def start(self, runnable: QRunnable) -> None:
        runnable.run()


class Task:
    """One piece of work in flight. `cancel()` drops its result: the page has moved on."""

    def __init__(
        self,
        name: str,
        call: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[AccertError], None],
        on_progress: Progress | None,
        on_unexpected: Callable[[BaseException, str], None],
        on_finished: Callable[[Task], None],
    ) -> None:
        self.name = name
        self.cancelled = False
        self.running = True
        # Held here, on the GUI thread, until the outcome is handled: the worker's copy is
        # never the last one (a bound method of a page must not be freed on a worker).
        self.call: Callable[[], Any] | None = call
        self._on_done = on_done
        self._on_error = on_error
        self._on_progress = on_progress
        self._on_unexpected = on_unexpected
        self._on_finished = on_finished

    def cancel(self) -> None:
        self.cancelled = True

    def done(self, result: object) -> None:
        self._finish()
        if not self.cancelled:
            self._on_done(result)

    def failed(self, exc: BaseException, details: str) -> None:
        self._finish()
        if self.cancelled:
            return
        if isinstance(exc, AccertError):
            self._on_error(exc)
        else:
            self._on_unexpected(exc, details)

    def progress(self, message: str) -> None:
        if self.running and self._on_progress is not None and not self.cancelled:
            self._on_progress(message)

    def _finish(self) -> None:
        self.running = False
        self.call = None
        self._on_finished(self)


class _Relay(QObject):
    """Carries every task's outcome to the GUI thread. One per process, never freed."""

    done = Signal(int, object)
    failed = Signal(int, object, str)  # task number, the exception, its formatted traceback
    progress = Signal(int, str)

    def __init__(self) -> None:
        super().__init__()
        self.tasks: dict[int, Task] = {}
        self.done.connect(self._done)
        self.failed.connect(self._failed)
        self.progress.connect(self._progress)

    # The task is looked up (and dropped from the table) on the GUI thread only.
    @Slot(int, object)
    def _done(self, number: int, result: object) -> None:
        task = self.tasks.pop(number, None)
        if task is not None:
            task.done(result)

    @Slot(int, object, str)
    def _failed(self, number: int, exc: object, details: str) -> None:
        task = self.tasks.pop(number, None)
        if task is not None:
            assert isinstance(exc, BaseException)
            task.failed(exc, details)

    @Slot(int, str)
    def _progress(self, number: int, message: str) -> None:
        task = self.tasks.get(number)
        if task is not None:
            task.progress(message)


_relay: _Relay | None = None
_relay_lock = threading.Lock()
_numbers = itertools.count(1)


def relay() -> _Relay:
    """The process's relay, made on the GUI thread the first time a task is started."""
    global _relay
    with _relay_lock:
        if _relay is None:
            app = QCoreApplication.instance()
            assert app is not None and QThread.currentThread() is app.thread(), (
                "tasks are started from the GUI thread"
            )
            _relay = _Relay()
        return _relay


class _Runnable(QRunnable):
    """Runs on a worker and is deleted there by the pool: it keeps only a number and the relay."""

    def __init__(self, number: int, call: Callable[[], Any], hub: _Relay) -> None:
        super().__init__()
        self._number = number
        self._call: Callable[[], Any] | None = call
        self._relay = hub

    def run(self) -> None:
        call, self._call = self._call, None
        assert call is not None
        try:
            result = call()
        except BaseException as exc:  # reported to the page; a worker must never die silently
            details = traceback.format_exc()
            del call
            # The frames (and the page objects their locals hold) stay here, not in the event.
            self._relay.failed.emit(self._number, exc.with_traceback(None), details)
        else:
            del call
            self._relay.done.emit(self._number, result)


class TaskRunner(QObject):
    """Starts tasks in a pool and remembers the ones still running (closing asks about them)."""

    def __init__(
        self,
        pool: Pool | None = None,
        on_unexpected: Callable[[BaseException, str], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._own_pool = QThreadPool(self) if pool is None else None
        if self._own_pool is not None:
            self._own_pool.setMaxThreadCount(2)
        self.pool: Pool = pool if pool is not None else self._own_pool  # type: ignore[assignment]
        self.on_unexpected = on_unexpected or _reraise
        self.active: list[Task] = []

    def run(
        self,
        name: str,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callable[[Any], None],
        on_error: Callable[[AccertError], None],
        progress: bool = False,
        on_progress: Progress | None = None,
    ) -> Task:
        """Run fn(*args) off the GUI thread; with progress=True fn gets a progress callback last."""
        hub = relay()
        number = next(_numbers)
        call_args = (*args, partial(hub.progress.emit, number)) if progress else args
        call = partial(fn, *call_args)
        task = Task(name, call, on_done, on_error, on_progress, self._unexpected, self._forget)
        self.active.append(task)
        hub.tasks[number] = task
        self.pool.start(_Runnable(number, call, hub))
        return task

    def busy(self) -> list[str]:
        return [t.name for t in self.active if t.running and not t.cancelled]

    def wait(self, msecs: int = -1) -> bool:
        """Wait for running tasks (closing the window lets a key being written finish)."""
        return self._own_pool.waitForDone(msecs) if self._own_pool is not None else True

    def _forget(self, task: Task) -> None:
        if task in self.active:
            self.active.remove(task)

    def _unexpected(self, exc: BaseException, details: str) -> None:
        self.on_unexpected(exc, details)


def _reraise(exc: BaseException, details: str) -> None:
    raise exc
