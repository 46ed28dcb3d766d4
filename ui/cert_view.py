"""A look inside a certificate: names, key usage, key, validity, thumbprints and the PEM.

Opened by a double-click (or Enter) on a certificate in the CA response tree, the dashboard
and the Summary. The fields come from app.cert_details (escaped peer text).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt
from PySide6.QtGui import QGuiApplication, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.base import mono_font
from ui.message import Message

if TYPE_CHECKING:  # cryptography loads with the first certificate shown, not at start-up
    from cryptography import x509


class CertificateDialog(QDialog):
    def __init__(self, cert: x509.Certificate, parent: QWidget | None = None) -> None:
        from app.cert_details import details

        super().__init__(parent)
        self.setObjectName("certificate")
        self.info = details(cert)
        self.setWindowTitle(f"Certificate — {self.info.title}")
        # Where "Save as…" writes; tests replace the question (a modal file dialog).
        self.ask_save_path: Callable[[], Path | None] = self._ask_save_path
        layout = QVBoxLayout(self)
        title = QLabel(self.info.title)
        title.setObjectName("heading")
        title.setTextFormat(Qt.TextFormat.PlainText)
        title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(title)

        self.tabs = QTabWidget()
        self.fields = QTreeWidget()
        self.fields.setHeaderLabels(["Field", "Value"])
        self.fields.setRootIsDecorated(False)
        self.fields.setUniformRowHeights(False)
        self.fields.setWordWrap(True)
        self.fields.setAlternatingRowColors(True)
        self.fields.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.fields.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for name, value in self.info.rows:
            item = QTreeWidgetItem([name, _two_lines(value)])
            item.setData(1, Qt.ItemDataRole.UserRole, value)  # what Ctrl+C copies
            item.setToolTip(1, value)
            self.fields.addTopLevelItem(item)
        self.fields.setCurrentItem(self.fields.topLevelItem(0))
        # Ctrl+C copies the selected field's value (a thumbprint to paste elsewhere).
        QShortcut(QKeySequence.StandardKey.Copy, self.fields, activated=self.copy_value)
        self.tabs.addTab(self.fields, "&General")
        self.pem = QPlainTextEdit(self.info.pem)
        self.pem.setReadOnly(True)
        self.pem.setFont(mono_font())
        self.pem.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.tabs.addTab(self.pem, "P&EM")
        layout.addWidget(self.tabs, 1)
        self.message = Message(self)
        layout.addWidget(self.message)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_pem = buttons.addButton("&Copy PEM", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_pem.clicked.connect(self._copy_pem)
        self.save = buttons.addButton("&Save as…", QDialogButtonBox.ButtonRole.ActionRole)
        self.save.clicked.connect(self.save_pem)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.fields.setFocus()
        self.resize(max(760, self.fontMetrics().horizontalAdvance("M" * 64)), 560)

    def value(self, field: str) -> str:
        for name, value in self.info.rows:
            if name == field:
                return value
        raise KeyError(field)

    def copy_value(self) -> None:
        item = self.fields.currentItem()
        if item is not None:
            QGuiApplication.clipboard().setText(str(item.data(1, Qt.ItemDataRole.UserRole)))

    def _copy_pem(self) -> None:
        QGuiApplication.clipboard().setText(self.info.pem)
        self.message.show_message("ok", "The PEM is on the clipboard.")

    def save_pem(self) -> None:
        from app.atomic import atomic_write
        from app.errors import AccertError

        path = self.ask_save_path()
        if path is None:
            return
        try:
            atomic_write(path, self.info.pem.encode("ascii"))
        except AccertError as exc:  # says which file and what to check
            self.message.show_error(exc)
            return
        except OSError as exc:
            self.message.show_message(
                "error", f"Could not write {path}: {exc.strerror or exc}. Choose another folder."
            )
            return
        self.message.show_message("ok", f"Saved as {path}.")

    def _ask_save_path(self) -> Path | None:
        from ui.file_dialogs import save_file

        stem = "".join(c if c.isalnum() or c in "-." else "_" for c in self.info.title) or "cert"
        return save_file(
            self,
            "certificate",
            "Save the certificate",
            f"{stem}.crt",
            "Certificates (*.crt *.pem);;All files (*)",
        )


def _two_lines(value: str) -> str:
    """A SHA-256 in colon hex (95 characters) on two lines of 16 bytes, so none is cut off."""
    if "\n" in value or len(value) < 64 or value.count(":") < 31:
        return value
    return f"{value[:48]}\n{value[48:]}"


_open: list[CertificateDialog] = []


def show_certificate(cert: x509.Certificate, parent: QWidget | None = None) -> CertificateDialog:
    """The details, not modal: several certificates can be compared side by side."""
    dialog = CertificateDialog(cert, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    _open.append(dialog)
    dialog.finished.connect(lambda _r: _open.remove(dialog) if dialog in _open else None)
    dialog.show()
    return dialog


class CertificateOpener(QObject):
    """Double-click or Enter on a certificate in `view` opens its details.

    Enter is taken here (not passed on), so a wizard page's Next is not pressed as well.
    """

    def __init__(
        self, view: QAbstractItemView, cert_at: Callable[[QModelIndex], x509.Certificate | None]
    ) -> None:
        super().__init__(view)
        self.view = view
        self.cert_at = cert_at
        self.opened: list[CertificateDialog] = []  # tests look at what was opened
        view.doubleClicked.connect(self.open)
        view.installEventFilter(self)

    def open(self, index: QModelIndex) -> CertificateDialog | None:
        cert = self.cert_at(index) if index.isValid() else None
        if cert is None:
            return None
        dialog = show_certificate(cert, self.view.window())
        self.opened.append(dialog)
        dialog.destroyed.connect(lambda _o=None, d=dialog: self._forget(d))
        return dialog

    def _forget(self, dialog: CertificateDialog) -> None:
        if dialog in self.opened:
            self.opened.remove(dialog)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.view
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        ):
            index = self.view.currentIndex()
            if index.isValid() and self.cert_at(index) is not None:
                self.open(index)
                return True
        return False
