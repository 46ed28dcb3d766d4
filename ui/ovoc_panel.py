"""The OVOC deployment on the Deploy page: log in over SSH, place the files, run the import.

The work is app.ovoc's (deploy_workspace_to_ovoc); this panel collects the server and the
passwords, shows the profile's files before anything is sent, asks about host keys, and
shows the session's progress lines as they come.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.errors import AccertError, InputError
from app.ovoc.profile import DEFAULT_PROFILE, OvocProfile, available_profiles, load_profile
from app.workspace import Workspace
from ui.base import mono_font, note
from ui.message import Message
from ui.tasks import TaskRunner

if TYPE_CHECKING:  # paramiko loads when OVOC is deployed to, not at every start
    from app.ovoc.console import ConsoleTimeouts
    from app.ovoc.deploy import OvocResult, OvocTarget

OTHER_PROFILE = "Other profile file…"


@dataclass(frozen=True)
class HostKeyQuestion:
    host: str
    port: int
    fingerprint: str
    changed: bool
    known: str = ""


def plan(ws: Workspace, profile: OvocProfile) -> list[str]:
    """Runs in the pool: the files that would be sent, in the profile's names."""
    from app.ovoc.deploy import plan_files

    files = plan_files(ws.deploy_material(), profile)
    return [f"{profile.directory}/{f.name}  ({f.role}, mode {f.mode:o})" for f in files]


