"""Deploy: to SBCs/gateways over their REST API, to OVOC over SSH, or by hand with the files.

The deployments are app.mediant's and app.ovoc's (ui/sbc_panel.py, ui/ovoc_panel.py); the
"By hand" tab gives the same files and the engines' manual steps, for devices or servers
accert may not reach.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
    QWizard,
)

from app.errors import AccertError
from app.flow import Page
from app.material import DeployMaterial
from app.workspace import Workspace
from ui.base import BasePage, heading, note, nothing_opened, open_in_system
from ui.ovoc_panel import OvocPanel
from ui.sbc_panel import SbcPanel

FIRMWARES = (("7.2 or later (TLS Contexts page)", "7.40"), ("6.x (Certificates page)", "6.60"))


def exported_device_files(ws: Workspace) -> dict[str, Path] | None:
    """The newest export that holds the key and certificate as PEM: the SBC steps use it."""
    stem = ws.stem
    for record in reversed(ws.state.exports):
        folder = Path(record["folder"])
        names = set(record.get("files", ()))
        if f"{stem}.key" in names and f"{stem}.crt" in names:
            files = {"key": folder / f"{stem}.key", "certificate": folder / f"{stem}.crt"}
            n = 1
            for extra in (f"{stem}-chain.crt", f"{stem}-root.crt"):
                if extra in names:
                    files[f"ca{n}"] = folder / extra
                    n += 1
            if all(p.exists() for p in files.values()):
                return files
    return None


def write_device_files(ws: Workspace) -> dict[str, Path]:
    """Runs in the pool: the PEM files the device's web page takes, key included."""
    from app.mediant.manual import write_manual_files

    material: DeployMaterial = ws.deploy_material()
    folder = ws.path / "device-files"
    files = write_manual_files(material, folder, include_key=bool(material.key_pem))
    ws.log("mediant.manual", folder=str(folder), files=[p.name for p in files.values()])
    return files


def _steps_html(steps: list[str]) -> str:
    from html import escape

    items = "".join(f"<li style='margin-bottom:6px'>{escape(s)}</li>" for s in steps)
    return f"<ol>{items}</ol>"


class StepsView(QWidget):
    """A numbered list of steps with Copy and Open folder."""

    failed = Signal(str)  # the folder could not be opened: the page says so

    def __init__(self, copy_text: str, open_text: str) -> None:
        super().__init__()
        self.steps: list[str] = []
        self.folder: Path | None = None
        self.open_path = open_in_system  # tests replace it (nothing opens offscreen)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.view = QTextBrowser()
        self.view.setOpenLinks(False)
        layout.addWidget(self.view, 1)
        row = QHBoxLayout()
        self.copy = QPushButton(copy_text)
        self.copy.clicked.connect(
            lambda: QGuiApplication.clipboard().setText(
                "\n".join(f"{n}. {s}" for n, s in enumerate(self.steps, 1))
            )
        )
        self.open = QPushButton(open_text)
        self.open.clicked.connect(self._open_folder)
        row.addWidget(self.copy)
        row.addWidget(self.open)
        row.addStretch(1)
        layout.addLayout(row)
        self.show_steps([], None)

    def _open_folder(self) -> None:
        if self.folder is not None and not self.open_path(self.folder):
            self.failed.emit(nothing_opened(self.folder))

    def show_steps(self, steps: list[str], folder: Path | None) -> None:
        self.steps, self.folder = steps, folder
        self.view.setHtml(_steps_html(steps))
        self.copy.setEnabled(bool(steps))
        self.open.setEnabled(folder is not None)


