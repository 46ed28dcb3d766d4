"""The wizard driven as a user drives it: offscreen Qt, real keys, a real test CA, real files.

Every check is one a user could make: what the page says, whether Next is enabled, what the
exported files hold (read back with openssl and keytool, as the engine's tests do).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QCheckBox,
    QRadioButton,
    QWizard,
)
from pytestqt.qtbot import QtBot

from app.ca_response import Source
from app.export import PRESETS, Artifact, ExportOptions
from app.flow import Page
from app.request import KeyType
from app.workspace import Stage, Workspace
from tests.helpers import keytool, other_csr, wildcard_spec
from tests.pki import OPENSSL, TestCA, openssl
from ui.feedback import UnexpectedDialog
from ui.launch import create_window
from ui.pages.csr import CsrPage
from ui.pages.deploy import DeployPage
from ui.pages.export import ExportPage
from ui.pages.names import NamesPage
from ui.pages.response import DropZone, ResponsePage
from ui.pages.start import StartPage
from ui.pages.summary import SummaryPage
from ui.wizard import RenewalWizard

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    # The offscreen platform cannot do these; a real desktop can.
    pytest.mark.qt_log_ignore("This plugin does not support"),
]

WAIT_MS = 30_000
PFX_PASSWORD = "Renew-every-year-2026"


# --- driving the window ------------------------------------------------------------------------


@pytest.fixture
def wizard(qtbot: QtBot) -> Iterator[RenewalWizard]:
    yield _open(qtbot)


def _open(qtbot: QtBot) -> RenewalWizard:
    w = create_window()
    # A test never leaves a modal question open: pytest-qt closes the window after the test, and
    # what closing asked is kept for the tests that check it.
    w.asked_to_close = []  # type: ignore[attr-defined]
    w.confirm_close = lambda lost: w.asked_to_close.append(lost) or True  # type: ignore[attr-defined]
    qtbot.addWidget(w)
    w.show()
    wait_listed(qtbot, w)
    return w


def wait_listed(qtbot: QtBot, w: RenewalWizard) -> StartPage:
    """The Start page lists the renewals once the window has painted: wait for that."""
    qtbot.waitExposed(w)
    start = w.pages[Page.START]
    assert isinstance(start, StartPage)
    qtbot.waitUntil(lambda: start.listed, timeout=WAIT_MS)
    return start


def _close(w: RenewalWizard) -> None:
    """Closes as the user does when nothing is at risk: the window must not ask."""
    assert w.what_would_be_lost() == []
    assert w.close()
    assert w.asked_to_close == []  # type: ignore[attr-defined]


def page(w: RenewalWizard, cls: type) -> object:
    current = w.currentPage()
    assert isinstance(current, cls), f"on {type(current).__name__}, expected {cls.__name__}"
    return current


def click(qtbot: QtBot, button: QAbstractButton) -> None:
    """A mouse click where the user would click: on a radio's circle, a button's middle."""
    pos = button.rect().center()
    if isinstance(button, QRadioButton | QCheckBox):
        pos = QPoint(8, button.height() // 2)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=pos)


def next_enabled(w: RenewalWizard) -> bool:
    return w.button(QWizard.WizardButton.NextButton).isEnabled()


def click_next(qtbot: QtBot, w: RenewalWizard) -> None:
    button = w.button(QWizard.WizardButton.NextButton)
    assert button.isEnabled(), "Next is disabled"
    click(qtbot, button)


def type_into(qtbot: QtBot, widget: object, text: str) -> None:
    widget.setFocus()  # type: ignore[attr-defined]
    widget.selectAll()  # type: ignore[attr-defined]
    qtbot.keyClick(widget, Qt.Key.Key_Delete)
    if text.isascii():
        qtbot.keyClicks(widget, text)
        return
    # QTest knows only ASCII keys (it aborts on 'ü'): a non-ASCII character arrives as a
    # keyboard layout sends it, a key event carrying its text.
    for char in text:
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            event = QKeyEvent(kind, 0, Qt.KeyboardModifier.NoModifier, char)
            QApplication.sendEvent(widget, event)  # type: ignore[arg-type]


def fill_names(
    qtbot: QtBot,
    w: RenewalWizard,
    cn: str = "*.example.com",
    sans: tuple[str, ...] = ("sbc1.example.com",),
    key: KeyType = KeyType.EC256,
) -> NamesPage:
    p = page(w, NamesPage)
    assert isinstance(p, NamesPage)
    type_into(qtbot, p.cn, cn)
    for name in sans:
        type_into(qtbot, p.san_input, name)
        qtbot.keyClick(p.san_input, Qt.Key.Key_Return)  # adds the name; does not press Next
    type_into(qtbot, p.org, "Example Ltd")
    type_into(qtbot, p.locality, "London")
    type_into(qtbot, p.country.lineEdit(), "GB")
    p.key_type.setCurrentIndex(p.key_type.findData(key.value))
    return p


def new_renewal_to_csr(qtbot: QtBot, w: RenewalWizard, key: KeyType = KeyType.EC256) -> CsrPage:
    page(w, StartPage)
    click_next(qtbot, w)
    fill_names(qtbot, w, key=key)
    click_next(qtbot, w)
    p = page(w, CsrPage)
    assert isinstance(p, CsrPage)
    qtbot.waitUntil(p.isComplete, timeout=WAIT_MS)
    return p


def drop_files(qtbot: QtBot, zone: DropZone, paths: list[Path]) -> None:
    """A real drop event, as Explorer sends it."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(
        QPointF(zone.rect().center()),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    zone.dropEvent(event)


