"""The estate dashboard: every SBC and OVOC port, what it serves, and when that expires.

The scan is app.estate's (parallel, bounded, never hangs on a silent port); this window runs it
off the GUI thread, fills the table as rows come, colours them by urgency, draws the expiry
timeline, exports CSV/HTML, and hands the chosen targets to the wizard ("Renew these").
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPaintEvent
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import renewal_lookup
from app.checks import EXPIRY_WARNING_DAYS
from app.errors import AccertError, InputError
from app.estate import inventory as inv
from app.estate.inventory import Inventory, Kind, Target
from app.estate.report import COLOURS, timeline_svg, write_csv, write_html
from app.estate.scan import Match, Renewal, ScanRow, renew_these, renewal_from_workspace, scan
from app.workspace import Stage
from ui.base import note
from ui.message import Message
from ui.tasks import TaskRunner, on_gui

if TYPE_CHECKING:
    from cryptography import x509

    from ui.wizard import RenewalWizard

# Most telling first: at 100 % on a laptop the right-hand columns may need a scroll.
COLUMNS = (
    "Target",
    "Port",
    "Days left",
    "Status",
    "Certificate",
    "Names",
    "Issuer",
    "Chain",
    "Key",
    "Renewal",
)
MATCH_WORDS = {
    Match.NOT_ASKED: "",
    Match.CERTIFICATE: "renewed",
    Match.SAME_KEY: "same key, old cert",
    Match.OTHER: "not yet",
}


def suggested_names(rows: Sequence[ScanRow]) -> tuple[str, ...]:
    """The names a renewal for these ports needs: the first certificate's CN, then every SAN."""
    names: list[str] = []
    for r in rows:
        for name in (r.common_name, *r.sans):
            if name and name not in names and not name.replace(".", "").isdigit():
                names.append(name)
    return tuple(names)


def issuer_name(dn: str) -> str:
    """The issuing CA's common name ("CN=DigiCert Global G2 TLS RSA...,O=..." -> the CN)."""
    first = dn.split(",", 1)[0]
    return first[3:] if first.startswith("CN=") else dn


class Timeline(QWidget):
    """The report's expiry timeline (SVG), drawn at the widget's width."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.renderer = QSvgRenderer(self)
        self.svg = ""
        self.setMinimumHeight(70)

    def show_rows(self, rows: Sequence[ScanRow], now: dt.datetime) -> None:
        self.svg = timeline_svg(rows, now)
        self.renderer.load(QByteArray(self.svg.replace('width="100%" ', "").encode("utf-8")))
        self.setToolTip("Each dot is one port's certificate; hover the table for details.")
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(800, 90)

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self.svg or not self.renderer.isValid():
            return
        painter = QPainter(self)
        box = self.renderer.viewBoxF()
        scale = min(self.width() / box.width(), self.height() / box.height())
        w, h = box.width() * scale, box.height() * scale
        self.renderer.render(painter, QRectF((self.width() - w) / 2, 0, w, h))
        painter.end()


class TargetDialog(QDialog):
    """Add one target to the inventory: address, ports, kind, name."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a target")
        self.target: Target | None = None
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.host = QLineEdit()
        self.host.setPlaceholderText("sbc1.example.com")
        self.kind = QComboBox()
        for kind in Kind:
            self.kind.addItem(kind.label, kind.value)
        self.ports = QLineEdit()
        self.ports.setPlaceholderText("empty: 443 and 5061 for an SBC, 443 for OVOC")
        self.name = QLineEdit()
        self.site = QLineEdit()
        form.addRow("&Address:", self.host)
        form.addRow("&Kind:", self.kind)
        form.addRow("&Ports:", self.ports)
        form.addRow("&Name:", self.name)
        form.addRow("&Site:", self.site)
        layout.addLayout(form)
        self.message = Message(self)
        layout.addWidget(self.message)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        # Wide enough for the title and the longest placeholder (they were cut off).
        metrics = self.fontMetrics()
        field = (
            metrics.horizontalAdvance(self.ports.placeholderText()) + metrics.averageCharWidth() * 4
        )
        label = metrics.horizontalAdvance("Address:") + metrics.averageCharWidth() * 6
        self.setMinimumWidth(max(field + label, metrics.horizontalAdvance("Add a target") * 3))
        self.host.setFocus()

    def accept(self) -> None:
        try:
            self.target = inv.target_from_mapping(
                {
                    "host": self.host.text().strip(),
                    "kind": self.kind.currentData(),
                    "ports": [p for p in self.ports.text().replace(",", " ").split() if p],
                    "name": self.name.text().strip(),
                    "site": self.site.text().strip(),
                },
                "the form",
            )
        except AccertError as exc:
            self.message.show_error(exc)
            return
        super().accept()


