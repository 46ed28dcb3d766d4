"""One list of devices (issue 17, point 4): an SBC added on the Deploy page is on the estate
dashboard and in `accert inventory show`, one added on the dashboard is on the Deploy page,
removing it from either removes it from both; the Add-target dialog fits its texts and what
was added is scanned at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.cli import main
from app.estate.inventory import Kind, Target
from app.workspace import Workspace
from tests.fakes.tls_listeners import TlsListener, issue, stop_all
from tests.pki import TestCA
from tests.test_dashboard import column, open_dashboard
from tests.test_wizard_deploy import open_deploy_page
from tests.test_wizard_deploy import renewal as exported_renewal
from ui.dashboard import TargetDialog
from ui.device_dialog import DeviceEntry, device_from_fields

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support"),
]

WAIT_MS = 30_000
renewal = exported_renewal


def test_a_device_added_on_the_deploy_page_is_on_the_dashboard_and_in_the_cli(
    qtbot: QtBot, renewal: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    _w, page = open_deploy_page(qtbot, renewal)
    sbc = page.sbc
    device = device_from_fields("sbc-london.example.com", "Admin", "SBC London", "1", "5061", False)
    sbc.ask_device = lambda _d, _p: DeviceEntry(device, "Pass-word-1", remember=False)
    sbc.add_button.click()
    assert sbc.row_text(device.key)["Device"].startswith("SBC London")

    _w2, dashboard = open_dashboard(qtbot)
    assert "SBC London" in column(dashboard, "Target")
    ports = {p for t, p in zip(column(dashboard, "Target"), column(dashboard, "Port"), strict=True)
             if t == "SBC London"}  # fmt: skip
    assert ports == {"443", "5061"}  # the web port and the port to verify
    dashboard.close()

    assert main(["inventory", "show"]) == 0
    out = capsys.readouterr().out
    assert "SBC London" in out and "sbc-london.example.com" in out and "443 5061" in out


def test_a_target_added_on_the_dashboard_is_on_the_deploy_page_and_removed_from_both(
    qtbot: QtBot, renewal: Workspace
) -> None:
    _w, dashboard = open_dashboard(qtbot)
    dashboard.ask_target = lambda: Target("10.0.0.5", Kind.SBC, (443,), "SBC Paris")
    dashboard.add_target()
    qtbot.waitUntil(dashboard.scan_button.isEnabled, timeout=WAIT_MS)  # it was scanned
    assert "SBC Paris" in column(dashboard, "Target")
    dashboard.close()

    _w2, page = open_deploy_page(qtbot, renewal)
    sbc = page.sbc
    assert [d.name for d in sbc.devices()] == ["SBC Paris"]
    sbc.table.selectRow(sbc.row_of("10.0.0.5:443"))
    sbc.remove_button.click()
    assert sbc.devices() == []

    _w3, again = open_dashboard(qtbot)
    assert "SBC Paris" not in column(again, "Target")
    again.close()


def test_the_add_target_dialog_fits_its_texts(qtbot: QtBot) -> None:
    dialog = TargetDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    metrics = dialog.ports.fontMetrics()
    assert dialog.ports.width() >= metrics.horizontalAdvance(dialog.ports.placeholderText())
    assert dialog.width() >= dialog.fontMetrics().horizontalAdvance(dialog.windowTitle()) * 2
    assert dialog.focusWidget() is dialog.host


def test_a_target_added_is_scanned_at_once_and_the_others_keep_their_rows(
    qtbot: QtBot, test_ca: TestCA, tmp_path: Path
) -> None:
    first_pem, first_key = issue(test_ca, "first.example.com", days_left=200, valid_days=400)
    second_pem, second_key = issue(test_ca, "second.example.com", days_left=20, valid_days=400)
    first = TlsListener(first_pem + test_ca.inter_pem, first_key, tmp_path / "a")
    second = TlsListener(second_pem + test_ca.inter_pem, second_key, tmp_path / "b")
    try:
        _w, d = open_dashboard(qtbot)
        d.ask_target = lambda: Target("127.0.0.1", Kind.SBC, (first.port,), "First")
        d.add_target()
        qtbot.waitUntil(lambda: "first.example.com" in column(d, "Certificate"), timeout=WAIT_MS)
        qtbot.waitUntil(d.scan_button.isEnabled, timeout=WAIT_MS)
        d.ask_target = lambda: Target("localhost", Kind.SBC, (second.port,), "Second")
        d.add_target()
        qtbot.waitUntil(lambda: "second.example.com" in column(d, "Certificate"), timeout=WAIT_MS)
        qtbot.waitUntil(d.scan_button.isEnabled, timeout=WAIT_MS)
        assert sorted(column(d, "Certificate")) == ["first.example.com", "second.example.com"]
        assert column(d, "Certificate")[0] == "second.example.com"  # expiring first
        d.close()
    finally:
        stop_all([first, second])
