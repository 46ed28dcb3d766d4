"""First contact with several devices at once: one list of certificates to compare and tick."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.base import note

if TYPE_CHECKING:
    from ui.sbc_panel import Unknown


class TrustListDialog(QDialog):
    def __init__(self, unknowns: list[Unknown], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.unknowns = unknowns
        self.setWindowTitle("Trust these devices?")
        self.resize(900, 300)
        layout = QVBoxLayout(self)
        layout.addWidget(
            note(
                f"{len(unknowns)} devices present certificates accert does not know yet. Compare "
                "each fingerprint with the one the device's web page shows (or its administrator "
                "gives you), tick the ones that match, and only those are deployed to; their "
                "certificates are then trusted for them from now on."
            )
        )
        self.table = QTableWidget(len(unknowns), 3)
        self.table.setHorizontalHeaderLabels(["Device", "Subject", "SHA-256 fingerprint"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        changed = [u for u in unknowns if u.changed]
        if changed:
            warning = note(
                f"WARNING: {len(changed)} of them present ANOTHER certificate than the one "
                "trusted before (marked CHANGED). If nobody replaced it on purpose, someone may "
                "be intercepting the connection: leave it unticked and nothing is sent to it."
            )
            warning.setStyleSheet("color: #b3261e; font-weight: bold")
            layout.addWidget(warning)
        for r, u in enumerate(unknowns):
            name = u.device.name or f"{u.device.host}:{u.device.port}"
            first = QTableWidgetItem(f"{name} — CHANGED" if u.changed else name)
            if u.changed:
                first.setForeground(QBrush(QColor("#b3261e")))
            first.setFlags(first.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            first.setCheckState(Qt.CheckState.Unchecked)  # compared, then ticked: never by default
            self.table.setItem(r, 0, first)
            self.table.setItem(r, 1, QTableWidgetItem(u.subject))
            self.table.setItem(r, 2, QTableWidgetItem(u.fingerprint))
        layout.addWidget(self.table, 1)
        # Wide enough for whole fingerprints: they are compared digit by digit.
        self.table.resizeColumnsToContents()
        header.setStretchLastSection(True)
        self.resize(max(900, header.length() + 60), 300)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        if ok is not None:
            ok.setText("&Trust the ticked devices")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def tick(self, row: int, on: bool = True) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def chosen(self) -> list[Unknown]:
        out = []
        for r, u in enumerate(self.unknowns):
            item = self.table.item(r, 0)
            if item is not None and item.checkState() == Qt.CheckState.Checked:
                out.append(u)
        return out