class Dashboard(QDialog):
    def __init__(self, wizard: RenewalWizard) -> None:
        super().__init__(wizard)
        self.wizard = wizard
        self.setWindowTitle("accert — estate dashboard")
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        self.resize(1000, 640)
        self.tasks: TaskRunner = wizard.tasks
        self.inventory_file: Path | None = None  # None: the user's settings folder
        self._kept: list[ScanRow] = []  # rows of the last scan kept while one target is scanned
        self.inventory = Inventory([])
        self.rows: list[ScanRow] = []
        self.self_renewing: dict[str, str] = {}  # leaf SHA-256 -> "renews itself, daily at …"
        self.cancel_event: threading.Event | None = None
        # The questions; tests replace them (modal dialogs would block them).
        self.ask_target: Callable[[], Target | None] = self._ask_target
        self.choose_open: Callable[[str, str], str] = self._choose_open
        self.choose_save: Callable[[str, str], str] = self._choose_save
        self.confirm: Callable[[str], bool] = self._confirm

        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        renewal_label = QLabel("Compare with &renewal:")
        self.renewal = QComboBox()
        renewal_label.setBuddy(self.renewal)
        threshold_label = QLabel("&Warn within")
        self.threshold = QSpinBox()
        self.threshold.setRange(0, 3650)
        self.threshold.setValue(EXPIRY_WARNING_DAYS)
        self.threshold.setSuffix(" days")
        threshold_label.setBuddy(self.threshold)
        wait_label = QLabel("&Give up after")
        self.wait = QSpinBox()
        self.wait.setRange(1, 120)
        self.wait.setValue(8)
        self.wait.setSuffix(" s")
        self.wait.setToolTip("How long to wait for each port's TLS handshake")
        wait_label.setBuddy(self.wait)
        self.scan_button = QPushButton("&Scan now")
        self.scan_button.setDefault(True)
        self.scan_button.clicked.connect(lambda: self.start_scan())
        self.cancel_button = QPushButton("Stop")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.stop_scan)
        top.addWidget(renewal_label)
        top.addWidget(self.renewal, 1)
        top.addWidget(threshold_label)
        top.addWidget(self.threshold)
        top.addWidget(wait_label)
        top.addWidget(self.wait)
        top.addWidget(self.scan_button)
        top.addWidget(self.cancel_button)
        layout.addLayout(top)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        names = COLUMNS.index("Names")
        header.setSectionResizeMode(names, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(names, 200)  # many SANs: the tooltip has them all
        header.setStretchLastSection(True)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.setToolTip("Double-click a row (or press Enter) to see the served certificate")
        from ui.cert_view import CertificateOpener

        self.opener = CertificateOpener(self.table, self._cert_at)
        layout.addWidget(self.table, 1)
        self.timeline = Timeline()
        layout.addWidget(self.timeline)
        self.summary = QLabel("")
        layout.addWidget(self.summary)

        bottom = QHBoxLayout()
        self.add_button = QPushButton("&Add target…")
        self.add_button.clicked.connect(self.add_target)
        self.remove_button = QPushButton("Re&move")
        self.remove_button.clicked.connect(self.remove_selected)
        self.import_button = QPushButton("&Import CSV…")
        self.import_button.clicked.connect(self.import_csv)
        self.csv_button = QPushButton("Export &CSV…")
        self.csv_button.clicked.connect(lambda: self.export("csv"))
        self.html_button = QPushButton("Export &HTML…")
        self.html_button.clicked.connect(lambda: self.export("html"))
        self.renew_button = QPushButton("R&enew these…")
        self.renew_button.clicked.connect(self.renew_selected)
        for b in (self.add_button, self.remove_button, self.import_button):
            bottom.addWidget(b)
        bottom.addStretch(1)
        for b in (self.csv_button, self.html_button, self.renew_button):
            bottom.addWidget(b)
        layout.addLayout(bottom)
        self.where = note("")
        layout.addWidget(self.where)
        self.message = Message(self)
        layout.addWidget(self.message)
        self.load()

    # --- inventory ---------------------------------------------------------------------------

    def load(self) -> None:
        self.message.clear_message()
        try:
            self.inventory = inv.estate(self.inventory_file)
        except AccertError as exc:
            self.inventory = Inventory([])
            self.message.show_error(exc)
        self.renewal.clear()
        self.renewal.addItem("(none)", "")
        for r in renewal_lookup.resumable():
            self.renewal.addItem(f"{r.common_name} — {r.stage.label}", str(r.path))
        ws = self.wizard.session.workspace
        if ws is not None:
            self.renewal.setCurrentIndex(max(self.renewal.findData(str(ws.path)), 0))
        self.rows = []
        self._show_targets()

    def _save(self, inventory: Inventory) -> None:
        path = inv.save(inventory, self.inventory_file)
        self.inventory = inventory
        self.where.setText(f"Inventory: {path} (no passwords in it)")
        self._show_targets()

    def _show_targets(self) -> None:
        """Before a scan: the targets and their ports, not yet looked at."""
        path = self.inventory_file or inv.inventory_path()
        self.where.setText(f"Inventory: {path} (no passwords in it)")
        self.table.setRowCount(0)
        self.rows = []
        for t in self.inventory.targets:
            for port in t.scan_ports:
                self._append({"Target": t.label, "Port": str(port), "Status": "not scanned"}, t)
        n = len(self.inventory.targets)
        self.summary.setText(
            f"{n} target{'s' if n != 1 else ''}. Scan now to see what each serves."
            if n
            else "No targets yet: add the SBCs and OVOC servers, or import a CSV."
        )
        self._selection_changed()

    def add_target(self) -> None:
        """Add a target and scan it at once; the rows of an earlier scan stay as they were."""
        target = self.ask_target()
        if target is None:
            return
        earlier = [r for r in self.rows if r.target.key != target.key]
        self._save(self.inventory.merged([target]))
        if earlier:  # keep what the last scan found for the others
            self.rows = earlier
            self._redraw(earlier, [target])
        self.start_scan([target])

    def remove_selected(self) -> None:
        hosts = {t.host for t in self._selected_targets()}
        inventory = self.inventory
        for host in hosts:
            inventory = inventory.without(host)
            if self.inventory_file is None:  # one list: the Deploy page's entry goes too
                inv.forget_host(host)
        if hosts:
            self._save(inventory)

    def import_csv(self) -> None:
        path = self.choose_open("Import targets from a CSV file", "CSV (*.csv)")
        if not path:
            return
        try:
            targets = inv.read_csv(Path(path))
        except AccertError as exc:
            self.message.show_error(exc)
            return
        self._save(self.inventory.merged(targets))
        self.message.show_message("ok", f"{len(targets)} target(s) read from {Path(path).name}.")

    # --- scanning ----------------------------------------------------------------------------

    def start_scan(self, only: list[Target] | None = None) -> None:
        """Scan every target, or `only` these (a target just added): the others' rows stay."""
        self.message.clear_message()
        if not self.inventory.targets:
            self.message.show_message("error", "Add targets first (Add target… or Import CSV…).")
            return
        subset = Inventory(tuple(only)) if only else self.inventory
        self._kept = [r for r in self.rows if only and r.target not in only]
        if not only:
            self.table.setRowCount(0)
            self.rows = []
        self.cancel_event = threading.Event()
        self._set_scanning(True)
        ports = sum(len(t.scan_ports) for t in subset.targets)
        self.summary.setText(f"Scanning {ports} ports…")
        self.tasks.run(
            "Scanning the estate",
            self._scan_work,
            subset,
            str(self.renewal.currentData() or ""),
            self.threshold.value(),
            float(self.wait.value()),
            self.cancel_event,
            on_gui(self._row_arrived),
            on_done=self._scanned,
            on_error=self._scan_failed,
        )

    def _scan_work(
        self,
        inventory: Inventory,
        renewal_path: str,
        threshold: int,
        timeout: float,
        cancel: threading.Event,
        row_arrived: Callable[[ScanRow], None],
    ) -> list[ScanRow]:
        from app.renewal.schedule import self_renewing

        # Read before the first row arrives: which served certificates renew themselves.
        self.self_renewing = self_renewing()
        renewal, roots = Renewal(), []
        if renewal_path:
            renewal, roots = renewal_from_workspace(renewal_path)
        return scan(
            inventory,
            timeout=timeout,
            threshold=threshold,
            renewal=renewal,
            extra_roots=roots,
            progress=row_arrived,
            cancel=cancel,
        )

    def stop_scan(self) -> None:
        if self.cancel_event is not None:
            self.cancel_event.set()
            self.summary.setText("Stopping: the ports being checked finish first…")

    def _row_arrived(self, row: ScanRow) -> None:
        if self.scan_button.isEnabled():
            return  # a late row of a finished scan
        self.rows.append(row)
        self._append(self._cells(row), row.target, row)
        self.summary.setText(f"Scanning… {len(self.rows)} port(s) answered or timed out")

    def _redraw(self, rows: list[ScanRow], not_scanned: list[Target]) -> None:
        self.table.setRowCount(0)
        for row in rows:  # most urgent first
            self._append(self._cells(row), row.target, row)
        for t in not_scanned:
            for port in t.scan_ports:
                self._append({"Target": t.label, "Port": str(port), "Status": "scanning…"}, t)

    def _scanned(self, rows: list[ScanRow]) -> None:
        self._set_scanning(False)
        rows = sorted([*self._kept, *rows], key=lambda r: r.sort_key)
        self._kept = []
        self.rows = rows
        self._redraw(rows, [])
        self.timeline.show_rows(rows, dt.datetime.now(dt.UTC))
        counts: dict[str, int] = {}
        for r in rows:
            counts[r.urgency.label] = counts.get(r.urgency.label, 0) + 1
        order = ("expired", "expiring", "unreachable", "check", "ok")
        self.summary.setText(
            f"{len(rows)} port(s): "
            + ", ".join(f"{counts[k]} {k}" for k in order if k in counts)
            + ". Select rows and click Renew these… to start their renewal."
        )
        self._selection_changed()

    def _scan_failed(self, exc: AccertError) -> None:
        self._set_scanning(False)
        self.message.show_error(exc)

    def _set_scanning(self, scanning: bool) -> None:
        self.scan_button.setEnabled(not scanning)
        self.cancel_button.setEnabled(scanning)
        for b in (self.add_button, self.remove_button, self.import_button):
            b.setEnabled(not scanning)

    def _cert_at(self, index: QModelIndex) -> x509.Certificate | None:
        """The certificate the row's port served at the last scan (none if unreachable)."""
        from cryptography import x509

        item = self.table.item(index.row(), 0)
        row = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if not isinstance(row, ScanRow) or not row.leaf_der:
            return None
        return x509.load_der_x509_certificate(row.leaf_der)

    def _cells(self, row: ScanRow) -> dict[str, str]:
        cells = {"Target": row.target.label, "Port": str(row.port)}
        if not row.reachable:
            return {**cells, "Status": row.error}
        chain = "complete" if row.chain_complete else f"incomplete: {row.chain_note}".strip()
        return {
            **cells,
            "Days left": "" if row.days_left is None else str(row.days_left),
            "Status": row.status,
            "Certificate": row.common_name,
            "Names": ", ".join(row.sans),
            "Issuer": issuer_name(row.issuer),
            "Chain": chain,
            "Key": row.key,
            "Renewal": "; ".join(
                w
                for w in (MATCH_WORDS.get(row.match, ""), self.self_renewing.get(row.leaf_sha256))
                if w
            ),
        }

    def _append(self, cells: dict[str, str], target: Target, row: ScanRow | None = None) -> None:
        r = self.table.rowCount()
        self.table.insertRow(r)
        for c, name in enumerate(COLUMNS):
            text = cells.get(name, "")
            item = QTableWidgetItem(text)
            item.setToolTip(row.issuer if row is not None and name == "Issuer" else text)
            if c == 0:
                item.setData(Qt.ItemDataRole.UserRole, row if row is not None else target)
            if name in ("Port", "Days left"):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if row is not None:
                fg, bg = COLOURS[row.urgency]
                item.setBackground(QBrush(QColor(bg)))
                if name in ("Days left", "Status"):
                    item.setForeground(QBrush(QColor(fg)))
            self.table.setItem(r, c, item)

    def done(self, result: int) -> None:
        # Closed while scanning: the ports not started yet are skipped (the rest finish).
        if self.cancel_event is not None:
            self.cancel_event.set()
        super().done(result)

    # --- selection, export, renew ------------------------------------------------------------

    def _selected_items(self) -> list[ScanRow | Target]:
        out: list[ScanRow | Target] = []
        for index in self.table.selectionModel().selectedRows():
            item = self.table.item(index.row(), 0)
            data = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
            if isinstance(data, ScanRow | Target):
                out.append(data)
        return out

    def _selected_targets(self) -> list[Target]:
        return [x.target if isinstance(x, ScanRow) else x for x in self._selected_items()]

    def selected_rows(self) -> list[ScanRow]:
        return [x for x in self._selected_items() if isinstance(x, ScanRow)]

    def _selection_changed(self) -> None:
        has_rows = bool(self.selected_rows())
        self.renew_button.setEnabled(has_rows)
        self.remove_button.setEnabled(bool(self._selected_items()))
        self.csv_button.setEnabled(bool(self.rows))
        self.html_button.setEnabled(bool(self.rows))

    def export(self, kind: str) -> None:
        path = self.choose_save(
            f"Save the scan as {kind.upper()}",
            "CSV (*.csv)" if kind == "csv" else "HTML page (*.html)",
        )
        if not path:
            return
        try:
            written = (write_csv if kind == "csv" else write_html)(self.rows, Path(path))
        except (AccertError, OSError) as exc:
            message = exc.message if isinstance(exc, AccertError) else str(exc)
            self.message.show_message("error", f"Could not write {path}: {message}")
            return
        self.message.show_message("ok", f"Saved {written}.")

    def renew_selected(self) -> None:
        rows = self.selected_rows()
        if not rows:
            self.message.show_error(InputError("Select the rows to renew first.", ""))
            return
        devices, ovocs = renew_these(rows)
        path = str(self.renewal.currentData() or "")
        chosen = next((r for r in renewal_lookup.resumable() if str(r.path) == path), None)
        targets = ", ".join([d.name or d.host for d in devices] + [t.label for t in ovocs])
        if chosen is not None and chosen.stage.at_least(Stage.ISSUED):
            plan = (
                f"Continue the renewal of {chosen.common_name} and deploy it to {targets}: the "
                "wizard opens it at its next step, and the Deploy page has these targets ticked."
            )
        else:
            names = suggested_names(rows)
            plan = (
                f"Start a new renewal for {', '.join(names) or 'these names'}, to be deployed to "
                f"{targets}: the names are filled in from the certificates they serve now, and "
                "the Deploy page will have these targets ticked."
            )
        if not self.confirm(plan):
            return
        session = self.wizard.session
        session.preselected_devices = devices
        session.preselected_ovoc = ovocs
        self.wizard.start_from_dashboard(
            chosen.path if chosen is not None and chosen.stage.at_least(Stage.ISSUED) else None,
            suggested_names(rows),
        )
        self.accept()

    # --- the default questions (dialogs) ---------------------------------------------------

    def _ask_target(self) -> Target | None:
        dialog = TargetDialog(self)
        return dialog.target if dialog.exec() == QDialog.DialogCode.Accepted else None

    def _choose_open(self, title: str, filters: str) -> str:
        from ui.file_dialogs import open_file

        path = open_file(self, "estate", title, filters)
        return str(path) if path else ""

    def _choose_save(self, title: str, filters: str) -> str:
        from ui.file_dialogs import save_file

        path = save_file(self, "estate", title, "", filters)
        return str(path) if path else ""

    def _confirm(self, text: str) -> bool:
        answer = QMessageBox.question(
            self,
            "Renew these?",
            text,
            QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Ok,
        )
        return answer == QMessageBox.StandardButton.Ok
