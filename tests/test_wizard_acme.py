"""The wizard's ACME path, driven as a user drives it, against pebble and challtestsrv.

The order runs on the wizard's own task runner (a real thread); the test waits as a user
waits, reading what the dialog and the CA response page say.
"""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QLineEdit, QPushButton
from pytestqt.qtbot import QtBot

from app.acme.presets import PRESETS
from app.request import KeyType
from app.workspace import Stage
from tests.conftest import MemoryKeyring
from tests.fakes.bind9 import Bind9
from tests.fakes.pebble import ChallTestSrv, Pebble, new_eab_key
from tests.pki import openssl
from tests.test_acme import bind9  # noqa: F401  (the fixture: a real BIND 9)
from tests.test_wizard import (
    WAIT_MS,
    click,
    click_next,
    fill_names,
    new_renewal_to_csr,
    next_enabled,
    page,
    type_into,
    wizard,  # noqa: F401  (the fixture)
)
from ui.acme_dialog import OTHER, AcmeDialog
from ui.pages.csr import CsrPage
from ui.pages.export import ExportPage
from ui.pages.response import ResponsePage
from ui.pages.start import StartPage
from ui.wizard import RenewalWizard

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support"),
]


def open_acme(qtbot: QtBot, w: RenewalWizard) -> tuple[ResponsePage, AcmeDialog]:
    """A new renewal up to its CSR, then "Get it from the CA now (ACME)…" on the CA response
    page: the dialog, empty."""
    new_renewal_to_csr(qtbot, w, KeyType.RSA2048)
    click_next(qtbot, w)
    resp = page(w, ResponsePage)
    assert isinstance(resp, ResponsePage)
    assert resp.acme_button.text() == "Get it from the CA now (&ACME)…"
    click(qtbot, resp.acme_button)
    dialog = resp.acme_dialog
    assert dialog is not None and dialog.isVisible()
    return resp, dialog


def start_order(
    qtbot: QtBot,
    w: RenewalWizard,
    ca: Pebble,
    dns: ChallTestSrv,
    *,
    hook: str | None = None,
    eab: tuple[str, str] | None = None,
) -> tuple[ResponsePage, AcmeDialog]:
    """What the person does: open_acme, the CA filled in as "Other", DNS through `hook` or by
    hand (then the records are on screen when this returns), the EAB key id and HMAC if given,
    and Start."""
    resp, d = open_acme(qtbot, w)
    # The presets are the CAs' documented URLs; a private CA is "Other".
    assert [d.ca.itemText(i) for i in range(len(PRESETS))] == [p.name for p in PRESETS]
    d.ca.setCurrentIndex(d.ca.findText(OTHER))
    type_into(qtbot, d.directory, ca.directory)
    type_into(qtbot, d.ca_bundle, str(ca.ca_bundle))
    type_into(qtbot, d.resolvers, dns.dns)
    if hook is None:
        click(qtbot, d.use_manual)
    else:
        click(qtbot, d.use_hook)
        type_into(qtbot, d.hook, hook)
    if eab is not None:
        type_into(qtbot, d.eab_kid, eab[0])
        type_into(qtbot, d.eab_hmac, eab[1])
    click(qtbot, d.start)
    if hook is None:
        qtbot.waitUntil(d.records.isVisible, timeout=WAIT_MS)
    return resp, d


def test_acme_with_a_hook_from_the_ca_response_page_to_export(
    qtbot: QtBot,
    wizard: RenewalWizard,  # noqa: F811
    pebble: Pebble,
    challtestsrv: ChallTestSrv,
    pebble_hook: str,
    tmp_path: Path,
) -> None:
    w = wizard
    resp, d = start_order(qtbot, w, pebble, challtestsrv, hook=pebble_hook)
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


