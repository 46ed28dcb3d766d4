"""How a page speaks: one message inline on it, an error with its fix, a warning, a success."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QLabel, QWidget

if TYPE_CHECKING:
    from app.errors import AccertError


class Message(QLabel):
    """A message on the page: error (with its fix), warning, or success. Hidden when empty."""

    KINDS = ("error", "warning", "ok", "info")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setObjectName("message")
        # Styled by this property, not the object name: pages rename theirs ("verdict", ...).
        self.setProperty("banner", True)
        self._plain = False
        self.hide()

    def setText(self, text: str) -> None:
        # Plain text (a certificate subject's "<b>" stays text), selectable. Set with the first
        # text, not in __init__: every page has a Message, and Qt's `Qt` namespace, built on
        # first use (about 20 ms), is left until after the window's first paint.
        if not self._plain:
            from PySide6.QtCore import Qt

            self.setTextFormat(Qt.TextFormat.PlainText)
            self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self._plain = True
        super().setText(text)

    def show_message(self, kind: str, text: str) -> None:
        assert kind in self.KINDS
        self.setProperty("kind", kind)
        self.setText(text)
        self.style().unpolish(self)
        self.style().polish(self)
        self.setVisible(bool(text))

    def show_error(self, exc: AccertError) -> None:
        self.show_message("error", f"{exc.message}\n{exc.hint}".strip())

    def clear_message(self) -> None:
        self.setText("")
        self.hide()
