"""Summary: what was produced and deployed, and where the files and the log are."""

from __future__ import annotations

import datetime as dt
from html import escape

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from app.errors import AccertError
from app.flow import Page
from app.reminder import renew_by, write_reminder
from app.workspace import Workspace
from ui.base import BasePage


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
    rows += [("Renewal folder", str(ws.path)), ("Log", str(ws.log_path))]
    table = "".join(
        f"<tr><td style='padding-right:12px'><b>{escape(k)}</b></td><td>{escape(v)}</td></tr>"
        for k, v in rows
    )
    parts = [f"<table>{table}</table>"]
    if s.exports:
        parts.append("<h4>Exported</h4><ul>")
        for e in s.exports:
            files = ", ".join(e.get("files", ()))
            parts.append(f"<li>{escape(e.get('folder', ''))}: {escape(files)}</li>")
        parts.append("</ul>")
    if s.deployments:
        parts.append("<h4>Deployed</h4><ul>")
        for d in s.deployments:
            parts += [f"<li>{escape(line)}</li>" for line in deployment_lines(d)]
        parts.append("</ul>")
    else:
        parts.append(
            "<p>Nothing was deployed yet. Go <i>Back</i> to the Deploy page to deploy to the "
            "SBCs, gateways and OVOC, or to follow its <i>By hand</i> steps.</p>"
        )
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


def _outcome(ok: object, error: object = "") -> str:
    return "done" if ok else f"failed{': ' + str(error) if error else ''}"


def deployment_lines(d: dict[str, object]) -> list[str]:
    """One line per device or server of a deployment record, in the user's words."""
    kind = d.get("kind", "")
    if kind == "mediant-fleet":
        devices = d.get("devices")
        lines = []
        for dev in devices if isinstance(devices, list) else []:
            backup = f" (backup {dev['backup']})" if dev.get("backup") else ""
            lines.append(f"SBC {dev.get('device', '')}: {_outcome(dev.get('ok'))}{backup}")
        return lines
    if kind == "ovoc":
        return [f"OVOC {d.get('target', '')}: {_outcome(d.get('ok'), d.get('error', ''))}"]
    what = d.get("target") or d.get("device") or kind
    label = "SBC" if kind == "mediant" else str(kind)
    error = d.get("error") or d.get("message", "")
    return [f"{label} {what}: {_outcome(d.get('ok'), error)}"]


class SummaryPage(BasePage):
    page_id = Page.SUMMARY

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.view = QTextBrowser()
        layout.addWidget(self.view, 1)
        row = QHBoxLayout()
        self.open_folder = QPushButton("Open the renewal &folder")
        self.open_folder.clicked.connect(lambda: self._open(self.session.require().path))
        self.open_log = QPushButton("Open the &log")
        self.open_log.clicked.connect(lambda: self._open(self.session.require().log_path))
        self.reminder = QPushButton("Add a renewal &reminder to your calendar")
        self.reminder.clicked.connect(self.add_reminder)
        row.addWidget(self.open_folder)
        row.addWidget(self.open_log)
        row.addStretch(1)
        row.addWidget(self.reminder)
        layout.addLayout(row)
        layout.addWidget(self.message)
        self.open_path = self._open  # tests replace it (nothing to open offscreen)

    def initializePage(self) -> None:
        ws = self.session.require()
        self.view.setHtml(summary_html(ws))
        self.reminder.setEnabled(bool(ws.state.leaf_not_after))
        self.message.clear_message()

    def add_reminder(self) -> None:
        """Write renew-reminder.ics into the renewal and open it: Outlook offers to save it."""
        ws = self.session.require()
        try:
            not_after = dt.datetime.fromisoformat(ws.state.leaf_not_after)
            path = write_reminder(ws.state.request.subject.common_name, not_after, ws.path)
        except (AccertError, ValueError) as exc:
            self.message.show_message("error", f"Could not write the reminder: {exc}")
            return
        self.message.show_message(
            "ok", f"Reminder saved as {path}; your calendar program opens it to add it."
        )
        self.open_path(path)

    @staticmethod
    def _open(path: object) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
