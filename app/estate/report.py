"""The scan as files to keep or mail: CSV for spreadsheets, one self-contained HTML page."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
from collections.abc import Sequence
from pathlib import Path

from app.atomic import atomic_write
from app.checks import EXPIRY_WARNING_DAYS
from app.estate.scan import Match, ScanRow, Urgency
from app.peer_text import escape_peer
from app.words import count

CSV_COLUMNS = (
    "urgency",
    "name",
    "kind",
    "site",
    "host",
    "port",
    "status",
    "days_left",
    "not_after",
    "common_name",
    "subject",
    "sans",
    "issuer",
    "chain_complete",
    "chain_note",
    "key",
    "matches_renewal",
    "sha256",
    "error",
)

# Colour by urgency, readable on screen and in print (text keeps the meaning for colour-blind
# readers: every row also says its status in words).
COLOURS = {
    Urgency.EXPIRED: ("#b71c1c", "#fde0e0"),
    Urgency.EXPIRING: ("#e65100", "#fff0d9"),
    Urgency.UNREACHABLE: ("#546e7a", "#eceff1"),
    Urgency.PROBLEM: ("#8d6e00", "#fff8cc"),
    Urgency.OK: ("#1b5e20", "#e3f4e4"),
}


def _csv_cell(value: str) -> str:
    # A cell starting with = + - @ is run as a formula by Excel; a served certificate's
    # subject is chosen by whoever runs that server.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def to_csv(rows: Sequence[ScanRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        cells = [
            r.urgency.label,
            r.target.label,
            r.target.kind.value,
            r.target.site,
            r.target.host,
            str(r.port),
            r.status,
            "" if r.days_left is None else str(r.days_left),
            r.not_after.strftime("%Y-%m-%d %H:%M UTC") if r.not_after else "",
            r.common_name,
            r.subject,
            " ".join(r.sans),
            r.issuer,
            ("yes" if r.chain_complete else "no") if r.reachable else "",
            r.chain_note,
            r.key,
            r.match.value,
            r.leaf_sha256,
            r.error,
        ]
        writer.writerow([c if c.lstrip("-").isdigit() else _csv_cell(c) for c in cells])
    return out.getvalue()


def write_csv(rows: Sequence[ScanRow], path: Path) -> Path:
    # UTF-8 with a BOM: Excel on Windows then shows accents and IDN names correctly.
    atomic_write(path, ("\ufeff" + to_csv(rows)).encode("utf-8"), secret=False)
    return path


# --- HTML ------------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.4 "Segoe UI",Arial,sans-serif;margin:24px;color:#222}
h1{font-size:20px;margin:0 0 4px}
.meta{color:#555;margin-bottom:16px}
.pill{display:inline-block;padding:2px 10px;border-radius:10px;margin-right:6px;font-weight:600}
table{border-collapse:collapse;width:100%;margin-top:16px}
th,td{border-bottom:1px solid #ddd;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4;position:sticky;top:0}
td.status{font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.nowrap,td.num{white-space:nowrap}
.pills{margin:8px 0}
.small{font-size:12px;color:#555;word-break:break-all}
svg text{font:11px "Segoe UI",Arial,sans-serif}
@media print{th{position:static}}
"""


def _e(text: object) -> str:
    return html.escape(escape_peer(text), quote=True)


