"""The Deploy page and Summary with a calling platform: "Teams roots 7/7" per device."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from app.mediant.devices import load_devices
from app.platforms import load_platform
from app.workspace import Workspace
from tests.fakes.mediant_material import FAST
from tests.fakes.mediant_sim import MediantSim
from tests.pki import TestCA
from tests.test_wizard_deploy import WAIT_MS, open_deploy_page, renewal  # noqa: F401
from ui.device_dialog import DeviceDialog, DeviceEntry
from ui.pages.summary import SummaryPage
from ui.sbc_panel import STATUS_COLOURS, Unknown

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support"),
]

TEAMS = load_platform("teams")


@pytest.fixture
def sims() -> Iterator[list[MediantSim]]:
    with ExitStack() as stack:
        yield [stack.enter_context(MediantSim(delay=0.01)) for _ in range(2)]


def dialog_device(qtbot: QtBot, sim: MediantSim, *, add: bool) -> DeviceEntry:
    """The user fills the device dialog: contexts 0 and 1, Teams behind the SIP context."""
    dialog = DeviceDialog(None, "")
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.add_roots.isEnabled()  # nothing to add while no platform is chosen
    qtbot.keyClicks(dialog.address, sim.host_port)
    qtbot.keyClicks(dialog.password, sim.password)
    dialog.contexts.setText("0, 1")
    dialog.ports.setText(str(sim.context_port(1)))  # the SIP-TLS listener proves it
    dialog.platform.setCurrentIndex(dialog.platform.findText(TEAMS.title))
    assert dialog.add_roots.isEnabled() and dialog.fqdn.isEnabled()
    if add:
        dialog.add_roots.click()
    dialog.accept()
    assert dialog.entry is not None, dialog.message.text()
    # The platform context defaults to the SIP one: 0 is the web server's.
    assert dialog.entry.device.platforms == ((1, "teams"),)
    assert dialog.entry.device.add_platform_roots is add
    return dialog.entry


def test_deploy_page_and_summary_say_teams_roots_per_device(
    qtbot: QtBot,
    renewal: Workspace,  # noqa: F811
    sims: list[MediantSim],
) -> None:
    adds, checks_only = sims
    for sim in sims:
        sim.set_trusted(1, [r.pem for r in TEAMS.roots[:3]])
    w, page = open_deploy_page(qtbot, renewal)
    sbc = page.sbc
    sbc.timing = FAST
    for sim, add in ((adds, True), (checks_only, False)):
        entry = dialog_device(qtbot, sim, add=add)
        sbc.ask_device = lambda _d, _p, entry=entry: entry
        sbc.add_button.click()
    # Saved with its platform, for next time.
    assert {d.platforms for d in load_devices()} == {((1, "teams"),)}
    key_adds, key_checks = f"127.0.0.1:{adds.port}", f"127.0.0.1:{checks_only.port}"
    assert sbc.row_text(key_adds)["Context"] == "0, 1 (Teams)"

    sbc.ask_trust_all = lambda unknowns: list[Unknown](unknowns)
    confirmed: list[str] = []
    sbc.confirm = lambda text: confirmed.append(text) or True
    sbc.deploy_button.click()
    qtbot.waitUntil(lambda: sbc.message.isVisible() and sbc.add_button.isEnabled(), timeout=WAIT_MS)
    assert "Teams roots checked and completed" in confirmed[0]
    # Served, but a device lacks Teams roots: the page says so, not just "done".
    assert sbc.message.property("kind") == "warning"
    assert f"Platform roots missing on 127.0.0.1:{checks_only.port} (Teams roots 3/7)" in (
        sbc.message.text()
    )
    assert confirmed[0].count("Teams roots checked") == 2

    assert sbc.row_text(key_adds)["Status"] == "done", sbc.message.text()
    assert sbc.row_text(key_adds)["Context"] == "0, 1 · Teams roots 7/7"
    assert sbc.row_text(key_checks)["Context"] == "0, 1 · Teams roots 3/7"
    cell = sbc.table.item(sbc.row_of(key_checks), 1)
    assert cell.foreground().color() == QColor(STATUS_COLOURS["failed"])
    sbc.table.selectRow(sbc.row_of(key_checks))
    detail = sbc.detail.toPlainText()
    assert "Teams roots 3/7 (context 1; missing: DigiCert TLS ECC P384 Root G5" in detail
    assert "sbc-trust --platform teams --add" in detail
    sbc.table.selectRow(sbc.row_of(key_adds))
    assert "Teams roots 7/7 (context 1, 4 added)" in sbc.detail.toPlainText()
    # The devices hold what the page says.
    assert len(adds.saved[1].trusted) == 7 + 2 and len(checks_only.saved[1].trusted) == 3 + 2

    w.button(QWizard.WizardButton.NextButton).click()
    summary = w.currentPage()
    assert isinstance(summary, SummaryPage)
    text = summary.view.toPlainText()
    contexts = "context 0 (default), 1 (SIP-Teams)"
    assert f"SBC 127.0.0.1:{adds.port}: done, {contexts}, Teams roots 7/7, serves" in text
    assert f"SBC 127.0.0.1:{checks_only.port}: done, {contexts}, Teams roots 3/7, serves" in text


def test_the_dialog_names_a_platform_context_the_device_does_not_deploy_to(qtbot: QtBot) -> None:
    dialog = DeviceDialog(None, "")
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.address, "sbc1.example.com")
    dialog.contexts.setText("1")
    dialog.platform.setCurrentIndex(dialog.platform.findData("google"))
    dialog.platform_contexts.setText("2")
    dialog.accept()
    assert dialog.entry is None
    assert "among the device's contexts (1)" in dialog.message.text()
    dialog.platform_contexts.setText("1")
    dialog.fqdn.setText("sbc 1.example.com")
    dialog.accept()
    assert dialog.entry is None and "SIP FQDN" in dialog.message.text()
    dialog.fqdn.setText("sip.example.com")
    dialog.accept()
    assert dialog.entry is not None
    assert dialog.entry.device.platforms == ((1, "google"),)
    assert dialog.entry.device.fqdn == "sip.example.com"


def test_the_ca_response_page_says_what_a_saved_devices_platform_will_refuse(
    qtbot: QtBot, test_ca: TestCA, tmp_path: Path
) -> None:
    from app.mediant.devices import SavedDevice, save_devices
    from tests.test_wizard import click_next, new_renewal_to_csr, page, wait_outcome
    from ui.launch import create_window
    from ui.pages.response import ResponsePage

    save_devices([SavedDevice("sbc1.example.com", contexts=(1,), platforms=((1, "google"),))])
    w = create_window()
    w.confirm_close = lambda lost: True
    qtbot.addWidget(w)
    w.show()
    csr_page = new_renewal_to_csr(qtbot, w)
    leaf = test_ca.sign(csr_page.pem.toPlainText().encode(), tmp_path / "leaf.crt")
    click_next(qtbot, w)
    resp = page(w, ResponsePage)
    assert isinstance(resp, ResponsePage)
    resp.add_files([leaf, test_ca.inter_crt, test_ca.root_crt])
    wait_outcome(qtbot, resp)
    assert resp.verdict.text() == "Matches your key; chain complete"
    details = resp.details.text()
    assert (
        "⚠ Google: Google SIP trunk (Google Telephony Platform) does not accept wildcard" in details
    )
    assert "Deploying to its contexts stops on this." in details
