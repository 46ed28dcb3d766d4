"""The one way slow work leaves the GUI thread: a QRunnable calling a plain app function.

Results, errors and progress come back by signal, so the page's handlers run on the GUI
thread. Tests may pass an ImmediatePool to run the work in place.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from app.errors import AccertError

Progress = Callable[[str], None]


class Pool(Protocol):
    def start(self, runnable: QRunnable) -> None: ...


class ImmediatePool:
    """Runs each task at once on the calling thread (tests that want no waiting)."""

    def start(self, runnable: QRunnable) -> None:
        runnable.run()


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(object, str)  # the exception, its formatted traceback
    progress = Signal(str)


class Task(QObject):
    """One piece of work in flight. `cancel()` drops its result: the page has moved on."""

    def __init__(
        self,
        name: str,
        on_done: Callable[[Any], None],
        on_error: Callable[[AccertError], None],
        on_progress: Progress | None,
        on_unexpected: Callable[[BaseException, str], None],
        on_finished: Callable[[Task], None],
    ) -> None:
        super().__init__()
        self.name = name
        self.cancelled = False
        self.running = True
        self._on_done = on_done
        self._on_error = on_error
        self._on_progress = on_progress
        self._on_unexpected = on_unexpected
        self._on_finished = on_finished
        self.signals = _Signals()
        # Bound slots of a QObject living on the GUI thread: emits from the worker are queued.
        self.signals.done.connect(self._done)
        self.signals.failed.connect(self._failed)
        self.signals.progress.connect(self._progress)

    def cancel(self) -> None:
        self.cancelled = True

    @Slot(object)
    def _done(self, result: object) -> None:
        self._finish()
        if not self.cancelled:
            self._on_done(result)

    @Slot(object, str)
    def _failed(self, exc: object, details: str) -> None:
        self._finish()
        if self.cancelled:
            return
        if isinstance(exc, AccertError):
            self._on_error(exc)
        else:
            assert isinstance(exc, BaseException)
            self._on_unexpected(exc, details)

    @Slot(str)
    def _progress(self, message: str) -> None:
        if self._on_progress is not None and not self.cancelled:
            self._on_progress(message)

    def _finish(self) -> None:
        self.running = False
        self._on_finished(self)


class _Runnable(QRunnable):
    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], signals: _Signals) -> None:
        super().__init__()
        self._fn = fn
        self._args = args
        self._signals = signals

    def run(self) -> None:
        try:
            result = self._fn(*self._args)
        except BaseException as exc:  # reported to the page; a worker must never die silently
            self._signals.failed.emit(exc, traceback.format_exc())
        else:
            self._signals.done.emit(result)


class TaskRunner(QObject):
    """Starts tasks in a pool and remembers the ones still running (closing asks about them)."""

    def __init__(
        self,
        pool: Pool | None = None,
        on_unexpected: Callable[[BaseException, str], None] | None = None,
    ) -> None:
        super().__init__()
        self._own_pool = QThreadPool() if pool is None else None
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
        task = Task(name, on_done, on_error, on_progress, self._unexpected, self._forget)
        self.active.append(task)
        call_args = (*args, task.signals.progress.emit) if progress else args
        self.pool.start(_Runnable(fn, call_args, task.signals))
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