def test_acme_hook_with_a_secret_on_its_command_line_is_warned_about_on_the_response_page(
    qtbot: QtBot,
    wizard: RenewalWizard,  # noqa: F811
    pebble: Pebble,
    challtestsrv: ChallTestSrv,
    pebble_hook: str,
) -> None:
    secret = "Zq9-dns-api-token-4711"
    hook = f"{pebble_hook} --token {secret}"
    resp, d = start_order(qtbot, wizard, pebble, challtestsrv, hook=hook)
    qtbot.waitUntil(lambda: not d.isVisible(), timeout=WAIT_MS)
    assert resp.verdict.text() == "Matches your key; root not included"  # the certificate is fine
    assert resp.details.isVisible()
    warned = [line for line in resp.details.text().splitlines() if "holds a secret" in line]
    assert warned == [
        "⚠ The DNS hook command holds a secret (--token): renewal.json records the command and "
        "`accert show` prints it. Let the hook read the secret from an environment variable "
        "instead (it inherits accert's environment)."
    ]
    assert secret not in resp.details.text()


def test_acme_manual_dns_with_copy_buttons_and_live_visibility(
    qtbot: QtBot,
    wizard: RenewalWizard,  # noqa: F811
    pebble: Pebble,
    challtestsrv: ChallTestSrv,
) -> None:
    resp, d = start_order(qtbot, wizard, pebble, challtestsrv)
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
    resp, d = start_order(qtbot, w, pebble, challtestsrv)
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
        wrong_hmac = new_eab_key()[1]  # a wrong one first
        resp, d = start_order(qtbot, w, ca, challtestsrv, hook=pebble_hook, eab=(kid, wrong_hmac))
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


def test_acme_rfc2136_from_the_dialog_on_bind9_secret_in_the_credential_store(
    qtbot: QtBot,
    wizard: RenewalWizard,  # noqa: F811
    bind9: Bind9,  # noqa: F811
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
) -> None:
    """The third DNS method: accert updates bind9 itself with the TSIG key the DNS
    administrator gave (name, algorithm, secret typed as a user copies them)."""
    key_text = bind9.key_file.read_text()
    secret = re.search(r'secret "([^"]+)"', key_text)
    assert secret is not None and f'key "{bind9.key_name}"' in key_text
    ca = Pebble(tmp_path / "pebble", bind9.address).start()  # it asks bind9 itself
    try:
        w = wizard
        page(w, StartPage)
        click_next(qtbot, w)
        fill_names(qtbot, w, cn=f"*.{bind9.zone}", sans=())
        click_next(qtbot, w)
        csr = page(w, CsrPage)
        assert isinstance(csr, CsrPage)
        qtbot.waitUntil(csr.isComplete, timeout=WAIT_MS)
        click_next(qtbot, w)
        resp = page(w, ResponsePage)
        assert isinstance(resp, ResponsePage)
        click(qtbot, resp.acme_button)
        d = resp.acme_dialog
        assert d is not None and d.isVisible()
        d.ca.setCurrentIndex(d.ca.findText(OTHER))
        type_into(qtbot, d.directory, ca.directory)
        type_into(qtbot, d.ca_bundle, str(ca.ca_bundle))
        type_into(qtbot, d.resolvers, bind9.address)
        assert not d.rfc2136.isEnabled()  # only for its method
        click(qtbot, d.use_rfc2136)
        assert d.rfc2136.isEnabled() and not d.hook.isEnabled()
        type_into(qtbot, d.rfc2136_server, bind9.address)
        type_into(qtbot, d.tsig_name, bind9.key_name)
        assert d.tsig_algorithm.currentText() == "hmac-sha256"
        # No secret typed, none kept: said before anything is sent.
        click(qtbot, d.start)
        assert not d.running()
        assert d.message.text().startswith(f"Enter the secret of TSIG key {bind9.key_name}:")
        # A mistyped secret: bind9 refuses it, said inline, nothing imported.
        wrong = base64.b64encode(b"0" * 32).decode()
        type_into(qtbot, d.tsig_secret, wrong)
        click(qtbot, d.start)
        qtbot.waitUntil(lambda: not d.running(), timeout=WAIT_MS)
        assert d.isVisible()
        assert d.message.text().startswith(
            f"The DNS server {bind9.address} rejected the TSIG key {bind9.key_name}"
        )
        assert wrong not in memory_keyring.store.values()  # a refused secret is not kept
        type_into(qtbot, d.tsig_secret, secret.group(1))
        click(qtbot, d.start)
        qtbot.waitUntil(lambda: not d.isVisible(), timeout=WAIT_MS)
        assert resp.verdict.text() == "Matches your key; root not included"
        ws = w.session.require()
        assert ws.state.stage is Stage.ISSUED
        root = tmp_path / "root.pem"
        root.write_bytes(ca.root_pem(0))
        verified = openssl("verify", "-CAfile", root, "-untrusted", ws.path / "chain.crt",
                           ws.path / "certificate.crt").decode()  # fmt: skip
        assert verified.strip().endswith("OK")
        # bind9 holds no challenge record any more.
        assert bind9.txt(f"_acme-challenge.{bind9.zone}") == []
        # The secret is in the credential store only: not in renewal.json, not in any file.
        assert secret.group(1) in memory_keyring.store.values()
        recorded = json.loads((ws.path / "renewal.json").read_text())["acme"]["settings"]
        assert recorded["dns_method"] == "rfc2136"
        assert recorded["rfc2136_server"] == bind9.address
        assert recorded["tsig_key_name"] == bind9.key_name
        assert recorded["tsig_algorithm"] == "hmac-sha256"
        for folder in (ws.path, Path(os.environ["ACCERT_HOME"])):
            for path in folder.rglob("*"):
                if path.is_file():
                    assert secret.group(1).encode() not in path.read_bytes(), path
        # The dialog opened again offers the same method and key, the secret not shown.
        reopened = AcmeDialog(ws, w.tasks, lambda *_: None)
        qtbot.addWidget(reopened)
        assert reopened.use_rfc2136.isChecked()
        assert reopened.rfc2136_server.text() == bind9.address
        assert reopened.tsig_name.text() == bind9.key_name
        assert reopened.tsig_secret.text() == ""
    finally:
        ca.stop()


