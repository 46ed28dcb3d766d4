"""The CA's response: drop, browse or paste; the chain as a tree and a plain verdict."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
)

from app.acme.settings import AcmeSettings
from app.ca_response import PasswordNeeded, Source
from app.certinfo import CertInfo
from app.errors import AccertError, InputError
from app.flow import Page
from app.response_check import ImportOutcome
from ui.acme_dialog import AcmeDialog
from ui.base import BasePage, mono_font, note
from ui.message import Message
from ui.tasks import Task

if TYPE_CHECKING:
    from cryptography import x509

ROLE_NAMES = {
    "leaf": "Your certificate",
    "intermediate": "Intermediate CA",
    "root": "Root CA",
    "other": "Not in the chain",
}


class DropZone(QFrame):
    """Files dropped here (certificates, bundles, a ZIP, a PFX) go to the page."""

    def __init__(self, page: ResponsePage) -> None:
        super().__init__()
        self.page = page
        self.setObjectName("dropzone")
        self.setAcceptDrops(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QHBoxLayout(self)
        label = QLabel(
            "Drop the CA's files here: certificate, bundle, ZIP, .p7b or PFX, all at once."
        )
        label.setWordWrap(True)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(label, 1)
        browse = QPushButton("Bro&wse…")  # Alt+B is Back
        browse.clicked.connect(page.browse)
        layout.addWidget(browse)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            self.setProperty("hover", True)
            self.style().polish(self)
            event.acceptProposedAction()

    def dragLeaveEvent(self, event: object) -> None:
        self.setProperty("hover", False)
        self.style().polish(self)

    def dropEvent(self, event: QDropEvent) -> None:
        self.setProperty("hover", False)
        self.style().polish(self)
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        event.acceptProposedAction()
        self.page.add_files(paths)


class ResponsePage(BasePage):
    page_id = Page.RESPONSE

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.task: Task | None = None
        self.acme_dialog: AcmeDialog | None = None
        self.acme_imported = False  # the ACME order imported the chain already
        layout = QVBoxLayout(self)
        acme_row = QHBoxLayout()
        self.acme_button = QPushButton("Get it from the CA now (&ACME)…")
        self.acme_button.setToolTip(
            "Order the certificate for this CSR from an ACME CA (DigiCert, Sectigo, ZeroSSL, "
            "Let's Encrypt or any ACME URL), prove the names by DNS, and import it here"
        )
        self.acme_button.clicked.connect(self.open_acme)
        acme_row.addWidget(self.acme_button)
        acme_row.addWidget(note("…or add the files the CA sent you:"), 1)
        layout.addLayout(acme_row)
        layout.addWidget(DropZone(self))

        paste_row = QHBoxLayout()
        self.paste = QPlainTextEdit()
        self.paste.setPlaceholderText(
            "…or paste the certificate text here (-----BEGIN CERTIFICATE----- …)"
        )
        self.paste.setFont(mono_font())
        self.paste.setMaximumHeight(70)
        self.paste.setTabChangesFocus(True)
        self.use_button = QPushButton("&Use pasted text")
        self.use_button.clicked.connect(self.use_pasted)
        paste_row.addWidget(self.paste, 1)
        paste_row.addWidget(self.use_button)
        layout.addLayout(paste_row)

        added_row = QHBoxLayout()
        self.added = QLabel()
        self.added.setWordWrap(True)
        self.clear = QPushButton("C&lear")
        self.clear.clicked.connect(self.clear_sources)
        added_row.addWidget(self.added, 1)
        added_row.addWidget(self.clear)
        layout.addLayout(added_row)

        pass_row = QHBoxLayout()
        pass_row.setContentsMargins(0, 0, 0, 0)  # aligned with the rows above and below
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.returnPressed.connect(self.analyse)
        self.pass_ok = QPushButton("&Open PFX")
        self.pass_ok.clicked.connect(self.analyse)
        pass_label = QLabel("&Password of the PFX:")
        pass_label.setBuddy(self.password)
        pass_row.addWidget(pass_label)
        pass_row.addWidget(self.password, 1)
        pass_row.addWidget(self.pass_ok)
        self.pass_widget = QWidget()
        self.pass_widget.setLayout(pass_row)
        self.pass_widget.hide()
        layout.addWidget(self.pass_widget)

        self.verdict = Message()
        self.verdict.setObjectName("verdict")
        bold = self.verdict.font()
        bold.setBold(True)  # the one line that answers "can I go on?", above the details
        self.verdict.setFont(bold)
        layout.addWidget(self.verdict)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Certificate", "Role", "Valid from", "Valid until", "Left"])
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, 5):
            self.tree.header().setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setMinimumHeight(110)
        self.tree.setToolTip("Double-click a certificate (or press Enter) to see inside it")
        from ui.cert_view import CertificateOpener

        self.opener = CertificateOpener(self.tree, self._cert_at)
        layout.addWidget(self.tree, 1)
        self.details = Message()
        self.details.setObjectName("details")
        layout.addWidget(self.details)
        fetch_row = QHBoxLayout()
        self.fetch = QPushButton("&Fetch missing certificate from the CA")
        self.fetch.clicked.connect(lambda: self.analyse(fetch_missing=True))
        self.fetch.hide()
        fetch_row.addWidget(self.fetch)
        fetch_row.addStretch(1)
        layout.addLayout(fetch_row)
        layout.addWidget(self.message)
        self.setButtonText(QWizard.WizardButton.NextButton, "&Import >")

    # --- adding sources -----------------------------------------------------------------------

    def initializePage(self) -> None:
        self.acme_imported = False
        self.paste.clear()
        self.password.clear()
        self.pass_widget.hide()
        self._show_sources()
        if self.session.sources:
            self.analyse()  # files picked on the Start page
        else:
            self._show_outcome(None)

    def browse(self) -> None:
        from ui.file_dialogs import open_files

        paths = open_files(
            self,
            "ca-response",
            "The files your CA sent",
            "Certificates (*.crt *.cer *.pem *.der *.p7b *.p7c *.zip *.pfx *.p12 *.txt);;"
            "All files (*)",
        )
        self.add_files(paths)

    def add_files(self, paths: list[Path]) -> None:
        sources: list[Source] = []
        for path in paths:
            try:
                sources.append(Source(path.name, path.read_bytes()))
            except OSError as exc:
                self.show_error(InputError(f"Cannot read {path}: {exc.strerror}.", ""))
                return
        self.add_sources(sources)

    def use_pasted(self) -> None:
        text = self.paste.toPlainText().strip()
        if not text:
            self.show_error(InputError("Nothing is pasted.", "Paste the certificate text first."))
            return
        self.add_sources([Source("pasted text", text.encode("utf-8"))])
        self.paste.clear()

    def add_sources(self, sources: list[Source]) -> None:
        if not sources:
            return
        self.session.sources.extend(sources)
        self._show_sources()
        self.analyse()

    def clear_sources(self) -> None:
        self.acme_imported = False
        self.session.sources.clear()
        self.pass_widget.hide()
        self._show_sources()
        self._show_outcome(None)

    def _show_sources(self) -> None:
        names = [s.name for s in self.session.sources]
        self.added.setText("Added: " + ", ".join(names) if names else "No files added yet.")
        self.clear.setEnabled(bool(names))

    # --- ACME: the CA answers directly ---------------------------------------------------------

    def open_acme(self) -> None:
        ws = self.session.require()
        self.acme_dialog = AcmeDialog(ws, self.tasks, self.acme_issued, self)
        self.acme_dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.acme_dialog.open()

    def acme_issued(self, outcome: ImportOutcome, settings: AcmeSettings) -> None:
        """The order imported the chain with the import's own checks; show it as an import."""
        self.session.sources.clear()
        self._show_sources()
        self.message.clear_message()
        self._show_outcome(outcome)
        self.acme_imported = True
        host = settings.directory.split("/")[2] if "//" in settings.directory else ""
        self.added.setText(f"Issued by the CA at {host} over ACME and imported.")
        self.completeChanged.emit()

    # --- analysing ----------------------------------------------------------------------------

    def analyse(self, fetch_missing: bool = False) -> None:
        self.acme_imported = False
        ws = self.session.require()
        password = self.password.text() if self.pass_widget.isVisible() else None
        sources = [
            Source(s.name, s.data, password)
            if password and not s.data.lstrip().startswith(b"-----")
            else s
            for s in self.session.sources
        ]
        self.session.sources[:] = sources
        self.message.clear_message()
        self.session.outcome = None
        self.verdict.show_message(
            "info", "Fetching from the CA…" if fetch_missing else "Checking the files…"
        )
        if self.task is not None:
            self.task.cancel()
        self.task = self.run(
            "Checking the CA's response",
            lambda: ws.analyse_response(list(sources), fetch_missing=fetch_missing),
            on_done=self._show_outcome,
            on_error=self._failed,
        )
        self.completeChanged.emit()

    def _failed(self, exc: AccertError) -> None:
        self._show_outcome(None)
        if isinstance(exc, PasswordNeeded):
            self.pass_widget.show()
            self.password.setFocus()
            if not self.password.text():  # asked for, not yet wrong: not an error
                self.message.show_message("info", f"{exc.message}\n{exc.hint}".strip())
                self.completeChanged.emit()
                return
        self.show_error(exc)

    def _show_outcome(self, outcome: ImportOutcome | None) -> None:
        self.session.outcome = outcome
        self.tree.clear()
        self.fetch.hide()
        if outcome is None:
            self.verdict.clear_message()
            self.details.clear_message()
            self.completeChanged.emit()
            return
        kind = "ok" if outcome.acceptable and outcome.complete else "warning"
        if not outcome.acceptable:
            kind = "error"
        self.verdict.show_message(kind, outcome.verdict())
        from app.fingerprints import cert_sha256

        certs: dict[str, x509.Certificate] = {}
        if outcome.report is not None:
            for cert in (*outcome.report.chain, *outcome.report.unrelated):
                certs[cert_sha256(cert)] = cert
        parent: QTreeWidget | QTreeWidgetItem = self.tree
        for info in reversed(outcome.chain):  # root at the top, as Windows shows a path
            item = self._item(info, certs)
            if isinstance(parent, QTreeWidget):
                parent.addTopLevelItem(item)
            else:
                parent.addChild(item)
            parent = item
        for info in outcome.others:
            self.tree.addTopLevelItem(self._item(info, certs))
        self.tree.expandAll()
        lines = [f"✖ {p}" for p in outcome.problems]
        lines += [f"⚠ {w}" for w in outcome.warnings]
        lines += [f"ℹ {n}" for n in outcome.notes]
        if lines:
            self.details.show_message("error" if outcome.problems else "info", "\n".join(lines))
        else:
            self.details.clear_message()
        self.fetch.setVisible(bool(outcome.aia_url) and not outcome.complete)
        self.completeChanged.emit()

    def _cert_at(self, index: QModelIndex) -> x509.Certificate | None:
        from cryptography import x509

        item = self.tree.itemFromIndex(index)
        cert = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        return cert if isinstance(cert, x509.Certificate) else None

    @staticmethod
    def _item(info: CertInfo, certs: dict[str, x509.Certificate]) -> QTreeWidgetItem:
        left = f"{info.days_left} days" if info.days_left >= 0 else "EXPIRED"
        item = QTreeWidgetItem(
            [
                info.common_name,
                ROLE_NAMES.get(info.role, info.role),
                f"{info.not_before:%Y-%m-%d}",
                f"{info.not_after:%Y-%m-%d}",
                left,
            ]
        )
        item.setToolTip(0, "\n".join(info.lines()))
        item.setData(0, Qt.ItemDataRole.UserRole, certs.get(info.sha256))
        return item

    # --- leaving: the response is kept and the renewal moves on ------------------------------

    def isComplete(self) -> bool:
        return self.session.outcome is not None and self.session.outcome.acceptable

    def unsaved(self) -> str | None:
        if self.isComplete() and not self.acme_imported:
            return "The certificate you loaded is not imported yet (click Import to keep it)."
        return None

    def leave(self) -> bool:
        ws = self.session.require()
        outcome = self.session.outcome
        assert outcome is not None
        if self.acme_imported:  # already in the folder, checked and recorded by the order
            self.session.outcome = None
            self.acme_imported = False
            return True
        try:
            ws.accept_response(outcome, list(self.session.sources))
        except AccertError as exc:
            self.show_error(exc)
            return False
        self.session.outcome = None
        self.session.sources.clear()
        return True
