"""Summary: what was produced and deployed, and where the files and the log are."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, QTime
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QPushButton,
    QTextBrowser,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from app.errors import AccertError
from app.flow import Page
from app.reminder import renew_by, write_reminder
from app.workspace import Stage, Workspace

if TYPE_CHECKING:
    from app.renewal.schedule import Registered
from ui.base import BasePage, nothing_opened, open_in_system

CERT_LINK = "accert:certificate"
# The summary table's rows that describe the certificate: a double-click there opens it.
CERT_ROWS = frozenset({"Certificate", "Names", "Valid until", "SHA-256"})


def summary_html(ws: Workspace) -> str:
    s = ws.state
    rows = [
        ("Certificate", s.request.subject.common_name),
        ("Names", ", ".join(s.request.all_sans())),
        ("Step reached", s.stage.label),
    ]
    if s.leaf_not_after:
        rows.append(("Valid until", s.leaf_not_after[:10]))
    if s.leaf_sha256:
        rows.append(("SHA-256", s.leaf_sha256))
    if s.renews:
        rows.append(("Renews", Path(s.renews).name))
    if s.renewed_by:
        rows.append(("Renewed by", Path(s.renewed_by).name))
    rows += [("Renewal folder", str(ws.path)), ("Log", str(ws.log_path))]
    cells = {k: escape(v) for k, v in rows}
    if s.leaf_sha256:  # the certificate's name opens its details (and "View the certificate")
        cells["Certificate"] = f"<a href='{CERT_LINK}'>{cells['Certificate']}</a>"
    table = "".join(
        f"<tr><td style='padding-right:12px'><b>{escape(k)}</b></td><td>{v}</td></tr>"
        for k, v in cells.items()
    )
    parts = [f"<table>{table}</table>"]
    if s.exports:
        parts.append("<h4>Exported</h4><ul>")
        for e in s.exports:
            files = ", ".join(e.get("files", ()))
            parts.append(f"<li>{escape(e.get('folder', ''))}: {escape(files)}</li>")
        parts.append("</ul>")
    if s.deployments:
        latest = latest_outcomes(s.deployments)
        done = sum(o.ok for o in latest)
        parts.append(f"<h4>Deployed ({done} of {len(latest)} done)</h4><ul>")
        for o in latest:
            colour = "#1e7b34" if o.ok else ("#8a6d00" if o.manual else "#b3261e")
            when = f"{o.at[:16].replace('T', ' ')} — " if o.at else ""
            parts.append(
                f"<li>{escape(when)}<b>{escape(o.what)}</b>: "
                f"<span style='color:{colour}'>{escape(o.detail)}</span></li>"
            )
        parts.append("</ul>")
        if done < len(latest):
            parts.append(
                "<p>Go <i>Back</i> to the Deploy page to deploy again to what failed; the "
                "backups keep each device's previous configuration.</p>"
            )
    else:
        parts.append(
            "<p>Nothing was deployed yet. Go <i>Back</i> to the Deploy page to deploy to the "
            "SBCs, gateways and OVOC, or to follow its <i>By hand</i> steps.</p>"
        )
    scheduled = ""
    if s.acme.get("settings"):
        from app.renewal.schedule import schedule_for

        scheduled = schedule_for(ws.path)
        parts.append(
            f"<p><b>Renews itself</b> ({escape(scheduled)}): accert renew orders, exports and "
            "deploys again when 30 days are left, and writes a report.</p>"
            if scheduled
            else "<p>This certificate came by ACME: <i>Renew automatically</i> lets Windows "
            "renew, export and deploy it again before it expires, with a report each time.</p>"
        )
    if scheduled:
        return "".join(parts)  # no manual renewal to remind of
    when = ""
    if s.leaf_not_after:
        not_after = dt.datetime.fromisoformat(s.leaf_not_after)
        when = (
            f"Renew by <b>{renew_by(not_after):%Y-%m-%d}</b> (it expires on {not_after:%Y-%m-%d}): "
        )
    parts.append(
        f"<p>{when}start accert and choose <i>Start a new renewal</i>; the organisation fields "
        "are filled in from this one. <i>Add a renewal reminder</i> puts the date in your "
        "calendar.</p>"
    )
    return "".join(parts)


@dataclass(frozen=True)
class Outcome:
    """One device or server of a deployment record, in the user's words."""

    what: str  # "SBC 10.0.0.5:443", "OVOC acems@ovoc:22"
    ok: bool
    detail: str  # "done, context 1 (SIP-Teams), …" or "failed — why"
    manual: bool = False
    at: str = ""

    @property
    def line(self) -> str:
        return f"{self.what}: {self.detail}"


def _backup(dev: dict[str, object]) -> str:
    return f" (backup {dev['backup']})" if dev.get("backup") else ""


