"""The Deploy page's device table as people meet it (issue 17, point 3): time that counts while
a step runs, a reason in the row, details that follow the selected device and the latest run,
"Retry with reset" where a reset is what is missing, a missing password asked for in place and
never stored without a tick, and the Summary's names as the user gave them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from app.mediant.devices import SavedDevice, load_device_password, load_devices, remember_device
from app.tls_probe import fetch_served_chain
from app.workspace import Workspace
from tests.fakes.mediant_material import FAST
from tests.fakes.mediant_sim import MediantSim
from tests.test_wizard_deploy import _answer_modal, open_deploy_page
from tests.test_wizard_deploy import renewal as exported_renewal
from ui.device_dialog import DeviceDialog, DeviceEntry, PasswordDialog
from ui.pages.summary import SummaryPage
from ui.sbc_panel import SbcPanel

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support"),
]

WAIT_MS = 60_000
HTTP_401 = re.compile(r"\b401\b")


renewal = exported_renewal  # an issued, exported renewal listed on the Start page


@pytest.fixture
def two_sims() -> Iterator[list[MediantSim]]:
    with ExitStack() as stack:
        yield [stack.enter_context(MediantSim(delay=0.01)) for _ in range(2)]


def _trust_all(sbc: SbcPanel) -> None:
    sbc.ask_trust_all = lambda unknowns: unknowns  # the user compared and ticked each
    sbc.confirm = lambda _text: True


def _wait_idle(qtbot: QtBot, sbc: SbcPanel) -> None:
    qtbot.waitUntil(lambda: not sbc.running and sbc.message.isVisible(), timeout=WAIT_MS)


def test_the_time_counts_while_a_device_restarts_and_the_row_says_what_it_does(
    qtbot: QtBot, renewal: Workspace
) -> None:
    # The device stays down until the test brings it back, so what is checked while it
    # restarts cannot end early on a slow machine (a fixed downtime raced the test's waits).
    with MediantSim(delay=0.01, reset_downtime=3600) as sim:
        device = SavedDevice("127.0.0.1", sim.port, sim.user, (0,), (), reset=True)
        remember_device(device)
        _w, page = open_deploy_page(qtbot, renewal)
        sbc = page.sbc
        sbc.timing = replace(FAST, reset_timeout=600)
        sbc.passwords[device.key] = sim.password
        sbc.set_checked(device.key)
        _trust_all(sbc)
        sbc.table.selectRow(sbc.row_of(device.key))
        click = sbc.deploy_button
        qtbot.mouseClick(click, Qt.MouseButton.LeftButton)

        def restarting() -> bool:
            return sbc.row_text(device.key)["Details"].startswith("restarting")

        def shown_time() -> float:
            return float(sbc.row_text(device.key)["Time"].removesuffix(" s"))

        qtbot.waitUntil(restarting, timeout=WAIT_MS)
        assert sbc.row_text(device.key)["Status"] == "running"
        first = shown_time()
        # It counts while nothing new is reported.
        qtbot.waitUntil(lambda: shown_time() >= first + 0.4, timeout=WAIT_MS)
        assert restarting()
        # The details pane follows the selected device while it is deployed to.
        assert "restarting" in sbc.detail.toPlainText()
        sim.end_reset()
        _wait_idle(qtbot, sbc)
        row = sbc.row_text(device.key)
        assert row["Status"] == "done", row
        assert row["Details"] == f"serves the new certificate on {sim.port}"
        final = row["Time"]
        qtbot.wait(500)
        assert sbc.row_text(device.key)["Time"] == final  # stops when the device is done


def test_a_failure_says_why_in_its_row_and_the_details_follow_the_selection(
    qtbot: QtBot, renewal: Workspace, two_sims: list[MediantSim]
) -> None:
    good, bad = two_sims
    devices = [
        SavedDevice("127.0.0.1", s.port, s.user, (1,), (s.context_port(1),)) for s in two_sims
    ]
    for d in devices:
        remember_device(d)
    _w, page = open_deploy_page(qtbot, renewal)
    sbc = page.sbc
    sbc.timing = FAST
    sbc.passwords[devices[0].key] = good.password
    sbc.passwords[devices[1].key] = "not-the-password"
    for d in devices:
        sbc.set_checked(d.key)
    _trust_all(sbc)
    sbc.deploy_button.click()
    _wait_idle(qtbot, sbc)

    bad_row = sbc.row_text(devices[1].key)
    assert bad_row["Status"] == "failed"
    assert "password" in bad_row["Details"].lower() or HTTP_401.search(bad_row["Details"])
    assert sbc.row_text(devices[0].key)["Status"] == "done"

    # Nothing selected: the pane says nothing rather than some device's story.
    sbc.table.clearSelection()
    assert sbc.detail.toPlainText() == ""
    rect = sbc.table.visualRect(sbc.table.model().index(sbc.row_of(devices[1].key), 0))
    qtbot.mouseClick(sbc.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert "password" in sbc.detail.toPlainText().lower()
    rect = sbc.table.visualRect(sbc.table.model().index(sbc.row_of(devices[0].key), 0))
    qtbot.mouseClick(sbc.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    shown = sbc.detail.toPlainText().lower()
    assert "password" not in shown and not HTTP_401.search(shown)  # (a port may hold 401)

    # Fixed and deployed again: the bad device's old failure is not shown during the new run.
    sbc.passwords[devices[1].key] = bad.password
    sbc.set_checked(devices[0].key, False)
    sbc.table.selectRow(sbc.row_of(devices[1].key))
    seen_during: list[str] = []
    sbc.confirm = lambda _t: seen_during.append(sbc.detail.toPlainText()) or True
    sbc.deploy_button.click()
    _wait_idle(qtbot, sbc)
    assert seen_during and not HTTP_401.search(seen_during[0])
    assert "password" not in seen_during[0].lower()
    assert sbc.row_text(devices[1].key)["Status"] == "done"
    assert "password" not in sbc.detail.toPlainText().lower()


def test_retry_with_reset_is_offered_on_the_row_that_needs_it(
    qtbot: QtBot, renewal: Workspace
) -> None:
    # Context 0 is the web server's: the simulator serves a new one only after a restart.
    with MediantSim(delay=0.01, reset_downtime=0.3) as sim:
        device = SavedDevice("127.0.0.1", sim.port, sim.user, (0,), ())
        remember_device(device)
        _w, page = open_deploy_page(qtbot, renewal)
        sbc = page.sbc
        sbc.timing = FAST
        sbc.passwords[device.key] = sim.password
        sbc.set_checked(device.key)
        _trust_all(sbc)
        sbc.deploy_button.click()
        _wait_idle(qtbot, sbc)
        row = sbc.row_text(device.key)
        assert row["Status"] == "failed"
        assert "Retry with reset" in row["Details"]  # said in the row, not only in the pane
        assert not sbc.retry_reset.isVisible()
        sbc.table.selectRow(sbc.row_of(device.key))
        assert sbc.retry_reset.isVisible() and sbc.retry_reset.isEnabled()
        qtbot.mouseClick(sbc.retry_reset, Qt.MouseButton.LeftButton)
        _wait_idle(qtbot, sbc)
        assert sbc.row_text(device.key)["Status"] == "done", sbc.row_text(device.key)
        leaf = renewal.deploy_material(with_key=False).leaf_sha256
        assert fetch_served_chain("127.0.0.1", sim.port).leaf_sha256 == leaf
        assert load_devices()[0].reset is True  # kept for next time
        assert not sbc.retry_reset.isVisible()


def test_a_missing_password_is_asked_for_in_place_and_not_stored_unticked(
    qtbot: QtBot, renewal: Workspace, memory_keyring: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import TEST_PASSPHRASE

    monkeypatch.setenv("ACCERT_PASSPHRASE", TEST_PASSPHRASE)  # the renewal's own key
    with MediantSim(delay=0.01) as sim:
        device = SavedDevice("127.0.0.1", sim.port, sim.user, (1,), (sim.context_port(1),))
        remember_device(device)
        w, page = open_deploy_page(qtbot, renewal)
        sbc = page.sbc
        sbc.timing = FAST
        sbc.set_checked(device.key)
        _trust_all(sbc)
        sbc.ask_password = SbcPanel._ask_password.__get__(sbc)  # the real dialog
        asked: list[tuple[str, bool, bool]] = []

        def answer(dialog: PasswordDialog) -> None:
            ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
            asked.append((dialog.windowTitle(), dialog.remember.isChecked(), ok.isEnabled()))
            assert dialog.focusWidget() is dialog.password
            qtbot.keyClicks(dialog.password, sim.password)
            assert ok.isEnabled()
            qtbot.keyClick(dialog.password, Qt.Key.Key_Return)

        errors = _answer_modal(qtbot, PasswordDialog, answer)
        sbc.deploy_button.click()
        assert not errors, errors
        assert asked == [("Device password", False, False)]  # never pre-ticked; empty: no OK
        _wait_idle(qtbot, sbc)
        assert sbc.row_text(device.key)["Status"] == "done", sbc.message.text()
        # Not ticked: not stored.
        assert not [account for _s, account in memory_keyring.store if "mediant:" in account]
        assert load_device_password(device) is None

        # The summary names the devices as the user did; a nameless one gets "SBC".
        w.button(QWizard.WizardButton.NextButton).click()
        summary = w.currentPage()
        assert isinstance(summary, SummaryPage)
        assert f"SBC 127.0.0.1:{sim.port}: done" in summary.view.toPlainText()


def test_a_cancelled_password_question_deploys_nothing(qtbot: QtBot, renewal: Workspace) -> None:
    with MediantSim(delay=0.01) as sim:
        device = SavedDevice("127.0.0.1", sim.port, sim.user, (1,), (sim.context_port(1),))
        remember_device(device)
        _w, page = open_deploy_page(qtbot, renewal)
        sbc = page.sbc
        sbc.set_checked(device.key)
        sbc.ask_password = lambda _d: None
        sbc.confirm = lambda _t: pytest.fail("nothing to confirm: no password")
        sbc.deploy_button.click()
        assert sbc.message.property("kind") == "error"
        assert f"No password for 127.0.0.1:{sim.port}: nothing was deployed" in sbc.message.text()
        assert sim.calls == []


def test_the_edit_dialog_ticks_remember_only_for_a_stored_password(
    qtbot: QtBot, memory_keyring: Any
) -> None:
    device = SavedDevice("sbc1.example.com", 443, "Admin", (0,), ())
    known_this_session = DeviceDialog(device, "Session-pass-1")
    qtbot.addWidget(known_this_session)
    assert not known_this_session.remember.isChecked()
    stored = DeviceDialog(device, "Stored-pass-1", remembered=True)
    qtbot.addWidget(stored)
    assert stored.remember.isChecked()
    # Editing a known device without a password: the focus is where the typing starts.
    empty = DeviceDialog(device, "")
    qtbot.addWidget(empty)
    empty.show()
    qtbot.waitExposed(empty)
    assert empty.focusWidget() is empty.password
    new = DeviceDialog(None, "")
    qtbot.addWidget(new)
    new.show()
    qtbot.waitExposed(new)
    assert new.focusWidget() is new.address


def test_no_credential_store_is_said_in_words(qtbot: QtBot, renewal: Workspace) -> None:
    """The tests' keyring is keyring's 'fail' backend: there is no store to remember in."""
    _w, page = open_deploy_page(qtbot, renewal)
    sbc = page.sbc
    device = SavedDevice("sbc1.example.com", 443, "Admin", (0,), ())
    sbc.ask_device = lambda _d, _p: DeviceEntry(device, "Pass-word-1", remember=True)
    sbc.add_button.click()
    text = sbc.message.text()
    assert sbc.message.property("kind") == "warning"
    assert "NoKeyringError" not in text
    assert "no credential store" in text.lower() and "kept until accert closes" in text
