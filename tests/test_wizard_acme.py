"""The wizard's ACME path, driven as a user drives it, against pebble and challtestsrv.

The order runs on the wizard's own task runner (a real thread); the test waits as a user
waits, reading what the dialog and the CA response page say.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QLineEdit, QPushButton
from pytestqt.qtbot import QtBot

from app.acme.presets import PRESETS
from app.request import KeyType
from app.workspace import Stage
from tests.conftest import MemoryKeyring
from tests.fakes.pebble import ChallTestSrv, Pebble, new_eab_key
from tests.pki import openssl
from tests.test_wizard import (
    WAIT_MS,
    click,
    click_next,
    new_renewal_to_csr,
    next_enabled,
    page,
    type_into,
    wizard,  # noqa: F401  (the fixture)
)
from ui.acme_dialog import OTHER, AcmeDialog
from ui.pages.export import ExportPage
from ui.pages.response import ResponsePage
from ui.wizard import RenewalWizard

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support"),
]


def open_acme(qtbot: QtBot, w: RenewalWizard) -> tuple[ResponsePage, AcmeDialog]:
    new_renewal_to_csr(qtbot, w, KeyType.RSA2048)
    click_next(qtbot, w)
    resp = page(w, ResponsePage)
    assert isinstance(resp, ResponsePage)
    assert resp.acme_button.text() == "Get it from the CA now (&ACME)…"
    click(qtbot, resp.acme_button)
    dialog = resp.acme_dialog
    assert dialog is not None and dialog.isVisible()
    return resp, dialog


def fill_for_pebble(qtbot: QtBot, d: AcmeDialog, pebble: Pebble, dns: ChallTestSrv) -> None:
    # The presets are the CAs' documented URLs; a private CA is "Other".
    assert [d.ca.itemText(i) for i in range(len(PRESETS))] == [p.name for p in PRESETS]
    d.ca.setCurrentIndex(d.ca.findText(OTHER))
    type_into(qtbot, d.directory, pebble.directory)
    type_into(qtbot, d.ca_bundle, str(pebble.ca_bundle))
    type_into(qtbot, d.resolvers, dns.dns)


def test_acme_with_a_hook_from_the_ca_response_page_to_export(
    qtbot: QtBot,
    wizard: RenewalWizard,  # noqa: F811
    pebble: Pebble,
    challtestsrv: ChallTestSrv,
    pebble_hook: str,
    tmp_path: Path,
) -> None:
    w = wizard
    resp, d = open_acme(qtbot, w)
    fill_for_pebble(qtbot, d, pebble, challtestsrv)
    click(qtbot, d.use_hook)
    type_into(qtbot, d.hook, pebble_hook)
    click(qtbot, d.start)
    assert d.running() and not d.start.isEnabled()  # the GUI is free while the CA works
    qtbot.waitUntil(lambda: not d.isVisible(), timeout=WAIT_MS)
    steps = [d.steps.item(i).text() for i in range(d.steps.count())]
    for expected in ("Creating the ACME account", "Placing the order", "Asking the CA to validate",
                     "Finalising the order"):  # fmt: skip
        assert any(s.startswith(expected) for s in steps), steps
    assert resp.verdict.text() == "Matches your key; root not included"
    assert "over ACME and imported" in resp.added.text()
    assert next_enabled(w)
    ws = w.session.require()
    assert ws.state.stage is Stage.ISSUED
    assert ws.state.acme["settings"]["dns_method"] == "hook"
    root = tmp_path / "root.pem"
    root.write_bytes(pebble.root_pem(0))
    verified = openssl("verify", "-CAfile", root, "-untrusted", ws.path / "chain.crt",
                       ws.path / "certificate.crt").decode()  # fmt: skip
    assert verified.strip().endswith("OK")
    click_next(qtbot, w)
    page(w, ExportPage)
    assert len([r for r in ws.read_log() if r["event"] == "certificate-imported"]) == 1


def test_acme_manual_dns_with_copy_buttons_and_live_visibility(
    qtbot: QtBot,
    wizard: RenewalWizard,  # noqa: F811
    pebble: Pebble,
    challtestsrv: ChallTestSrv,
) -> None:
    w = wizard
    resp, d = open_acme(qtbot, w)
    fill_for_pebble(qtbot, d, pebble, challtestsrv)
    click(qtbot, d.use_manual)
    click(qtbot, d.start)
    qtbot.waitUntil(d.records.isVisible, timeout=WAIT_MS)
    fields = d.records.findChildren(QLineEdit)
    pairs = [(fields[i].text(), fields[i + 1].text()) for i in range(0, len(fields), 2)]
    assert {name for name, _ in pairs} == {
        "_acme-challenge.example.com",
        "_acme-challenge.sbc1.example.com",
    }
    # The person copies each name and value into the DNS console.
    for row, (name, value) in enumerate(pairs, start=1):
        copy = d.records.findChild(QPushButton, f"Copy value {row}")
        click(qtbot, copy)
        assert QApplication.clipboard().text() == value
        qtbot.waitUntil(lambda: any("visible at" in d.steps.item(i).text()
                                    for i in range(d.steps.count())), timeout=WAIT_MS)  # fmt: skip
        challtestsrv.set_txt(name, value)
    qtbot.waitUntil(lambda: not d.isVisible(), timeout=WAIT_MS)
    assert resp.verdict.text() == "Matches your key; root not included"
    for name, _ in pairs:
        challtestsrv.clear_txt(name)


def test_acme_stop_while_waiting_for_dns_keeps_the_renewal_as_it_was(
    qtbot: QtBot,
    wizard: RenewalWizard,  # noqa: F811
    pebble: Pebble,
    challtestsrv: ChallTestSrv,
) -> None:
    w = wizard
    resp, d = open_acme(qtbot, w)
    fill_for_pebble(qtbot, d, pebble, challtestsrv)
    click(qtbot, d.use_manual)
    click(qtbot, d.start)
    qtbot.waitUntil(d.records.isVisible, timeout=WAIT_MS)
    click(qtbot, d.cancel)  # "Stop" while running
    qtbot.waitUntil(lambda: not d.running(), timeout=WAIT_MS)
    assert d.isVisible()
    assert d.message.text().startswith("Stopped while waiting for DNS.")
    assert d.start.isEnabled()
    ws = w.session.require()
    assert ws.state.stage is Stage.REQUESTED and not (ws.path / "certificate.crt").exists()
    d.reject()
    assert not next_enabled(w) and resp.verdict.text() == ""


def test_acme_eab_hmac_goes_to_the_credential_store_and_a_wrong_one_is_said_inline(
    qtbot: QtBot,
    wizard: RenewalWizard,  # noqa: F811
    challtestsrv: ChallTestSrv,
    pebble_hook: str,
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
) -> None:
    kid, hmac = new_eab_key()
    ca = Pebble(tmp_path / "pebble", challtestsrv.dns, eab_keys={kid: hmac}, eab_required=True)
    ca.start()
    try:
        w = wizard
        resp, d = open_acme(qtbot, w)
        fill_for_pebble(qtbot, d, ca, challtestsrv)
        click(qtbot, d.use_hook)
        type_into(qtbot, d.hook, pebble_hook)
        type_into(qtbot, d.eab_kid, kid)
        type_into(qtbot, d.eab_hmac, new_eab_key()[1])  # a wrong one first
        click(qtbot, d.start)
        qtbot.waitUntil(lambda: not d.running(), timeout=WAIT_MS)
        assert d.message.text().startswith("The CA refused to create the ACME account")
        assert "key id and HMAC" in d.message.text()
        type_into(qtbot, d.eab_hmac, hmac)
        click(qtbot, d.start)
        qtbot.waitUntil(lambda: not d.isVisible(), timeout=WAIT_MS)
        assert resp.verdict.text() == "Matches your key; root not included"
        assert hmac in memory_keyring.store.values()
        ws = w.session.require()
        assert hmac not in (ws.path / "renewal.json").read_text()
        assert (
            json.loads((ws.path / "renewal.json").read_text())["acme"]["settings"]["eab_kid"] == kid
        )
    finally:
        ca.stop()
