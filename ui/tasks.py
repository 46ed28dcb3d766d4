"""The one way slow work leaves the GUI thread: a worker thread calling a plain app function.

Results, errors and progress come back to the GUI thread, so a page's handlers run there.
Tests may pass an ImmediatePool to run the work in place.

No Qt object and no Python object crosses a thread through Qt (the crash CI met at stop 12,
a segmentation fault while the GUI thread collected garbage and a worker emitted a
`Signal(int, object)`; lesson 13, the wizard vanishing when a task finished, before it):
- workers are plain Python threads (`concurrent.futures`), so no shiboken wrapper such as a
  Python `QRunnable` is made or deleted on one;
- what a worker reports is a Python callable put on one queue; the only thing it asks of Qt
  is an argument-less signal that wakes the relay, which lives on the GUI thread for the whole
  process, and the relay runs what was queued, in order;
- the worker lets go of the function (which may hold a page), and of the traceback's frames,
  before it reports: the task, kept on the GUI thread until its outcome is handled, holds the
  last reference, so nothing of a page is freed on a worker.
"""

from __future__ import annotations

import itertools
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from app.errors import AccertError

if TYPE_CHECKING:  # loaded with the first task, not before the window's first paint
    from concurrent.futures import Future, ThreadPoolExecutor

Progress = Callable[[str], None]
Work = Callable[[], None]

# How long one wake-up of the relay may run queued deliveries before it lets paint and input
# events in: a scan or a deployment reporting thousands of rows keeps the window responsive.
_SLICE = 0.02


class Pool(Protocol):
    def start(self, work: Work) -> None: ...


class ImmediatePool:
    """Runs each task at once on the calling thread (tests that want no waiting)."""

    def start(self, work: Work) -> None:
        work()


class WorkerPool:
    """At most `workers` tasks at once, each on a plain Python thread."""

    def __init__(self, workers: int = 2) -> None:
        self.workers = workers
        self._executor: ThreadPoolExecutor | None = None  # made with the first task
        self._lock = threading.Lock()
        self._pending: set[Future[None]] = set()

    def start(self, work: Work) -> None:
        if self._executor is None:
            from concurrent.futures import ThreadPoolExecutor

            self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="accert-task")
        future = self._executor.submit(work)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)  # at once if it is already done

    def wait(self, msecs: int = -1) -> bool:
        """Whether every task started here ended within msecs (-1: however long it takes)."""
        from concurrent.futures import wait as wait_for

        with self._lock:
            pending = list(self._pending)
        _, not_done = wait_for(pending, timeout=None if msecs < 0 else msecs / 1000)
        return not not_done

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)


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
        if not self.cancelled and alive(self._on_done):
            self._on_done(result)

    def failed(self, exc: BaseException, details: str) -> None:
        self._finish()
        if self.cancelled:
            return
        if isinstance(exc, AccertError):
            if alive(self._on_error):
                self._on_error(exc)
        else:
            self._on_unexpected(exc, details)  # a bug is reported even if its page is gone

    def progress(self, message: str) -> None:
        if (
            self.running
            and self._on_progress is not None
            and not self.cancelled
            and alive(self._on_progress)
        ):
            self._on_progress(message)

    def _finish(self) -> None:
        self.running = False
        self.call = None
        self._on_finished(self)