class OvocPanel(QWidget):
    running_changed = Signal(bool)  # the page locks Back and Next while OVOC is deployed to

    def __init__(
        self,
        workspace: Callable[[], Workspace],
        tasks: Callable[[], TaskRunner],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._workspace = workspace
        self._tasks = tasks
        self.timeouts: ConsoleTimeouts | None = None  # None: the engine's; tests shorten them
        self.verify_interval = 5.0
        self.ask_host_key: Callable[[HostKeyQuestion], bool] = self._ask_host_key
        self.confirm: Callable[[str], bool] = self._confirm
        self.ask_cleanup: Callable[[str], bool] = self._ask_cleanup
        self.choose_file: Callable[[str], str] = self._choose_file
        self.result: OvocResult | None = None
        self._running = False
        # A changed host key is refused; replacing it is a separate, deliberate step.
        self._changed: tuple[OvocTarget, OvocProfile, HostKeyQuestion] | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        self.host = QLineEdit()
        self.host.setPlaceholderText("ovoc.example.com")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(22)
        host_row = QHBoxLayout()
        host_row.addWidget(self.host, 1)
        host_row.addWidget(self.port)
        self.user = QLineEdit("acems")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_file = QLineEdit()
        self.key_file.setPlaceholderText("optional: an SSH private key instead of the password")
        self.root_password = QLineEdit()
        self.root_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.import_password = QLineEdit()
        self.import_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.import_password.setPlaceholderText(
            "usually empty: the key sent is unencrypted, so accert just presses Enter"
        )
        self.profile = QComboBox()
        self.profile.activated.connect(self._profile_chosen)
        self.verify_port = QSpinBox()
        self.verify_port.setRange(1, 65535)
        self.verify_port.setValue(443)
        host_label = QLabel("OVOC server &address, SSH port:")
        host_label.setBuddy(self.host)
        form.addRow(host_label, host_row)
        form.addRow("SSH &user:", self.user)
        form.addRow("SSH pass&word:", self.password)
        form.addRow("SSH &key file:", self.key_file)
        form.addRow("Roo&t password (for su -):", self.root_password)
        form.addRow("&Import password:", self.import_password)
        form.addRow("OVOC &version:", self.profile)
        form.addRow("&HTTPS port to verify:", self.verify_port)
        layout.addLayout(form)

        row = QHBoxLayout()
        self.show_plan = QPushButton("Show what wi&ll be sent")  # Alt+S is the SBCs tab
        self.show_plan.clicked.connect(self.preview)
        self.deploy_button = QPushButton("&Deploy to OVOC")
        self.deploy_button.setAutoDefault(False)
        self.deploy_button.clicked.connect(self.deploy)
        self.replace_key = QPushButton("&Replace the recorded host key…")
        self.replace_key.setAutoDefault(False)
        self.replace_key.clicked.connect(self.replace_host_key)
        self.replace_key.hide()
        row.addWidget(self.show_plan)
        row.addStretch(1)
        row.addWidget(self.replace_key)
        row.addWidget(self.deploy_button)
        layout.addLayout(row)
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setFont(mono_font())
        self.output.setPlaceholderText(
            "What will be sent, then each step of the SSH session, appears here."
        )
        layout.addWidget(self.output, 1)
        layout.addWidget(
            note(
                "accert logs in, moves the old files in server_certs aside (kept), places the new "
                "ones, becomes root, runs EmsServerManager's CA import and checks that OVOC "
                "serves the new certificate. Passwords are used for this session only."
            )
        )
        self.message = Message(self)
        layout.addWidget(self.message)

    # --- profiles ----------------------------------------------------------------------------

    def load_profiles(self) -> None:
        self.profile.clear()
        for name in available_profiles():
            try:
                title = load_profile(name).title
            except AccertError:  # a broken profile: listed by name, its error shown on use
                title = name
            self.profile.addItem(title, name)
        self.profile.addItem(OTHER_PROFILE, "")
        self.profile.setCurrentIndex(max(self.profile.findData(DEFAULT_PROFILE), 0))

    def use_profile_file(self, path: str) -> None:
        """A user's copy of a profile (see the README): listed and chosen."""
        index = self.profile.findData(path)
        if index < 0:
            self.profile.insertItem(self.profile.count() - 1, Path(path).name, path)
            index = self.profile.findData(path)
        self.profile.setCurrentIndex(index)

    def _profile_chosen(self, index: int) -> None:
        if self.profile.itemData(index) == "":
            path = self.choose_file("Choose an OVOC profile (.toml)")
            if path:
                self.use_profile_file(path)
            else:
                self.profile.setCurrentIndex(max(self.profile.findData(DEFAULT_PROFILE), 0))

    def selected_profile(self) -> OvocProfile:
        return load_profile(str(self.profile.currentData() or DEFAULT_PROFILE))

    # --- what is sent ------------------------------------------------------------------------

    def preview(self) -> None:
        self.message.clear_message()
        try:
            profile = self.selected_profile()
        except AccertError as exc:
            self.message.show_error(exc)
            return
        self._tasks().run(
            "Preparing the OVOC files",
            plan,
            self._workspace(),
            profile,
            on_done=lambda lines: self._show_plan(profile, lines),
            on_error=self.message.show_error,
        )

    def _show_plan(self, profile: OvocProfile, lines: list[str]) -> None:
        self.output.setPlainText(
            f"Profile: {profile.title}\nThese files go to {profile.directory} "
            "(files already there are moved aside, not overwritten):\n"
            + "\n".join(f"  {line}" for line in lines)
            + f"\nTyped on OVOC: {profile.su_command}, then as root: {profile.manager_command}"
            + "".join(f"\nWARNING: {w}" for w in profile.command_warnings())
        )

    # --- deploying ---------------------------------------------------------------------------

    def target(self) -> OvocTarget:
        from app.ovoc.deploy import OvocTarget
        from app.ovoc.ssh import SshTarget

        host = self.host.text().strip()
        if not host:
            raise InputError("Enter the OVOC server's address.", "")
        if not self.root_password.text():
            raise InputError(
                "Enter OVOC's root password: its certificate import runs as root (su -).", ""
            )
        key_file = self.key_file.text().strip()
        if not key_file and not self.password.text():
            raise InputError("Enter the SSH password, or choose an SSH key file.", "")
        ssh = SshTarget(
            host=host,
            port=self.port.value(),
            user=self.user.text().strip() or "acems",
            password=self.password.text() or None,
            key_file=Path(key_file) if key_file else None,
        )
        return OvocTarget(
            ssh,
            root_password=self.root_password.text(),
            import_password=self.import_password.text(),
            verify_port=self.verify_port.value(),
            verify_interval=self.verify_interval,
        )

    def deploy(self) -> None:
        self.message.clear_message()
        self._forget_changed()
        try:
            target = self.target()
            profile = self.selected_profile()
        except AccertError as exc:
            self.message.show_error(exc)
            return
        text = (
            f"accert will now log in to {target.ssh.user}@{target.ssh.host}:{target.ssh.port}, "
            f"place the certificate files in {profile.directory} (the files there now are moved "
            "aside and kept), become root and run EmsServerManager's 'Import Server "
            "Certificates from Certificate Authority (CA)'. OVOC restarts its web services "
            "afterwards; accert waits for it and checks the served certificate.\n\n"
            f"Typed on OVOC: {profile.su_command}, then as root: {profile.manager_command}"
            + "".join(f"\n\nWARNING: {w}" for w in profile.command_warnings())
        )
        if not self.confirm(text):
            return
        self.output.clear()
        self._start(target, profile)

    def _start(self, target: OvocTarget, profile: OvocProfile) -> None:
        self._set_running(True)
        self._tasks().run(
            f"Deploying to OVOC {target.ssh.host}",
            self._work,
            self._workspace(),
            target,
            profile,
            progress=True,
            on_progress=self.output.appendPlainText,
            on_done=lambda result: self._done(result, target, profile),
            on_error=lambda exc: self._failed(exc, target, profile),
        )

    def _work(
        self, ws: Workspace, target: OvocTarget, profile: OvocProfile, progress: Any
    ) -> OvocResult:
        from app.ovoc.console import DEFAULT_TIMEOUTS
        from app.ovoc.glue import deploy_workspace_to_ovoc

        timeouts = self.timeouts or DEFAULT_TIMEOUTS
        return deploy_workspace_to_ovoc(ws, target, profile, progress=progress, timeouts=timeouts)

    def _done(self, result: OvocResult, target: OvocTarget, profile: OvocProfile) -> None:
        self._set_running(False)
        self.result = result
        moved = (
            f"\nThe previous files are kept in {result.transfer.moved_aside_to}."
            if result.transfer.moved_aside_to
            else ""
        )
        self.message.show_message(
            "ok",
            f"OVOC {result.host}: {result.success_line}\nIt now serves the new certificate "
            f"(SHA-256 {result.served.leaf_sha256[:23]}…).{moved}",
        )
        # The uploaded key and old keys' folders stay on OVOC unencrypted: offer to remove them.
        from app.ovoc.cleanup import find_leftovers

        self._tasks().run(
            "Looking for keys left on OVOC",
            find_leftovers,
            target.ssh,
            profile,
            on_done=lambda found: self._offer_cleanup(target, found),
            on_error=lambda exc: self.output.appendPlainText(f"note: {exc.message}"),
        )

    def _offer_cleanup(self, target: OvocTarget, leftovers: Any) -> None:
        from app.ovoc.cleanup import remove_leftovers

        if leftovers.empty:
            return
        what = leftovers.describe()
        text = (
            f"Unencrypted keys are left on {target.ssh.host}: {what}.\n\nOVOC keeps its own "
            "copy of the new key. Remove these now? (No keeps them.)"
        )
        if not self.ask_cleanup(text):
            self.output.appendPlainText(f"Kept on {target.ssh.host}: {what}")
            return
        self._tasks().run(
            "Removing the keys left on OVOC",
            remove_leftovers,
            target.ssh,
            leftovers,
            on_done=lambda _none: self.output.appendPlainText(
                f"Removed from {target.ssh.host}: {what}"
            ),
            on_error=self.message.show_error,
        )

    def _failed(self, exc: AccertError, target: OvocTarget, profile: OvocProfile) -> None:
        from app.ovoc.ssh import HostKeyChanged, HostKeyUnknown

        self._set_running(False)
        if isinstance(exc, HostKeyUnknown):
            question = HostKeyQuestion(exc.host, exc.port, exc.fingerprint, changed=False)
            if self.ask_host_key(question):
                ssh = replace(target.ssh, host_key_pin=question.fingerprint)
                self._start(replace(target, ssh=ssh), profile)
                return
            self.message.show_message(
                "error", f"{exc.message}\nNot accepted: nothing was sent to the server."
            )
            return
        if isinstance(exc, HostKeyChanged):
            # Refused: the user learns why and how to go on; nothing is replaced by a click.
            question = HostKeyQuestion(
                exc.host, exc.port, exc.fingerprint, changed=True, known=exc.known
            )
            self._changed = (target, profile, question)
            self.replace_key.show()
            self.message.show_message(
                "error",
                f"{exc.message}\nIf OVOC was reinstalled, ask its administrator for the new "
                "fingerprint; only if it is the same, click 'Replace the recorded host key…'.",
            )
            return
        self.message.show_error(exc)

    def replace_host_key(self) -> None:
        """After a refusal: compare once more, then record the new key and deploy."""
        if self._changed is None or self._running:
            return
        target, profile, question = self._changed
        if not self.ask_host_key(question):
            return
        self._forget_changed()
        self.message.clear_message()
        ssh = replace(target.ssh, host_key_pin=question.fingerprint, replace_host_key=True)
        self._start(replace(target, ssh=ssh), profile)

    def _forget_changed(self) -> None:
        self._changed = None
        self.replace_key.hide()

    def _set_running(self, running: bool) -> None:
        self._running = running
        for w in (self.deploy_button, self.show_plan, self.replace_key):
            w.setEnabled(not running)
        self.running_changed.emit(running)

    @property
    def running(self) -> bool:
        return self._running

    # --- the default questions (dialogs) ---------------------------------------------------

    def _ask_host_key(self, q: HostKeyQuestion) -> bool:
        if q.changed:
            text = (
                f"WARNING: {q.host}:{q.port} now presents another SSH host key than the one "
                f"recorded.\n\nNow:      {q.fingerprint}\nRecorded: {q.known}\n\n"
                "Someone may be intercepting the connection. Replace the recorded key only if "
                "OVOC was reinstalled and its administrator confirms the new fingerprint."
            )
            title, default = "The host key has changed", QMessageBox.StandardButton.No
        else:
            text = (
                f"{q.host}:{q.port} is not known yet. Its SSH host key fingerprint is\n\n"
                f"{q.fingerprint}\n\nCompare it with the server's (ask its administrator, or "
                "run ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on it). Accept it?"
            )
            title, default = "Accept the host key?", QMessageBox.StandardButton.No
        box = QMessageBox.warning if q.changed else QMessageBox.question
        answer = box(
            self,
            title,
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            default,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _confirm(self, text: str) -> bool:
        answer = QMessageBox.question(
            self,
            "Deploy to OVOC now?",
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _ask_cleanup(self, text: str) -> bool:
        answer = QMessageBox.question(
            self,
            "Remove the keys left on OVOC?",
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _choose_file(self, title: str) -> str:
        from ui.file_dialogs import open_file

        path = open_file(self, "ovoc-profile", title, "OVOC profile (*.toml)")
        return str(path) if path else ""
