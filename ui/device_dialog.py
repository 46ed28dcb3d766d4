"""Add or edit one SBC/gateway: address, account, TLS contexts, ports to verify, reset."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import AccertError, InputError
from app.mediant.devices import SavedDevice, parse_host_port
from app.peer_text import escape_peer
from ui.base import note
from ui.message import Message

if TYPE_CHECKING:
    from app.mediant.client import Timing
    from app.mediant.deploy import DeviceTarget
    from app.mediant.ini import TlsContextRow
    from ui.tasks import TaskRunner


@dataclass(frozen=True)
class TrustQuestion:
    """A device's HTTPS certificate nobody trusted yet: what the user must compare."""

    host: str
    port: int
    subject: str
    fingerprint: str
    changed: bool = False


def trust_text(q: TrustQuestion) -> tuple[str, str]:
    """The question's title and words; a changed certificate gets the stronger ones."""
    where = f"{q.host}:{q.port}"
    # The fingerprint first, on its own line; the subject is the peer's text, escaped.
    seen = f"SHA-256: {q.fingerprint}\nSubject: {escape_peer(q.subject)}"
    compare = (
        "Compare the fingerprint with the one the device's web page shows (or ask its "
        "administrator)."
    )
    system = (
        "If its certificate is from a public CA, answer No, edit the device and tick "
        "'verify it with the Windows trust store' instead."
    )
    if q.changed:
        return "WARNING: the device's certificate has changed", (
            f"{where} presents ANOTHER certificate than the one trusted before:\n\n{seen}\n\n"
            "If nobody replaced it on purpose, someone may be intercepting the connection: "
            f"answer No and nothing is sent. {compare} Trust the new one from now on?"
        )
    return "Trust this device?", (
        f"{where} presents a certificate accert does not know yet:\n\n{seen}\n\n"
        f"{compare} {system}\n\nTrust it for this device from now on?"
    )


def ask_trust_dialog(parent: QWidget, q: TrustQuestion) -> bool:
    title, text = trust_text(q)
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning if q.changed else QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setTextFormat(Qt.TextFormat.PlainText)  # a subject's "<b>" stays text
    box.setText(text)
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    box.setDefaultButton(QMessageBox.StandardButton.No)
    return box.exec() == QMessageBox.StandardButton.Yes


def read_contexts(target: DeviceTarget, timing: Timing | None) -> list[TlsContextRow]:
    """Runs in the pool: the device's TLS contexts (it changes nothing on the device)."""
    from app.mediant.contexts import read_tls_contexts

    return read_tls_contexts(target, timing=timing)[1]


@dataclass(frozen=True)
class DeviceEntry:
    """What the dialog gives back: the device (saved, no password) and its password."""

    device: SavedDevice
    password: str = field(repr=False)
    remember: bool


def _numbers(text: str, what: str, low: int, high: int) -> tuple[int, ...]:
    values: list[int] = []
    for part in text.replace(";", ",").replace(" ", ",").split(","):
        if not part:
            continue
        if not part.isdigit() or not low <= int(part) <= high:
            raise InputError(f"{what}: {part!r} is not a number from {low} to {high}.", "")
        if int(part) not in values:
            values.append(int(part))
    return tuple(values)


