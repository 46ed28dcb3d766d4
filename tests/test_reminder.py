"""The renewal reminder, read back by a calendar library as Outlook or Google Calendar would."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import icalendar

from app import cli
from app.ca_response import Source
from app.reminder import reminder_ics, renew_by
from tests.helpers import issued
from tests.pki import TestCA


def _event(text: str) -> icalendar.Event:
    cal = icalendar.Calendar.from_ical(text)
    events = [c for c in cal.walk() if c.name == "VEVENT"]
    assert len(events) == 1
    return events[0]


def test_the_reminder_is_a_calendar_event_on_the_renew_by_day(tmp_path: Path) -> None:
    not_after = dt.datetime.now(dt.UTC) + dt.timedelta(days=200)
    folder = tmp_path / "star_example_com-2026-11-22; with, odd chars"
    text = reminder_ics("*.example.com", not_after, folder)
    assert text.endswith("\r\n") and all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    event = _event(text)
    assert event.decoded("dtstart") == (not_after - dt.timedelta(days=30)).date()
    assert str(event["summary"]) == (
        f"Renew the certificate *.example.com (expires {not_after:%Y-%m-%d})"
    )
    description = str(event["description"])
    assert str(folder) in description and "Start a new renewal" in description
    alarm = next(c for c in event.walk() if c.name == "VALARM")
    assert alarm.decoded("trigger") == -dt.timedelta(days=7)


def test_a_certificate_already_inside_the_lead_time_is_due_today() -> None:
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=10)
    assert renew_by(soon) == dt.datetime.now(dt.UTC).date()


def test_accert_reminder_writes_the_file_into_the_renewal(
    tmp_path: Path, test_ca: TestCA, capsys: object
) -> None:
    ws, leaf = issued(tmp_path, test_ca)
    ws.import_response([Source(leaf.name, leaf.read_bytes() + test_ca.inter_pem)])
    assert cli.main(["reminder", str(ws.path), "--days", "45"]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    path = ws.path / "renew-reminder.ics"
    assert f"Calendar reminder: {path}" in out
    not_after = ws.certificate().not_valid_after_utc
    event = _event(path.read_text(encoding="utf-8"))
    assert event.decoded("dtstart") == max(
        (not_after - dt.timedelta(days=45)).date(), dt.datetime.now(dt.UTC).date()
    )
    assert f"Renew by {event.decoded('dtstart'):%Y-%m-%d}" in out
    assert cli.main(["reminder", str(ws.path), "--days", "-1"]) != 0
