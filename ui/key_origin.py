"""Where the private key is made: here (the default), or on one SBC where it never leaves.

Shown on the Names page; the Key and CSR page then either generates the key or asks the
chosen device for its CSR (app.mediant.glue.adopt_csr_from_device).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.errors import AccertError
from app.mediant.devices import (
    WHEN_TO_CHOOSE,
    SavedDevice,
    load_device_password,
    load_devices,
    remember_device,
)
from ui.base import note
from ui.device_dialog import DeviceEntry


@dataclass(frozen=True)
class DeviceKey:
    """The device that makes the key and CSR, in which TLS context; the password stays in memory."""

    device: SavedDevice
    context: int
    password: str = field(repr=False)


class KeyOriginBox(QWidget):
    def __init__(self, ask_device: Callable[[], DeviceEntry | None]) -> None:
        super().__init__()
        self.ask_device = ask_device
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.here = QRadioButton("Made &here by accert (encrypted in the renewal folder)")
        # Alt+B is Back.
        self.on_device = QRadioButton("Made by one SBC, and it never &leaves that device")
        self.here.setChecked(True)
        layout.addWidget(self.here)
        layout.addWidget(self.on_device)
        self.device_row = QWidget()
        row = QHBoxLayout(self.device_row)
        row.setContentsMargins(20, 0, 0, 0)
        self.device = QComboBox()
        self.device.setMinimumContentsLength(24)
        self.add = QPushButton("Add de&vice…")
        self.add.setAutoDefault(False)
        self.add.clicked.connect(self._add)
        context_label = QLabel("TLS conte&xt:")
        self.context = QSpinBox()
        self.context.setRange(0, 99)
        context_label.setBuddy(self.context)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("device password")
        row.addWidget(self.device, 1)
        row.addWidget(self.add)
        row.addWidget(context_label)
        row.addWidget(self.context)
        row.addWidget(self.password, 1)
        layout.addWidget(self.device_row)
        layout.addWidget(note(WHEN_TO_CHOOSE + " The device's CSR carries the CN only."))
        self.on_device.toggled.connect(self._toggled)
        self.device.currentIndexChanged.connect(self._device_changed)
        self._toggled(False)

    def load(self) -> None:
        self.device.clear()
        for d in load_devices():
            self.device.addItem(f"{d.name} ({d.host}:{d.port})" if d.name else d.key, d)

    def _toggled(self, on: bool) -> None:
        self.device_row.setVisible(on)
        if on and not self.device.count():
            self.load()

    def _device_changed(self) -> None:
        d = self.device.currentData()
        if isinstance(d, SavedDevice):
            self.context.setValue(d.contexts[0] if d.contexts else 0)
            if not self.password.text():
                with contextlib.suppress(AccertError):  # no credential store: the user types it
                    self.password.setText(load_device_password(d) or "")

    def _add(self) -> None:
        entry = self.ask_device()
        if entry is None:
            return
        remember_device(entry.device)
        self.load()
        for i in range(self.device.count()):
            if self.device.itemData(i) == entry.device:
                self.device.setCurrentIndex(i)
        if entry.password:
            self.password.setText(entry.password)

    def choice(self) -> DeviceKey | None:
        """None: the key is made here."""
        if not self.on_device.isChecked():
            return None
        d = self.device.currentData()
        if not isinstance(d, SavedDevice):
            return None
        return DeviceKey(d, self.context.value(), self.password.text())

    def problem(self) -> str:
        """Why Next must wait, in words; empty when the choice is complete."""
        if not self.on_device.isChecked():
            return ""
        if not isinstance(self.device.currentData(), SavedDevice):
            return "Choose the SBC that makes the key (Add device… if it is not listed)."
        if not self.password.text():
            return "Enter the SBC's password: accert asks it for its CSR."
        return ""
