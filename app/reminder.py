"""A calendar reminder to renew before the certificate expires (an .ics file Outlook opens).

Public certificates now last 200 days (100 from March 2027): "next year" is no longer when the
next renewal is due, so the date goes into the engineer's calendar.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from app.atomic import atomic_write

DEFAULT_LEAD_DAYS = 30  # enough for a CA order, a change window and a fallback


def renew_by(not_after: dt.datetime, lead_days: int = DEFAULT_LEAD_DAYS) -> dt.date:
    """The day to start the renewal: `lead_days` before expiry, never in the past."""
    today = dt.datetime.now(dt.UTC).date()
    return max((not_after - dt.timedelta(days=lead_days)).date(), today)


def _escape(text: str) -> str:
    # RFC 5545 3.3.11: backslash, semicolon, comma and newlines are escaped in TEXT values.
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    # RFC 5545 3.1: lines longer than 75 octets are folded with CRLF + space.
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    parts: list[str] = []
    start = 0
    while start < len(data):
        end = min(start + (75 if not parts else 74), len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # never split a UTF-8 sequence
            end -= 1
        parts.append(data[start:end].decode("utf-8"))
        start = end
    return "\r\n ".join(parts)


def reminder_ics(
    common_name: str,
    not_after: dt.datetime,
    renewal_folder: Path,
    *,
    lead_days: int = DEFAULT_LEAD_DAYS,
    now: dt.datetime | None = None,
) -> str:
    """An all-day event on the renew-by day, with an alarm a week before it."""
    now = now or dt.datetime.now(dt.UTC)
    day = renew_by(not_after, lead_days)
    expires = not_after.astimezone(dt.UTC)
    description = (
        f"The TLS certificate {common_name} expires on {expires:%Y-%m-%d %H:%M} UTC.\n"
        f"Start accert and choose 'Start a new renewal' (last time: {renewal_folder}).\n"
        "Then deploy it to every SBC, gateway and OVOC that serves it (the estate dashboard "
        "lists them)."
    )
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//accert//certificate renewal//EN",
        "CALSCALE:GREGORIAN",
        "BEGIN:VEVENT",
        f"UID:{uuid.uuid5(uuid.NAMESPACE_URL, f'accert:{common_name}:{expires.isoformat()}')}",
        f"DTSTAMP:{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}",
        f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
        f"DTEND;VALUE=DATE:{day + dt.timedelta(days=1):%Y%m%d}",
        f"SUMMARY:{_escape(f'Renew the certificate {common_name} (expires {expires:%Y-%m-%d})')}",
        f"DESCRIPTION:{_escape(description)}",
        "TRANSP:TRANSPARENT",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        f"DESCRIPTION:{_escape(f'Renew {common_name} this week')}",
        "TRIGGER:-P7D",
        "END:VALARM",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def write_reminder(
    common_name: str,
    not_after: dt.datetime,
    renewal_folder: Path,
    *,
    lead_days: int = DEFAULT_LEAD_DAYS,
) -> Path:
    """renew-reminder.ics in the renewal folder (not a secret); returns its path."""
    path = renewal_folder / "renew-reminder.ics"
    text = reminder_ics(common_name, not_after, renewal_folder, lead_days=lead_days)
    atomic_write(path, text.encode("utf-8"), secret=False)
    return path