def wait_outcome(qtbot: QtBot, p: ResponsePage) -> None:
    qtbot.waitUntil(lambda: p.verdict.text() not in ("", "Checking the files…"), timeout=WAIT_MS)


def pkcs12_info(path: Path) -> str:
    """What `openssl pkcs12 -info` reports about the ciphers (it writes that to stderr)."""
    assert OPENSSL is not None
    proc = subprocess.run(
        [OPENSSL, "pkcs12", "-in", str(path), "-info", "-noout", "-passin", "env:PFX_PASS"],
        capture_output=True,
        env=dict(os.environ, PFX_PASS=PFX_PASSWORD),
        check=True,
    )
    return proc.stderr.decode()


def pubkey_of_cert(path: Path) -> bytes:
    return openssl("x509", "-in", path, "-noout", "-pubkey")


# --- the whole journey -------------------------------------------------------------------------


def test_a_wildcard_from_names_to_every_export_and_the_deploy_steps(
    qtbot: QtBot, wizard: RenewalWizard, test_ca: TestCA, tmp_path: Path
) -> None:
    w = wizard
    assert w.windowTitle().startswith("accert")
    assert not w.windowIcon().isNull()
    csr_page = new_renewal_to_csr(qtbot, w, KeyType.RSA2048)
    pem = csr_page.pem.toPlainText()
    assert pem.startswith("-----BEGIN CERTIFICATE REQUEST-----")
    assert "*.example.com, example.com, sbc1.example.com" in csr_page.f_names.text()
    assert "RSA 2048" in csr_page.f_key.text()
    assert "paste it into your CA's order form" in csr_page.next_steps.text()
    # Copy puts the CSR on the clipboard; Save writes it where the user says.
    click(qtbot, csr_page.copy)
    assert QApplication.clipboard().text() == pem
    csr_page.save_to(tmp_path / "order.csr")
    assert (tmp_path / "order.csr").read_text() == pem

    # The CA signs what the user pasted into its form.
    leaf = test_ca.sign(pem.encode(), tmp_path / "star_example_com.crt")
    click_next(qtbot, w)
    resp = page(w, ResponsePage)
    assert isinstance(resp, ResponsePage)
    assert not next_enabled(w)
    drop_files(qtbot, resp.findChild(DropZone), [leaf])
    wait_outcome(qtbot, resp)
    # The leaf alone: the intermediate is missing, and Next stays disabled with the reason.
    assert "missing" in resp.details.text()
    assert not next_enabled(w)
    resp.paste.setPlainText((test_ca.inter_pem + test_ca.root_pem).decode())
    click(qtbot, resp.use_button)
    wait_outcome(qtbot, resp)
    assert resp.verdict.text() == "Matches your key; chain complete"
    tree = resp.tree
    root = tree.topLevelItem(0)
    assert root is not None and root.text(1) == "Root CA" and root.text(0) == "Test Root CA"
    inter = root.child(0)
    assert inter.text(1) == "Intermediate CA"
    assert inter.child(0).text(0) == "*.example.com" and inter.child(0).text(4).endswith("days")
    assert w.button(QWizard.WizardButton.NextButton).text() == "&Import >"
    click_next(qtbot, w)

    # Export every preset into its own folder; each is read back like the engine's tests do.
    exp = page(w, ExportPage)
    assert isinstance(exp, ExportPage)
    assert not w.button(QWizard.WizardButton.BackButton).isEnabled()  # imported: no way back
    assert not next_enabled(w)  # nothing exported yet
    folders: dict[str, Path] = {}
    for name in PRESETS:
        click(qtbot, exp.preset_buttons[name])
        folders[name] = tmp_path / "out" / name
        type_into(qtbot, exp.folder, str(folders[name]))
        if exp.pass_box.isVisible():
            assert not exp.export_button.isEnabled()  # no password yet
            type_into(qtbot, exp.pass1, PFX_PASSWORD)
            type_into(qtbot, exp.pass2, PFX_PASSWORD[:-1])
            assert "differ" in exp.strength_hint.text()
            assert not exp.export_button.isEnabled()
            type_into(qtbot, exp.pass2, PFX_PASSWORD)
            assert exp.strength.value() == 4
        if name == "windows":
            click(qtbot, exp.legacy)
        click(qtbot, exp.export_button)
        qtbot.waitUntil(lambda: exp.result.isVisible() or exp.message.isVisible(), timeout=WAIT_MS)
        assert not exp.message.isVisible(), exp.message.text()
        assert str(folders[name]) in exp.result.text()
        assert exp.open_folder.isEnabled()
    assert next_enabled(w)
    stem = "star_example_com"
    ac = folders["audiocodes"]
    assert sorted(p.name for p in ac.iterdir()) == sorted(
        f"{stem}{s}" for s in (".key", ".crt", "-chain.crt", "-fullchain.crt", "-root.crt")
    )
    key_text = (ac / f"{stem}.key").read_text()
    assert key_text.startswith("-----BEGIN RSA PRIVATE KEY-----")  # what Mediant and OVOC take
    assert openssl("pkey", "-in", ac / f"{stem}.key", "-pubout") == pubkey_of_cert(
        ac / f"{stem}.crt"
    )
    verified = openssl(
        "verify", "-CAfile", ac / f"{stem}-root.crt", "-untrusted", ac / f"{stem}-chain.crt",
        ac / f"{stem}.crt",
    )  # fmt: skip
    assert b": OK" in verified
    ovoc = folders["ovoc"]
    assert {p.name for p in ovoc.iterdir()} == {
        f"{stem}.key",
        f"{stem}.crt",
        f"{stem}-chain.crt",
        f"{stem}-root.crt",
    }
    win = folders["windows"] / f"{stem}.pfx"
    info = pkcs12_info(win)
    assert "MAC: sha1" in info and "3-KeyTripleDES-CBC" in info  # legacy, as chosen
    java = folders["java"] / f"{stem}.jks"
    listing = keytool("-list", "-v", "-keystore", java, password=PFX_PASSWORD)
    assert "PrivateKeyEntry" in listing and "Certificate chain length: 3" in listing
    everything = {p.name for p in folders["everything"].iterdir()}
    assert {f"{stem}.pfx", f"{stem}-legacy.pfx", f"{stem}.jks", f"{stem}.key"} <= everything
    modern = folders["everything"] / f"{stem}.pfx"
    info = pkcs12_info(modern)
    assert "MAC: sha256" in info and "AES-256-CBC" in info

    # Deploy: the exact steps name the exported files; OVOC files are written under its names.
    click_next(qtbot, w)
    dep = page(w, DeployPage)
    assert isinstance(dep, DeployPage)
    steps = "\n".join(dep.sbc_steps.steps)
    assert "TLS Contexts" in steps and f"{stem}.key" in steps and f"{stem}-chain.crt" in steps
    click(qtbot, dep.prepare_ovoc)
    qtbot.waitUntil(lambda: bool(dep.ovoc_steps.steps), timeout=WAIT_MS)
    ovoc_steps = "\n".join(dep.ovoc_steps.steps)
    assert "EmsServerManager" in ovoc_steps and "/home/acems/server_certs" in ovoc_steps
    assert dep.ovoc_steps.folder is not None and any(dep.ovoc_steps.folder.iterdir())

    click_next(qtbot, w)
    summ = page(w, SummaryPage)
    assert isinstance(summ, SummaryPage)
    text = summ.view.toPlainText()
    ws = w.session.require()
    assert str(ws.path) in text and str(ws.log_path) in text and "Files exported" in text
    assert str(folders["java"]) in text
    assert w.button(QWizard.WizardButton.FinishButton).isVisible()
    qtbot.mouseClick(w.button(QWizard.WizardButton.FinishButton), Qt.MouseButton.LeftButton)
    assert not w.isVisible()
    events = [e["event"] for e in ws.read_log()]
    assert events[:3] == ["created", "csr-created", "csr-saved"]
    assert "certificate-imported" in events and events.count("exported") == len(PRESETS)
    assert PFX_PASSWORD not in ws.log_path.read_text()


