"""Start the wizard: `python main.py`, or the installed `accert-wizard` GUI entry point."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from types import TracebackType

from PySide6.QtWidgets import QApplication

from ui import look
from ui.tasks import Pool
from ui.wizard import RenewalWizard


def application(argv: list[str] | None = None) -> QApplication:
    """The QApplication, made once with our name, icon and style sheet."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        app = existing
    else:
        app = QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("accert")
    app.setApplicationDisplayName("accert")
    app.setOrganizationName("accert")
    app.setDesktopFileName("accert")
    app.setWindowIcon(look.app_icon())
    if look.STYLE not in app.styleSheet():
        app.setStyleSheet(app.styleSheet() + look.STYLE)
    return app


def install_excepthook() -> None:
    """sys.excepthook shows the unexpected-error dialog (ui.feedback.excepthook). This module
    loads with the first exception: the dialogs and the log writer are not needed to start."""

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        from ui.feedback import excepthook

        excepthook(kind, exc, tb)

    sys.excepthook = hook


def create_window(pool: Pool | None = None) -> RenewalWizard:
    """The wizard window, not shown yet (the self-test and the tests use this)."""
    application()
    return RenewalWizard(pool)


def open_window(pool: Pool | None = None) -> RenewalWizard:
    """The wizard as a user starts it: crashes logged, the last one's report offered."""
    from PySide6.QtCore import QTimer

    from app.crash_log import collect_crash_reports, enable_crash_log

    reports: list[Path] = []
    with contextlib.suppress(OSError):  # a read-only logs folder must not stop the wizard
        enable_crash_log()
        reports = collect_crash_reports()
    window = create_window(pool)
    window.show()
    if reports:
        QTimer.singleShot(0, window, lambda: window.offer_crash_report(reports))
    return window


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv if argv is None else argv)
    from ui.display import no_display_problem

    problem = no_display_problem()
    if problem:  # say it in our words before Qt aborts with "reinstalling may fix this"
        print(problem, file=sys.stderr)
        return 1
    app = application(args)
    install_excepthook()
    window = open_window()
    if "--dashboard" in args[1:]:  # straight to the estate (e.g. a Start-menu shortcut)
        from ui.pages.start import StartPage

        start = window.currentPage()
        assert isinstance(start, StartPage)
        start.open_dashboard()
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
