"""How the wizard reports the unexpected: the log, the dialog, the crash report (messages on a
page are ui.message)."""

from __future__ import annotations

import datetime as dt
import sys
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.atomic import append_private
from app.paths import log_dir
from app.peer_text import escape_peer
from app.redact import redact

CRASH_LOG = "wizard-errors.log"


def log_unexpected(exc: BaseException, details: str) -> str:
    """Write the redacted details to the user's log folder; return the file name."""
    path = log_dir() / CRASH_LOG
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    append_private(
        path,
        f"--- {stamp} {type(exc).__name__}\n"
        + escape_peer(redact(details), keep_newlines=True)
        + "\n",
    )
    return str(path)


def describe(exc: BaseException, details: str) -> str:
    import platform  # here: only a crash report needs it, not the start-up
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("accert")
    except PackageNotFoundError:
        ours = "source checkout"
    head = (
        f"accert {ours}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}\n"
    )
    return redact(head + (details or "".join(traceback.format_exception(exc))))


class _ReportDialog(QDialog):
    """An explanation above details to copy (fixed-width), with Copy and Close."""

    def _lay_out(self, intro_text: str, text: str, copy_label: str, size: tuple[int, int]) -> None:
        from PySide6.QtCore import Qt  # not at import: see ui.message

        layout = QVBoxLayout(self)
        intro = QLabel(intro_text)
        intro.setWordWrap(True)
        intro.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(intro)
        self.details = QPlainTextEdit(text)
        self.details.setReadOnly(True)
        self.details.setObjectName("mono")
        # A traceback lines up only in a fixed-width font.
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        layout.addWidget(self.details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton(copy_label, QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(text))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(*size)


class UnexpectedDialog(_ReportDialog):
    """One dialog with the details to copy; the program keeps running."""

    def __init__(self, exc: BaseException, details: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("unexpected")
        self.setWindowTitle("accert — unexpected error")
        text = describe(exc, details)
        try:
            where = log_unexpected(exc, details)
        except OSError:
            where = ""
        intro = (
            "Something went wrong that accert did not expect. Your renewal folder is safe: "
            "every step is saved as it completes.\n\nPlease copy the details below into your "
            "report." + (f" They are also in {where}." if where else "")
        )
        self._lay_out(intro, text, "&Copy details", (640, 420))


class CrashReportDialog(_ReportDialog):
    """The report an earlier run left when it was killed by a fatal error (see app/crash_log)."""

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("crash-report")
        self.setWindowTitle("accert — report of the last crash")
        try:
            raw = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raw = f"The report {path} cannot be read: {exc.strerror or exc}"
        text = describe(RuntimeError("fatal error"), redact(raw))
        intro = (
            "accert closed unexpectedly the last time it ran. Your renewal folders are safe: "
            f"every step is saved as it completes.\n\nThe report is kept in {path}. Please copy "
            "it into your report of the problem."
        )
        self._lay_out(intro, text, "&Copy report", (680, 460))


_open_dialogs: list[QDialog] = []


def show_crash_report(path: Path, parent: QWidget | None = None) -> CrashReportDialog:
    """Show an earlier run's crash report without blocking."""
    dialog = CrashReportDialog(path, parent)
    _open_dialogs.append(dialog)
    dialog.finished.connect(lambda _r: _open_dialogs.remove(dialog))
    dialog.open()
    return dialog


def show_unexpected(exc: BaseException, details: str = "", parent: QWidget | None = None) -> None:
    """Show the dialog without blocking (tests and event loops keep running)."""
    dialog = UnexpectedDialog(exc, details, parent)
    _open_dialogs.append(dialog)
    dialog.finished.connect(lambda _r: _open_dialogs.remove(dialog))
    dialog.open()


def excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """An exception escaping a slot on the GUI thread shows the dialog instead of vanishing."""
    details = "".join(traceback.format_exception(kind, exc, tb))
    if isinstance(exc, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)
        return
    show_unexpected(exc, details)