def device_name(label: object) -> str:
    """'SBC London' and 'Sim SBC' stay as they are; '10.0.0.5:443' becomes 'SBC 10.0.0.5:443'."""
    text = str(label)
    words = {w.strip("()[],:-").lower() for w in text.split()}
    return text if words & {"sbc", "gateway", "mediant"} else f"SBC {text}"


def _roots(dev: dict[str, object]) -> list[str]:
    """ "Teams roots 7/7" per context with a platform (app.mediant.trust.RootsStatus.text)."""
    roots = dev.get("roots")
    return [str(r) for r in roots] if isinstance(roots, list) else []


def _device_outcome(dev: dict[str, object], at: str) -> Outcome:
    label = str(dev.get("device", ""))
    what = device_name(label)
    if dev.get("ok"):
        parts = ["done"]
        contexts = dev.get("contexts")
        if isinstance(contexts, list) and contexts:
            parts.append(f"context {', '.join(str(c) for c in contexts)}")
        parts += _roots(dev)
        if dev.get("served"):
            parts.append(f"serves SHA-256 {str(dev['served'])[:23]}…")
        return Outcome(what, True, ", ".join(parts) + _backup(dev), at=at)
    if dev.get("manual"):
        return Outcome(
            what,
            False,
            "by hand: its firmware has no REST API; the files and steps are on the Deploy page",
            manual=True,
            at=at,
        )
    why = str(dev.get("message") or "").removeprefix(f"{label}: ")  # the line names it
    roots = "".join(f", {r}" for r in _roots(dev))
    return Outcome(what, False, f"failed{' — ' + why if why else ''}{roots}{_backup(dev)}", at=at)


def outcomes(records: Iterable[dict[str, object]]) -> list[Outcome]:
    """Every device and server of the deployment records, oldest first."""
    out: list[Outcome] = []
    for d in records:
        at = str(d.get("at", ""))
        kind = d.get("kind", "")
        if kind == "mediant-fleet":
            devices = d.get("devices")
            for dev in devices if isinstance(devices, list) else []:
                if isinstance(dev, dict):
                    out.append(_device_outcome(dev, at))
            continue
        if kind == "ovoc":
            what = f"OVOC {d.get('target', '')}"
        else:
            label = "SBC" if kind == "mediant" else str(kind)
            what = f"{label} {d.get('target') or d.get('device') or kind}"
        if d.get("ok"):
            served = d.get("served_sha256") or d.get("served")
            extra = f", serves SHA-256 {str(served)[:23]}…" if served else ""
            out.append(Outcome(what, True, "done" + extra, at=at))
        else:
            why = d.get("error") or d.get("message") or ""
            out.append(Outcome(what, False, f"failed{' — ' + str(why) if why else ''}", at=at))
    return out


def latest_outcomes(records: Iterable[dict[str, object]]) -> list[Outcome]:
    """The newest outcome of each device and server: a retry that worked replaces the failure."""
    newest: dict[str, Outcome] = {}
    for o in outcomes(records):
        newest.pop(o.what, None)  # keeps the order of the newest attempts
        newest[o.what] = o
    return list(newest.values())


def deployment_lines(d: dict[str, object]) -> list[str]:
    """One line per device or server of a deployment record, in the user's words."""
    return [o.line for o in outcomes([d])]


class _OpensCertificate(QObject):
    """Double-click on the certificate's rows, or Enter in the summary, opens its details (as
    in the CA response tree and the dashboard). Enter is taken here: it does not press Finish."""

    def __init__(self, page: SummaryPage) -> None:
        super().__init__(page.view)  # goes with the view it watches
        self.page = page
        # Kept, not asked of the view each time: events still arrive while it is destroyed.
        self.view, self.viewport = page.view, page.view.viewport()
        self.view.installEventFilter(self)
        self.viewport.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        enter = (
            kind == QEvent.Type.KeyPress
            and watched is self.view
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        )
        double_click = (
            kind == QEvent.Type.MouseButtonDblClick
            and watched is self.viewport
            and isinstance(event, QMouseEvent)
            and self._on_certificate_row(event.position().toPoint())
        )
        if (enter or double_click) and self.page.view_cert.isEnabled():  # enabled: issued
            self.page.view_certificate()
            return True
        return False

    def _on_certificate_row(self, pos: QPoint) -> bool:
        cursor = self.view.cursorForPosition(pos)
        table = cursor.currentTable()
        if table is None:
            return False
        row = table.cellAt(cursor).row()
        heading = table.cellAt(row, 0).firstCursorPosition().block().text()
        return heading in CERT_ROWS