def test_acme_rfc2136_says_when_no_credential_store_can_keep_the_secret(
    qtbot: QtBot,
    wizard: RenewalWizard,  # noqa: F811
) -> None:
    _resp, d = open_acme(qtbot, wizard)  # the tests' keyring is the 'fail' backend: no store
    assert not d.no_store.isVisible()
    click(qtbot, d.use_rfc2136)
    assert d.no_store.isVisible()
    assert d.no_store.text().startswith("This computer has no credential store: the secret")


def test_acme_tsig_key_from_a_file_with_several_keys_asks_which(
    qtbot: QtBot,
    wizard: RenewalWizard,  # noqa: F811
    tmp_path: Path,
) -> None:
    """ "From a key file…": a file with one key fills the fields; with several (ddns-confgen's,
    or a server's list) the user is asked which, and a cancel leaves the fields as they were."""
    one, several = tmp_path / "acme.key", tmp_path / "named.keys"
    one.write_text(
        'key "acme-update" {\n\talgorithm hmac-sha256;\n\tsecret "c2VjcmV0LW9uZQ==";\n};\n'
    )
    several.write_text(
        'key "transfer" { algorithm hmac-sha512; secret "dHJhbnNmZXI="; };\n'
        "# the one allowed to update the zone:\n"
        'key "acme-update" { algorithm hmac-sha384; secret "c2VjcmV0LXR3bw=="; };\n'
    )
    _resp, d = open_acme(qtbot, wizard)
    click(qtbot, d.use_rfc2136)
    asked: list[tuple[str, list[str]]] = []
    d.choose_key_file = lambda: one
    d.choose_key = lambda path, names: asked.append((path.name, names)) or None
    click(qtbot, d.from_key_file)
    assert asked == []  # one key: nothing to ask
    assert d.tsig_name.text() == "acme-update"
    assert d.tsig_algorithm.currentText() == "hmac-sha256"
    assert base64.b64decode(d.tsig_secret.text()) == b"secret-one"

    d.choose_key_file = lambda: several
    click(qtbot, d.from_key_file)  # asked, and cancelled: nothing changes
    assert asked == [("named.keys", ["transfer", "acme-update"])]
    assert d.tsig_algorithm.currentText() == "hmac-sha256"
    assert base64.b64decode(d.tsig_secret.text()) == b"secret-one"

    d.choose_key = lambda _path, names: names[1]
    click(qtbot, d.from_key_file)
    assert d.tsig_name.text() == "acme-update"
    assert d.tsig_algorithm.currentText() == "hmac-sha384"
    assert base64.b64decode(d.tsig_secret.text()) == b"secret-two"
    assert not d.message.isVisible()
    d.reject()