def device_from_fields(
    address: str,
    user: str,
    name: str,
    contexts: str,
    verify_ports: str,
    reset: bool,
    trust_system: bool = False,
    *,
    platform: str = "",
    platform_contexts: str = "",
    add_platform_roots: bool = False,
    fqdn: str = "",
) -> SavedDevice:
    """The device the fields describe, or InputError naming the field to fix."""
    address = address.strip()
    if not address:
        raise InputError("Enter the device's address (host name or IP, optionally :port).", "")
    host, port = parse_host_port(address)
    if not user.strip():
        raise InputError("Enter the user name of an Administrator account on the device.", "")
    ctx = _numbers(contexts, "TLS context", 0, 99) or (0,)
    ports = _numbers(verify_ports, "Port to verify", 1, 65535)
    platforms: tuple[tuple[int, str], ...] = ()
    if platform:
        on = _numbers(platform_contexts, "Platform context", 0, 99) or tuple(
            c
            for c in ctx
            if c != 0  # the SIP contexts; 0 is the web server's
        )
        stray = [c for c in on if c not in ctx]
        if not on or stray:
            raise InputError(
                "Name the TLS context(s) of the platform's SIP interface among the device's "
                f"contexts ({', '.join(map(str, ctx))}).",
                "",
            )
        platforms = tuple((c, platform) for c in on)
    fqdn = fqdn.strip().rstrip(".").lower()
    if fqdn:
        from app.names import dns_name_error

        problem = dns_name_error(fqdn)
        if problem:
            raise InputError(f"SIP FQDN: {problem}", "")
    return SavedDevice(
        host=host,
        port=port,
        user=user.strip(),
        contexts=ctx,
        verify_ports=ports,
        reset=reset,
        name=name.strip(),
        trust_system=trust_system,
        platforms=platforms,
        add_platform_roots=add_platform_roots and bool(platforms),
        fqdn=fqdn,
    )


REMEMBER_TEXT = "Re&member the password in the credential store"  # Alt+R: Read


