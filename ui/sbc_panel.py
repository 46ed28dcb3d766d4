"""The SBC / gateway deployment on the Deploy page: a device list, trust, progress rows.

The work is app.mediant's: deploy_to_devices backs up, uploads, saves and verifies each device
in a bounded pool. This panel only collects the devices, asks what must be asked (trust on
first contact, the final go-ahead) and shows each device's row as the engine reports it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.errors import AccertError
from app.mediant import pins
from app.mediant.devices import (
    SavedDevice,
    forget_device,
    forget_device_password,
    load_device_password,
    remember_device,
    store_device_password,
)
from app.workspace import Workspace
from ui.base import note
from ui.device_dialog import DeviceEntry, TrustQuestion, ask_device, ask_trust_dialog
from ui.message import Message
from ui.tasks import TaskRunner, on_gui

if TYPE_CHECKING:  # requests and the deployment load when a device is deployed to
    from app.mediant.client import Timing
    from app.mediant.deploy import DeviceResult, DeviceTarget
    from app.mediant.fleet import DeviceProgress, FleetReport

COLUMNS = ("Device", "Context", "Verify on", "Status", "Time", "Details")
STATUS_COLOURS = {
    "done": "#1e7b34",
    "finished": "#1e7b34",
    "failed": "#b3261e",
    "skipped": "#8a6d00",
    "by hand": "#8a6d00",
}
FINAL = ("done", "failed", "skipped", "by hand", "")
# The engine's step names (app.mediant.deploy) in the user's words, while they run.
STEP_WORDS = {
    "connecting": "checking its certificate",
    "check": "connecting",
    "identify": "reading what the device is",
    "backup": "backing up its configuration (INI)",
    "key": "uploading the key",
    "certificate": "uploading the certificate",
    "trusted-roots": "uploading the CA certificates",
    "check-key": "checking the key matches",
    "save": "saving to flash",
    "reset": "restarting (graceful reset); calls drop meanwhile",
    "verify": "checking the served certificate (TLS handshake)",
}
TICK_MS = 200  # the Time column of a step in progress counts up at this pace
CHECK_PARALLEL = 16  # first-contact handshakes at once: 50 devices take seconds, not minutes


@dataclass(frozen=True)
class Unknown:
    """A device whose HTTPS certificate is not trusted (yet): what the user must compare."""

    device: SavedDevice
    subject: str
    fingerprint: str
    error: str = ""  # could not even connect: said in its row, nothing sent
    changed: bool = False  # pinned before, and now it presents another certificate


def _presented(device: SavedDevice, new_leaf: str) -> Unknown | None:
    """None when the device presents its pinned certificate (or already our new one)."""
    from app.mediant.client import presented_certificate

    try:
        subject, fp = presented_certificate(device.host, device.port, timeout=10.0)
    except (OSError, AccertError) as exc:
        return Unknown(device, "", "", error=getattr(exc, "message", str(exc)))
    pin = pins.get_pin(device.host, device.port)
    fp = pins.normalize_fingerprint(fp)
    if fp in (pin, new_leaf):
        return None
    return Unknown(device, subject, fp, changed=pin is not None)


def first_contact(devices: Sequence[SavedDevice], new_leaf: str = "") -> list[Unknown]:
    """Runs in the pool: the devices whose presented certificate is not pinned, in parallel.

    Pinned devices are checked too, so a changed certificate is asked about (in stronger
    words) before anything is sent, instead of failing halfway through the fleet.
    """
    from concurrent.futures import ThreadPoolExecutor

    leaf = pins.normalize_fingerprint(new_leaf) if new_leaf else ""
    if not devices:
        return []
    with ThreadPoolExecutor(min(CHECK_PARALLEL, len(devices))) as pool:
        found = list(pool.map(lambda d: _presented(d, leaf), devices))
    return [u for u in found if u is not None]


def check_certificates(ws: Workspace, devices: Sequence[SavedDevice]) -> list[Unknown]:
    """Runs in the pool: first_contact, knowing our new leaf (a device may serve it already)."""
    return first_contact(devices, ws.deploy_material(with_key=False).leaf_sha256)


class SbcPanel(QWidget):
    running_changed = Signal(bool)  # the page locks Back and Next while devices are deployed to

    def __init__(
        self,
        workspace: Callable[[], Workspace],
        tasks: Callable[[], TaskRunner],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._workspace = workspace
        self._tasks = tasks
        self.timing: Timing | None = None  # tests shorten the waits
        self.passwords: dict[str, str] = {}  # this session only; saved ones are in keyring
        self.results: dict[str, DeviceResult] = {}
        # The questions; tests replace them (a modal dialog would block them).
        self.ask_device: Callable[[SavedDevice | None, str], DeviceEntry | None] = (
            lambda device, password: ask_device(
                self, device, password, self._tasks(), self._stored(device)
            )
        )
        self.ask_trust: Callable[[Unknown], bool] = self._ask_trust
        # Many new devices at once: one list to compare and tick, not one question each.
        self.ask_trust_all: Callable[[list[Unknown]], list[Unknown]] = self._ask_trust_all
        self.confirm: Callable[[str], bool] = self._confirm
        # A device without a known password: asked for here, not by sending the user to Edit.
        self.ask_password: Callable[[SavedDevice], tuple[str, bool] | None] = self._ask_password
        self._running = False
        self._labels: dict[str, str] = {}  # the engine's device label -> our device key
        # Rows whose step is under way: device key -> (step, monotonic time the device began).
        self._live: dict[str, tuple[str, float]] = {}
        self._ticker = QTimer(self)
        self._ticker.setInterval(TICK_MS)
        self._ticker.timeout.connect(self._tick)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(
            note(
                "Tick the devices to deploy to. Each one is backed up first (its INI file into "
                "the renewal's backups folder), then gets the key, certificate and chain, saves "
                "to flash and is checked by a TLS handshake."
            )
        )
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        for col in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        # The reason gets what is left (a long one is in its tooltip and the pane below).
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._show_detail)
        self.table.itemChanged.connect(lambda *_: self._update_buttons())
        self.table.doubleClicked.connect(lambda *_: self.edit_selected())
        layout.addWidget(self.table, 2)

        row = QHBoxLayout()
        self.add_button = QPushButton("&Add device…")
        self.add_button.clicked.connect(self.add_device)
        self.edit_button = QPushButton("&Edit…")
        self.edit_button.clicked.connect(self.edit_selected)
        self.remove_button = QPushButton("Re&move")
        self.remove_button.clicked.connect(self.remove_selected)
        self.retry_reset = QPushButton("Retry with &reset")
        self.retry_reset.setToolTip(
            "Deploy again to this device and restart it (graceful reset), so every listener "
            "loads the new certificate; the device keeps the reset for next time"
        )
        self.retry_reset.clicked.connect(self.retry_with_reset)
        self.retry_reset.hide()
        self.deploy_button = QPushButton("&Deploy")
        self.deploy_button.setDefault(False)
        self.deploy_button.setAutoDefault(False)
        self.deploy_button.clicked.connect(self.deploy)
        for b in (self.add_button, self.edit_button, self.remove_button):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.retry_reset)
        row.addWidget(self.deploy_button)
        layout.addLayout(row)
        self.detail = QTextBrowser()
        self.detail.setMaximumHeight(110)
        self.detail.setPlaceholderText("Select a device to see what happened to it.")
        layout.addWidget(self.detail, 1)
        self.message = Message(self)
        layout.addWidget(self.message)

    # --- the device list -------------------------------------------------------------------

    def load(self, preselected: Sequence[SavedDevice] = ()) -> None:
        """The saved devices plus those "renew these" chose; the chosen ones start ticked."""
        from app.estate.inventory import deploy_devices

        chosen = {d.key for d in preselected}
        devices = {d.key: d for d in deploy_devices()}  # one list with the dashboard's
        for d in preselected:
            devices.setdefault(d.key, d)
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for d in sorted(devices.values(), key=lambda d: (d.name or d.host, d.port)):
            self._add_row(d, checked=d.key in chosen)
        # Back and Next again: what this session's deployments did is still shown.
        for key, result in self.results.items():
            self._show_result(key, result)
        self.table.blockSignals(False)
        self._update_buttons()

    def devices(self) -> list[SavedDevice]:
        return [self._device(r) for r in range(self.table.rowCount())]

    def checked(self) -> list[SavedDevice]:
        return [
            self._device(r)
            for r in range(self.table.rowCount())
            if self._item(r, 0).checkState() == Qt.CheckState.Checked
        ]

    def set_checked(self, key: str, checked: bool = True) -> None:
        for r in range(self.table.rowCount()):
            if self._device(r).key == key:
                state = Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
                self._item(r, 0).setCheckState(state)

    def row_of(self, key: str) -> int:
        for r in range(self.table.rowCount()):
            if self._device(r).key == key:
                return r
        raise KeyError(key)

    def row_text(self, key: str) -> dict[str, str]:
        r = self.row_of(key)
        return {name: self._item(r, c).text() for c, name in enumerate(COLUMNS)}

    def _item(self, row: int, col: int) -> QTableWidgetItem:
        item = self.table.item(row, col)
        assert item is not None
        return item

    def _device(self, row: int) -> SavedDevice:
        device = self._item(row, 0).data(Qt.ItemDataRole.UserRole)
        assert isinstance(device, SavedDevice)
        return device

    def _add_row(self, d: SavedDevice, *, checked: bool) -> None:
        r = self.table.rowCount()
        self.table.insertRow(r)
        self._fill_row(r, d)
        self._item(r, 0).setCheckState(
            Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
        )

    def _fill_row(self, r: int, d: SavedDevice) -> None:
        label = f"{d.name} ({d.host}:{d.port})" if d.name else f"{d.host}:{d.port}"
        first = QTableWidgetItem(label)
        first.setFlags(first.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        first.setData(Qt.ItemDataRole.UserRole, d)
        old = self.table.item(r, 0)
        first.setCheckState(old.checkState() if old else Qt.CheckState.Unchecked)
        self.table.setItem(r, 0, first)
        verify = ", ".join(str(p) for p in d.verify_ports) or (
            str(d.port) if 0 in d.contexts else "-"
        )
        values = (contexts_text(d), verify, "", "", "")
        assert len(values) == len(COLUMNS) - 1
        for col, text in enumerate(values, start=1):
            self.table.setItem(r, col, QTableWidgetItem(text))

    def _selected_row(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def add_device(self) -> None:
        entry = self.ask_device(None, "")
        if entry is None:
            return
        self._keep(entry)
        try:
            r = self.row_of(entry.device.key)
        except KeyError:
            self._add_row(entry.device, checked=True)
        else:
            self._fill_row(r, entry.device)
            self._item(r, 0).setCheckState(Qt.CheckState.Checked)
        self._update_buttons()

    def edit_selected(self) -> None:
        r = self._selected_row()
        if r is None or self._running:
            return
        device = self._device(r)
        entry = self.ask_device(device, self._password(device) or "")
        if entry is None:
            return
        if entry.device.key != device.key:
            forget_device(device.host, device.port)
        self._keep(entry)
        self._fill_row(r, entry.device)

    def remove_selected(self) -> None:
        r = self._selected_row()
        if r is None or self._running:
            return
        from app.estate.inventory import forget_host

        device = self._device(r)
        forget_device(device.host, device.port)
        if not any(d.host.lower() == device.host.lower() for d in self.devices() if d != device):
            forget_host(device.host)  # one list: off the dashboard too
        pins.forget_pin(device.host, device.port)  # added again: its certificate is shown again
        self.table.removeRow(r)
        self._update_buttons()

    def _keep(self, entry: DeviceEntry) -> None:
        """Save the device (no password in the file); the password to keyring if asked."""
        remember_device(entry.device)
        if not entry.remember:
            forget_device_password(entry.device)  # unticked: nothing kept beyond this session
        if entry.password:
            self.passwords[entry.device.key] = entry.password
            if entry.remember:
                try:
                    store_device_password(entry.device, entry.password)
                except AccertError as exc:
                    self.message.show_message(
                        "warning", f"{exc.message}\nThe password is kept until accert closes."
                    )

    @staticmethod
    def _stored(device: SavedDevice | None) -> bool:
        """Whether the credential store holds this device's password (the tick reflects it)."""
        if device is None:
            return False
        try:
            return load_device_password(device) is not None
        except AccertError:
            return False

    def _password(self, device: SavedDevice) -> str | None:
        if device.key in self.passwords:
            return self.passwords[device.key]
        try:
            return load_device_password(device)
        except AccertError:
            return None

    def _update_buttons(self) -> None:
        n = len(self.checked())
        self.deploy_button.setText(
            f"&Deploy to {n} device{'s' if n != 1 else ''}" if n else "&Deploy"
        )
        self.deploy_button.setEnabled(n > 0 and not self._running)
        for b in (self.add_button, self.edit_button, self.remove_button):
            b.setEnabled(not self._running)

    # --- deploying -------------------------------------------------------------------------

    def deploy(self) -> None:
        self.message.clear_message()
        devices = self.checked()
        if not devices:
            self.message.show_message("error", "Tick at least one device to deploy to.")
            return
        self.deploy_to(devices)

    def retry_with_reset(self) -> None:
        """The selected device served the old certificate: deploy to it again, with a reset."""
        from dataclasses import replace

        r = self._selected_row()
        if r is None or self._running:
            return
        device = replace(self._device(r), reset=True)
        remember_device(device)  # it needs the reset: next year too
        self._fill_row(r, device)
        self.message.clear_message()
        self.deploy_to([device])

    def deploy_to(self, devices: list[SavedDevice]) -> None:
        for d in devices:
            if self._password(d):
                continue
            answer = self.ask_password(d)
            if answer is None or not answer[0]:
                self.message.show_message(
                    "error",
                    f"No password for {d.host}:{d.port}: nothing was deployed.\nDeploy again "
                    f"and enter the password of its {d.user} account when asked.",
                )
                return
            password, remember = answer
            self._keep(DeviceEntry(d, password, remember))
        for d in devices:  # this run's rows and details start afresh
            self.results.pop(d.key, None)
        # The system store vouches for the others' certificates; these are compared with
        # their pins (a new device has none), so a changed one is asked about up front.
        pinned = [d for d in devices if not d.trust_system]
        self._set_running(True)
        if pinned:
            for d in pinned:
                self._set_row(d.key, "connecting", "checking", 0.0)
            self._tasks().run(
                "Checking the devices' certificates",
                check_certificates,
                self._workspace(),
                pinned,
                on_done=lambda found: self._trusted(devices, found),
                on_error=self._failed,
            )
        else:
            self._go(devices, {})

    def _trusted(self, devices: list[SavedDevice], found: list[Unknown]) -> None:
        accepted: dict[str, str] = {}
        dropped: set[str] = set()
        for u in found:
            if u.error:
                self._note_failure(
                    u.device, f"{u.error}\nNothing was sent to this device.", step="connecting"
                )
                dropped.add(u.device.key)
        reachable = [u for u in found if not u.error]
        trusted = {u.device.key for u in self.ask_trust_all(reachable)} if reachable else set()
        for u in reachable:
            if u.device.key in trusted:
                accepted[u.device.key] = u.fingerprint
            else:
                what = "Its certificate changed and was" if u.changed else "Its certificate was"
                self._note_failure(u.device, f"{what} not trusted: nothing was sent to it.")
                dropped.add(u.device.key)
        for d in devices:
            if d.key not in dropped:
                self._set_row(d.key, "", "", None)
        remaining = [d for d in devices if d.key not in dropped]
        if not remaining:
            self._set_running(False)
            return
        self._go(remaining, accepted)

    def _go(self, devices: list[SavedDevice], accepted: dict[str, str]) -> None:
        ws = self._workspace()
        lines = [f"accert will now deploy {ws.stem} to {len(devices)} device(s):"]
        for d in devices:
            ports = ", ".join(str(p) for p in d.verify_ports) or (
                str(d.port) if 0 in d.contexts else "none"
            )
            contexts = contexts_text(d)
            from app.platforms import short_name

            how = "checked and completed" if d.add_platform_roots else "checked"
            roots = "".join(
                f", {short_name(p)} roots {how}" for p in dict.fromkeys(p for _, p in d.platforms)
            )
            lines.append(
                f"• {d.name or d.host}:{d.port}: TLS context {contexts}{roots}, verify on {ports}"
                + (", then a graceful reset (calls drop while it restarts)" if d.reset else "")
            )
        what = (
            "the certificate and the missing CA certificates (the key stays on the device)"
            if ws.state.key_origin == "device"
            else "the key, the certificate and the missing CA certificates"
        )
        lines += [
            "",
            f"For each: back up its configuration (INI) into {ws.backups_dir}, upload {what}, "
            "save to flash, then check the served certificate by a TLS handshake. Devices "
            "without a reset keep serving the old certificate on listeners that only reload "
            "at a restart. The device's old certificate is in the backup.",
        ]
        if not self.confirm("\n".join(lines)):
            self._set_running(False)
            for d in devices:
                self._set_row(d.key, "", "", None)
            return
        targets: list[DeviceTarget] = []
        for d in devices:
            password = self._password(d) or ""
            # An accepted fingerprint is the user's answer to the (changed) certificate question.
            targets.append(
                d.target(
                    password, fingerprint=accepted.get(d.key), replace_fingerprint=d.key in accepted
                )
            )
            self._set_row(d.key, "waiting", "waiting", None, "waiting for its turn")
        self._labels = {t.label: d.key for t, d in zip(targets, devices, strict=True)}
        self._started = time.monotonic()
        self._tasks().run(
            f"Deploying to {len(targets)} device(s)",
            self._deploy_work,
            ws,
            targets,
            on_gui(self._on_progress),
            on_done=self._done,
            on_error=self._failed,
        )

    def _deploy_work(
        self,
        ws: Workspace,
        targets: list[DeviceTarget],
        progress: Callable[[DeviceProgress], None],
    ) -> tuple[FleetReport, Path, Path]:
        from app.mediant.glue import deploy_to_devices

        for t in targets:
            if t.fingerprint:  # trusted by the user: pinned, so it is not asked again
                pins.set_pin(t.host, t.port, t.fingerprint)
        return deploy_to_devices(ws, targets, progress=progress, timing=self.timing)

    def _on_progress(self, p: DeviceProgress) -> None:
        key = self._labels.get(p.label)
        if key is None:
            return
        if p.status == "running":
            self._set_row(key, p.step, "running", p.elapsed)
        elif p.status in ("failed", "finished"):
            self._set_row(key, p.step, p.status, p.elapsed)
        # A step done or skipped: the row keeps counting until the next one starts.

    def _done(self, outcome: tuple[FleetReport, Path, Path]) -> None:
        report, _json_path, text_path = outcome
        self._set_running(False)
        for result in report.results:
            key = self._labels.get(result.label)
            if key is None:
                continue
            self.results[key] = result
            self._show_result(key, result)
            self._show_roots(key, result)
        good = sum(r.ok for r in report.results)
        total = len(report.results)
        by_hand = [r.label for r in report.results if r.needs_manual_steps]
        if by_hand and len(by_hand) + good == total:
            self.message.show_message(
                "warning",
                f"Deployed to {good} of {total} device(s). By hand: {', '.join(by_hand)} (no "
                "REST API in its firmware): select it for the steps; its files are written. "
                f"Report: {text_path}",
            )
        elif report.ok:
            self.message.show_message(
                "ok",
                f"Deployed to {good} of {total} device(s); each serves the new certificate.\n"
                f"Report: {text_path}",
            )
        else:
            failed = ", ".join(r.label for r in report.failed if not r.needs_manual_steps)
            if by_hand:
                failed += f"; by hand: {', '.join(by_hand)}"
            self.message.show_message(
                "error",
                f"Deployed to {good} of {total} device(s). Failed: {failed}.\n"
                "Select a device to see why and where its backup is; fix it and deploy to it "
                f"again. Report: {text_path}",
            )
        self._warn_missing_roots(report)
        self._show_detail()

    def _warn_missing_roots(self, report: FleetReport) -> None:
        """A device that serves the new certificate but lacks its platform's roots still drops
        the platform's calls: the page must not say only "done"."""
        short = [
            f"{r.label} ({', '.join(s.text for s in r.roots if not s.complete)})"
            for r in report.results
            if any(not s.complete for s in r.roots)
        ]
        if not short:
            return
        kind = "error" if self.message.property("kind") == "error" else "warning"
        self.message.show_message(
            kind,
            self.message.text()
            + f"\nPlatform roots missing on {', '.join(short)}: the platform's TLS handshake "
            "fails there. Edit the device, tick 'Add the platform's missing trusted roots', and "
            "deploy again (or run accert sbc-trust --add).",
        )

    def _failed(self, exc: AccertError) -> None:
        self._set_running(False)
        self.message.show_error(exc)

    def _note_failure(self, device: SavedDevice, text: str, step: str = "trust") -> None:
        from app.mediant.deploy import DeviceResult

        result = DeviceResult(
            label=device.name or f"{device.host}:{device.port}",
            host=device.host,
            port=device.port,
            ok=False,
            step=step,
            message=text,
        )
        self.results[device.key] = result
        self._show_result(device.key, result)

    def _set_running(self, running: bool) -> None:
        self._running = running
        self._update_buttons()
        self.running_changed.emit(running)

    @property
    def running(self) -> bool:
        return self._running

    def _set_row(
        self, key: str, step: str, status: str, elapsed: float | None, details: str = ""
    ) -> None:
        """One row: its status word, the time (counting while a step runs) and what it does."""
        try:
            r = self.row_of(key)
        except KeyError:
            return
        status_item = self._item(r, 3)
        status_item.setText(status)
        colour = STATUS_COLOURS.get(status)
        status_item.setForeground(QBrush(QColor(colour)) if colour else QBrush())
        self._item(r, 4).setText("" if elapsed is None else f"{elapsed:.1f} s")
        if status not in FINAL and elapsed is not None:
            self._live[key] = (step, time.monotonic() - elapsed)
            if not self._ticker.isActive():
                self._ticker.start()
        else:
            self._live.pop(key, None)
        if not details and status not in FINAL:
            details = STEP_WORDS.get(step, step)
        details_item = self._item(r, 5)
        details_item.setText(details)
        details_item.setToolTip(details)
        if r == self._selected_row():
            self._show_detail()

    def _show_result(self, key: str, result: DeviceResult) -> None:
        self._set_row(key, result.step, _status(result), result.elapsed, _reason(result))

    def _tick(self) -> None:
        """A step under way (a verify retrying, a device restarting): its time counts up."""
        if not self._live:
            self._ticker.stop()
            return
        now = time.monotonic()
        for key, (_step, since) in list(self._live.items()):
            try:
                r = self.row_of(key)
            except KeyError:
                self._live.pop(key, None)
                continue
            self._item(r, 4).setText(f"{now - since:.1f} s")

    def _show_roots(self, key: str, result: DeviceResult) -> None:
        """The Context cell says what the trusted-roots step found: "1 · Teams roots 7/7"."""
        if not result.roots:
            return
        try:
            r = self.row_of(key)
        except KeyError:
            return
        item = self._item(r, 1)
        by_context = {s.context: s.text for s in result.roots}
        contexts = self._device(r).contexts
        item.setText(
            ", ".join(f"{c} · {by_context[c]}" if c in by_context else str(c) for c in contexts)
        )
        item.setToolTip("\n".join(s.line() for s in result.roots))
        if not all(s.complete for s in result.roots):
            item.setForeground(QBrush(QColor(STATUS_COLOURS["failed"])))

    def _show_detail(self) -> None:
        """The pane says what happened to the selected device in its latest run, or nothing."""
        r = self._selected_row()
        self.retry_reset.hide()
        if r is None:
            self.detail.clear()
            return
        device = self._device(r)
        result = self.results.get(device.key)
        if result is None:
            live = self._live.get(device.key)
            if live is not None:
                self.detail.setPlainText(
                    f"{device.name or device.host}:{device.port}: "
                    f"{STEP_WORDS.get(live[0], live[0])}…"
                )
                return
            self.detail.setPlainText(
                f"{device.host}:{device.port}, user {device.user}: not deployed in this session."
            )
            return
        if _wants_reset(result, device) and not self._running:
            self.retry_reset.show()
        lines = [result.message]
        if result.hint:
            lines.append(result.hint)
        if result.backup_path:
            lines.append(f"Backup of its configuration: {result.backup_path}")
        lines += [s.line() for s in result.roots]
        lines += [f"Warning: {w}" for w in result.warnings]
        if result.error_kind == "DeviceUntrusted" and device.trust_system:
            lines.append(
                "The Windows trust store does not vouch for its certificate (self-signed or a "
                "private CA). Edit the device, untick the trust-store option, and compare its "
                "fingerprint when asked."
            )
        elif result.error_kind == "DeviceUntrusted":
            lines.append(
                "If the device got a new certificate on purpose, remove it from the list and add "
                "it again: accert then shows the new fingerprint to compare."
            )
        for n, step in enumerate(result.manual_steps, 1):
            lines.append(f"{n}. {step}")
        self.detail.setPlainText("\n".join(lines))

    # --- the default questions (dialogs) ---------------------------------------------------

    def _ask_trust_all(self, unknowns: list[Unknown]) -> list[Unknown]:
        if len(unknowns) == 1:
            return unknowns if self.ask_trust(unknowns[0]) else []
        from ui.trust_list import TrustListDialog

        dialog = TrustListDialog(unknowns, self)
        return dialog.chosen() if dialog.exec() == TrustListDialog.DialogCode.Accepted else []

    def _ask_trust(self, u: Unknown) -> bool:
        q = TrustQuestion(u.device.host, u.device.port, u.subject, u.fingerprint, u.changed)
        return ask_trust_dialog(self, q)

    def _ask_password(self, device: SavedDevice) -> tuple[str, bool] | None:
        from ui.device_dialog import PasswordDialog

        dialog = PasswordDialog(device, self)
        if dialog.exec() != PasswordDialog.DialogCode.Accepted:
            return None
        return dialog.password.text(), dialog.remember.isChecked()

    def _confirm(self, text: str) -> bool:
        answer = QMessageBox.question(
            self,
            "Deploy now?",
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes


def _wants_reset(result: DeviceResult, device: SavedDevice) -> bool:
    """Saved, but a listener still served the old certificate: a reset makes it load the new."""
    return not result.ok and result.step == "verify" and not device.reset


def _reason(result: DeviceResult) -> str:
    """The row's one-line account of a finished device: the reason, not just the word."""
    if result.ok:
        served = ", ".join(str(v.port) for v in result.verifications if v.ok)
        return f"serves the new certificate on {served}" if served else "deployed"
    if result.needs_manual_steps:
        return "no REST API in its firmware: select it for the steps"
    first = result.message.strip().splitlines()[0] if result.message.strip() else ""
    first = first.removeprefix(f"{result.label}: ")
    at = STEP_WORDS.get(result.step, result.step)
    text = f"{at}: {first}" if result.step not in ("trust", "done", "") else first
    if _wants_reset_hint(result):
        text += " (Retry with reset)"
    return text


def _wants_reset_hint(result: DeviceResult) -> bool:
    return not result.ok and result.step == "verify" and "with reset" in result.hint


def contexts_text(d: SavedDevice) -> str:
    """ "0, 1 (Teams)": each context with the platform behind it, if any."""
    from app.platforms import short_name  # profiles load when a device names a platform

    return ", ".join(
        f"{c} ({short_name(d.platform_of(c))})" if d.platform_of(c) else str(c) for c in d.contexts
    )


def _status(result: DeviceResult) -> str:
    """The row's status word for a finished device."""
    if result.ok:
        return "done"
    if result.needs_manual_steps:
        return "by hand"
    return "skipped" if result.step == "trust" else "failed"
