"""'Get it from the CA now (ACME)': the CA, EAB, the DNS method, then each step as it happens.

The order runs on the task runner (app.acme.issue.issue); the dialog only collects the settings
and shows progress. Cancel stops at the next step boundary or DNS check, after removing the
TXT records already published; nothing is imported unless the CA issued and the import checks
passed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.acme import account
from app.acme.dns import TxtRecord
from app.acme.errors import AcmeCancelled
from app.acme.presets import PRESETS, by_directory
from app.acme.settings import TSIG_ALGORITHMS, AcmeSettings, last_used, remember
from app.errors import AccertError
from app.peer_text import peer_line
from app.response_check import ImportOutcome
from app.workspace import Workspace
from ui.base import mono_font, note
from ui.file_dialogs import open_file
from ui.message import Message
from ui.tasks import Task, TaskRunner, on_gui

OTHER = "Other ACME CA (enter its directory URL)"


class AcmeDialog(QDialog):
    """Collects AcmeSettings, runs the order, reports the outcome through `on_issued`."""

    def __init__(
        self,
        ws: Workspace,
        tasks: TaskRunner,
        on_issued: Callable[[ImportOutcome, AcmeSettings], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ws, self.tasks, self.on_issued = ws, tasks, on_issued
        self.task: Task | None = None
        self.stop = threading.Event()
        # The questions; tests replace them (modal dialogs would block them).
        self.choose_key_file: Callable[[], Path | None] = self._choose_key_file
        self.choose_key: Callable[[Path, list[str]], str | None] = self._choose_key
        self.setWindowTitle("Get the certificate from the CA (ACME)")
        layout = QVBoxLayout(self)
        names = ", ".join(ws.state.request.all_sans())
        layout.addWidget(note(f"The CA is asked for a certificate for {names}, for this CSR."))

        form = QFormLayout()
        self.ca = QComboBox()
        for preset in PRESETS:
            self.ca.addItem(preset.name, preset.directory)
        self.ca.addItem(OTHER, "")
        self.ca.currentIndexChanged.connect(self._preset_chosen)
        form.addRow("&CA:", self.ca)
        self.directory = QLineEdit()
        self.directory.setPlaceholderText("https://…/directory")
        form.addRow("&Directory URL:", self.directory)
        self.eab_kid = QLineEdit()
        self.eab_kid.setPlaceholderText("from the CA's portal (ACME / EAB credentials)")
        form.addRow("EAB &key id:", self.eab_kid)
        self.eab_hmac = QLineEdit()
        self.eab_hmac.setEchoMode(QLineEdit.EchoMode.Password)
        self.eab_hmac.setPlaceholderText("needed once per key id; kept in the credential store")
        form.addRow("EAB &HMAC key:", self.eab_hmac)
        self.email = QLineEdit()
        self.email.setPlaceholderText("optional: the CA's expiry and policy notices")
        form.addRow("&E-mail:", self.email)
        layout.addLayout(form)

        dns_box = QGroupBox("How the TXT records get into DNS")
        dns = QGridLayout(dns_box)
        self.use_hook = QRadioButton("A &script creates them (hook)")
        self.use_manual = QRadioButton("I create them &myself; accert shows them and waits")
        self.use_rfc2136 = QRadioButton(
            "&accert sends them to the DNS server (RFC 2136 dynamic update, signed with TSIG)"
        )
        group = QButtonGroup(self)
        group.addButton(self.use_hook)
        group.addButton(self.use_manual)
        group.addButton(self.use_rfc2136)
        self.hook = QLineEdit()
        self.hook.setPlaceholderText(
            r"e.g. C:\scripts\dns-txt.ps1 (called: present|cleanup FQDN. VALUE)"
        )
        self.browse_hook = QPushButton("Bro&wse…")
        self.browse_hook.setAutoDefault(False)
        self.browse_hook.clicked.connect(self._browse_hook)
        dns.addWidget(self.use_hook, 0, 0, 1, 2)
        dns.addWidget(self.hook, 1, 0)
        dns.addWidget(self.browse_hook, 1, 1)
        dns.addWidget(self.use_manual, 2, 0, 1, 2)
        dns.addWidget(self.use_rfc2136, 3, 0, 1, 2)
        self.rfc2136 = self._rfc2136_fields()
        dns.addWidget(self.rfc2136, 4, 0, 1, 2)
        self.resolvers = QLineEdit()
        self.resolvers.setPlaceholderText(
            "optional: 10.0.0.53, … (default: the zone's name servers)"
        )
        self.timeout = QSpinBox()
        self.timeout.setRange(10, 86400)
        self.timeout.setSuffix(" s")
        extra = QFormLayout()
        extra.addRow("Check a&t DNS servers:", self.resolvers)
        extra.addRow("Wait &up to:", self.timeout)
        dns.addLayout(extra, 5, 0, 1, 2)
        layout.addWidget(dns_box)
        self.use_hook.toggled.connect(self._method_changed)
        self.use_rfc2136.toggled.connect(self._method_changed)

        advanced = QFormLayout()
        self.ca_bundle = QLineEdit()
        self.ca_bundle.setPlaceholderText("private ACME CA only: PEM root for its HTTPS")
        self.preferred_chain = QLineEdit()
        self.preferred_chain.setPlaceholderText("optional: issuer CN of the chain to prefer")
        self.browse_bundle = QPushButton("Br&owse…")
        self.browse_bundle.setAutoDefault(False)
        self.browse_bundle.clicked.connect(self._browse_ca_bundle)
        bundle_row = QHBoxLayout()
        bundle_row.addWidget(self.ca_bundle, 1)
        bundle_row.addWidget(self.browse_bundle)
        bundle_label = QLabel("CA HTTPS &root:")
        bundle_label.setBuddy(self.ca_bundle)
        advanced.addRow(bundle_label, bundle_row)
        advanced.addRow("&Preferred chain:", self.preferred_chain)
        layout.addLayout(advanced)

        self.records = QWidget()
        self.records_grid = QGridLayout(self.records)
        self.records_grid.setColumnStretch(0, 2)
        self.records_grid.setColumnStretch(2, 3)  # the value is the long one
        self.records.hide()
        layout.addWidget(self.records)
        self.steps = QListWidget()
        self.steps.setMinimumHeight(120)
        self.steps.hide()
        layout.addWidget(self.steps, 1)
        self.message = Message(self)
        layout.addWidget(self.message)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.start = QPushButton("&Get the certificate")
        self.start.setDefault(True)
        self.start.clicked.connect(self.begin)
        self.cancel = QPushButton("Cancel")
        self.cancel.setAutoDefault(False)
        self.cancel.clicked.connect(self.reject)
        buttons.addWidget(self.start)
        buttons.addWidget(self.cancel)
        layout.addLayout(buttons)
        self._fill(self._initial())

    def _rfc2136_fields(self) -> QWidget:
        """Server, zone and the TSIG key the DNS administrator set up; the secret goes to the
        credential store, never into the settings."""
        self.tsig_key_file = ""  # a key file `accert acme` recorded, kept while no name is typed
        self._store_checked = False
        box = QWidget()
        form = QFormLayout(box)
        form.setContentsMargins(24, 0, 0, 0)
        self.rfc2136_server = QLineEdit()
        self.rfc2136_server.setPlaceholderText(
            "the zone's primary: ns1.example.com or 10.0.0.53:53"
        )
        self.rfc2136_zone = QLineEdit()
        self.rfc2136_zone.setPlaceholderText("optional: found from the server's answer")
        self.tsig_name = QLineEdit()
        self.tsig_name.setPlaceholderText('as in the key file: key "acme-update" { … };')
        self.tsig_algorithm = QComboBox()
        self.tsig_algorithm.addItems(TSIG_ALGORITHMS)
        self.tsig_secret = QLineEdit()
        self.tsig_secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.tsig_secret.setPlaceholderText(
            "base64; needed once per key, kept in the credential store"
        )
        self.from_key_file = QPushButton("From a key &file…")
        self.from_key_file.setAutoDefault(False)
        self.from_key_file.clicked.connect(self._read_key_file)
        secret_row = QHBoxLayout()
        secret_row.addWidget(self.tsig_secret, 1)
        secret_row.addWidget(self.from_key_file)
        form.addRow("Ser&ver:", self.rfc2136_server)
        form.addRow("&Zone:", self.rfc2136_zone)
        form.addRow("TSIG key &name:", self.tsig_name)
        form.addRow("A&lgorithm:", self.tsig_algorithm)
        secret_label = QLabel("TSIG secret (&base64):")
        secret_label.setBuddy(self.tsig_secret)
        form.addRow(secret_label, secret_row)
        self.no_store = note(
            "This computer has no credential store: the secret serves this order only,\n"
            "and accert renew cannot update the DNS by itself."
        )
        self.no_store.setWordWrap(False)  # two set lines: a wrapped label here gets one line's room
        self.no_store.hide()
        form.addRow(self.no_store)
        return box

    def _choose_key_file(self) -> Path | None:
        return open_file(
            self, "acme-tsig-key", "TSIG key file", "Key files (*.key *.conf);;All files (*)"
        )

    def _choose_key(self, path: Path, names: list[str]) -> str | None:
        """A file with several keys (ddns-confgen's, or a server's whole list): which one."""
        from PySide6.QtWidgets import QInputDialog

        shown = [peer_line(n) for n in names]
        item, ok = QInputDialog.getItem(
            self,
            "Which TSIG key?",
            f"{path.name} holds {len(names)} keys. Choose the one the DNS server allows to "
            "update the zone:",
            shown,
            0,
            False,
        )
        return names[shown.index(item)] if ok and item in shown else None

    def _read_key_file(self) -> None:
        """A BIND key file (tsig-keygen's output) fills the key's name, algorithm and secret."""
        path = self.choose_key_file()
        if path is None:
            return
        import base64

        from app.acme.dns.rfc2136 import key_names, read_key_file

        try:
            names = key_names(path)
            chosen = names[0] if len(names) == 1 else self.choose_key(path, names)
            if chosen is None:
                return
            name, algorithm, secret = read_key_file(path, chosen)
        except AccertError as exc:
            self.message.show_error(exc)
            return
        self.message.clear_message()
        self.tsig_name.setText(name.to_text(omit_final_dot=True))
        index = self.tsig_algorithm.findText(algorithm.rstrip(".").lower())
        self.tsig_algorithm.setCurrentIndex(max(index, 0))
        self.tsig_secret.setText(base64.b64encode(secret).decode("ascii"))

    # --- the settings ---------------------------------------------------------------------

    def _initial(self) -> AcmeSettings | None:
        recorded = self.ws.state.acme.get("settings")
        if recorded:
            try:
                return AcmeSettings.from_dict(recorded)
            except (AccertError, TypeError, ValueError):
                pass
        return last_used()

    def _fill(self, s: AcmeSettings | None) -> None:
        if s is None:
            self.ca.setCurrentIndex(0)
            self._preset_chosen()
            self.use_manual.setChecked(True)
            self.timeout.setValue(1800)
            self._method_changed()
            return
        preset = by_directory(s.directory)
        self.ca.setCurrentIndex(PRESETS.index(preset) if preset else len(PRESETS))
        self.directory.setText(s.directory)
        self.eab_kid.setText(s.eab_kid)
        self.email.setText(s.email)
        self.hook.setText(s.dns_hook)
        method = {"hook": self.use_hook, "rfc2136": self.use_rfc2136}.get(s.dns_method)
        (method or self.use_manual).setChecked(True)
        self.rfc2136_server.setText(s.rfc2136_server)
        self.rfc2136_zone.setText(s.rfc2136_zone)
        self.tsig_name.setText(s.tsig_key_name)
        index = self.tsig_algorithm.findText(s.tsig_algorithm)
        self.tsig_algorithm.setCurrentIndex(max(index, 0))
        self.tsig_key_file = s.tsig_key_file
        self.resolvers.setText(", ".join(s.resolvers))
        self.timeout.setValue(int(s.propagation_timeout))
        self.ca_bundle.setText(s.ca_bundle)
        self.preferred_chain.setText(s.preferred_chain)
        self._method_changed()

    def _preset_chosen(self) -> None:
        url = self.ca.currentData()
        self.directory.setReadOnly(bool(url))
        if url:
            self.directory.setText(url)
        elif by_directory(self.directory.text()):
            self.directory.clear()
        preset = by_directory(url) if url else None
        needs = preset is None or preset.eab
        self.eab_kid.setEnabled(needs)
        self.eab_hmac.setEnabled(needs)

    def _method_changed(self) -> None:
        self.hook.setEnabled(self.use_hook.isChecked())
        self.browse_hook.setEnabled(self.use_hook.isChecked())
        self.rfc2136.setEnabled(self.use_rfc2136.isChecked())
        if self.use_rfc2136.isChecked() and not self._store_checked:
            self._store_checked = True  # asked once, when the method is chosen
            from app.passwords import keyring_available

            self.no_store.setVisible(not keyring_available())

    def _browse_hook(self) -> None:
        path = open_file(
            self,
            "acme-hook",
            "DNS hook script",
            "Scripts (*.ps1 *.cmd *.bat *.exe *.py);;All files (*)",
        )
        if path:
            name = str(path)
            self.hook.setText(f'"{name}"' if " " in name else name)

    def _browse_ca_bundle(self) -> None:
        path = open_file(
            self,
            "acme-ca-bundle",
            "The root certificate of the ACME CA's HTTPS (PEM)",
            "Certificates (*.pem *.crt *.cer);;All files (*)",
        )
        if path:
            self.ca_bundle.setText(str(path))

    def settings(self) -> AcmeSettings:
        """The form as AcmeSettings; an InputError names the field to fix."""
        resolvers = tuple(r.strip() for r in self.resolvers.text().split(",") if r.strip())
        rfc2136 = self.use_rfc2136.isChecked()
        key_name = self.tsig_name.text().strip() if rfc2136 else ""
        return AcmeSettings(
            directory=self.directory.text().strip(),
            eab_kid=self.eab_kid.text().strip() if self.eab_kid.isEnabled() else "",
            email=self.email.text().strip(),
            dns_method="hook" if self.use_hook.isChecked() else "rfc2136" if rfc2136 else "manual",
            dns_hook=self.hook.text().strip() if self.use_hook.isChecked() else "",
            rfc2136_server=self.rfc2136_server.text().strip() if rfc2136 else "",
            rfc2136_zone=self.rfc2136_zone.text().strip() if rfc2136 else "",
            tsig_key_name=key_name,
            tsig_algorithm=self.tsig_algorithm.currentText() if key_name else "",
            tsig_key_file=self.tsig_key_file if rfc2136 and not key_name else "",
            resolvers=resolvers,
            propagation_timeout=float(self.timeout.value()),
            ca_bundle=self.ca_bundle.text().strip(),
            preferred_chain=self.preferred_chain.text().strip(),
        )

    # --- running ----------------------------------------------------------------------------

    def begin(self) -> None:
        self.message.clear_message()
        try:
            settings = self.settings()
            if settings.ca_bundle and not Path(settings.ca_bundle).is_file():
                from app.errors import InputError

                raise InputError(
                    f"The CA HTTPS root file {settings.ca_bundle} does not exist.",
                    "Pick the PEM file, or leave the field empty for a public CA.",
                )
        except AccertError as exc:
            self.message.show_error(exc)
            return
        hmac = self.eab_hmac.text().strip() or None
        if settings.eab_kid and not hmac:
            hmac = account.remembered_hmac(settings.directory, settings.eab_kid)
        # None: the engine takes the one the credential store keeps for this server and key.
        tsig = (self.tsig_secret.text().strip() or None) if settings.tsig_key_name else None
        if settings.tsig_key_name and tsig is None:
            from app.acme.dns.rfc2136 import remembered_secret

            if remembered_secret(settings.rfc2136_server, settings.tsig_key_name) is None:
                self.message.show_message(
                    "error",
                    f"Enter the secret of TSIG key {settings.tsig_key_name}: the credential "
                    "store has none for this server and key.\nThe DNS administrator has it (the "
                    'text between the quotes after secret "..." in the key file).',
                )
                self.tsig_secret.setFocus()
                return
        self.stop.clear()
        self._running(True)
        self.steps.clear()
        self.records.hide()

        show_records = on_gui(self._show_records)  # the manual DNS records, from the worker

        def work(progress: Callable[[str], None]) -> ImportOutcome:
            from app.acme.issue import issue

            outcome = issue(
                self.ws,
                settings,
                eab_hmac=hmac,
                tsig_secret=tsig,
                progress=progress,
                cancelled=self.stop.is_set,
                show_records=show_records,
            )
            if hmac and settings.eab_kid:
                account.remember_hmac(settings.directory, settings.eab_kid, hmac)
            if tsig:
                from app.acme.dns.rfc2136 import remember_secret

                remember_secret(settings.rfc2136_server, settings.tsig_key_name, tsig)
            remember(settings)
            return outcome

        self.task = self.tasks.run(
            "Getting the certificate from the CA",
            work,
            progress=True,
            on_progress=self._step,
            on_done=lambda outcome: self._done(outcome, settings),
            on_error=self._failed,
        )

    def _running(self, running: bool) -> None:
        for widget in (self.start, self.ca, self.directory, self.eab_kid, self.eab_hmac):
            widget.setEnabled(not running)
        if not running:
            self._preset_chosen()
        self.steps.show()
        self.cancel.setText("&Stop" if running else "Cancel")

    def running(self) -> bool:
        return self.task is not None and self.task.running

    def _step(self, text: str) -> None:
        # "Waiting for TXT …: visible at 1 of 2 name servers" is one live line, not a list.
        last = self.steps.item(self.steps.count() - 1)
        if (
            last is not None
            and last.text().startswith("Waiting for TXT")
            and text.startswith("Waiting for TXT")
        ):
            last.setText(text)
        else:
            self.steps.addItem(text)
        self.steps.scrollToBottom()

    def _show_records(self, records: list[TxtRecord]) -> None:
        while self.records_grid.count():
            item = self.records_grid.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()  # type: ignore[union-attr]
        title = QLabel("Create these TXT records in your DNS (a name may need both values):")
        title.setWordWrap(True)
        self.records_grid.addWidget(title, 0, 0, 1, 4)
        for row, record in enumerate(records, start=1):
            name = QLineEdit(record.name)
            value = QLineEdit(record.value)
            for field in (name, value):
                field.setReadOnly(True)
                field.setFont(mono_font())
            self.records_grid.addWidget(name, row, 0)
            self.records_grid.addWidget(self._copy(record.name, f"Copy name {row}"), row, 1)
            self.records_grid.addWidget(value, row, 2)
            self.records_grid.addWidget(self._copy(record.value, f"Copy value {row}"), row, 3)
        self.records.show()

    @staticmethod
    def _copy(text: str, name: str) -> QPushButton:
        button = QPushButton("Copy")
        button.setObjectName(name)
        button.setAutoDefault(False)
        button.clicked.connect(lambda: QGuiApplication.clipboard().setText(text))
        return button

    def _done(self, outcome: ImportOutcome, settings: AcmeSettings) -> None:
        self.task = None
        self._running(False)
        self.on_issued(outcome, settings)
        self.accept()

    def _failed(self, exc: AccertError) -> None:
        self.task = None
        self._running(False)
        if isinstance(exc, AcmeCancelled):
            self.message.show_message("info", f"{exc.message}\n{exc.hint}".strip())
            return
        self.message.show_error(exc)

    def reject(self) -> None:
        if self.running():
            self.stop.set()  # the order stops at its next check; _failed then says so
            self.steps.addItem("Stopping…")
            return
        super().reject()

    def closeEvent(self, event: object) -> None:
        if self.running():
            self.stop.set()
            event.ignore()  # type: ignore[attr-defined]
            return
        super().closeEvent(event)  # type: ignore[arg-type]