# --- invalid input ------------------------------------------------------------------------------


def test_invalid_names_keep_next_disabled_and_say_why(qtbot: QtBot, wizard: RenewalWizard) -> None:
    w = wizard
    click_next(qtbot, w)
    p = page(w, NamesPage)
    assert isinstance(p, NamesPage)
    assert not next_enabled(w)  # empty CN
    type_into(qtbot, p.cn, "sbc example.com")
    assert not next_enabled(w)
    assert "contains spaces" in p.errors["common_name"].text()
    assert p.errors["common_name"].isVisible()
    type_into(qtbot, p.cn, "sbc.*.example.com")
    assert "wildcard" in p.errors["common_name"].text()
    type_into(qtbot, p.cn, "*.example.com")
    assert not p.errors["common_name"].isVisible()
    assert p.bare.isVisible() and "example.com" in p.bare.text()
    assert next_enabled(w)
    # A bad SAN is refused with its reason and not added.
    type_into(qtbot, p.san_input, "http://sbc.example.com/")
    qtbot.keyClick(p.san_input, Qt.Key.Key_Return)
    assert p.san_list.count() == 0 and "URL" in p.errors["sans"].text()
    assert page(w, NamesPage) is p  # Enter in the SAN box did not press Next
    type_into(qtbot, p.country.lineEdit(), "UK")
    assert not next_enabled(w) and "GB" in p.errors["country"].text()
    type_into(qtbot, p.country.lineEdit(), "United Kingdom")
    qtbot.waitUntil(lambda: next_enabled(w), timeout=10_000)
    assert p.country_code() == "GB"
    type_into(qtbot, p.email, "not-an-address")
    assert not next_enabled(w) and "e-mail" in p.errors["email"].text()
    type_into(qtbot, p.email, "")
    assert next_enabled(w)
    # Each key type says what it means for AudioCodes devices.
    p.key_type.setCurrentIndex(p.key_type.findData("ec256"))
    assert "Mediant 7.2+" in p.key_note.text()


