"""The contract every page keeps: read widgets into the renewal, say if complete, show errors."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QFrame,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from app import flow
from app.errors import AccertError
from app.flow import Page
from ui.message import Message
from ui.session import Session
from ui.tasks import Task, TaskRunner

if TYPE_CHECKING:
    from PySide6.QtGui import QFont

    from ui.wizard import RenewalWizard


class BasePage(QWizardPage):
    page_id: Page

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        step = flow.step(self.page_id)
        self.setTitle(step.title)
        self.setSubTitle(step.subtitle)
        self.setObjectName(f"page-{self.page_id.name.lower()}")
        self.message = Message(self)

    # --- what pages use ----------------------------------------------------------------------

    def wiz(self) -> RenewalWizard:
        from ui.wizard import RenewalWizard

        w = self.wizard()
        assert isinstance(w, RenewalWizard)
        return w

    @property
    def session(self) -> Session:
        return self.wiz().session

    @property
    def tasks(self) -> TaskRunner:
        return self.wiz().tasks

    def run(self, name: str, fn: Any, *args: Any, **kwargs: Any) -> Task:
        """Slow work off the GUI thread; an AccertError lands in this page's message."""
        kwargs.setdefault("on_error", self.show_error)
        return self.tasks.run(name, fn, *args, **kwargs)

    def show_error(self, exc: AccertError) -> None:
        self.message.show_error(exc)
        self.completeChanged.emit()

    def unsaved(self) -> str | None:
        """What closing the window now would lose, in words; None when nothing."""
        return None

    # --- QWizard's hooks -----------------------------------------------------------------------

    def nextId(self) -> int:
        nxt = flow.next_page(self.page_id, self.session.stage, self.session.choice)
        return -1 if nxt is None else int(nxt)

    def leave(self) -> bool:
        """Pages override: save what the page holds; False (with a message) to stay."""
        return True

    def validatePage(self) -> bool:
        if not self.leave():
            return False
        nxt = self.nextId()
        # Back on the next page is refused by marking this page a commit page (Qt's own way).
        self.setCommitPage(nxt != -1 and not flow.can_go_back(Page(nxt)))
        return True


class EnterClicks(QObject):
    """Enter in these fields presses `button` (a page's own default), not the wizard's Next."""

    def __init__(self, button: QAbstractButton, *fields: QWidget) -> None:
        super().__init__(button)
        self.button = button
        for f in fields:
            f.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        from PySide6.QtCore import Qt  # not at import: see ui.message

        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and self.button.isVisible()
            and self.button.isEnabled()
        ):
            self.button.click()
            return True
        return False


def open_in_system(path: Path) -> bool:
    """Open a file or folder with what the system uses for it; False if nothing could."""
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices

    return bool(QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))))


def nothing_opened(path: Path) -> str:
    what = "folder" if path.is_dir() else f"{path.suffix or 'such'} files"
    return (
        f"Nothing on this computer opened {path} (no program is set up for {what}): "
        "open it yourself from Explorer."
    )


def mono_font() -> QFont:
    from PySide6.QtGui import QFontDatabase  # its enums (and QFont's) are not needed to start

    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


def plain_tip(text: str, *, wrap: bool = True) -> str:
    """A tooltip that shows `text` as written: Qt takes a tooltip that looks like HTML for
    HTML, and a name or an error may hold `<`. wrap: long lines wrap (a message); else each
    line stays whole (names, which must not break at their hyphens)."""
    import html

    lines = "<br>".join(html.escape(line, quote=False) for line in text.splitlines())
    return f'<p style="white-space:{"normal" if wrap else "pre"}">{lines}</p>'


def heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("heading")
    return label


def note(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("note")
    label.setWordWrap(True)
    return label


class ShrinkingBody(QWidget):
    """A page's content inside a scroll area that scrolls only once `shrinkable` are at their
    minimum height (a list that may give way), so a short window or 200 % text scrolls instead of
    squeezing rows until their texts overlap.

    With word-wrapped labels QScrollArea takes heightForWidth() as the least height it may
    give, and that is the preferred height: nothing would shrink before a scroll bar appeared.
    The slack of the widgets that can give way is taken off.
    """

    def __init__(self) -> None:
        super().__init__()
        self.shrinkable: list[QWidget] = []

    def heightForWidth(self, width: int) -> int:
        height = super().heightForWidth(width)
        for w in self.shrinkable:
            if w.isVisible():
                least = w.minimumHeight() or w.minimumSizeHint().height()
                height -= max(0, min(w.sizeHint().height(), w.maximumHeight()) - least)
        return height


def scrolling(page: QWidget, body: QWidget) -> QScrollArea:
    """Put `body` in a frameless scroll area that fills `page`."""
    from PySide6.QtCore import Qt  # not at import: see ui.message

    scroll = QScrollArea()
    scroll.setWidget(body)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the first field gets the focus, not it
    QVBoxLayout(page).addWidget(scroll)
    return scroll
