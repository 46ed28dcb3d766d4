"""The CSV and HTML an engineer mails round: safe to open, readable, complete."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

from app.estate.inventory import Target
from app.estate.report import timeline_svg, to_csv, to_html
from app.estate.scan import Match, ScanRow, Urgency

NOW = dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC)


def row(name: str, days: int | None, **kw: object) -> ScanRow:
    fields: dict[str, object] = {"reachable": days is not None}
    if days is not None:
        fields |= {
            "days_left": days,
            "not_after": NOW + dt.timedelta(days=days),
            "common_name": f"{name}.example.com",
            "chain_complete": True,
        }
    fields |= kw
    return ScanRow(Target(f"{name}.example.com", name=name), 443, **fields)  # type: ignore[arg-type]


def test_hostile_subjects_cannot_inject_formulas_or_markup() -> None:
    evil = row("evil", 50, common_name='=HYPERLINK("http://x")<script>alert(1)</script>')
    text = to_csv([evil])
    (parsed,) = csv.DictReader(io.StringIO(text))
    assert parsed["common_name"].startswith("'=HYPERLINK")
    page = to_html([evil], now=NOW)
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_negative_days_stay_numbers_in_csv() -> None:
    (parsed,) = csv.DictReader(io.StringIO(to_csv([row("old", -4)])))
    assert parsed["days_left"] == "-4" and parsed["urgency"] == "expired"


def test_html_counts_colours_and_renewal_column_only_when_asked() -> None:
    rows = [row("a", -1), row("b", 5), row("c", None, error="refused"), row("d", 200)]
    page = to_html(rows, now=NOW)
    assert "1 expired" in page and "1 expiring" in page and "1 unreachable" in page
    assert "#fde0e0" in page and "#e3f4e4" in page  # red and green rows
    assert "<th>Renewal</th>" not in page
    page = to_html([row("a", 40, match=Match.CERTIFICATE)], now=NOW)
    assert "<th>Renewal</th>" in page and "<td>renewed</td>" in page


def test_timeline_places_dates_in_order_and_marks_today() -> None:
    rows = [row("soon", 3), row("later", 150), row("none", None)]
    svg = timeline_svg(rows, NOW)
    xs = [float(x) for x in re.findall(r'<circle cx="([\d.]+)"', svg)]
    assert len(xs) == 2 and xs[0] < xs[1]  # the urgent first, placed earlier
    assert ">today<" in svg and "+30 days" in svg and "Dec 2026" in svg
    assert timeline_svg([row("none", None)], NOW) == ""


def test_same_day_dots_are_stacked_not_hidden() -> None:
    svg = timeline_svg([row(f"s{i}", 60) for i in range(4)], NOW)
    ys = {re.search(r'cy="(\d+)"', c).group(1) for c in svg.split("<circle")[1:]}  # type: ignore[union-attr]
    assert len(ys) == 4


def test_urgency_order_for_sorting() -> None:
    assert Urgency.EXPIRED < Urgency.EXPIRING < Urgency.UNREACHABLE < Urgency.PROBLEM < Urgency.OK
    assert row("x", 10, problems=("chain incomplete",)).urgency is Urgency.EXPIRING
    assert row("y", 100, problems=("chain incomplete",)).urgency is Urgency.PROBLEM