def test_a_response_for_another_key_is_refused(
    qtbot: QtBot, wizard: RenewalWizard, test_ca: TestCA, tmp_path: Path
) -> None:
    w = wizard
    new_renewal_to_csr(qtbot, w)
    stranger = test_ca.sign(other_csr(tmp_path), tmp_path / "from-the-device.crt")
    click_next(qtbot, w)
    resp = page(w, ResponsePage)
    assert isinstance(resp, ResponsePage)
    resp.add_files([stranger, test_ca.inter_crt])
    wait_outcome(qtbot, resp)
    assert resp.verdict.text() == "Does not match your key"
    assert resp.verdict.property("kind") == "error"
    assert "None of these certificates belongs to this renewal's private key" in (
        resp.details.text()
    )
    assert not next_enabled(w)
    assert w.session.require().state.stage is Stage.REQUESTED


def test_an_unreadable_file_is_reported_on_the_page(
    qtbot: QtBot, wizard: RenewalWizard, tmp_path: Path
) -> None:
    w = wizard
    new_renewal_to_csr(qtbot, w)
    click_next(qtbot, w)
    resp = page(w, ResponsePage)
    assert isinstance(resp, ResponsePage)
    junk = tmp_path / "invoice.pdf"
    junk.write_bytes(b"%PDF-1.4 not a certificate")
    resp.add_files([junk])
    qtbot.waitUntil(resp.message.isVisible, timeout=WAIT_MS)
    assert "invoice.pdf" in resp.message.text()
    assert not next_enabled(w)


# --- resuming -----------------------------------------------------------------------------------


def _resume(qtbot: QtBot, w: RenewalWizard, path: Path) -> None:
    start = page(w, StartPage)
    assert isinstance(start, StartPage)
    rows = {
        start.renewals.topLevelItem(i).text(3): start.renewals.topLevelItem(i)
        for i in range(start.renewals.topLevelItemCount())
    }
    item = rows[str(path)]
    start.renewals.setCurrentItem(item)
    click(qtbot, start.resume)
    click_next(qtbot, w)


