"""Start: a new renewal, an unfinished one, or a PFX / CA response someone already has."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QKeyEvent, QPaintEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
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

from app.errors import AccertError, ImportProblem, WorkspaceError
from app.flow import Page, StartChoice
from ui.base import BasePage, note, plain_tip

# Qt's `Qt` namespace and the workspace engine load after the first paint (the renewals are
# listed then): building the namespace's enums alone takes about 20 ms, a sixth of Qt's start.
if TYPE_CHECKING:
    from app.ca_response import Source
    from app.workspace import Workspace

_PFX = (".pfx", ".p12")


def _when(iso: str) -> str:
    import datetime as dt  # with the list, after the first paint

    try:
        return dt.datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def open_existing(path: Path, password: str | None) -> tuple[Workspace, StartChoice, list[Source]]:
    """Runs in the pool: a PFX becomes a renewal; a CA response finds the renewal it fits."""
    # The importer loads here, in the pool, when a file is opened: not before the first paint.
    from app import renewal_lookup
    from app.ca_response import Source

    source = Source(path.name, path.read_bytes(), password)
    if path.suffix.lower() in _PFX:
        return renewal_lookup.open_pfx(source)
    found = renewal_lookup.renewal_for_response([source])
    if found is None:
        raise ImportProblem(
            f"None of your unfinished renewals holds the private key for {path.name}.",
            "If the CSR was made with accert on another PC, open the renewal there; if the key "
            "came with the certificate, open the PFX instead.",
        )
    return found[0], StartChoice.RESPONSE, [source]


class RenewalItem(QTreeWidgetItem):
    """A row of the renewals list: the folder it opens travels with it."""

    def __init__(
        self, common_name: str, step: str, updated: str, path: Path, name_from: str = ""
    ) -> None:
        from app.names import to_unicode
        from app.peer_text import escape_peer
        from app.salvage import listed_name

        # An international name in both forms, as the Names page and `accert show` give it;
        # escaped: the name may come from a PFX someone else made. A damaged renewal's name
        # says the file it was read from.
        super().__init__([listed_name(common_name, name_from), step, _when(updated), str(path)])
        self.path = path
        unicode_form = to_unicode(common_name)
        if unicode_form:  # the column may be cut: the tooltip says which form is which
            self.setToolTip(
                0,
                plain_tip(
                    f"In the certificate: {escape_peer(common_name)}\n"
                    f"Reads as: {escape_peer(unicode_form)}",
                    wrap=False,
                ),
            )
        self.setToolTip(3, plain_tip(str(path), wrap=False))

    def damaged(self, error: str, name_from: str = "") -> None:
        """A renewal that cannot be opened: greyed out, the reason and the way out on hover;
        over the name, where it was read (renewal.json, which held it, cannot be read)."""
        from app.peer_text import escape_peer

        why = escape_peer(error)
        read = f"The name was read from {name_from}, not from renewal.json.\n\n"
        read = read if name_from else ""
        for column, tip in ((0, read + why), (1, why), (2, why)):
            self.setToolTip(column, plain_tip(tip))
        self.setDisabled(True)


class StartPage(BasePage):
    page_id = Page.START

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ready = False
        self._by_keyboard = False
        # The renewals are listed just after the window first paints: listing loads the
        # workspace engine, which the first sight of the window does not need.
        self.listed = False
        self._listing = False
        layout = QVBoxLayout(self)
        self.choices = QButtonGroup(self)
        # Alt+N is the wizard's Next: the first choice takes R (new Renewal).
        self.new = QRadioButton("Start a new &renewal")
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
        header = self.renewals.header()
        for column in (0, 1, 2):  # the date in full; the folder takes what is left
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.renewals.itemSelectionChanged.connect(self._picked_renewal)
        # A click on a row chooses Continue; a double-click or Enter opens that renewal.
        self.renewals.itemPressed.connect(self._clicked_renewal)
        self.renewals.itemDoubleClicked.connect(self._open_renewal)
        # Enter on a row chooses it and goes on to the window, whose default button is Next.
        self.renewals.installEventFilter(self)
        layout.addWidget(self.renewals, 1)
        self.resume.setEnabled(False)  # until refresh() has found renewals to continue
        self.renewals.setEnabled(False)
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
        browse = QPushButton("Bro&wse…")  # Alt+B is Back on the other pages
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
        self.resume.toggled.connect(lambda _on: self._show_choice())

    def initializePage(self) -> None:
        if self.listed:  # the first time, paintEvent lists them
            self.refresh()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self.listed and not self._listing:  # once the window is on the screen
            self._listing = True
            QTimer.singleShot(0, self, self._first_listing)  # not if the page is gone

    def _first_listing(self) -> None:
        if not self.listed:  # "Renew these" from the dashboard may have listed them already
            self.refresh(choose_new=False)

    def refresh(self, choose_new: bool = True) -> None:
        """List the renewals to continue; choose_new: back to "Start a new renewal" (not when
        they are first listed, just after the first paint: the user may have chosen already)."""
        from app.renewal_lookup import resumable
        from app.salvage import DAMAGED

        self.renewals.clear()
        for r in resumable():
            step = r.stage.label if not r.error else DAMAGED
            item = RenewalItem(r.common_name, step, r.updated, r.path, r.name_from)
            if r.error:
                item.damaged(r.error, r.name_from)
            self.renewals.addTopLevelItem(item)
        has_any = self.renewals.topLevelItemCount() > 0
        self.resume.setEnabled(has_any)
        self.renewals.setEnabled(has_any)
        # No row is highlighted while "new" is chosen: what is highlighted is what Next opens.
        if choose_new:
            self.new.setChecked(True)
        self._show_choice()
        self.listed = True

    def _first_openable(self) -> QTreeWidgetItem | None:
        for i in range(self.renewals.topLevelItemCount()):
            item = self.renewals.topLevelItem(i)
            if item is not None and not item.isDisabled():
                return item
        return None

    def _show_choice(self) -> None:
        """The list's highlight follows the choice: Continue shows the renewal Next opens."""
        if self.resume.isChecked():
            if not self.renewals.selectedItems():
                item = self._first_openable()
                if item is not None:
                    self.renewals.setCurrentItem(item)
                    item.setSelected(True)
        else:
            blocked = self.renewals.blockSignals(True)
            self.renewals.clearSelection()
            self.renewals.blockSignals(blocked)

    def _clicked_renewal(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        if not item.isDisabled():
            self.resume.setChecked(True)
            self.renewals.setCurrentItem(item)
            item.setSelected(True)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.renewals
            and isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.KeyPress
        ):
            from PySide6.QtCore import Qt

            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                item = self.renewals.currentItem()
                if item is not None:
                    self._clicked_renewal(item)
            else:
                self._by_keyboard = True  # arrows choose Continue (see _picked_renewal)
        return super().eventFilter(watched, event)

    def _open_renewal(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        """A double-click on a renewal: continue that one, at once."""
        if item.isDisabled():
            return
        self._clicked_renewal(item)
        self.completeChanged.emit()
        if self.isComplete():
            self.wizard().next()

    def open_dashboard(self) -> QWidget:
        from ui.dashboard import Dashboard

        dashboard = Dashboard(self.wiz())
        dashboard.show()
        return dashboard

    def select_renewal(self, path: Path) -> bool:
        """Choose "Continue" with the renewal in `path` selected; False if it is not listed."""
        for i in range(self.renewals.topLevelItemCount()):
            item = self.renewals.topLevelItem(i)
            if isinstance(item, RenewalItem) and item.path == path:
                self.resume.setChecked(True)
                self.renewals.setCurrentItem(item)
                return True
        return False

    def _picked_renewal(self) -> None:
        # Moving through the list with the keyboard chooses Continue too.
        by_keyboard, self._by_keyboard = self._by_keyboard, False
        if self.renewals.selectedItems() and (by_keyboard or self.renewals.hasFocus()):
            self.resume.setChecked(True)
        self._changed()

    def _browse_folder(self) -> None:
        from ui.file_dialogs import choose_folder

        folder = choose_folder(self, "renewal-folder", "Open a renewal folder")
        if folder is not None:
            self.add_folder(folder)

    def add_folder(self, path: Path) -> None:
        """A renewal outside the usual folder: listed at the top and selected."""
        from app.workspace import Workspace

        try:
            ws = Workspace.open(path)
        except AccertError as exc:
            self.message.show_error(exc)
            return
        s = ws.state
        item = RenewalItem(s.request.subject.common_name, s.stage.label, s.updated, path)
        self.renewals.insertTopLevelItem(0, item)
        self.renewals.setEnabled(True)
        self.resume.setEnabled(True)
        self.renewals.setCurrentItem(item)
        self.resume.setChecked(True)

    def _browse_file(self) -> None:
        from ui.file_dialogs import open_file

        path = open_file(
            self,
            "open-file",
            "Open a PFX or the CA's certificate",
            "Certificates and PFX (*.pfx *.p12 *.crt *.cer *.pem *.p7b *.zip);;All files (*)",
        )
        if path is not None:
            self.file.setText(str(path))
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
            from app.workspace import Workspace

            item = self.renewals.selectedItems()[0]
            assert isinstance(item, RenewalItem)
            try:
                s.workspace = Workspace.open(item.path)
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
        from app.ca_response import PasswordNeeded

        if isinstance(exc, PasswordNeeded):
            self.password.show()
            self.password.setFocus()
            if not self.password.text():  # asked for, not yet wrong: not an error
                self.message.show_message("info", f"{exc.message}\n{exc.hint}".strip())
                self.completeChanged.emit()
                return
        super().show_error(exc)