class DeployPage(BasePage):
    page_id = Page.DEPLOY

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget()
        layout.addWidget(self.tabs, 1)

        self.sbc = SbcPanel(self.session_workspace, lambda: self.tasks)
        self.tabs.addTab(self.sbc, "&SBCs and gateways")
        self.ovoc = OvocPanel(self.session_workspace, lambda: self.tasks)
        self.tabs.addTab(self.ovoc, "&OVOC")

        manual = QWidget()
        m = QVBoxLayout(manual)
        m.addWidget(heading("SBC / gateway web page"))
        row = QHBoxLayout()
        fw_label = QLabel("&Firmware:")
        self.firmware = QComboBox()
        for label, value in FIRMWARES:
            self.firmware.addItem(label, value)
        fw_label.setBuddy(self.firmware)
        self.firmware.currentIndexChanged.connect(lambda *_: self.show_sbc())
        self.context = QComboBox()
        for n in range(0, 10):
            self.context.addItem(
                f"TLS context {n}" + (" (default, web server)" if n == 0 else ""), n
            )
        self.context.currentIndexChanged.connect(lambda *_: self.show_sbc())
        self.write_files = QPushButton("&Write the device files")
        self.write_files.clicked.connect(self.prepare_device_files)
        row.addWidget(fw_label)
        row.addWidget(self.firmware)
        row.addWidget(self.context)
        row.addStretch(1)
        row.addWidget(self.write_files)
        m.addLayout(row)
        # Each list its own letters: both are on the tab at once (Alt+C/Alt+D, Alt+T/Alt+L).
        self.sbc_steps = StepsView("&Copy steps", "Open the files' fol&der")
        m.addWidget(self.sbc_steps, 1)
        m.addWidget(heading("OVOC with WinSCP and PuTTY"))
        row = QHBoxLayout()
        self.prepare_ovoc = QPushButton("&Prepare the OVOC files")
        self.prepare_ovoc.clicked.connect(self.prepare_ovoc_files)
        row.addWidget(note("In the names of the OVOC version chosen on the OVOC tab."), 1)
        row.addWidget(self.prepare_ovoc)
        m.addLayout(row)
        self.ovoc_steps = StepsView("Copy the OVOC s&teps", "Open the OVOC fi&les' folder")
        m.addWidget(self.ovoc_steps, 1)
        # Tabs' letters work from every tab: B is Back, H the OVOC tab's HTTPS port.
        self.tabs.addTab(manual, "B&y hand")
        # What was and was not deployed, and what Next does: deploying is optional.
        self.status = note("")
        self.status.setObjectName("deploy-status")
        layout.addWidget(self.status)
        layout.addWidget(self.message)
        self.device_files: dict[str, Path] | None = None
        for steps in (self.sbc_steps, self.ovoc_steps):
            steps.failed.connect(lambda text: self.message.show_message("warning", text))
        for panel in (self.sbc, self.ovoc):
            panel.running_changed.connect(self._running_changed)

    def session_workspace(self) -> Workspace:
        return self.session.require()

    def initializePage(self) -> None:
        self.message.clear_message()
        session = self.session
        self.sbc.load(session.preselected_devices)
        self.ovoc.load_profiles()
        if session.preselected_ovoc and not self.ovoc.host.text():
            first = session.preselected_ovoc[0]
            self.ovoc.host.setText(first.host)
            if first.user:
                self.ovoc.user.setText(first.user)
            if first.ports:
                self.ovoc.verify_port.setValue(first.ports[0])
        if session.preselected_ovoc and not session.preselected_devices:
            self.tabs.setCurrentWidget(self.ovoc)
        self.device_files = exported_device_files(session.require())
        self.show_sbc()
        self.ovoc_steps.show_steps([], None)
        self.show_status()

    # --- what was deployed, and the way on -------------------------------------------------

    def deploying(self) -> bool:
        return self.sbc.running or self.ovoc.running

    def isComplete(self) -> bool:
        return not self.deploying()  # otherwise: Next at any time, deploying is optional

    def _running_changed(self, _running: bool) -> None:
        self.completeChanged.emit()  # QWizard updates its buttons from isComplete()...
        if self.deploying() and self.wizard() is not None and self.isVisible():
            # ...and Back too: it stays off until the deployment ends, so no page is left
            # half-way (closing the window asks first, see RenewalWizard.what_would_be_lost).
            self.wizard().button(QWizard.WizardButton.BackButton).setEnabled(False)
        self.show_status()

    def show_status(self) -> None:
        from ui.pages.summary import latest_outcomes

        ws = self.session.workspace
        if ws is None:
            return
        if self.deploying():
            self.status.setText(
                "Deploying… Back and Next are available again when it ends; every device and "
                "server finishes its own steps (closing the window asks first)."
            )
            return
        latest = latest_outcomes(ws.state.deployments)
        done = [o.what for o in latest if o.ok]
        not_done = [f"{o.what} ({'by hand' if o.manual else 'failed'})" for o in latest if not o.ok]
        if not any(o.what.startswith("OVOC") for o in latest):
            not_done.append("OVOC")
        if not any(o.what.startswith("SBC") for o in latest):
            not_done.append("SBCs and gateways")
        lines = [f"Deployed: {', '.join(done) if done else 'nothing yet'}."]
        if not_done:
            lines.append(f"Not deployed: {', '.join(not_done)}.")
        lines.append(
            "Deploying is optional: Next shows the summary of what was produced and deployed."
        )
        self.status.setText(" ".join(lines))

    def unsaved(self) -> str | None:
        busy = self.tasks.busy()
        return f"{busy[0]} is still running." if busy else None

    def show_sbc(self) -> None:
        from app.mediant.manual import manual_steps

        ws = self.session.workspace
        if ws is None:
            return
        files = self.device_files
        if files is None:
            self.sbc_steps.show_steps(
                [
                    "Export with the 'AudioCodes SBC / gateway (PEM)' preset on the previous "
                    "page, or click 'Write the device files', to get the files these steps use."
                ],
                None,
            )
            return
        steps = manual_steps(self.firmware.currentData(), files, int(self.context.currentData()))
        if "key" in files:
            steps.append(
                f"Delete {files['key']} once the device shows the key as OK: it is the "
                "unencrypted private key (the renewal folder keeps an encrypted copy)."
            )
        self.sbc_steps.show_steps(steps, files["certificate"].parent)

    def prepare_device_files(self) -> None:
        ws = self.session.require()
        self.write_files.setEnabled(False)
        self.run(
            "Writing the device files",
            write_device_files,
            ws,
            on_done=self._device_files,
            on_error=self._failed,
        )

    def _device_files(self, files: dict[str, Path]) -> None:
        self.write_files.setEnabled(True)
        self.device_files = files
        self.show_sbc()

    def prepare_ovoc_files(self) -> None:
        from app.ovoc.glue import prepare_manual

        ws = self.session.require()
        try:
            profile = self.ovoc.selected_profile()
        except AccertError as exc:
            self.show_error(exc)
            return
        self.prepare_ovoc.setEnabled(False)

        def work() -> tuple[list[Any], list[str]]:
            return prepare_manual(ws, profile)

        self.run("Writing the OVOC files", work, on_done=self._ovoc_files, on_error=self._failed)

    def _failed(self, exc: Any) -> None:
        self.prepare_ovoc.setEnabled(True)
        self.write_files.setEnabled(True)
        self.show_error(exc)

    def _ovoc_files(self, result: tuple[list[Any], list[str]]) -> None:
        files, steps = result
        self.prepare_ovoc.setEnabled(True)
        self.ovoc_steps.show_steps(steps, files[0].path.parent if files else None)