class _Relay(QObject):
    """Runs on the GUI thread what workers post. One per process, never freed."""

    wake = Signal()

    def __init__(self) -> None:
        super().__init__()
        from PySide6.QtCore import Qt  # here, not at import: the first paint avoids Qt's enums

        self.tasks: dict[int, Task] = {}  # touched on the GUI thread only
        self._outbox: deque[Work] = deque()  # append and popleft are atomic: any thread
        self._lock = threading.Lock()
        self._woken = False
        # Queued even when posted from the GUI thread: a delivery never runs inside the code
        # that posted it, and a long run of them is cut into slices between events.
        self.wake.connect(self._drain, Qt.ConnectionType.QueuedConnection)

    def post(self, deliver: Work) -> None:
        """From any thread: run deliver() on the GUI thread, after everything posted before."""
        self._outbox.append(deliver)
        self._wake()

    def _wake(self) -> None:
        with self._lock:
            if self._woken:
                return  # a wake-up is on its way and will find this delivery too
            self._woken = True
        self.wake.emit()

    @Slot()
    def _drain(self) -> None:
        with self._lock:
            self._woken = False  # what is posted from now on wakes us again
        deadline = time.monotonic() + _SLICE
        while time.monotonic() < deadline:
            try:
                deliver = self._outbox.popleft()
            except IndexError:
                return
            try:
                deliver()
            except BaseException:
                self._wake()  # the rest is still delivered
                raise
        self._wake()

    # What workers post, run here on the GUI thread; the task leaves the table here only.
    def finish(self, number: int, result: object) -> None:
        task = self.tasks.pop(number, None)
        if task is not None:
            task.done(result)

    def fail(self, number: int, exc: BaseException, details: str) -> None:
        task = self.tasks.pop(number, None)
        if task is not None:
            task.failed(exc, details)

    def progress(self, number: int, message: str) -> None:
        task = self.tasks.get(number)
        if task is not None:
            task.progress(message)

    def report_progress(self, number: int, message: str) -> None:
        """From the worker: a task's progress line."""
        self.post(partial(self.progress, number, message))


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


def on_gui(handler: Callable[..., None]) -> Callable[..., None]:
    """A callable any thread may call: each call runs handler(*args) later on the GUI thread.

    Made on the GUI thread; what a worker hands to the engine as its progress callback.
    """
    hub = relay()

    def deliver(*args: Any) -> None:
        if alive(handler):
            handler(*args)

    def post(*args: Any) -> None:
        hub.post(partial(deliver, *args))

    return post


def alive(callback: Callable[..., object]) -> bool:
    """False when callback is a method of a widget Qt has deleted meanwhile (a dialog closed
    while its work ran): calling it would raise instead of showing anything."""
    owner = getattr(callback, "__self__", None)
    return not isinstance(owner, QObject) or shiboken6.isValid(owner)


class _Work:
    """What a worker runs: the task's function, then its outcome posted to the relay."""

    __slots__ = ("_call", "_hub", "_number")

    def __init__(self, number: int, call: Callable[[], Any], hub: _Relay) -> None:
        self._number = number
        self._call: Callable[[], Any] | None = call
        self._hub = hub

    def __call__(self) -> None:
        call, self._call = self._call, None
        assert call is not None
        try:
            result = call()
        except BaseException as exc:  # reported to the page; a worker must never die silently
            details = traceback.format_exc()
            del call
            _drop_frames(exc)
            self._hub.post(partial(self._hub.fail, self._number, exc, details))
        else:
            del call
            self._hub.post(partial(self._hub.finish, self._number, result))


def _drop_frames(exc: BaseException) -> None:
    """Forget the tracebacks of exc and of its causes: their frames may hold a page."""
    seen: set[int] = set()
    chain: list[BaseException] = [exc]
    while chain:
        each = chain.pop()
        if id(each) in seen:
            continue
        seen.add(id(each))
        each.__traceback__ = None
        chain.extend(e for e in (each.__cause__, each.__context__) if e is not None)


class TaskRunner(QObject):
    """Starts tasks in a pool and remembers the ones still running (closing asks about them)."""

    def __init__(
        self,
        pool: Pool | None = None,
        on_unexpected: Callable[[BaseException, str], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._own_pool = WorkerPool(2) if pool is None else None
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
        call_args = (*args, partial(hub.report_progress, number)) if progress else args
        call = partial(fn, *call_args)
        task = Task(name, call, on_done, on_error, on_progress, self._unexpected, self._forget)
        self.active.append(task)
        hub.tasks[number] = task
        self.pool.start(_Work(number, call, hub))
        return task

    def busy(self) -> list[str]:
        return [t.name for t in self.active if t.running and not t.cancelled]

    def wait(self, msecs: int = -1) -> bool:
        """Wait for running tasks (closing the window lets a key being written finish)."""
        return self._own_pool.wait(msecs) if self._own_pool is not None else True

    def _forget(self, task: Task) -> None:
        if task in self.active:
            self.active.remove(task)

    def _unexpected(self, exc: BaseException, details: str) -> None:
        self.on_unexpected(exc, details)


def _reraise(exc: BaseException, details: str) -> None:
    raise exc
