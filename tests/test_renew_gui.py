"""The wizard's Summary offers "Renew automatically" after an ACME renewal and says when it runs
next; the dashboard marks the served certificates that renew themselves.

schtasks.exe exists only on Windows: there the command it gets is captured (the exact strings
are checked in test_renewal_units); elsewhere the engine returns the cron line, shown as is.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from pytestqt.qtbot import QtBot

from app.ca_response import Source
from app.renewal import schedule
from app.request import KeyType
from app.workspace import Workspace
from tests.fakes.tls_listeners import TlsListener
from tests.helpers import wildcard_spec
from tests.pki import TestCA
from tests.test_dashboard import column, open_dashboard
from tests.test_wizard import _close, _open, _resume, click, click_next, page
from ui.dashboard import Dashboard
from ui.pages.deploy import DeployPage
from ui.pages.summary import SummaryPage

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support"),
]

WAIT_MS = 30_000
SETTINGS = {"directory": "https://acme.example.test/dir", "dns_method": "hook", "dns_hook": "x"}


def _acme_renewal(test_ca: TestCA, tmp_path: Path) -> Workspace:
    """A renewal as `accert acme` leaves it: issued, with its ACME settings recorded."""
    ws = Workspace.create(wildcard_spec(KeyType.EC256))
    ws.generate()
    leaf = test_ca.sign(ws.csr_pem, tmp_path / "leaf.crt")
    ws.import_response([Source("leaf.crt", leaf.read_bytes() + test_ca.inter_pem)])
    ws.record_acme({"settings": SETTINGS, "account_url": "https://acme.example.test/acct/1"})
    ws.record_deployment({"kind": "mediant", "ok": True, "target": "sbc1.example.com"})
    return ws


def _to_summary(qtbot: QtBot, ws: Workspace) -> tuple[Any, SummaryPage]:
    w = _open(qtbot)
    _resume(qtbot, w, ws.path)
    page(w, DeployPage)
    click_next(qtbot, w)
    summary = page(w, SummaryPage)
    assert isinstance(summary, SummaryPage)
    return w, summary


def test_summary_offers_renew_automatically_and_shows_the_next_run(
    qtbot: QtBot, test_ca: TestCA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = _acme_renewal(test_ca, tmp_path)
    ran: list[list[str]] = []

    def fake_schtasks(args: list[str], *, capture: bool = True) -> Any:
        ran.append(list(args))
        return subprocess.CompletedProcess(args, 0, "SUCCESS", "")

    monkeypatch.setattr(schedule, "is_windows", lambda: True)
    monkeypatch.setattr(schedule, "run_schtasks", fake_schtasks)
    monkeypatch.setattr(schedule, "installed_exe", lambda: r"C:\Program Files\accert\accert.exe")
    monkeypatch.setattr(schedule, "current_user", lambda: r"CORP\eng")
    w, summary = _to_summary(qtbot, ws)
    assert summary.auto.isVisible()
    assert "came by ACME" in summary.view.toPlainText()
    summary.auto_time.setTime(summary.auto_time.time().fromString("05:15", "HH:mm"))
    click(qtbot, summary.auto)
    qtbot.waitUntil(lambda: "next run" in summary.message.text(), timeout=WAIT_MS)
    text = summary.message.text()
    assert f"Task \\accert\\renew {ws.path.name} renews this certificate" in text
    assert "05:15" in text and "while you are logged on" in text
    (create,) = ran
    assert create[:3] == ["schtasks", "/Create", "/TN"] and "/IT" in create
    assert create[create.index("/ST") + 1] == "05:15"
    assert "Renews itself (daily at 05:15)" in summary.view.toPlainText()
    _close(w)


def test_summary_without_acme_offers_nothing(qtbot: QtBot, test_ca: TestCA, tmp_path: Path) -> None:
    ws = _acme_renewal(test_ca, tmp_path)
    ws.record_acme({})
    w, summary = _to_summary(qtbot, ws)
    assert not summary.auto.isVisible()
    assert "ACME" not in summary.view.toPlainText()
    _close(w)


def test_dashboard_marks_a_certificate_that_renews_itself(
    qtbot: QtBot, test_ca: TestCA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = _acme_renewal(test_ca, tmp_path)
    key = ws.private_key().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    chain = (ws.path / "certificate.crt").read_bytes() + test_ca.inter_pem
    monkeypatch.setattr(schedule, "is_windows", lambda: False)
    schedule.register(ws.path, schedule.parse_daily("06:30"))  # elsewhere: recorded, cron line
    with TlsListener(chain, key, tmp_path / "listener") as served:
        inventory = tmp_path / "estate.csv"
        inventory.write_text(f"Host;Ports;Kind;Name\r\n127.0.0.1;{served.port};sbc;SBC Auto\r\n")
        _w, d = open_dashboard(qtbot)
        assert isinstance(d, Dashboard)
        d.choose_open = lambda _title, _filter: str(inventory)
        d.import_button.click()
        d.wait.setValue(2)
        d.scan_button.click()
        qtbot.waitUntil(d.scan_button.isEnabled, timeout=WAIT_MS)
        assert column(d, "Renewal") == ["renews itself, daily at 06:30"]
