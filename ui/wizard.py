"""The wizard window: pages in flow order, one task runner, closing that asks only when needed."""

from __future__ import annotations

import contextlib
import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget, QWizard

from app.flow import Page
from ui import look
from ui.base import BasePage
from ui.session import Session
from ui.tasks import Pool, TaskRunner

if TYPE_CHECKING:
    from PySide6.QtGui import QCloseEvent

TITLE = "accert — certificate renewal for AudioCodes"

# Each page's module and class. A page is imported and built when the wizard first goes to it
# (page_of), so the window paints its Start page without loading the other pages or what they
# need (the key and CSR engine, the importer, the deployment panels, requests, paramiko).
PAGES: dict[Page, tuple[str, str]] = {
    Page.START: ("ui.pages.start", "StartPage"),
    Page.NAMES: ("ui.pages.names", "NamesPage"),
    Page.CSR: ("ui.pages.csr", "CsrPage"),
    Page.RESPONSE: ("ui.pages.response", "ResponsePage"),
    Page.EXPORT: ("ui.pages.export", "ExportPage"),
    Page.DEPLOY: ("ui.pages.deploy", "DeployPage"),
    Page.SUMMARY: ("ui.pages.summary", "SummaryPage"),
}


class RenewalWizard(QWizard):
    def __init__(self, pool: Pool | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = Session()
        self.tasks = TaskRunner(pool, on_unexpected=self._unexpected, parent=self)
        self.confirm_close = self._ask_close  # tests replace the question
        self.ask_show_crash = self._ask_show_crash  # tests replace this one too
        self.setObjectName("wizard")
        self.setWindowTitle(TITLE)
        self.setWindowIcon(look.app_icon())
        # Windows gets its native (Aero) wizard; elsewhere the modern style looks at home.
        self.setWizardStyle(
            QWizard.WizardStyle.AeroStyle
            if sys.platform == "win32"
            else QWizard.WizardStyle.ModernStyle
        )
        self.setPixmap(QWizard.WizardPixmap.LogoPixmap, look.logo_pixmap(48))
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.setButtonText(QWizard.WizardButton.NextButton, "&Next >")
        self.setButtonText(QWizard.WizardButton.BackButton, "< &Back")
        self.setButtonText(QWizard.WizardButton.FinishButton, "&Finish")
        self.setButtonText(QWizard.WizardButton.CancelButton, "Close")
        self.setButtonText(QWizard.WizardButton.CommitButton, "&Next >")
        self.pages: dict[Page, BasePage] = {}
        self.page_of(Page.START)
        self.setStartId(int(Page.START))
        # Alt+Right / Alt+Left as in a browser, besides Enter and the mnemonics.
        QShortcut(QKeySequence("Alt+Right"), self, activated=self._next_if_enabled)
        QShortcut(QKeySequence("Alt+Left"), self, activated=self._back_if_enabled)
        self.fit_to_screen()

    def fit_to_screen(self) -> None:
        """The usual size, but never more than the screen's free area (200 % on a small
        screen put Next below its bottom edge); the pages scroll when that is short."""
        from PySide6.QtGui import QGuiApplication

        screen = self.screen() or QGuiApplication.primaryScreen()
        free = screen.availableGeometry()
        frame = 40  # the title bar and borders the window manager adds
        width, height = free.width() - 16, free.height() - frame
        self.setMinimumSize(min(look.scaled(640), width), min(look.scaled(520), height))
        self.resize(min(look.scaled(860), width), min(look.scaled(700), height))

    def page_of(self, page: Page) -> BasePage:
        """The page, built (and its module imported) the first time it is asked for."""
        if page not in self.pages:
            module_name, class_name = PAGES[page]
            cls = getattr(importlib.import_module(module_name), class_name)
            built: BasePage = cls()
            self.setPage(int(page), built)
            self.pages[page] = built
        return self.pages[page]

    def validateCurrentPage(self) -> bool:
        """QWizard asks this before Next; the page it goes to must exist by then."""
        if not super().validateCurrentPage():
            return False
        nxt = self.nextId()
        if nxt != -1:
            self.page_of(Page(nxt))
        return True

    def _next_if_enabled(self) -> None:
        button = self.button(QWizard.WizardButton.NextButton)
        if button.isVisible() and button.isEnabled():
            self.next()

    def _back_if_enabled(self) -> None:
        button = self.button(QWizard.WizardButton.BackButton)
        if button.isVisible() and button.isEnabled():
            self.back()

    # --- errors and closing ---------------------------------------------------------------------

    def _unexpected(self, exc: BaseException, details: str) -> None:
        ws = self.session.workspace
        if ws is not None:
            from app.redact import redact

            with contextlib.suppress(OSError):
                # Free text of unknown structure: every password learnt is masked in it.
                ws.log("unexpected-error", error=redact(f"{type(exc).__name__}: {exc}"))
        from ui.feedback import show_unexpected

        show_unexpected(exc, details, self)

    def offer_crash_report(self, reports: list[Path]) -> None:
        """The last run ended in a fatal error: offer its report (kept in the logs folder)."""
        if reports and self.ask_show_crash(reports[-1]):
            from ui.feedback import show_crash_report

            show_crash_report(reports[-1], self)

    def _ask_show_crash(self, report: Path) -> bool:
        from PySide6.QtWidgets import QMessageBox

        answer = QMessageBox.question(
            self,
            "accert closed unexpectedly",
            "accert closed unexpectedly the last time it ran. A report was saved in\n"
            f"{report}\n\nShow the report now?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        return answer == QMessageBox.StandardButton.Yes

    def start_from_dashboard(self, renewal: Path | None, names: tuple[str, ...]) -> None:
        """ "Renew these": continue `renewal` (to its next step), or a new one with `names`."""
        from ui.pages.start import StartPage

        self.session.suggested_names = () if renewal else names
        if self.currentId() != int(Page.START):
            self.restart()
        start = self.currentPage()
        assert isinstance(start, StartPage)
        if renewal is None:
            start.new.setChecked(True)
        else:
            start.refresh()
            start.select_renewal(renewal)
        self.next()

    def what_would_be_lost(self) -> list[str]:
        lost = [f"{name} is still running." for name in self.tasks.busy()]
        page = self.currentPage()
        if isinstance(page, BasePage):
            text = page.unsaved()
            if text and text not in lost:
                lost.append(text)
        return lost

    def _ask_close(self, lost: list[str]) -> bool:
        from PySide6.QtWidgets import QMessageBox

        answer = QMessageBox.question(
            self,
            "Close accert?",
            "\n".join(lost) + "\n\nClose anyway? Everything done so far is saved.",
            QMessageBox.StandardButton.Close | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Close

    def may_close(self) -> bool:
        lost = self.what_would_be_lost()
        return not lost or self.confirm_close(lost)

    def reject(self) -> None:
        if self.may_close():
            self._finish_tasks()
            super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.may_close():
            self._finish_tasks()
            event.accept()
        else:
            event.ignore()

    def _finish_tasks(self) -> None:
        for task in list(self.tasks.active):
            task.cancel()
        # A key half-way through being written is finished (atomically) before we go.
        self.tasks.wait(30_000)

    def keyPressEvent(self, event: object) -> None:
        from PySide6.QtCore import Qt  # not at import: see ui.message
        from PySide6.QtGui import QKeyEvent

        if isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Escape:
            self.reject()
            return
        super().keyPressEvent(event)  # type: ignore[arg-type]
