"""Add or edit one SBC/gateway: address, account, TLS contexts, ports to verify, reset."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.errors import AccertError, InputError
from app.mediant.devices import SavedDevice, parse_host_port
from ui.base import note
from ui.feedback import Message


@dataclass(frozen=True)
class DeviceEntry:
    """What the dialog gives back: the device (saved, no password) and its password."""

    device: SavedDevice
    password: str
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
    address: str, user: str, name: str, contexts: str, verify_ports: str, reset: bool
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
    return SavedDevice(
        host=host,
        port=port,
        user=user.strip(),
        contexts=ctx,
        verify_ports=ports,
        reset=reset,
        name=name.strip(),
    )


class DeviceDialog(QDialog):
    def __init__(
        self, device: SavedDevice | None, password: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
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
        self.remember = QCheckBox("&Remember the password in the credential store")
        self.remember.setChecked(bool(password))
        self.contexts = QLineEdit(", ".join(str(c) for c in d.contexts))
        self.ports = QLineEdit(", ".join(str(p) for p in d.verify_ports))
        self.ports.setPlaceholderText("e.g. 443, 5061 (empty: the HTTPS port for context 0)")
        self.reset = QCheckBox("Reset the device after saving (&graceful)")
        self.reset.setChecked(d.reset)
        form.addRow("&Address:", self.address)
        form.addRow("&Name:", self.name)
        form.addRow("&User:", self.user)
        form.addRow("&Password:", self.password)
        form.addRow("", self.remember)
        form.addRow("TLS &context(s):", self.contexts)
        form.addRow("&Verify on ports:", self.ports)
        form.addRow("", self.reset)
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

    def accept(self) -> None:
        try:
            device = device_from_fields(
                self.address.text(),
                self.user.text(),
                self.name.text(),
                self.contexts.text(),
                self.ports.text(),
                self.reset.isChecked(),
            )
        except AccertError as exc:
            self.message.show_error(exc)
            return
        self.entry = DeviceEntry(device, self.password.text(), self.remember.isChecked())
        super().accept()


def ask_device(parent: QWidget, device: SavedDevice | None, password: str) -> DeviceEntry | None:
    dialog = DeviceDialog(device, password, parent)
    return dialog.entry if dialog.exec() == QDialog.DialogCode.Accepted else None
