"""Export: presets for each system, the PFX profile, a password, the folder, Open folder."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import flow
from app.errors import AccertError, ExportError
from app.export import NEEDS_KEY, NEEDS_PASSWORD, PRESETS, Artifact, ExportOptions, ExportResult
from app.flow import Page
from app.workspace import Stage
from ui.base import (
    BasePage,
    EnterClicks,
    ShrinkingBody,
    note,
    nothing_opened,
    open_in_system,
    scrolling,
)
from ui.message import Message
from ui.tasks import Task

LEGACY_NOTE = (
    "Choose legacy (3DES, SHA-1) for Windows Server 2016 and older, Java 8 and older "
    "appliances: they report a wrong password on modern files. Otherwise keep modern (AES-256)."
)


def artifacts_for(preset: str, legacy: bool) -> frozenset[Artifact]:
    """The preset's files, with the chosen PFX profile (Everything writes both)."""
    arts = PRESETS[preset].artifacts
    if preset != "everything" and Artifact.PFX in arts and legacy:
        arts = (arts - {Artifact.PFX}) | {Artifact.PFX_LEGACY}
    return arts


class ExportPage(BasePage):
    page_id = Page.EXPORT

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.task: Task | None = None
        body = ShrinkingBody()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)

        presets = QGroupBox("&Format")
        p = QGridLayout(presets)
        self.presets = QButtonGroup(self)
        self.preset_buttons: dict[str, QRadioButton] = {}
        rows = (len(PRESETS) + 1) // 2  # two columns: the page keeps room for the file list
        for n, (name, preset) in enumerate(PRESETS.items()):
            button = QRadioButton(preset.label)
            button.setToolTip(preset.description)
            self.presets.addButton(button, n)
            self.preset_buttons[name] = button
            p.addWidget(button, n % rows, n // rows)
        p.setColumnStretch(1, 1)
        self.preset_note = note("")
        self.preset_note.setObjectName("note")
        p.addWidget(self.preset_note, rows, 0, 1, 2)
        self.preset_buttons["audiocodes"].setChecked(True)
        self.presets.idToggled.connect(lambda *_: self._changed())
        layout.addWidget(presets)

        self.pfx_box = QGroupBox("PFX &profile")
        x = QVBoxLayout(self.pfx_box)
        row = QHBoxLayout()
        self.modern = QRadioButton("&Modern (AES-256)")
        self.legacy = QRadioButton("Le&gacy (3DES)")
        self.modern.setChecked(True)
        row.addWidget(self.modern)
        row.addWidget(self.legacy)
        row.addStretch(1)
        x.addLayout(row)
        x.addWidget(note(LEGACY_NOTE))
        layout.addWidget(self.pfx_box)

        # The mnemonics are on the rows (Alt+W, Alt+C), not on the group's title.
        self.pass_box = QGroupBox("Password for the PFX / JKS")
        f = QFormLayout(self.pass_box)
        self.pass1 = QLineEdit()
        self.pass1.setEchoMode(QLineEdit.EchoMode.Password)
        self.pass2 = QLineEdit()
        self.pass2.setEchoMode(QLineEdit.EchoMode.Password)
        self.strength = QProgressBar()
        self.strength.setRange(0, 4)
        self.strength.setTextVisible(False)
        self.strength.setMaximumHeight(8)
        self.strength_hint = QLabel()
        self.strength_hint.setObjectName("note")
        f.addRow("Pass&word:", self.pass1)
        f.addRow("&Confirm:", self.pass2)
        f.addRow("", self.strength)
        f.addRow("", self.strength_hint)
        self.pass1.textChanged.connect(lambda *_: self._changed())
        self.pass2.textChanged.connect(lambda *_: self._changed())
        layout.addWidget(self.pass_box)

        folder_row = QHBoxLayout()
        folder_label = QLabel("Save &in:")
        self.folder = QLineEdit()
        folder_label.setBuddy(self.folder)
        browse = QPushButton("B&rowse…")
        browse.clicked.connect(self._browse)
        folder_row.addWidget(folder_label)
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        layout.addLayout(folder_row)
        self.overwrite = QCheckBox("Rep&lace files of the same name in that folder")
        layout.addWidget(self.overwrite)

        action_row = QHBoxLayout()
        self.export_button = QPushButton("&Export")
        self.export_button.clicked.connect(self.export)
        self.open_folder = QPushButton("&Open folder")
        self.open_folder.clicked.connect(self._open_folder)
        self.open_folder.setEnabled(False)
        # Enter in the password fields exports (Next waits for the export anyway).
        EnterClicks(self.export_button, self.pass1, self.pass2)
        action_row.addWidget(self.export_button)
        action_row.addWidget(self.open_folder)
        action_row.addStretch(1)
        layout.addLayout(action_row)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.hide()
        layout.addWidget(self.busy)
        self.result = Message()
        layout.addWidget(self.result)
        # One row per file written, with what was checked: a list of any length scrolls here
        # instead of growing a message past the bottom of the window.
        self.files = QTreeWidget()
        self.files.setHeaderLabels(["File", "What it is", "Checked after writing"])
        self.files.setRootIsDecorated(False)
        self.files.setAlternatingRowColors(True)
        header = self.files.header()
        header.setStretchLastSection(False)
        for col, mode in enumerate(
            (QHeaderView.ResizeMode.ResizeToContents, QHeaderView.ResizeMode.Stretch)
        ):
            header.setSectionResizeMode(col, mode)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.files.hide()
        layout.addWidget(self.files, 100)
        self.files.setMinimumHeight(self.files.fontMetrics().lineSpacing() * 4)
        body.shrinkable.append(self.files)
        layout.addWidget(self.message)
        layout.addStretch(1)
        # A short window or 200 % text scrolls rather than squeezes.
        self.scroller = scrolling(self, body)
        self.open_path = open_in_system  # tests replace it (nothing opens offscreen)

    def key_on_device(self) -> bool:
        ws = self.session.workspace
        return ws is not None and ws.state.key_origin == "device"

    def initializePage(self) -> None:
        ws = self.session.require()
        # A key that never left its device: certificates only, and deploying needs no export.
        on_device = self.key_on_device()
        for name, button in self.preset_buttons.items():
            button.setEnabled(not (on_device and PRESETS[name].artifacts <= NEEDS_KEY))
        if on_device:
            self.preset_buttons["audiocodes"].setChecked(True)
            self.result.show_message(
                "info",
                "The private key stays on the device that made it: only the certificates can be "
                "exported (no key, PFX or JKS). Deploying needs no export: click Next.",
            )
        self.folder.setText(str(ws.exports_dir))
        self.files.clear()
        self.files.hide()
        if not on_device:
            self.result.clear_message()
        self.message.clear_message()
        self.open_folder.setEnabled(ws.exports_dir.is_dir())
        self._changed()

    def preset(self) -> str:
        for name, button in self.preset_buttons.items():
            if button.isChecked():
                return name
        return "audiocodes"

    def options(self) -> ExportOptions:
        arts = artifacts_for(self.preset(), self.legacy.isChecked())
        if self.key_on_device():
            arts = arts - NEEDS_KEY
        password = self.pass1.text() if arts & NEEDS_PASSWORD else None
        return ExportOptions(arts, password=password, overwrite=self.overwrite.isChecked())

    def _changed(self) -> None:
        name = self.preset()
        arts = PRESETS[name].artifacts - (NEEDS_KEY if self.key_on_device() else frozenset())
        self.preset_note.setText(PRESETS[name].description)
        has_pfx = bool(arts & {Artifact.PFX, Artifact.PFX_LEGACY})
        self.pfx_box.setVisible(has_pfx and name != "everything")
        needs_password = bool(arts & NEEDS_PASSWORD)
        self.pass_box.setVisible(needs_password)
        score, hint = flow.password_strength(self.pass1.text())
        self.strength.setValue(score)
        # An empty meter reads as a broken line: it appears with the first character typed.
        self.strength.setVisible(bool(self.pass1.text()))
        self.strength.setProperty("score", score)
        # Unpolish first: a polish alone keeps the colour of the first score (orange "Strong").
        self.strength.style().unpolish(self.strength)
        self.strength.style().polish(self.strength)
        self.strength.update()
        if self.pass2.text() and self.pass1.text() != self.pass2.text():
            hint = "The two passwords differ."
        self.strength_hint.setText(hint)
        self.export_button.setEnabled(self.ready_to_export())

    def ready_to_export(self) -> bool:
        if self.task is not None and self.task.running:
            return False
        if PRESETS[self.preset()].artifacts & NEEDS_PASSWORD:
            return bool(self.pass1.text()) and self.pass1.text() == self.pass2.text()
        return True

    def _browse(self) -> None:
        from ui.file_dialogs import choose_folder

        current = Path(self.folder.text().strip()) if self.folder.text().strip() else None
        folder = choose_folder(
            self, "export", "Export into", current if current and current.is_dir() else None
        )
        if folder is not None:
            self.folder.setText(str(folder))

    def export(self) -> None:
        ws = self.session.require()
        folder = Path(self.folder.text().strip() or ws.exports_dir)
        self.message.clear_message()
        self.result.clear_message()
        self.files.clear()
        self.files.hide()
        self.busy.show()
        self.task = self.run(
            "Writing the export",
            ws.export,
            folder,
            self.options(),
            on_done=self._exported,
            on_error=self._failed,
        )
        self._changed()

    def _failed(self, exc: AccertError) -> None:
        self.busy.hide()
        self._changed()
        if "(--overwrite)" in exc.hint:  # the engine speaks the CLI's words; here it is a box
            exc = ExportError(
                exc.message,
                exc.hint.replace("(--overwrite)", "(tick 'Replace files of the same name')"),
            )
        self.show_error(exc)
        self._reveal(self.message)

    def _reveal(self, widget: QWidget) -> None:
        """Scroll to what just appeared, once the layout has placed it (a short window)."""
        QTimer.singleShot(0, self, lambda: self.scroller.ensureWidgetVisible(widget))

    def _exported(self, result: ExportResult) -> None:
        self.busy.hide()
        self.session.exports.append(result)
        count = len(result.files)
        files = "1 file, read back" if count == 1 else f"{count} files, each read back"
        lines = [f"Written to {result.folder}: {files} and checked."]
        self.files.clear()
        unmatched = list(result.checks)
        for f in result.files:
            prefix = f"{f.path.name}: "
            checked = [c for c in unmatched if c.startswith(prefix)]
            for c in checked:
                unmatched.remove(c)
            item = QTreeWidgetItem(
                [
                    f.path.name,
                    f.description,
                    "; ".join(f"✔ {c.removeprefix(prefix)}" for c in checked),
                ]
            )
            for col in range(3):  # a narrow window elides; the whole text is one hover away
                item.setToolTip(col, item.text(col))
            item.setToolTip(0, str(f.path))
            self.files.addTopLevelItem(item)
        self.files.setVisible(count > 0)
        lines += unmatched  # checks about the set rather than a file, e.g. no root known
        if any(f.secret and f.artifact is Artifact.KEY for f in result.files):
            lines.append("The .key file is the unencrypted private key: upload it, then delete it.")
        self.result.show_message("ok", "\n".join(lines))
        self._reveal(self.files if count else self.result)
        self.open_folder.setEnabled(True)
        self.pass1.clear()
        self.pass2.clear()
        self._changed()
        self.completeChanged.emit()

    def _open_folder(self) -> None:
        folder = Path(self.folder.text())
        if not self.open_path(folder):
            self.message.show_message("warning", nothing_opened(folder))

    def isComplete(self) -> bool:
        stage = self.session.stage
        done = Stage.ISSUED if self.key_on_device() else Stage.EXPORTED
        return (
            stage is not None
            and stage.at_least(done)
            and not (self.task is not None and self.task.running)
        )

    def unsaved(self) -> str | None:
        if self.task is not None and self.task.running:
            return "Files are being exported."
        return None