def timeline_svg(rows: Sequence[ScanRow], now: dt.datetime, *, width: int = 960) -> str:
    """Expiry dates on one axis, from the earliest (or today) to the latest; one dot per port.

    Dots on the same day are stacked so none hides another.
    """
    dated = [r for r in rows if r.not_after is not None]
    if not dated:
        return ""
    dates = [r.not_after for r in dated if r.not_after is not None]
    start = min([*dates, now]) - dt.timedelta(days=7)
    end = max([*dates, now + dt.timedelta(days=30)]) + dt.timedelta(days=7)
    span = (end - start).total_seconds()
    left, right, axis_y = 20, width - 20, 40

    def x(when: dt.datetime) -> float:
        return left + (right - left) * (when - start).total_seconds() / span

    stacks: dict[int, int] = {}
    dots = []
    for r in sorted(dated, key=lambda r: r.sort_key):
        assert r.not_after is not None
        cx = x(r.not_after)
        level = stacks.get(round(cx / 6), 0)
        stacks[round(cx / 6)] = level + 1
        fg, _ = COLOURS[r.urgency]
        title = f"{r.target.label}:{r.port} {r.common_name}, {r.not_after:%Y-%m-%d}: {r.status}"
        dots.append(
            f'<circle cx="{cx:.1f}" cy="{axis_y + 12 + level * 10}" r="4" fill="{fg}">'
            f"<title>{_e(title)}</title></circle>"
        )
    height = axis_y + 24 + max(stacks.values(), default=1) * 10
    ticks = []
    month = dt.datetime(start.year, start.month, 1, tzinfo=dt.UTC)
    step = max(1, round((end - start).days / 30 / 12))  # at most about 12 labels
    while month <= end:
        if month >= start:
            tx = x(month)
            ticks.append(
                f'<line x1="{tx:.1f}" y1="{axis_y - 4}" x2="{tx:.1f}" y2="{axis_y + 4}" '
                f'stroke="#999"/><text x="{tx:.1f}" y="{axis_y - 8}" text-anchor="middle" '
                f'fill="#555">{month:%b %Y}</text>'
            )
        year, mon = divmod(month.month - 1 + step, 12)
        month = month.replace(year=month.year + year, month=mon + 1)
    today = x(now)
    limit = x(now + dt.timedelta(days=dated[0].threshold))
    return (
        f'<svg role="img" aria-label="Expiry timeline" width="100%" viewBox="0 0 {width} '
        f'{height}" xmlns="http://www.w3.org/2000/svg">'
        f'<line x1="{left}" y1="{axis_y}" x2="{right}" y2="{axis_y}" stroke="#999"/>'
        + "".join(ticks)
        + f'<line x1="{today:.1f}" y1="{axis_y - 16}" x2="{today:.1f}" y2="{height}" '
        f'stroke="#1565c0" stroke-dasharray="3,3"/><text x="{today + 3:.1f}" y="{height - 2}" '
        f'fill="#1565c0">today</text>'
        f'<line x1="{limit:.1f}" y1="{axis_y - 16}" x2="{limit:.1f}" y2="{height}" '
        f'stroke="#e65100" stroke-dasharray="3,3"/><text x="{limit + 3:.1f}" y="{height - 2}" '
        f'fill="#e65100">+{dated[0].threshold} days</text>' + "".join(dots) + "</svg>"
    )


def to_html(
    rows: Sequence[ScanRow],
    *,
    title: str = "Certificate expiry across the estate",
    now: dt.datetime | None = None,
) -> str:
    now = now or dt.datetime.now(dt.UTC)
    threshold = rows[0].threshold if rows else EXPIRY_WARNING_DAYS
    counts = {u: sum(1 for r in rows if r.urgency is u) for u in Urgency}
    pills = "".join(
        f'<span class="pill" style="color:{COLOURS[u][0]};background:{COLOURS[u][1]}">'
        f"{counts[u]} {_e(u.label)}</span>"
        for u in Urgency
        if counts[u]
    )
    show_match = any(r.match is not Match.NOT_ASKED for r in rows)
    head = ["Status", "Name", "Port", "Days", "Expires", "Subject / names", "Issuer", "Chain"]
    head += ["Key"]
    head += ["Renewal"] if show_match else []
    body = []
    for r in rows:
        fg, bg = COLOURS[r.urgency]
        if r.reachable:
            names = f"{_e(r.common_name)}<div class=small>{_e(', '.join(r.sans))}</div>"
            chain = "complete" if r.chain_complete else r.chain_note or "incomplete"
            cells = [
                f'<td class="num">{r.days_left}</td>',
                f"<td class=nowrap>{r.not_after:%Y-%m-%d}</td>" if r.not_after else "<td></td>",
                f"<td>{names}</td>",
                f"<td class=small>{_e(r.issuer)}</td>",
                f"<td>{_e(chain)}</td>",
                f"<td>{_e(r.key)}</td>",
            ]
        else:
            cells = [f'<td colspan="6" class=small>{_e(r.error)}</td>']
        if show_match:
            cells.append(f"<td>{_e(r.match.value)}</td>")
        body.append(
            f'<tr style="background:{bg}"><td class=status style="color:{fg}">'
            f"{_e(r.status)}</td><td>{_e(r.target.label)}"
            f"<div class=small>{_e(r.target.host)} · {_e(r.target.kind.label)}"
            f"{' · ' + _e(r.target.site) if r.target.site else ''}</div></td>"
            f'<td class="num">{r.port}</td>' + "".join(cells) + "</tr>"
        )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_e(title)}</h1><div class=meta>Scanned {now:%Y-%m-%d %H:%M} UTC · "
        f"{count(len({r.target.key for r in rows}), 'target')}, {count(len(rows), 'port')} · "
        f"warning threshold {threshold} days</div><div class=pills>{pills}</div>"
        f"{timeline_svg(rows, now)}<table><thead><tr>"
        + "".join(f"<th>{_e(h)}</th>" for h in head)
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></body></html>\n"
    )


def write_html(rows: Sequence[ScanRow], path: Path, *, now: dt.datetime | None = None) -> Path:
    atomic_write(path, to_html(rows, now=now).encode("utf-8"), secret=False)
    return path