def test_closing_after_the_csr_and_resuming_shows_the_same_csr(
    qtbot: QtBot, test_ca: TestCA, tmp_path: Path
) -> None:
    w = _open(qtbot)
    pem = new_renewal_to_csr(qtbot, w).pem.toPlainText()
    path = w.session.require().path
    assert w.what_would_be_lost() == []  # the CSR is saved: closing does not ask
    _close(w)

    w2 = _open(qtbot)
    start = page(w2, StartPage)
    assert isinstance(start, StartPage)
    row = start.renewals.topLevelItem(0)
    assert row.text(0) == "*.example.com" and row.text(1) == "CSR made, waiting for the CA"
    _resume(qtbot, w2, path)
    csr_page = page(w2, CsrPage)
    assert isinstance(csr_page, CsrPage)
    assert csr_page.pem.toPlainText() == pem
    # Back goes to Start (to pick another renewal), not to names that can no longer change.
    leaf = test_ca.sign(pem.encode(), tmp_path / "leaf.crt")
    click_next(qtbot, w2)
    resp = page(w2, ResponsePage)
    assert isinstance(resp, ResponsePage)
    resp.add_files([leaf, test_ca.inter_crt, test_ca.root_crt])
    wait_outcome(qtbot, resp)
    assert resp.verdict.text() == "Matches your key; chain complete"
    assert w2.what_would_be_lost()  # a checked but not imported certificate would be lost
    click_next(qtbot, w2)
    page(w2, ExportPage)
    _close(w2)

    w3 = _open(qtbot)
    _resume(qtbot, w3, path)
    page(w3, ExportPage)


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        (Stage.NEW, CsrPage),
        (Stage.ISSUED, ExportPage),
        (Stage.EXPORTED, DeployPage),
        (Stage.DEPLOYED, DeployPage),  # where a device added since can get it too
    ],
)
def test_resume_at_each_step(
    qtbot: QtBot,
    test_ca: TestCA,
    tmp_path: Path,
    isolated_home: Path,
    stage: Stage,
    expected: type,
) -> None:
    ws = Workspace.create(wildcard_spec(KeyType.EC256))
    if stage is not Stage.NEW:
        ws.generate()
        leaf = test_ca.sign(ws.csr_pem, tmp_path / "leaf.crt")
        data = leaf.read_bytes() + test_ca.inter_pem + test_ca.root_pem
        ws.import_response([Source("leaf.crt", data)])
    if stage.at_least(Stage.EXPORTED):
        ws.export(None, ExportOptions(PRESETS["audiocodes"].artifacts))
    if stage is Stage.DEPLOYED:
        ws.record_deployment({"kind": "mediant", "ok": True, "target": "sbc1.example.com"})
    w = _open(qtbot)
    _resume(qtbot, w, ws.path)
    current = page(w, expected)
    if isinstance(current, CsrPage):  # names entered only: the key is made on arrival
        qtbot.waitUntil(current.isComplete, timeout=WAIT_MS)
        assert Workspace.open(ws.path).state.stage is Stage.REQUESTED
    if isinstance(current, DeployPage):
        assert str(ws.exports_dir / "star_example_com.key") in "\n".join(current.sbc_steps.steps)
    if stage is Stage.DEPLOYED:
        assert "sbc1.example.com" in current.status.text()  # type: ignore[attr-defined]
        click_next(qtbot, w)
        summary = page(w, SummaryPage)
        assert isinstance(summary, SummaryPage)
        assert "sbc1.example.com: done" in summary.view.toPlainText()
    _close(w)


def test_a_pfx_someone_already_has_goes_to_export(
    qtbot: QtBot, wizard: RenewalWizard, test_ca: TestCA, tmp_path: Path
) -> None:
    ws = Workspace.create(wildcard_spec(KeyType.EC256), tmp_path / "elsewhere")
    ws.generate()
    leaf = test_ca.sign(ws.csr_pem, tmp_path / "leaf.crt")
    ws.import_response([Source("l.crt", leaf.read_bytes() + test_ca.inter_pem)])
    result = ws.export(tmp_path / "pfx", ExportOptions(frozenset({Artifact.PFX}), PFX_PASSWORD))
    pfx = result.files[0].path
    w = wizard
    start = page(w, StartPage)
    assert isinstance(start, StartPage)
    type_into(qtbot, start.file, str(pfx))
    assert start.existing.isChecked()
    click_next(qtbot, w)
    qtbot.waitUntil(start.password.isVisible, timeout=WAIT_MS)  # asks for the password
    assert start.message.property("kind") == "info"  # asked for, not an error (yet)
    type_into(qtbot, start.password, PFX_PASSWORD)
    click_next(qtbot, w)
    qtbot.waitUntil(lambda: isinstance(w.currentPage(), ExportPage), timeout=WAIT_MS)
    assert w.session.require().state.key_origin == "pfx"
    assert w.session.require().path != ws.path