class SummaryPage(BasePage):
    page_id = Page.SUMMARY

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.view = QTextBrowser()
        self.view.setOpenLinks(False)
        self.view.anchorClicked.connect(
            lambda url: self.view_certificate() if url.toString() == CERT_LINK else None
        )
        layout.addWidget(self.view, 1)
        row = QHBoxLayout()
        self.view_cert = QPushButton("&View the certificate…")
        self.view_cert.clicked.connect(self.view_certificate)
        _OpensCertificate(self)
        self.open_folder = QPushButton("&Open the renewal folder")  # Alt+F is Finish
        self.open_folder.clicked.connect(lambda: self._open(self.session.require().path))
        self.open_path = open_in_system  # tests replace it (nothing opens offscreen)
        self.open_log = QPushButton("Open the &log")
        self.open_log.clicked.connect(self.show_log)
        self.reminder = QPushButton("Add a renewal &reminder to your calendar")
        self.reminder.clicked.connect(self.add_reminder)
        self.auto_time = QTimeEdit(QTime(6, 30))
        self.auto_time.setDisplayFormat("HH:mm")
        self.auto_time.setToolTip("The time of day the renewal check runs")
        self.auto = QPushButton("Renew &automatically daily at")
        self.auto.setToolTip(
            "Registers a Windows scheduled task running accert renew for this renewal"
        )
        self.auto.clicked.connect(self.renew_automatically)
        row.addWidget(self.open_folder)
        row.addWidget(self.open_log)
        row.addWidget(self.view_cert)
        row.addStretch(1)
        row.addWidget(self.auto)
        row.addWidget(self.auto_time)
        row.addWidget(self.reminder)
        layout.addLayout(row)
        layout.addWidget(self.message)

    def initializePage(self) -> None:
        ws = self.session.require()
        self.view.setHtml(summary_html(ws))
        self.reminder.setEnabled(bool(ws.state.leaf_not_after))
        self.view_cert.setEnabled(bool(ws.state.leaf_sha256))
        acme = bool(ws.state.acme.get("settings")) and ws.state.stage.at_least(Stage.ISSUED)
        self.auto.setVisible(acme)
        self.auto_time.setVisible(acme)
        self.message.clear_message()

    def view_certificate(self) -> QWidget | None:
        from ui.cert_view import show_certificate

        ws = self.session.require()
        try:
            cert = ws.certificate()
        except AccertError as exc:
            self.message.show_error(exc)
            return None
        return show_certificate(cert, self.window())

    def renew_automatically(self) -> None:
        """A daily `accert renew` for this renewal; says when it runs next."""
        from app.renewal.schedule import register  # loaded on use: the wizard starts light

        ws = self.session.require()
        at = self.auto_time.time()
        self.auto.setEnabled(False)
        self.run(
            "Scheduling the renewal",
            register,
            ws.path,
            dt.time(at.hour(), at.minute()),
            on_done=self._scheduled,
            on_error=self._schedule_failed,
        )

    def _scheduled(self, done: Registered) -> None:
        self.auto.setEnabled(True)
        ws = self.session.require()
        self.view.setHtml(summary_html(ws))
        when = f"{done.next_run:%Y-%m-%d %H:%M}"
        if done.windows:
            self.message.show_message(
                "ok",
                f"Task {done.name} renews this certificate; next run {when}. It runs while you "
                "are logged on; to run it logged off too, run in a terminal: accert schedule "
                f'"{ws.path}" --daily {done.next_run:%H:%M} (it asks for your Windows password).',
            )
        else:
            self.message.show_message(
                "ok", f"Add this line to your crontab (crontab -e); next run {when}: {done.command}"
            )

    def _schedule_failed(self, exc: AccertError) -> None:
        self.auto.setEnabled(True)
        self.show_error(exc)

    def add_reminder(self) -> None:
        """Write renew-reminder.ics into the renewal and open it: Outlook offers to save it."""
        ws = self.session.require()
        try:
            not_after = dt.datetime.fromisoformat(ws.state.leaf_not_after)
            path = write_reminder(ws.state.request.subject.common_name, not_after, ws.path)
        except (AccertError, ValueError) as exc:
            self.message.show_message("error", f"Could not write the reminder: {exc}")
            return
        if self.open_path(path):
            self.message.show_message(
                "ok", f"Reminder saved as {path}; your calendar program opens it to add it."
            )
        else:
            self.message.show_message(
                "warning",
                f"Reminder saved as {path}, but no calendar program opened it: import that file "
                "into your calendar (in Outlook: File > Open & Export > Import/Export).",
            )

    def _open(self, path: Path) -> None:
        if not self.open_path(path):
            self.message.show_message("warning", nothing_opened(path))

    def show_log(self) -> None:
        """log.jsonl rendered as log.txt (Notepad opens it; nothing on Windows opens .jsonl)."""
        from app.log_text import write_readable

        ws = self.session.require()
        try:
            path = write_readable(ws.read_log(), ws.path)
        except AccertError as exc:
            self.message.show_message("error", f"Could not write the log: {exc}")
            return
        self._open(path)
