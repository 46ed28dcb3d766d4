"""Key and CSR: made in the background, then shown with Copy, Save and what to do next."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app import key_passphrase, onedrive, passwords
from app.atomic import atomic_write, unprotected_notice
from app.csr import CsrSummary
from app.errors import AccertError, InputError
from app.flow import Page
from app.redact import register_secret
from app.workspace import Stage
from ui.base import BasePage, mono_font, note
from ui.device_dialog import TrustQuestion, ask_trust_dialog
from ui.message import Message
from ui.tasks import Task


def passphrase_needed() -> bool:
    """No credential store and no passphrase given: the GUI asks (a terminal prompt would hang)."""
    return not passwords.keyring_available() and not os.environ.get(key_passphrase.ENV_VAR)


class CsrPage(BasePage):
    page_id = Page.CSR

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary: CsrSummary | None = None
        self.task: Task | None = None
        self.ask_trust: Callable[[TrustQuestion], bool] = lambda q: ask_trust_dialog(self, q)
        layout = QVBoxLayout(self)

        # Only without a credential store (Linux without a keyring): the key's passphrase.
        self.pass_box = QWidget()
        pass_form = QFormLayout(self.pass_box)
        pass_form.setContentsMargins(0, 0, 0, 0)
        self.pass1 = QLineEdit()
        self.pass1.setEchoMode(QLineEdit.EchoMode.Password)
        self.pass2 = QLineEdit()
        self.pass2.setEchoMode(QLineEdit.EchoMode.Password)
        pass_form.addRow(
            note(
                "This computer has no credential store to keep the key's passphrase. Choose "
                f"one ({key_passphrase.MIN_LENGTH}+ characters); you will need it to resume."
            )
        )
        pass_form.addRow("&Passphrase:", self.pass1)
        pass_form.addRow("&Again:", self.pass2)
        self.make = QPushButton("&Generate key and CSR")
        self.make.clicked.connect(self.generate)
        make_row = QHBoxLayout()  # a button of its own size, not a bar across the page
        make_row.addWidget(self.make)
        make_row.addStretch(1)
        pass_form.addRow("", make_row)
        layout.addWidget(self.pass_box)

        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # an indicator that moves while the worker runs
        self.busy.setTextVisible(False)
        self.status = QLabel()
        self.status.setObjectName("status")
        layout.addWidget(self.status)
        layout.addWidget(self.busy)

        self.result = QWidget()
        r = QVBoxLayout(self.result)
        r.setContentsMargins(0, 0, 0, 0)
        self.next_steps = Message()
        r.addWidget(self.next_steps)
        self.fields = QFormLayout()
        self.f_subject = self._value()
        self.f_names = self._value()
        self.f_key = self._value()
        self.f_fp = self._value()
        for text, value in (
            ("Subject:", self.f_subject),
            ("Names (SAN):", self.f_names),
            ("Key, signature:", self.f_key),
            ("Key SHA-256:", self.f_fp),
        ):
            label = QLabel(text)
            # Beside the first line of its value: the subject may wrap, the SHA-256 has two.
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            self.fields.addRow(label, value)
        r.addLayout(self.fields)
        self.pem = QPlainTextEdit()
        self.pem.setReadOnly(True)
        self.pem.setObjectName("mono")
        self.pem.setFont(mono_font())
        self.pem.setMinimumHeight(140)
        r.addWidget(self.pem, 1)
        buttons = QHBoxLayout()
        self.copy = QPushButton("&Copy CSR")
        self.copy.clicked.connect(self.copy_csr)
        self.save = QPushButton("&Save CSR as…")
        self.save.clicked.connect(self._save_dialog)
        buttons.addWidget(self.copy)
        buttons.addWidget(self.save)
        buttons.addStretch(1)
        r.addLayout(buttons)
        self.where = note("")
        r.addWidget(self.where)
        # The result takes the height; otherwise (busy, error) the trailing stretch does, so
        # the status and its progress bar stay together at the top.
        layout.addWidget(self.result, 100)

        self.retry = QPushButton("&Try again")
        self.retry.clicked.connect(self.generate)
        layout.addWidget(self.message)
        retry_row = QHBoxLayout()
        retry_row.addWidget(self.retry)
        retry_row.addStretch(1)
        layout.addLayout(retry_row)
        layout.addStretch(1)
        self._show_state("idle")

    @staticmethod
    def _value() -> QLabel:
        label = QLabel()
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label

    def _show_state(self, state: str) -> None:
        self.pass_box.setVisible(state == "passphrase")
        self.busy.setVisible(state == "busy")
        self.status.setVisible(state == "busy")
        self.result.setVisible(state == "done")
        self.retry.setVisible(state == "error")

    def initializePage(self) -> None:
        self.message.clear_message()
        ws = self.session.require()
        if ws.state.stage.at_least(Stage.REQUESTED):
            self.show_csr(ws.csr_summary())
        elif self.session.device_key is not None:
            self.generate()  # the device makes the key: no passphrase here
        elif passphrase_needed():
            self._show_state("passphrase")
            self.pass1.setFocus()
        else:
            self.generate()

    def generate(self) -> None:
        if self.session.device_key is not None:
            self.ask_device_for_csr()
            return
        if self.pass_box.isVisible() and not self._take_passphrase():
            return
        ws = self.session.require()
        self.message.clear_message()
        self.summary = None
        self._show_state("busy")
        self.status.setText(f"Generating the {ws.state.request.key_type.label} key…")
        self.task = self.run(
            "Generating the key and CSR",
            ws.generate,
            progress=True,
            on_progress=self.status.setText,
            on_done=self.show_csr,
            on_error=self._failed,
        )
        self.completeChanged.emit()

    # --- a key that never leaves the device ----------------------------------------------

    def ask_device_for_csr(self, fingerprint: str | None = None) -> None:
        from app.mediant.glue import adopt_csr_from_device

        choice = self.session.device_key
        assert choice is not None
        ws = self.session.require()
        target = choice.device.target(choice.password, fingerprint=fingerprint)
        self.message.clear_message()
        self._show_state("busy")
        self.status.setText(
            f"Asking {target.label} to make a key and CSR in TLS context {choice.context}…"
        )
        self.task = self.run(
            f"Asking {target.label} for its CSR",
            adopt_csr_from_device,
            ws,
            target,
            choice.context,
            on_done=self._device_csr_done,
            on_error=self._device_csr_failed,
        )
        self.completeChanged.emit()

    def _device_csr_done(self, result: tuple[CsrSummary, Any]) -> None:
        summary, device_csr = result
        choice = self.session.device_key
        self.show_csr(summary)
        where = f"{choice.device.host}:{choice.device.port}" if choice else "the device"
        context = choice.context if choice else 0
        lines = [
            f"The key stays on {where} (TLS context {context}): deploy this certificate to that "
            "device and context only, and do not request another CSR there meanwhile."
        ]
        lines += list(device_csr.warnings)
        self.message.show_message("warning", "\n".join(lines))

    def _device_csr_failed(self, exc: AccertError) -> None:
        from app.mediant.errors import DeviceUntrusted

        if isinstance(exc, DeviceUntrusted):
            q = TrustQuestion(exc.host, exc.port, exc.subject, exc.fingerprint, exc.changed)
            if self.ask_trust(q):
                self.ask_device_for_csr(fingerprint=exc.fingerprint)
                return
        self._failed(exc)

    def _take_passphrase(self) -> bool:
        one, two = self.pass1.text(), self.pass2.text()
        if len(one) < key_passphrase.MIN_LENGTH:
            self.message.show_error(
                InputError(
                    f"The passphrase is shorter than {key_passphrase.MIN_LENGTH} characters.",
                    "A few words make a long passphrase that is easy to type.",
                )
            )
            return False
        if one != two:
            self.message.show_error(InputError("The two passphrases differ.", "Type it again."))
            return False
        register_secret(one)
        os.environ[key_passphrase.ENV_VAR] = one  # read by the engine for this renewal's key
        return True

    def _failed(self, exc: AccertError) -> None:
        self._show_state("error")
        self.show_error(exc)

    def show_csr(self, summary: CsrSummary) -> None:
        ws = self.session.require()
        self.summary = summary
        # ", " between the parts (not a "\," inside one) lets a narrow window wrap the line.
        self.f_subject.setText(re.sub(r"(?<!\\),", ", ", summary.subject))
        self.f_names.setText(", ".join(summary.sans))
        self.f_key.setText(f"{summary.key}, {summary.signature}")
        # 32 bytes in two lines of 16: one unbreakable line was cut off in a narrow window.
        pairs = summary.public_key_sha256.split(":")
        self.f_fp.setText(":".join(pairs[:16]) + "\n" + ":".join(pairs[16:]))
        self.pem.setPlainText(ws.csr_pem.decode("ascii"))
        self.next_steps.show_message(
            "ok",
            "Your CSR is ready. Copy it (or save it) and paste it into your CA's order form. "
            "When the CA sends the certificate, click Next, or close accert and come back later: "
            "this renewal is saved and waits for you under Continue a renewal.",
        )
        # Said once here: OneDrive syncs the folder, or its drive cannot make files private.
        notes = [n for n in (onedrive.notice_once(ws.path), unprotected_notice(ws.path)) if n]
        self.where.setText("\n\n".join([f"Renewal folder: {ws.path}", *notes]))
        self._show_state("done")
        self.completeChanged.emit()

    def copy_csr(self) -> None:
        QGuiApplication.clipboard().setText(self.pem.toPlainText())
        self.message.show_message("ok", "The CSR is on the clipboard.")

    def _save_dialog(self) -> None:
        from ui.file_dialogs import save_file

        ws = self.session.require()
        path = save_file(
            self,
            "csr",
            "Save the CSR",
            f"{ws.stem}.csr",
            "Certificate request (*.csr);;All files (*)",
            default=ws.path,  # never chosen yet: the renewal folder, where its other files are
        )
        if path is not None:
            self.save_to(path)

    def save_to(self, path: Path) -> None:
        ws = self.session.require()
        try:
            atomic_write(path, ws.csr_pem, secret=False)
        except AccertError as exc:  # atomic_write says why (locked, read-only...) and the fix
            self.message.show_message("error", f"{exc.message}\n{exc.hint}".strip())
            return
        ws.log("csr-saved", file=str(path))
        self.message.show_message("ok", f"Saved {path}.")

    def isComplete(self) -> bool:
        return self.summary is not None

    def unsaved(self) -> str | None:
        if self.task is not None and self.task.running:
            return (
                "The key is still being generated (it is finished and saved before accert exits)."
            )
        return None
