"""Start: a new renewal, an unfinished one, or a PFX / CA response someone already has."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import flow
from app.ca_response import PasswordNeeded, Source
from app.errors import AccertError, ImportProblem, WorkspaceError
from app.flow import Page, StartChoice
from app.workspace import Workspace, create_from_pfx
from ui.base import BasePage, note

_PFX = (".pfx", ".p12")


def _when(iso: str) -> str:
    try:
        return dt.datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def open_existing(path: Path, password: str | None) -> tuple[Workspace, StartChoice, list[Source]]:
    """Runs in the pool: a PFX becomes a renewal; a CA response finds the renewal it fits."""
    source = Source(path.name, path.read_bytes(), password)
    if path.suffix.lower() in _PFX:
        return create_from_pfx(source), StartChoice.PFX, []
    found = flow.renewal_for_response([source])
    if found is None:
        raise ImportProblem(
            f"None of your unfinished renewals holds the private key for {path.name}.",
            "If the CSR was made with accert on another PC, open the renewal there; if the key "
            "came with the certificate, open the PFX instead.",
        )
    return found[0], StartChoice.RESPONSE, [source]


class StartPage(BasePage):
    page_id = Page.START

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ready = False
        layout = QVBoxLayout(self)
        self.choices = QButtonGroup(self)
        self.new = QRadioButton("Start a &new renewal")
        self.resume = QRadioButton("&Continue a renewal")
        self.existing = QRadioButton("&Open a PFX or a CA response you already have")
        for n, button in enumerate((self.new, self.resume, self.existing)):
            self.choices.addButton(button, n)
        self.new.setChecked(True)

        layout.addWidget(self.new)
        layout.addWidget(
            note("Names first, then a new private key and a CSR to send to your CA."),
        )
        layout.addSpacing(6)
        layout.addWidget(self.resume)
        self.renewals = QTreeWidget()
        self.renewals.setHeaderLabels(["Certificate", "Step reached", "Last change", "Folder"])
        self.renewals.setRootIsDecorated(False)
        self.renewals.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.renewals.setAlternatingRowColors(True)
        self.renewals.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.renewals.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.renewals.itemSelectionChanged.connect(self._picked_renewal)
        self.renewals.itemDoubleClicked.connect(lambda *_: self.wizard().next())
        layout.addWidget(self.renewals, 1)
        other = QPushButton("Open another renewal &folder…")
        other.clicked.connect(self._browse_folder)
        self.dashboard = QPushButton("Estate &dashboard…")
        self.dashboard.setToolTip(
            "Every SBC and OVOC port, the certificate it serves and when it expires"
        )
        self.dashboard.clicked.connect(self.open_dashboard)
        row = QHBoxLayout()
        row.addWidget(self.dashboard)
        row.addStretch(1)
        row.addWidget(other)
        layout.addLayout(row)

        layout.addSpacing(6)
        layout.addWidget(self.existing)
        file_row = QHBoxLayout()
        self.file = QLineEdit()
        self.file.setPlaceholderText(
            "A .pfx / .p12 with its key, or the certificate files from the CA"
        )
        self.file.textChanged.connect(self._changed)
        browse = QPushButton("&Browse…")
        browse.clicked.connect(self._browse_file)
        file_row.addWidget(self.file, 1)
        file_row.addWidget(browse)
        layout.addLayout(file_row)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("PFX password")
        self.password.hide()
        layout.addWidget(self.password)
        layout.addWidget(self.message)
        self.choices.idToggled.connect(lambda *_: self._changed())

    def initializePage(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        self.renewals.clear()
        for r in flow.resumable():
            item = QTreeWidgetItem(
                [
                    r.common_name,
                    r.stage.label if not r.error else "Damaged: cannot be opened",
                    _when(r.updated),
                    str(r.path),
                ]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, str(r.path))
            item.setToolTip(3, str(r.path))
            if r.error:
                item.setToolTip(1, r.error)
                item.setDisabled(True)
            self.renewals.addTopLevelItem(item)
        has_any = self.renewals.topLevelItemCount() > 0
        self.resume.setEnabled(has_any)
        self.renewals.setEnabled(has_any)
        if has_any:
            first = self.renewals.topLevelItem(0)
            if first is not None and not first.isDisabled():
                self.renewals.setCurrentItem(first)
                first.setSelected(True)
        self.new.setChecked(True)

    def open_dashboard(self) -> QWidget:
        from ui.dashboard import Dashboard

        dashboard = Dashboard(self.wiz())
        dashboard.show()
        return dashboard

    def select_renewal(self, path: Path) -> bool:
        """Choose "Continue" with the renewal in `path` selected; False if it is not listed."""
        for i in range(self.renewals.topLevelItemCount()):
            item = self.renewals.topLevelItem(i)
            if item.data(0, Qt.ItemDataRole.UserRole) == str(path):
                self.resume.setChecked(True)
                self.renewals.setCurrentItem(item)
                return True
        return False

    def _picked_renewal(self) -> None:
        if self.renewals.selectedItems() and self.renewals.hasFocus():
            self.resume.setChecked(True)
        self._changed()

    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a renewal folder")
        if folder:
            self.add_folder(Path(folder))

    def add_folder(self, path: Path) -> None:
        """A renewal outside the usual folder: listed at the top and selected."""
        try:
            ws = Workspace.open(path)
        except AccertError as exc:
            self.message.show_error(exc)
            return
        s = ws.state
        item = QTreeWidgetItem(
            [s.request.subject.common_name, s.stage.label, _when(s.updated), str(path)]
        )
        item.setData(0, Qt.ItemDataRole.UserRole, str(path))
        self.renewals.insertTopLevelItem(0, item)
        self.renewals.setEnabled(True)
        self.resume.setEnabled(True)
        self.renewals.setCurrentItem(item)
        self.resume.setChecked(True)

    def _browse_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self,
            "Open a PFX or the CA's certificate",
            "",
            "Certificates and PFX (*.pfx *.p12 *.crt *.cer *.pem *.p7b *.zip);;All files (*)",
        )
        if name:
            self.file.setText(name)
            self.existing.setChecked(True)

    def _changed(self) -> None:
        self._ready = False
        self.message.clear_message()
        if self.file.hasFocus():
            self.existing.setChecked(True)
        self.completeChanged.emit()

    def choice(self) -> StartChoice:
        if self.resume.isChecked():
            return StartChoice.RESUME
        if self.existing.isChecked():
            return StartChoice.PFX
        return StartChoice.NEW

    def isComplete(self) -> bool:
        choice = self.choice()
        if choice is StartChoice.RESUME:
            return bool(self.renewals.selectedItems())
        if choice is StartChoice.PFX:
            return bool(self.file.text().strip())
        return True

    def nextId(self) -> int:
        if self.choice() is StartChoice.NEW:
            return int(Page.NAMES)
        return super().nextId()

    def leave(self) -> bool:
        choice = self.choice()
        s = self.session
        if choice is StartChoice.NEW:
            s.workspace, s.choice, s.sources, s.outcome = None, StartChoice.NEW, [], None
            return True
        if choice is StartChoice.RESUME:
            path = Path(self.renewals.selectedItems()[0].data(0, Qt.ItemDataRole.UserRole))
            try:
                s.workspace = Workspace.open(path)
            except AccertError as exc:
                self.show_error(exc)
                return False
            s.choice, s.sources, s.outcome = StartChoice.RESUME, [], None
            return True
        if self._ready:
            return True
        path = Path(self.file.text().strip())
        if not path.is_file():
            self.show_error(WorkspaceError(f"{path} does not exist.", "Pick the file again."))
            return False
        password = self.password.text() if self.password.isVisible() else None
        self.message.show_message("info", f"Reading {path.name}…")
        self.run(f"Reading {path.name}", open_existing, path, password, on_done=self._opened)
        return False

    def _opened(self, result: tuple[Workspace, StartChoice, list[Source]]) -> None:
        ws, choice, sources = result
        s = self.session
        s.workspace, s.choice, s.sources, s.outcome = ws, choice, sources, None
        self.message.clear_message()
        self._ready = True
        self.wizard().next()

    def show_error(self, exc: AccertError) -> None:
        if isinstance(exc, PasswordNeeded):
            self.password.show()
            self.password.setFocus()
        super().show_error(exc)
