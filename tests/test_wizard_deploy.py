"""The wizard's Deploy page as a user drives it, against simulated SBCs and a real sshd.

The deployments are the real engines (app.mediant, app.ovoc); only the dialogs are answered
by the test (a modal dialog would block it), and what they were asked is checked.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from app.ca_response import Source
from app.estate.inventory import Kind, Target
from app.export import PRESETS, ExportOptions
from app.mediant import pins
from app.mediant.devices import SavedDevice, load_devices
from app.request import KeyType
from app.tls_probe import fetch_served_chain
from app.workspace import Workspace
from tests.fakes.mediant_material import FAST
from tests.fakes.mediant_sim import MediantSim
from tests.fakes.ovoc_env import OvocServer
from tests.helpers import wildcard_spec
from tests.pki import TestCA
from tests.test_wizard import wait_listed
from ui.device_dialog import DeviceEntry, device_from_fields
from ui.launch import create_window
from ui.ovoc_panel import HostKeyQuestion
from ui.pages.deploy import DeployPage
from ui.pages.start import StartPage
from ui.pages.summary import SummaryPage
from ui.sbc_panel import Unknown
from ui.wizard import RenewalWizard

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support"),
]

WAIT_MS = 60_000


@pytest.fixture
def renewal(test_ca: TestCA, tmp_path: Path) -> Workspace:
    """An issued, exported renewal in the default folder, as the Start page lists it."""
    ws = Workspace.create(wildcard_spec(KeyType.RSA2048))
    ws.generate()
    leaf = test_ca.sign(ws.csr_pem, tmp_path / "leaf.crt")
    ws.import_response(
        [Source("leaf.crt", leaf.read_bytes() + test_ca.inter_pem + test_ca.root_pem)]
    )
    ws.export(None, ExportOptions(PRESETS["audiocodes"].artifacts))
    return ws


def open_deploy_page(
    qtbot: QtBot,
    ws: Workspace,
    devices: list[SavedDevice] | None = None,
    ovoc_targets: list[Target] | None = None,
) -> tuple[RenewalWizard, DeployPage]:
    """The wizard opened on `ws` from the Start page; devices, ovoc_targets: as the dashboard's
    "Renew these" preselects them."""
    w = create_window()
    w.confirm_close = lambda lost: True  # never a modal question in a test
    qtbot.addWidget(w)
    w.session.preselected_devices = list(devices or [])
    w.session.preselected_ovoc = list(ovoc_targets or [])
    w.show()
    start = wait_listed(qtbot, w)
    assert isinstance(start, StartPage)
    for i in range(start.renewals.topLevelItemCount()):
        item = start.renewals.topLevelItem(i)
        if item.text(3) == str(ws.path):
            start.renewals.setCurrentItem(item)
    start.resume.click()
    w.button(QWizard.WizardButton.NextButton).click()
    page = w.currentPage()
    assert isinstance(page, DeployPage)
    return w, page


# --- SBCs and gateways ---------------------------------------------------------------------------


@pytest.fixture
def sims() -> Iterator[list[MediantSim]]:
    with ExitStack() as stack:
        yield [stack.enter_context(MediantSim(delay=0.01)) for _ in range(3)]


def test_three_devices_one_with_a_wrong_password(
    qtbot: QtBot, renewal: Workspace, sims: list[MediantSim]
) -> None:
    w, page = open_deploy_page(qtbot, renewal)
    sbc = page.sbc
    sbc.timing = FAST
    assert sbc.table.rowCount() == 0 and not sbc.deploy_button.isEnabled()

    # The user adds each device: address, account, the Teams context and its SIP-TLS port.
    passwords = [sims[0].password, "not-the-password", sims[2].password]
    for sim, password in zip(sims, passwords, strict=True):
        device = device_from_fields(
            sim.host_port, sim.user, "", "1", str(sim.context_port(1)), reset=False
        )
        sbc.ask_device = lambda _d, _p, device=device, password=password: DeviceEntry(
            device, password, remember=False
        )
        sbc.add_button.click()
    assert sbc.deploy_button.text() == "&Deploy to 3 devices"
    # Saved for next year, without passwords.
    saved = load_devices()
    assert {d.port for d in saved} == {s.port for s in sims}
    from app.mediant.devices import devices_path

    stored = devices_path().read_text()
    assert all(p not in stored for p in passwords)

    asked_trust: list[Unknown] = []
    confirmed: list[str] = []

    def trust_the_list(unknowns: list[Unknown]) -> list[Unknown]:
        """One list for the three new devices; the user compares and ticks each."""
        from ui.trust_list import TrustListDialog

        asked_trust.extend(unknowns)
        dialog = TrustListDialog(unknowns, sbc)
        qtbot.addWidget(dialog)
        for row in range(len(unknowns)):
            dialog.tick(row)
        return dialog.chosen()

    sbc.ask_trust_all = trust_the_list
    navigation: list[tuple[bool, bool, str]] = []

    def confirm(text: str) -> bool:
        """Asked while the deployment is under way: Back and Next wait for its end."""
        back = w.button(QWizard.WizardButton.BackButton).isEnabled()
        nxt = w.button(QWizard.WizardButton.NextButton).isEnabled()
        navigation.append((back, nxt, page.status.text()))
        confirmed.append(text)
        return True

    sbc.confirm = confirm
    assert "Deployed: nothing yet" in page.status.text()
    sbc.deploy_button.click()
    qtbot.waitUntil(lambda: sbc.message.isVisible() and sbc.add_button.isEnabled(), timeout=WAIT_MS)

    # First contact: each device's own certificate was shown to compare, then pinned.
    assert len(asked_trust) == 3
    presented = {fetch_served_chain("127.0.0.1", s.port).leaf_sha256 for s in sims}
    assert {u.fingerprint for u in asked_trust} == presented  # context 1 changed, not the web's
    assert pins.get_pin("127.0.0.1", sims[0].port) in presented
    # The confirmation said what would happen, where the backups go.
    assert "3 device(s)" in confirmed[0] and str(renewal.backups_dir) in confirmed[0]

    leaf = renewal.deploy_material(with_key=False).leaf_sha256
    rows = {s.port: sbc.row_text(f"127.0.0.1:{s.port}") for s in sims}
    assert rows[sims[0].port]["Status"] == "done" and rows[sims[2].port]["Status"] == "done"
    assert rows[sims[1].port]["Status"] == "failed"
    for good in (sims[0], sims[2]):
        assert fetch_served_chain("127.0.0.1", good.context_port(1)).leaf_sha256 == leaf
    assert fetch_served_chain("127.0.0.1", sims[1].context_port(1)).leaf_sha256 != leaf
    assert len(list(renewal.backups_dir.glob("127.0.0.1_*.ini"))) == 2
    assert sbc.message.property("kind") == "error"
    assert "Deployed to 2 of 3" in sbc.message.text() and "Failed:" in sbc.message.text()
    assert navigation and navigation[0][:2] == (False, False)
    assert navigation[0][2].startswith("Deploying")
    assert w.button(QWizard.WizardButton.BackButton).isEnabled()
    assert w.button(QWizard.WizardButton.NextButton).isEnabled()
    status = page.status.text()
    assert f"Deployed: SBC 127.0.0.1:{sims[0].port}" in status
    assert f"SBC 127.0.0.1:{sims[1].port} (failed)" in status and "OVOC" in status

    # Selecting the failed device says why and what to do.
    sbc.table.selectRow(sbc.row_of(f"127.0.0.1:{sims[1].port}"))
    detail = sbc.detail.toPlainText().lower()
    assert "password" in detail or "401" in detail

    # Leaving the page (Back) and coming back (Next) keeps what happened.
    w.back()
    assert w.currentPage() is not page
    w.button(QWizard.WizardButton.NextButton).click()
    assert w.currentPage() is page
    assert sbc.row_text(f"127.0.0.1:{sims[1].port}")["Status"] == "failed"
    assert sbc.row_text(f"127.0.0.1:{sims[0].port}")["Status"] == "done"

    # The summary lists every device with its outcome.
    w.button(QWizard.WizardButton.NextButton).click()
    summary = w.currentPage()
    assert isinstance(summary, SummaryPage)
    text = summary.view.toPlainText()
    assert f"SBC 127.0.0.1:{sims[0].port}: done, context 1 (SIP-Teams), serves SHA-256" in text
    assert f"SBC 127.0.0.1:{sims[1].port}: failed — " in text
    assert "Deployed (2 of 3 done)" in text
    # When to renew, and a reminder the calendar program opens.
    not_after = renewal.certificate().not_valid_after_utc
    assert f"it expires on {not_after:%Y-%m-%d}" in text and "Renew by" in text
    opened: list[object] = []
    summary.open_path = lambda p: opened.append(p) or True  # the calendar program opened it
    summary.reminder.click()
    ics = renewal.path / "renew-reminder.ics"
    assert opened == [ics] and ics.read_text().startswith("BEGIN:VCALENDAR")
    assert str(ics) in summary.message.text()


def test_an_untrusted_device_gets_nothing_and_a_missing_password_is_asked_for(
    qtbot: QtBot, renewal: Workspace, sims: list[MediantSim]
) -> None:
    sim = sims[0]
    from app.mediant.devices import remember_device

    device = SavedDevice("127.0.0.1", sim.port, sim.user, (1,), (sim.context_port(1),))
    remember_device(device)
    _w, page = open_deploy_page(qtbot, renewal)
    sbc = page.sbc
    sbc.timing = FAST
    sbc.set_checked(device.key)
    asked: list[str] = []
    sbc.ask_password = lambda d: asked.append(d.key) and None  # the user cancels the question
    sbc.deploy_button.click()  # no password known yet
    assert asked == [device.key]
    assert sbc.message.property("kind") == "error"
    assert f"No password for 127.0.0.1:{sim.port}" in sbc.message.text()

    sbc.passwords[device.key] = sim.password  # as the Edit dialog keeps it
    sbc.ask_trust = lambda u: False  # the fingerprint does not match what the device shows
    sbc.confirm = lambda text: pytest.fail("no confirmation: nothing is left to deploy")
    sbc.deploy_button.click()
    qtbot.waitUntil(lambda: sbc.add_button.isEnabled(), timeout=WAIT_MS)
    assert sbc.row_text(device.key)["Status"] == "skipped"
    assert sim.calls == [] and pins.get_pin("127.0.0.1", sim.port) is None


def test_renew_these_preselects_the_devices(
    qtbot: QtBot, renewal: Workspace, sims: list[MediantSim]
) -> None:
    chosen = SavedDevice("127.0.0.1", sims[0].port, "Admin", (1,), ())
    _w, page = open_deploy_page(qtbot, renewal, devices=[chosen])
    assert [d.key for d in page.sbc.checked()] == [chosen.key]
    item = page.sbc.table.item(0, 0)
    assert item is not None and item.checkState() == Qt.CheckState.Checked


# --- OVOC -----------------------------------------------------------------------------------------


def _fill_ovoc(qtbot: QtBot, page: DeployPage, ovoc: OvocServer, port: int, root: str) -> None:
    from app.ovoc.console import ConsoleTimeouts

    panel = page.ovoc
    page.tabs.setCurrentWidget(panel)
    panel.timeouts = ConsoleTimeouts(prompt=5.0, import_run=30.0, leave=2.0)
    panel.verify_interval = 0.2
    qtbot.keyClicks(panel.host, "127.0.0.1")
    panel.port.setValue(port)
    panel.user.setText(ovoc.user.name)
    qtbot.keyClicks(panel.password, ovoc.user.password)
    qtbot.keyClicks(panel.root_password, root)
    panel.verify_port.setValue(ovoc.https_port)


def test_ovoc_first_contact_shows_the_host_key_then_imports_and_serves(
    qtbot: QtBot, renewal: Workspace, ovoc: OvocServer, tmp_path: Path
) -> None:
    server = ovoc.start()
    _w, page = open_deploy_page(qtbot, renewal)
    panel = page.ovoc
    _fill_ovoc(qtbot, page, ovoc, server.port, ovoc.ROOT_PASSWORD)
    panel.choose_file = lambda _title: str(ovoc.profile_file(tmp_path))
    panel.profile.setCurrentIndex(panel.profile.count() - 1)
    panel.profile.activated.emit(panel.profile.count() - 1)  # "Other profile file…"
    assert panel.profile.currentText() == "my-ovoc.toml"

    # What will be sent, before anything is sent.
    panel.show_plan.click()
    qtbot.waitUntil(lambda: "server.key" in panel.output.toPlainText(), timeout=WAIT_MS)
    assert str(ovoc.cert_dir) in panel.output.toPlainText()
    assert not ovoc.cert_dir.exists()

    questions: list[HostKeyQuestion] = []
    panel.ask_host_key = lambda q: questions.append(q) or True
    panel.confirm = lambda text: "EmsServerManager" in text
    asked_cleanup: list[str] = []
    panel.ask_cleanup = lambda text: asked_cleanup.append(text) or True
    panel.deploy_button.click()
    qtbot.waitUntil(lambda: panel.message.isVisible(), timeout=WAIT_MS)
    assert panel.message.property("kind") == "ok", panel.message.text()
    assert "generated successfully" in panel.message.text()
    qtbot.waitUntil(lambda: bool(asked_cleanup), timeout=WAIT_MS)
    assert len(questions) == 1 and not questions[0].changed
    assert questions[0].fingerprint == ovoc.target(server).host_key_pin
    leaf = renewal.deploy_material(with_key=False).leaf_sha256
    assert fetch_served_chain("127.0.0.1", ovoc.https_port).leaf_sha256 == leaf
    assert "su: root shell opened" in panel.output.toPlainText()
    assert ovoc.ROOT_PASSWORD not in panel.output.toPlainText()
    # Issue 12, finding 10: the unencrypted key left on OVOC is named and removed when asked.
    assert asked_cleanup and "server.key" in asked_cleanup[0]
    qtbot.waitUntil(lambda: "Removed from" in panel.output.toPlainText(), timeout=WAIT_MS)
    assert not (ovoc.cert_dir / "server.key").exists()
    assert (ovoc.cert_dir / "server.crt").exists()


def test_ovoc_wrong_root_password_is_shown_on_the_page_and_nothing_is_sent(
    qtbot: QtBot, renewal: Workspace, ovoc: OvocServer, tmp_path: Path
) -> None:
    server = ovoc.start()
    _w, page = open_deploy_page(qtbot, renewal)
    panel = page.ovoc
    _fill_ovoc(qtbot, page, ovoc, server.port, "wrong-root")
    panel.use_profile_file(str(ovoc.profile_file(tmp_path)))
    panel.ask_host_key = lambda q: True
    panel.confirm = lambda text: True
    panel.deploy_button.click()
    qtbot.waitUntil(lambda: panel.message.isVisible(), timeout=WAIT_MS)
    assert panel.message.property("kind") == "error"
    assert "root password was refused" in panel.message.text()
    assert "Nothing was sent" in panel.message.text()
    assert not ovoc.cert_dir.exists()
    assert panel.deploy_button.isEnabled()  # fix the password and try again


def test_ovoc_empty_fields_are_named() -> None:
    from ui.launch import application
    from ui.ovoc_panel import OvocPanel

    application()
    panel = OvocPanel(lambda: pytest.fail("no workspace needed"), lambda: pytest.fail("no task"))
    panel.deploy()
    assert "OVOC server's address" in panel.message.text()
    panel.host.setText("ovoc.example.com")
    panel.deploy()
    assert "root password" in panel.message.text()


def test_the_device_dialog_reads_the_contexts_by_name(
    qtbot: QtBot, renewal: Workspace, sims: list[MediantSim]
) -> None:
    from ui.device_dialog import DeviceDialog, TrustQuestion

    sim = sims[0]
    w, _page = open_deploy_page(qtbot, renewal)
    dialog = DeviceDialog(None, "", w, w.tasks)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.timing = FAST
    asked: list[TrustQuestion] = []
    dialog.ask_trust = lambda q: asked.append(q) or True
    qtbot.keyClicks(dialog.address, sim.host_port)
    dialog.read_button.click()
    assert "Enter the password first" in dialog.message.text()
    qtbot.keyClicks(dialog.password, sim.password)
    dialog.read_button.click()
    qtbot.waitUntil(
        lambda: dialog.context_list.isVisible() or dialog.message.property("kind") == "error",
        timeout=WAIT_MS,
    )
    assert dialog.context_list.isVisible(), dialog.message.text()
    labels = [dialog.context_list.item(i).text() for i in range(dialog.context_list.count())]
    assert labels == ["0 (default) — the web server's", "1 (SIP-Teams)"]
    assert len(asked) == 1 and asked[0].fingerprint == pins.get_pin("127.0.0.1", sim.port)
    # Ticking the Teams context (and unticking 0) is what will be deployed to.
    dialog.context_list.item(1).setCheckState(Qt.CheckState.Checked)
    dialog.context_list.item(0).setCheckState(Qt.CheckState.Unchecked)
    assert dialog.contexts.text() == "1"
    dialog.accept()
    assert dialog.entry is not None and dialog.entry.device.contexts == (1,)
    assert sim.saves == 0 and not any(m != "GET" for m, _p in sim.calls)  # nothing changed


def test_a_key_made_by_the_device_from_names_to_deployment(
    qtbot: QtBot, test_ca: TestCA, sims: list[MediantSim], tmp_path: Path
) -> None:
    """The other path the field knows: the SBC makes key and CSR; only the certificate travels."""
    from app.mediant.devices import remember_device
    from ui.device_dialog import TrustQuestion
    from ui.pages.csr import CsrPage
    from ui.pages.names import NamesPage
    from ui.pages.response import ResponsePage

    sim = sims[0]
    device = SavedDevice("127.0.0.1", sim.port, sim.user, (1,), (sim.context_port(1),), name="SBC1")
    remember_device(device)
    w = create_window()
    w.confirm_close = lambda lost: True
    qtbot.addWidget(w)
    w.show()
    w.button(QWizard.WizardButton.NextButton).click()
    names = w.currentPage()
    assert isinstance(names, NamesPage)
    qtbot.keyClicks(names.cn, "sbc1.example.com")
    names.org.setText("Example Ltd")
    names.country.setCurrentIndex(max(names.country.findData("GB"), 0))
    names.key_origin.on_device.setChecked(True)
    assert not names.key_type.isEnabled()  # the device chooses its key
    assert names.key_origin.device.currentText() == f"SBC1 (127.0.0.1:{sim.port})"
    assert names.key_origin.context.value() == 1
    assert not w.button(QWizard.WizardButton.NextButton).isEnabled()
    assert "Enter the SBC's password" in names.message.text()
    qtbot.keyClicks(names.key_origin.password, sim.password)
    assert w.button(QWizard.WizardButton.NextButton).isEnabled()
    names.cn.setText("*.example.com")  # a wildcard locked to one device: said, not refused
    assert "can only ever be used on that SBC" in names.message.text()
    names.cn.setText("sbc1.example.com")
    assert not names.message.isVisible()

    w.button(QWizard.WizardButton.NextButton).click()
    csr_page = w.currentPage()
    assert isinstance(csr_page, CsrPage)
    asked: list[TrustQuestion] = []
    csr_page.ask_trust = lambda q: asked.append(q) or True
    qtbot.waitUntil(lambda: csr_page.isComplete() or csr_page.retry.isVisible(), timeout=WAIT_MS)
    assert csr_page.isComplete(), csr_page.message.text()
    assert len(asked) == 1  # first contact: the device's certificate was shown
    assert "The key stays on 127.0.0.1" in csr_page.message.text()
    ws = w.session.require()
    assert ws.state.key_origin == "device" and not ws.has_key()
    assert len(sim.csr_requests) == 1

    leaf = test_ca.sign(ws.csr_pem, tmp_path / "sbc1.crt")
    w.button(QWizard.WizardButton.NextButton).click()
    resp = w.currentPage()
    assert isinstance(resp, ResponsePage)
    (tmp_path / "ca.crt").write_bytes(test_ca.inter_pem + test_ca.root_pem)
    resp.add_files([leaf, tmp_path / "ca.crt"])
    qtbot.waitUntil(lambda: resp.verdict.text() not in ("", "Checking the files…"), timeout=WAIT_MS)
    assert resp.verdict.text() == "Matches your key; chain complete"
    w.button(QWizard.WizardButton.NextButton).click()  # import
    # Export: certificates only (no key here), and deploying needs none.
    from ui.pages.export import ExportPage

    exp = w.currentPage()
    assert isinstance(exp, ExportPage)
    assert "only the certificates can be exported" in exp.result.text()
    assert not exp.preset_buttons["windows"].isEnabled()
    assert not exp.preset_buttons["java"].isEnabled()
    assert w.button(QWizard.WizardButton.NextButton).isEnabled()
    exp.export_button.click()  # the certificates, for the records
    qtbot.waitUntil(lambda: exp.export_button.isEnabled(), timeout=WAIT_MS)
    assert not exp.message.isVisible(), exp.message.text()
    assert sorted(p.name for p in Path(exp.folder.text()).iterdir()) == [
        "sbc1_example_com-chain.crt",
        "sbc1_example_com-fullchain.crt",
        "sbc1_example_com-root.crt",
        "sbc1_example_com.crt",
    ]
    w.button(QWizard.WizardButton.NextButton).click()
    page = w.currentPage()
    assert isinstance(page, DeployPage), type(page).__name__
    sbc = page.sbc
    sbc.timing = FAST
    sbc.set_checked(device.key)
    sbc.passwords[device.key] = sim.password
    sbc.confirm = lambda text: True
    sbc.deploy_button.click()
    qtbot.waitUntil(lambda: sbc.add_button.isEnabled() and sbc.message.isVisible(), timeout=WAIT_MS)
    assert sbc.row_text(device.key)["Status"] == "done", sbc.message.text()
    served = fetch_served_chain("127.0.0.1", sim.context_port(1)).leaf_sha256
    assert served == Workspace.open(ws.path).deploy_material(with_key=False).leaf_sha256


def test_a_device_verified_by_the_system_trust_store_is_never_silently_trusted(
    qtbot: QtBot, renewal: Workspace, sims: list[MediantSim]
) -> None:
    """Its self-signed certificate is not in the system store: refused, nothing sent, no pin."""
    sim = sims[0]
    _w, page = open_deploy_page(qtbot, renewal)
    sbc = page.sbc
    sbc.timing = FAST
    device = device_from_fields(sim.host_port, sim.user, "", "1", "", False, trust_system=True)
    sbc.ask_device = lambda _d, _p: DeviceEntry(device, sim.password, remember=False)
    sbc.add_button.click()
    sbc.ask_trust = lambda u: pytest.fail("a system-verified device is not asked about")
    sbc.confirm = lambda text: True
    sbc.deploy_button.click()
    qtbot.waitUntil(lambda: sbc.add_button.isEnabled() and sbc.message.isVisible(), timeout=WAIT_MS)
    assert sbc.row_text(device.key)["Status"] == "failed"
    sbc.table.selectRow(sbc.row_of(device.key))
    assert "Windows trust store does not vouch" in sbc.detail.toPlainText()
    assert sim.calls == [] and pins.get_pin("127.0.0.1", sim.port) is None


# --- the real dialogs, changed certificates, old firmware --------------------------------------


def _answer_modal(qtbot: QtBot, kind: type, act: Callable[[Any], None]) -> list[str]:
    """Answer the next modal `kind` dialog with `act`; it is rejected if `act` fails.

    The dialog runs its own event loop (exec), so it is answered from a timer. Whatever
    happens, it is closed: a modal dialog left open would block the test forever.
    """
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QDialog

    errors: list[str] = []

    def attempt(tries: int = 0) -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, kind):
            if tries < 250:
                QTimer.singleShot(20, lambda: attempt(tries + 1))
            return
        try:
            act(dialog)
        except Exception as exc:  # reported by the test, once the dialog is closed
            errors.append(repr(exc))
        finally:
            if isinstance(dialog, QDialog) and dialog.isVisible():
                dialog.reject()

    QTimer.singleShot(0, attempt)
    return errors


def test_the_add_and_edit_buttons_open_the_device_dialog(
    qtbot: QtBot, renewal: Workspace, sims: list[MediantSim], memory_keyring: Any
) -> None:
    """The real dialog (not a stand-in): fields, the remembered password, the context reader."""
    from app.mediant.devices import load_device_password
    from ui.device_dialog import DeviceDialog

    sim = sims[0]
    _w, page = open_deploy_page(qtbot, renewal)
    sbc = page.sbc

    def fill(dialog: DeviceDialog) -> None:
        assert dialog.read_button.isEnabled()  # it may read the contexts: it has the pool
        qtbot.keyClicks(dialog.address, sim.host_port)
        dialog.user.setText(sim.user)
        qtbot.keyClicks(dialog.password, sim.password)
        dialog.remember.setChecked(True)
        dialog.contexts.setText("1")
        dialog.ports.setText(str(sim.context_port(1)))
        dialog.accept()

    errors = _answer_modal(qtbot, DeviceDialog, fill)
    sbc.add_button.click()
    assert not errors, errors
    device = SavedDevice("127.0.0.1", sim.port, sim.user, (1,), (sim.context_port(1),))
    assert sbc.row_text(device.key)["Context"] == "1"
    assert [d.key for d in sbc.checked()] == [device.key]
    assert load_device_password(load_devices()[0]) == sim.password  # in the credential store
    secret = sim.password.encode()
    home = Path(os.environ["ACCERT_HOME"])  # no file of accert's holds it
    assert not [f for f in home.rglob("*") if f.is_file() and secret in f.read_bytes()]

    # Next session: the password comes back from the credential store into the Edit dialog.
    sbc.passwords.clear()
    seen: list[str] = []

    def look(dialog: DeviceDialog) -> None:
        seen.append(dialog.password.text())
        dialog.reset.setChecked(True)
        dialog.accept()

    errors = _answer_modal(qtbot, DeviceDialog, look)
    sbc.table.selectRow(sbc.row_of(device.key))
    sbc.edit_button.click()
    assert not errors, errors
    assert seen == [sim.password]
    assert load_devices()[0].reset is True


def test_a_changed_device_certificate_is_asked_about_in_stronger_words(
    qtbot: QtBot, renewal: Workspace, sims: list[MediantSim]
) -> None:
    from app.mediant.devices import remember_device
    from ui.device_dialog import TrustQuestion, trust_text

    sim = sims[0]
    device = SavedDevice("127.0.0.1", sim.port, sim.user, (1,), (sim.context_port(1),))
    remember_device(device)
    old_pin = pins.normalize_fingerprint("AB" * 32)  # what was trusted last year
    pins.set_pin("127.0.0.1", sim.port, old_pin)
    _w, page = open_deploy_page(qtbot, renewal)
    sbc = page.sbc
    sbc.timing = FAST
    sbc.passwords[device.key] = sim.password
    sbc.set_checked(device.key)
    asked: list[Unknown] = []
    sbc.ask_trust = lambda u: asked.append(u) or False
    sbc.confirm = lambda text: pytest.fail("a refused device is not deployed to")
    sbc.deploy_button.click()
    qtbot.waitUntil(lambda: sbc.add_button.isEnabled(), timeout=WAIT_MS)
    presented = fetch_served_chain("127.0.0.1", sim.port).leaf_sha256
    assert len(asked) == 1 and asked[0].changed and asked[0].fingerprint == presented
    title, text = trust_text(TrustQuestion("127.0.0.1", sim.port, "x", presented, True))
    assert title.startswith("WARNING") and "intercepting" in text
    assert sbc.row_text(device.key)["Status"] == "skipped"
    assert sim.calls == [] and pins.get_pin("127.0.0.1", sim.port) == old_pin
    sbc.table.selectRow(sbc.row_of(device.key))
    assert "changed and was not trusted" in sbc.detail.toPlainText()

    # Its administrator confirms the new certificate: trusted, pinned, deployed.
    sbc.ask_trust = lambda u: True
    sbc.confirm = lambda text: True
    sbc.deploy_button.click()
    qtbot.waitUntil(lambda: sbc.add_button.isEnabled() and sbc.message.isVisible(), timeout=WAIT_MS)
    assert sbc.row_text(device.key)["Status"] == "done", sbc.message.text()
    assert pins.get_pin("127.0.0.1", sim.port) == presented
    leaf = renewal.deploy_material(with_key=False).leaf_sha256
    assert fetch_served_chain("127.0.0.1", sim.context_port(1)).leaf_sha256 == leaf


def test_a_device_without_the_rest_api_gets_the_steps_by_hand(
    qtbot: QtBot, renewal: Workspace
) -> None:
    from app.mediant.devices import remember_device

    with MediantSim(rest_api=False, firmware="7.00A.100.002") as sim:
        device = SavedDevice("127.0.0.1", sim.port, sim.user, (0,), ())
        remember_device(device)
        w, page = open_deploy_page(qtbot, renewal)
        sbc = page.sbc
        sbc.timing = FAST
        sbc.passwords[device.key] = sim.password
        sbc.set_checked(device.key)
        sbc.ask_trust = lambda u: True
        sbc.confirm = lambda text: True
        sbc.deploy_button.click()
        qtbot.waitUntil(
            lambda: sbc.add_button.isEnabled() and sbc.message.isVisible(), timeout=WAIT_MS
        )
    assert sbc.row_text(device.key)["Status"] == "by hand", sbc.message.text()
    assert sbc.message.property("kind") == "warning"
    assert "By hand: " in sbc.message.text()
    sbc.table.selectRow(sbc.row_of(device.key))
    detail = sbc.detail.toPlainText()
    assert "1. " in detail and "has no REST API" in detail and "accert verify" in detail
    assert any(renewal.path.glob("manual-127.0.0.1/*.crt.pem"))  # the files it names
    w.button(QWizard.WizardButton.NextButton).click()
    summary = w.currentPage()
    assert isinstance(summary, SummaryPage)
    assert f"SBC 127.0.0.1:{sim.port}: by hand" in summary.view.toPlainText()


def test_ovoc_a_changed_host_key_is_refused_and_replaced_only_on_purpose(
    qtbot: QtBot, renewal: Workspace, ovoc: OvocServer, tmp_path: Path
) -> None:
    import paramiko

    from app.ovoc.ssh import known_hosts_path

    server = ovoc.start()
    old = paramiko.ECDSAKey.generate()  # what was recorded before OVOC was reinstalled
    known_hosts_path().parent.mkdir(parents=True, exist_ok=True)
    known_hosts_path().write_text(
        f"[127.0.0.1]:{server.port} {old.get_name()} {old.get_base64()}\n"
    )
    _w, page = open_deploy_page(qtbot, renewal)
    panel = page.ovoc
    _fill_ovoc(qtbot, page, ovoc, server.port, ovoc.ROOT_PASSWORD)
    panel.use_profile_file(str(ovoc.profile_file(tmp_path)))
    asked: list[HostKeyQuestion] = []
    panel.ask_host_key = lambda q: asked.append(q) or True
    panel.confirm = lambda text: True
    panel.deploy_button.click()
    qtbot.waitUntil(
        lambda: panel.message.isVisible() and panel.deploy_button.isEnabled(), timeout=WAIT_MS
    )
    # Refused, not asked: the warning, both keys' story, and the way on.
    assert panel.message.property("kind") == "error"
    assert panel.message.text().startswith("WARNING")
    assert "Replace the recorded host key" in panel.message.text()
    assert asked == [] and not ovoc.cert_dir.exists()
    assert panel.replace_key.isVisible()

    # The administrator confirms the new key: only now is it asked, recorded and used.
    panel.replace_key.click()
    qtbot.waitUntil(lambda: panel.message.property("kind") == "ok", timeout=WAIT_MS)
    assert len(asked) == 1 and asked[0].changed
    assert asked[0].fingerprint == ovoc.target(server).host_key_pin
    assert not panel.replace_key.isVisible()
    leaf = renewal.deploy_material(with_key=False).leaf_sha256
    assert fetch_served_chain("127.0.0.1", ovoc.https_port).leaf_sha256 == leaf
    assert old.get_base64() not in known_hosts_path().read_text()


def test_renew_these_with_an_ovoc_server_fills_the_ovoc_tab(
    qtbot: QtBot, renewal: Workspace
) -> None:
    ovoc_server = Target("ovoc.example.com", Kind.OVOC, (8443,), user="acems2")
    _w, page = open_deploy_page(qtbot, renewal, ovoc_targets=[ovoc_server])
    assert page.tabs.currentWidget() is page.ovoc  # no devices chosen: OVOC first
    assert page.ovoc.host.text() == "ovoc.example.com" and page.ovoc.user.text() == "acems2"
    assert page.ovoc.verify_port.value() == 8443
    assert "Deployed: nothing yet" in page.status.text() and "Next" in page.status.text()


def test_unticking_remember_removes_the_saved_password(
    qtbot: QtBot, renewal: Workspace, memory_keyring: Any
) -> None:
    from app.mediant.devices import load_device_password

    _w, page = open_deploy_page(qtbot, renewal)
    sbc = page.sbc
    device = SavedDevice("sbc9.example.com", 443, "Admin", (0,), ())
    sbc.ask_device = lambda _d, _p: DeviceEntry(device, "Secret-9-pass", remember=True)
    sbc.add_button.click()
    assert load_device_password(device) == "Secret-9-pass"
    sbc.ask_device = lambda _d, _p: DeviceEntry(device, "Secret-9-pass", remember=False)
    sbc.table.selectRow(sbc.row_of(device.key))
    sbc.edit_button.click()
    assert load_device_password(device) is None
    assert sbc.passwords[device.key] == "Secret-9-pass"  # still usable until accert closes
