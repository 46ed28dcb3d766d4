"""The run's report: JSON for scripts, HTML for the engineer, both in the new renewal's folder.

Per device: old and new fingerprint, what it serves now (a real handshake), its backup, the time
taken, and for a failure what to do. Every text from a peer is escaped for HTML.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from app import __version__
from app.atomic import atomic_write_text
from app.renewal.run import RenewOutcome, StepResult

REPORT_JSON = "renew-report.json"
REPORT_HTML = "renew-report.html"

_STATUS = {
    "renewed": "Renewed",
    "failed": "FAILED",
    "not-due": "Not due",
    "dry-run": "Dry run: nothing changed",
}


def as_data(outcomes: list[RenewOutcome]) -> dict[str, Any]:
    return {
        "accert": __version__,
        "ok": not any(o.failed for o in outcomes),
        "renewals": [_one(o) for o in outcomes],
    }


def _one(o: RenewOutcome) -> dict[str, Any]:
    due = o.due
    return {
        "source": str(o.source),
        "status": o.status,
        "message": o.message,
        "renewal": str(o.renewal) if o.renewal else "",
        "renews": str(o.predecessor) if o.predecessor else "",
        "due": {
            "due": due.due,
            "reason": due.reason,
            "not_after": due.not_after.isoformat(),
            "days_left": round(due.days_left, 2),
            "ari_renew_at": due.ari_renew_at.isoformat() if due.ari_renew_at else "",
            "ari_note": due.ari_note,
        }
        if due
        else None,
        "started": o.started,
        "finished": o.finished,
        "steps": [asdict(s) for s in o.steps],
        "plan": o.plan.lines() if o.plan else [],
    }


def subject_line(outcomes: list[RenewOutcome]) -> str:
    failed = [o for o in outcomes if o.failed]
    renewed = [o for o in outcomes if o.status == "renewed"]
    if failed:
        return f"accert renew: {len(failed)} renewal(s) need attention"
    if renewed:
        return f"accert renew: {len(renewed)} certificate(s) renewed and deployed"
    return "accert renew: nothing was due"


def text(outcomes: list[RenewOutcome]) -> str:
    lines: list[str] = []
    for o in outcomes:
        lines.append(f"{_STATUS.get(o.status, o.status)}: {o.message}")
        for s in o.steps:
            mark = "ok    " if s.ok else "FAILED"
            lines.append(f"  {mark} {s.target}: {s.message}")
            if not s.ok and s.hint:
                lines.append(f"         what to do: {s.hint}")
            if s.kind in ("sbc", "ovoc") and s.ok:
                lines.append(f"         serves {s.served_sha256}; backup {s.backup or '-'}")
    return "\n".join(lines) + "\n"


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _what_to_do(s: StepResult) -> str:
    return f"<br><b>What to do:</b> {_esc(s.hint)}" if s.hint and not s.ok else ""


def _device_row(s: StepResult) -> str:
    status = "ok" if s.ok else ("skipped, nothing sent" if s.nothing_sent else "FAILED")
    what = _esc(s.message) + (
        f"<br><b>What to do:</b> {_esc(s.hint)}" if s.hint and not s.ok else ""
    )
    return (
        f"<tr class={'ok' if s.ok else 'bad'}><td>{_esc(s.target)}</td><td>{_esc(status)}</td>"
        f"<td class=fp>{_esc(s.old_sha256)}</td><td class=fp>{_esc(s.new_sha256)}</td>"
        f"<td class=fp>{_esc(s.served_sha256 or '-')}</td><td>{_esc(s.backup or '-')}</td>"
        f"<td>{s.elapsed_s:.1f} s</td><td>{what}</td></tr>"
    )


def to_html(outcomes: list[RenewOutcome]) -> str:
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        f"<title>{_esc(subject_line(outcomes))}</title><style>",
        "body{font-family:Segoe UI,Arial,sans-serif;margin:1.5em}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}"
        "td,th{border:1px solid #bbb;padding:.3em .5em;vertical-align:top;text-align:left}"
        ".fp{font-family:Consolas,monospace;font-size:80%;word-break:break-all;max-width:16em}"
        "tr.bad td{background:#fde8e8}tr.ok td{background:#eef8ee}",
        "</style></head><body>",
        f"<h1>{_esc(subject_line(outcomes))}</h1>",
    ]
    for o in outcomes:
        parts.append(f"<h2>{_esc(_STATUS.get(o.status, o.status))}: {_esc(o.source)}</h2>")
        parts.append(f"<p>{_esc(o.message)}</p>")
        if o.due:
            parts.append(f"<p>Why: {_esc(o.due.reason)}</p>")
            if o.due.ari_note:
                parts.append(f"<p>{_esc(o.due.ari_note)}</p>")
        steps = [s for s in o.steps if s.kind not in ("sbc", "ovoc")]
        devices = [s for s in o.steps if s.kind in ("sbc", "ovoc")]
        if steps:
            parts.append(
                "<table><tr><th>Step</th><th>Result</th><th>Details</th><th>Time</th></tr>"
            )
            for s in steps:
                what = _esc(s.message) + _what_to_do(s)
                parts.append(
                    f"<tr class={'ok' if s.ok else 'bad'}><td>{_esc(s.target)}</td>"
                    f"<td>{'ok' if s.ok else 'FAILED'}</td><td>{what}</td>"
                    f"<td>{s.elapsed_s:.1f} s</td></tr>"
                )
            parts.append("</table>")
        if devices:
            parts.append(
                "<table><tr><th>Device</th><th>Result</th><th>Old certificate (SHA-256)</th>"
                "<th>New certificate (SHA-256)</th><th>Serves now (SHA-256)</th><th>Backup</th>"
                "<th>Time</th><th>Details</th></tr>"
            )
            parts.extend(_device_row(s) for s in devices)
            parts.append("</table>")
    parts.append(f"<p><small>accert {_esc(__version__)}</small></p></body></html>\n")
    return "".join(parts)


def write(outcomes: list[RenewOutcome], folder: Path) -> tuple[Path, Path]:
    json_path, html_path = folder / REPORT_JSON, folder / REPORT_HTML
    atomic_write_text(json_path, json.dumps(as_data(outcomes), indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(html_path, to_html(outcomes))
    return json_path, html_path


def write_file(outcomes: list[RenewOutcome], path: Path) -> Path:
    """--report FILE: HTML when it ends in .htm(l), JSON otherwise."""
    if path.suffix.lower() in (".html", ".htm"):
        atomic_write_text(path, to_html(outcomes))
    else:
        atomic_write_text(path, json.dumps(as_data(outcomes), indent=2, ensure_ascii=False) + "\n")
    return path
