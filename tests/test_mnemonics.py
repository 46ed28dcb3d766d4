"""Every page and dialog, walked as a keyboard user meets them: no Alt+letter is claimed twice
among what is on screen at once, and no label shows a literal '&' (a mnemonic without a buddy).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as QtGui
from PySide6.QtWidgets import (
    QAbstractButton,
    QGroupBox,
    QLabel,
    QTabBar,
    QTabWidget,
    QWidget,
)
from pytestqt.qtbot import QtBot

from app.mediant.devices import SavedDevice
from app.request import KeyType
from app.workspace import Workspace
from tests.helpers import wildcard_spec
from tests.pki import TestCA
from tests.test_wizard import (
    WAIT_MS,
    _open,
    click,
    click_next,
    fill_names,
    page,
    type_into,
    wait_outcome,
)
from ui.pages.csr import CsrPage
from ui.pages.deploy import DeployPage
from ui.pages.export import ExportPage
from ui.pages.response import ResponsePage
from ui.pages.start import StartPage
from ui.pages.summary import SummaryPage

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support"),
]

_MNEMONIC = re.compile(r"&(&|.)", re.DOTALL)


def mnemonic(text: str) -> str | None:
    """The letter after a single '&' (Qt's mnemonic), lower case; '&&' is a literal '&'."""
    for m in _MNEMONIC.finditer(text):
        if m.group(1) != "&":
            return m.group(1).lower()
    return None


def _shown(w: QWidget) -> bool:
    return w.isVisible() and w.window().isVisible()


def mnemonic_problems(window: QWidget) -> list[str]:
    """Clashing Alt+letters among the widgets on screen now, and literal '&'s in labels."""
    owners: dict[str, list[str]] = {}
    problems: list[str] = []

    def claim(letter: str | None, what: str) -> None:
        if letter is not None:
            owners.setdefault(letter, []).append(what)

    for w in [window, *window.findChildren(QWidget)]:
        if not _shown(w) or w.window() is not window:
            continue
        if isinstance(w, QAbstractButton):
            claim(mnemonic(w.text()), f"button {w.text()!r}")
        elif isinstance(w, QLabel):
            text = w.text()
            rich = w.textFormat() == Qt.TextFormat.RichText or (
                w.textFormat() == Qt.TextFormat.AutoText and QtGui.mightBeRichText(text)
            )
            letter = None if rich else mnemonic(text)
            if letter is None:
                continue
            if w.buddy() is None:
                problems.append(f"label {text!r} shows a literal '&' (it has no buddy)")
            else:
                claim(letter, f"label {text!r}")
        elif isinstance(w, QGroupBox):
            claim(mnemonic(w.title()), f"group {w.title()!r}")
        elif isinstance(w, QTabBar):
            for i in range(w.count()):
                if w.isTabVisible(i):
                    claim(mnemonic(w.tabText(i)), f"tab {w.tabText(i)!r}")
    for letter, whats in sorted(owners.items()):
        if len(whats) > 1:
            problems.append(f"Alt+{letter.upper()} is claimed by {', '.join(whats)}")
    return problems


def check(where: str, window: QWidget, seen: list[str]) -> None:
    for problem in mnemonic_problems(window):
        seen.append(f"{where}: {problem}")


def test_the_checker_finds_a_clash_and_a_literal(qtbot: QtBot) -> None:
    from PySide6.QtWidgets import QLineEdit, QPushButton, QVBoxLayout

    window = QWidget()
    qtbot.addWidget(window)
    layout = QVBoxLayout(window)
    layout.addWidget(QPushButton("&Deploy"))
    layout.addWidget(QPushButton("&Delete"))
    layout.addWidget(QLabel("TLS &context(s):"))
    layout.addWidget(QLabel("Fish && chips"))
    buddied = QLabel("&Name:")
    field = QLineEdit()
    buddied.setBuddy(field)
    layout.addWidget(buddied)
    layout.addWidget(field)
    window.show()
    qtbot.waitExposed(window)
    problems = mnemonic_problems(window)
    assert problems == [
        "label 'TLS &context(s):' shows a literal '&' (it has no buddy)",
        "Alt+D is claimed by button '&Deploy', button '&Delete'",
    ]


def test_every_page_and_dialog_has_distinct_mnemonics(
    qtbot: QtBot, test_ca: TestCA, tmp_path: Path
) -> None:
    seen: list[str] = []
    # A renewal to continue, so the Start page shows all it can.
    earlier = Workspace.create(wildcard_spec(KeyType.EC256, cn="earlier.example.com"))
    earlier.generate()
    w = _open(qtbot)
    start = page(w, StartPage)
    assert isinstance(start, StartPage)
    check("Start", w, seen)
    click(qtbot, start.resume)
    check("Start (continue)", w, seen)
    click(qtbot, start.existing)
    start.password.show()  # as after a PFX that needs its password
    check("Start (open a file)", w, seen)
    start.password.hide()
    click(qtbot, start.new)

    click_next(qtbot, w)
    names = fill_names(qtbot, w, key=KeyType.EC256)
    check("Names", w, seen)
    click_next(qtbot, w)
    csr = page(w, CsrPage)
    assert isinstance(csr, CsrPage)
    qtbot.waitUntil(csr.isComplete, timeout=WAIT_MS)
    check("Key and CSR", w, seen)
    del names

    leaf = test_ca.sign(csr.pem.toPlainText().encode(), tmp_path / "leaf.crt")
    click_next(qtbot, w)
    resp = page(w, ResponsePage)
    assert isinstance(resp, ResponsePage)
    check("CA response (empty)", w, seen)
    resp.add_files([leaf, test_ca.inter_crt, test_ca.root_crt])
    wait_outcome(qtbot, resp)
    check("CA response (checked)", w, seen)
    click_next(qtbot, w)

    exp = page(w, ExportPage)
    assert isinstance(exp, ExportPage)
    check("Export", w, seen)
    for name, button in exp.preset_buttons.items():
        click(qtbot, button)
        check(f"Export ({name})", w, seen)
    click(qtbot, exp.preset_buttons["audiocodes"])
    type_into(qtbot, exp.folder, str(tmp_path / "out"))
    click(qtbot, exp.export_button)
    qtbot.waitUntil(lambda: exp.result.isVisible(), timeout=WAIT_MS)
    check("Export (done)", w, seen)

    click_next(qtbot, w)
    dep = page(w, DeployPage)
    assert isinstance(dep, DeployPage)
    tabs = dep.findChild(QTabWidget)
    assert tabs is not None
    for i in range(tabs.count()):
        tabs.setCurrentIndex(i)
        check(f"Deploy ({tabs.tabText(i)})", w, seen)
    tabs.setCurrentIndex(0)

    click_next(qtbot, w)
    page(w, SummaryPage)
    check("Summary", w, seen)

    for where, dialog in _dialogs(w, tmp_path):
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        check(where, dialog, seen)
        dialog.close()
    assert seen == [], "\n".join(seen)


def _dialogs(parent: QWidget, tmp_path: Path) -> list[tuple[str, QWidget]]:
    from ui.acme_dialog import AcmeDialog
    from ui.cert_view import CertificateDialog
    from ui.dashboard import Dashboard, TargetDialog
    from ui.device_dialog import DeviceDialog, PasswordDialog
    from ui.feedback import CrashReportDialog, UnexpectedDialog
    from ui.sbc_panel import Unknown
    from ui.trust_list import TrustListDialog

    device = SavedDevice("sbc1.example.com", 443, "Admin", (0,), ())
    unknowns = [
        Unknown(SavedDevice(f"sbc{n}.example.com"), f"CN=sbc{n}", "AB:" * 31 + "CD") for n in (1, 2)
    ]
    report = tmp_path / "wizard-crash.log"
    report.write_text("Fatal Python error: Segmentation fault\n", encoding="utf-8")
    from ui.wizard import RenewalWizard

    assert isinstance(parent, RenewalWizard)
    return [
        ("Add a device", DeviceDialog(None, "", parent)),
        ("Edit device", DeviceDialog(device, "", parent)),
        ("Device password", PasswordDialog(device, parent)),
        ("Trust these devices", TrustListDialog(unknowns, parent)),
        ("Dashboard", Dashboard(parent)),
        ("Add target", TargetDialog(parent)),
        ("Unexpected error", UnexpectedDialog(RuntimeError("x"), "", parent)),
        ("Crash report", CrashReportDialog(report, parent)),
        ("Certificate", CertificateDialog(parent.session.require().certificate(), parent)),
        ("ACME", AcmeDialog(parent.session.require(), parent.tasks, lambda *_: None, parent)),
    ]


def test_a_pfx_renewal_s_pages_too(qtbot: QtBot, test_ca: TestCA, tmp_path: Path) -> None:
    """The CA response page with its PFX password row, as a PFX that needs it shows it."""
    ws = Workspace.create(wildcard_spec(KeyType.EC256), tmp_path / "r")
    ws.generate()
    leaf = test_ca.sign(ws.csr_pem, tmp_path / "leaf.crt")
    w = _open(qtbot)
    start = page(w, StartPage)
    assert isinstance(start, StartPage)
    start.add_folder(ws.path)
    click_next(qtbot, w)
    click_next(qtbot, w)
    resp = page(w, ResponsePage)
    assert isinstance(resp, ResponsePage)
    from cryptography.hazmat.primitives.serialization import (
        BestAvailableEncryption,
        pkcs12,
    )

    key = ws.private_key()
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(leaf.read_bytes())
    pfx = tmp_path / "given.pfx"
    pfx.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"x", key, cert, None, BestAvailableEncryption(b"Pfx-pass-123")
        )
    )
    resp.add_files([pfx])
    qtbot.waitUntil(resp.pass_ok.isVisible, timeout=WAIT_MS)
    seen: list[str] = []
    check("CA response (PFX password)", w, seen)
    assert seen == [], "\n".join(seen)


def test_enter_in_the_pfx_confirm_field_exports(
    qtbot: QtBot, test_ca: TestCA, tmp_path: Path
) -> None:
    from tests.test_wizard_small import _export_page

    w, exp = _export_page(qtbot, test_ca, tmp_path)
    click(qtbot, exp.preset_buttons["windows"])
    type_into(qtbot, exp.folder, str(tmp_path / "pfx"))
    type_into(qtbot, exp.pass1, "Renew-every-year-2026")
    type_into(qtbot, exp.pass2, "Renew-every-year-2026")
    qtbot.keyClick(exp.pass2, Qt.Key.Key_Return)
    qtbot.waitUntil(exp.result.isVisible, timeout=WAIT_MS)
    assert str(tmp_path / "pfx") in exp.result.text()
    assert (tmp_path / "pfx" / "star_example_com.pfx").exists()
    assert isinstance(w.currentPage(), ExportPage)  # Enter exported; it did not leave the page