def test_a_ca_response_opened_from_start_finds_its_renewal(
    qtbot: QtBot, wizard: RenewalWizard, test_ca: TestCA, tmp_path: Path
) -> None:
    ws = Workspace.create(wildcard_spec(KeyType.EC256))
    ws.generate()
    leaf = test_ca.sign(ws.csr_pem, tmp_path / "order-123.crt")
    w = wizard
    start = page(w, StartPage)
    assert isinstance(start, StartPage)
    click(qtbot, start.existing)
    type_into(qtbot, start.file, str(leaf))
    click_next(qtbot, w)
    qtbot.waitUntil(lambda: isinstance(w.currentPage(), ResponsePage), timeout=WAIT_MS)
    resp = page(w, ResponsePage)
    assert isinstance(resp, ResponsePage)
    wait_outcome(qtbot, resp)
    assert w.session.require().path == ws.path
    assert "order-123.crt" in resp.added.text()


# --- closing, errors ----------------------------------------------------------------------------


def test_closing_asks_only_when_something_would_be_lost(
    qtbot: QtBot, wizard: RenewalWizard
) -> None:
    w = wizard
    assert w.what_would_be_lost() == []
    click_next(qtbot, w)
    p = fill_names(qtbot, w)
    assert w.what_would_be_lost() == ["The names you entered are not saved yet."]
    asked: list[list[str]] = []
    w.confirm_close = lambda lost: asked.append(lost) or False  # the user says Cancel
    w.close()
    assert w.isVisible() and asked
    qtbot.keyClick(p.cn, Qt.Key.Key_Escape)  # Escape asks the same question
    assert w.isVisible() and len(asked) == 2
    w.confirm_close = lambda lost: True
    qtbot.keyClick(p.cn, Qt.Key.Key_Escape)
    assert not w.isVisible()


def test_enter_is_next_and_the_page_is_keyboard_driven(qtbot: QtBot, wizard: RenewalWizard) -> None:
    w = wizard
    qtbot.keyClick(w.currentPage(), Qt.Key.Key_Return)
    p = page(w, NamesPage)
    assert isinstance(p, NamesPage)
    assert p.cn.hasFocus()
    qtbot.keyClicks(p.cn, "sbc.example.com")
    qtbot.keyClick(p.cn, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: isinstance(w.currentPage(), CsrPage), timeout=WAIT_MS)
    qtbot.waitUntil(w.currentPage().isComplete, timeout=WAIT_MS)


def test_an_unexpected_error_shows_one_dialog_with_details_and_is_logged(
    qtbot: QtBot, wizard: RenewalWizard, isolated_home: Path
) -> None:
    w = wizard

    def broken() -> None:
        raise RuntimeError("disk on fire; password=hunter22")

    w.tasks.run("A broken step", broken, on_done=lambda _r: None, on_error=lambda _e: None)
    qtbot.waitUntil(lambda: bool(w.findChildren(UnexpectedDialog)), timeout=WAIT_MS)
    dialog = w.findChildren(UnexpectedDialog)[0]
    assert dialog.isVisible()
    details = dialog.details.toPlainText()
    assert "RuntimeError: disk on fire" in details and "def broken" not in details[:0]
    assert "hunter22" not in details  # redacted before it is shown or logged
    log = (isolated_home / "logs" / "wizard-errors.log").read_text()
    assert "disk on fire" in log and "hunter22" not in log
    dialog.reject()
    assert w.isVisible()


def test_generation_runs_off_the_gui_thread(qtbot: QtBot, wizard: RenewalWizard) -> None:
    """While the key is made the event loop keeps running: timers fire, the page repaints."""
    from PySide6.QtCore import QTimer

    w = wizard
    click_next(qtbot, w)
    fill_names(qtbot, w, key=KeyType.RSA3072)
    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(5)
    click_next(qtbot, w)
    p = page(w, CsrPage)
    assert isinstance(p, CsrPage)
    assert p.busy.isVisible() and not p.isComplete()
    qtbot.waitUntil(p.isComplete, timeout=WAIT_MS)
    timer.stop()
    assert len(ticks) >= 3