class PasswordDialog(QDialog):
    """Deploying to a device whose password is not known: asked for there and then."""

    def __init__(self, device: SavedDevice, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("device-password")
        self.setWindowTitle("Device password")
        layout = QVBoxLayout(self)
        where = f"{device.name} ({device.host}:{device.port})" if device.name else device.key
        intro = QLabel(f"The password of the {device.user} account on {where}:")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        layout.addWidget(self.password)
        intro.setBuddy(self.password)
        # Never ticked for the user: a password is stored only when they ask for it.
        self.remember = QCheckBox(REMEMBER_TEXT)
        layout.addWidget(self.remember)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("&Deploy")
        ok.setEnabled(False)
        self.password.textChanged.connect(lambda text: ok.setEnabled(bool(text)))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.password.setFocus()


class DeviceDialog(QDialog):
    def __init__(
        self,
        device: SavedDevice | None,
        password: str,
        parent: QWidget | None = None,
        tasks: TaskRunner | None = None,
        remembered: bool = False,
    ) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.timing: Timing | None = None  # tests shorten the waits
        self.ask_trust: Callable[[TrustQuestion], bool] = lambda q: ask_trust_dialog(self, q)
        self.setWindowTitle("Edit device" if device else "Add a device")
        self.entry: DeviceEntry | None = None
        layout = QVBoxLayout(self)
        form = QFormLayout()
        d = device or SavedDevice(host="")
        self.address = QLineEdit(f"{d.host}:{d.port}" if d.host else "")
        self.address.setPlaceholderText("sbc1.example.com or 10.0.0.5:8443")
        self.name = QLineEdit(d.name)
        self.name.setPlaceholderText("optional, e.g. SBC London A")
        self.user = QLineEdit(d.user)
        self.password = QLineEdit(password)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember = QCheckBox(REMEMBER_TEXT)
        # Ticked only when the store already holds it: never stored without the user's tick.
        self.remember.setChecked(remembered)
        self.contexts = QLineEdit(", ".join(str(c) for c in d.contexts))
        self.ports = QLineEdit(", ".join(str(p) for p in d.verify_ports))
        self.ports.setPlaceholderText("e.g. 443, 5061 (empty: the HTTPS port for context 0)")
        self.reset = QCheckBox("Reset the device after saving (&graceful)")
        self.reset.setChecked(d.reset)
        self.trust_system = QCheckBox(
            "Its web certificate is from a public CA: verify it with the &Windows trust store"
        )
        self.trust_system.setToolTip(
            "Otherwise accert shows the device's certificate on first contact and pins it"
        )
        self.trust_system.setChecked(d.trust_system)
        form.addRow("&Address:", self.address)
        form.addRow("&Name:", self.name)
        form.addRow("&User:", self.user)
        form.addRow("&Password:", self.password)
        form.addRow("", self.remember)
        contexts_row = QHBoxLayout()
        contexts_row.addWidget(self.contexts, 1)
        self.read_button = QPushButton("&Read from the device")
        self.read_button.setAutoDefault(False)
        self.read_button.setToolTip("Lists the device's TLS contexts by name; changes nothing")
        self.read_button.clicked.connect(self.read_from_device)
        self.read_button.setEnabled(tasks is not None)
        contexts_row.addWidget(self.read_button)
        contexts_label = QLabel("TLS &context(s):")  # a label made by addRow has no buddy
        contexts_label.setBuddy(self.contexts)
        form.addRow(contexts_label, contexts_row)
        self.context_list = QListWidget()
        self.context_list.setMaximumHeight(90)
        self.context_list.hide()
        self.context_list.itemChanged.connect(self._ticked)
        form.addRow("", self.context_list)
        form.addRow("&Verify on ports:", self.ports)
        form.addRow("", self.reset)
        form.addRow("", self.trust_system)
        self._platform_rows(form, d)
        layout.addLayout(form)
        layout.addWidget(
            note(
                "Context 0 is the device's default (its web server); SIP-TLS trunks such as "
                "Teams Direct Routing usually have their own. The password stays in Windows "
                "Credential Manager, never in accert's files."
            )
        )
        self.message = Message(self)
        layout.addWidget(self.message)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        # The first thing to fill in: a known device opens on its empty password.
        first = self.address if not d.host else (self.password if not password else self.address)
        first.setFocus()

    def _platform_rows(self, form: QFormLayout, d: SavedDevice) -> None:
        """Which calling platform (Teams...) is behind which context: its roots and rules."""
        from app.platforms import all_platforms

        self.platform = QComboBox()
        self.platform.addItem("None", "")
        for p in all_platforms():
            self.platform.addItem(p.title, p.key)
        first = d.platforms[0][1] if d.platforms else ""
        self.platform.setCurrentIndex(max(self.platform.findData(first), 0))
        self.platform_contexts = QLineEdit(", ".join(str(c) for c, _ in d.platforms))
        self.platform_contexts.setPlaceholderText("all but 0")
        row = QHBoxLayout()
        row.addWidget(self.platform, 2)
        on = QLabel("on c&ontext(s):")
        on.setBuddy(self.platform_contexts)
        row.addWidget(on)
        row.addWidget(self.platform_contexts, 1)
        label = QLabel("Calling p&latform:")  # a row of several widgets needs its own buddy
        label.setBuddy(self.platform)
        form.addRow(label, row)
        self.add_roots = QCheckBox("A&dd the platform's missing trusted roots when deploying")
        self.add_roots.setToolTip(
            "Otherwise the deployment only checks them and says e.g. 'Teams roots 5/7'"
        )
        self.add_roots.setChecked(d.add_platform_roots)
        form.addRow("", self.add_roots)
        self.fqdn = QLineEdit(d.fqdn)
        self.fqdn.setPlaceholderText("the SBC's name for the platform, if not its address")
        form.addRow("SIP &FQDN:", self.fqdn)
        self.platform.currentIndexChanged.connect(lambda *_: self._platform_changed())
        self._platform_changed()

    def _platform_changed(self) -> None:
        chosen = bool(self.platform.currentData())
        for widget in (self.platform_contexts, self.add_roots, self.fqdn):
            widget.setEnabled(chosen)

    def event(self, event: QEvent) -> bool:
        # A message (an error, the contexts read) makes the dialog taller rather than
        # squeezing the fields above it.
        handled = super().event(event)
        if event.type() == QEvent.Type.LayoutRequest and self.isVisible():
            layout = self.layout()
            need = layout.totalHeightForWidth(self.width()) if layout is not None else -1
            need = max(need, self.minimumSizeHint().height())
            if need > self.height():
                self.resize(self.width(), need)
        return handled

    # --- the device's own list of contexts -----------------------------------------------

    def read_from_device(self, fingerprint: str | None = None) -> None:
        self.message.clear_message()
        try:
            device = device_from_fields(
                self.address.text(),
                self.user.text(),
                "",
                self.contexts.text(),
                "",
                False,
                self.trust_system.isChecked(),
            )
        except AccertError as exc:
            self.message.show_error(exc)
            return
        if not self.password.text():
            self.message.show_message("error", "Enter the password first.")
            return
        assert self.tasks is not None
        # A fingerprint here is the user's answer to the trust question (new or changed).
        target = device.target(
            self.password.text(), fingerprint=fingerprint, replace_fingerprint=bool(fingerprint)
        )
        self.read_button.setEnabled(False)
        self.message.show_message("info", f"Reading the TLS contexts of {target.label}…")
        self.tasks.run(
            f"Reading the TLS contexts of {target.label}",
            read_contexts,
            target,
            self.timing,
            on_done=self._show_contexts,
            on_error=lambda exc: self._read_failed(exc, target),
        )

    def _read_failed(self, exc: AccertError, target: Any) -> None:
        from app.mediant.errors import DeviceUntrusted

        self.read_button.setEnabled(True)
        if isinstance(exc, DeviceUntrusted):
            q = TrustQuestion(exc.host, exc.port, exc.subject, exc.fingerprint, exc.changed)
            if self.ask_trust(q):
                self.read_from_device(fingerprint=exc.fingerprint)
                return
            self.message.show_message("error", "Not trusted: nothing was read from the device.")
            return
        self.message.show_error(exc)

    def _show_contexts(self, rows: list[TlsContextRow]) -> None:
        self.read_button.setEnabled(True)
        self.message.clear_message()
        chosen = set(_numbers(self.contexts.text(), "TLS context", 0, 99))
        self.context_list.blockSignals(True)
        self.context_list.clear()
        for row in rows:
            item = QListWidgetItem(row.label() + (" — the web server's" if row.index == 0 else ""))
            item.setData(Qt.ItemDataRole.UserRole, row.index)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            checked = row.index in chosen
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            self.context_list.addItem(item)
        self.context_list.blockSignals(False)
        self.context_list.show()

    def _ticked(self, _item: QListWidgetItem) -> None:
        ticked = [
            str(self.context_list.item(i).data(Qt.ItemDataRole.UserRole))
            for i in range(self.context_list.count())
            if self.context_list.item(i).checkState() == Qt.CheckState.Checked
        ]
        self.contexts.setText(", ".join(ticked))

    def accept(self) -> None:
        try:
            device = device_from_fields(
                self.address.text(),
                self.user.text(),
                self.name.text(),
                self.contexts.text(),
                self.ports.text(),
                self.reset.isChecked(),
                self.trust_system.isChecked(),
                platform=str(self.platform.currentData() or ""),
                platform_contexts=self.platform_contexts.text(),
                add_platform_roots=self.add_roots.isChecked(),
                fqdn=self.fqdn.text(),
            )
        except AccertError as exc:
            self.message.show_error(exc)
            return
        self.entry = DeviceEntry(device, self.password.text(), self.remember.isChecked())
        super().accept()


def ask_device(
    parent: QWidget,
    device: SavedDevice | None,
    password: str,
    tasks: TaskRunner | None = None,
    remembered: bool = False,
) -> DeviceEntry | None:
    """The dialog, modal; with `tasks` its 'Read from the device' can list the contexts."""
    dialog = DeviceDialog(device, password, parent, tasks, remembered)
    # Not deleted here: a context read still running calls back into it when it ends.
    return dialog.entry if dialog.exec() == QDialog.DialogCode.Accepted else None
