"""A look inside a certificate (issue 17, point 6): what the Windows viewer shows, checked
against openssl, opened by double-click or Enter from the CA response tree, the dashboard and
the Summary."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QTreeWidgetItem, QWidget
from pytestqt.qtbot import QtBot

from app.cert_details import details
from app.request import KeyType
from app.workspace import Stage, Workspace
from tests.fakes.tls_listeners import TlsListener, issue, stop_all
from tests.helpers import wildcard_spec
from tests.pki import TestCA, openssl, self_signed
from tests.test_wizard import WAIT_MS, _open, _resume, click, click_next, page, wait_outcome
from ui.cert_view import CertificateDialog
from ui.pages.response import ResponsePage
from ui.pages.start import StartPage
from ui.pages.summary import SummaryPage
from ui.wizard import RenewalWizard

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support"),
]


def double_click(qtbot: QtBot, viewport: QWidget, pos: QPoint) -> None:
    """As Qt sees a user's double-click: a press and release, then the double-click."""
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=pos)


def _openssl_fingerprint(path: Path, digest: str) -> str:
    out = openssl("x509", "-in", path, "-noout", "-fingerprint", f"-{digest}").decode()
    return out.strip().split("=", 1)[1]


def test_the_fields_a_user_looks_for_agree_with_openssl(test_ca: TestCA, tmp_path: Path) -> None:
    ws = Workspace.create(wildcard_spec(KeyType.EC256), tmp_path / "r")
    ws.generate()
    leaf_path = test_ca.sign(ws.csr_pem, tmp_path / "leaf.crt")
    cert = x509.load_pem_x509_certificate(leaf_path.read_bytes())
    info = details(cert)
    rows = dict(info.rows)
    assert info.title == "*.example.com"
    assert info.sha1 == rows["Thumbprint (SHA-1)"] == _openssl_fingerprint(leaf_path, "sha1")
    assert info.sha256 == rows["Thumbprint (SHA-256)"] == _openssl_fingerprint(leaf_path, "sha256")
    assert rows["Names (SAN)"].splitlines() == [
        "DNS: *.example.com",
        "DNS: example.com",
        "DNS: sbc1.example.com",
    ]
    text = openssl("x509", "-in", leaf_path, "-noout", "-text").decode()
    if "TLS Web Server Authentication" in text:
        assert "TLS server authentication (1.3.6.1.5.5.7.3.1)" in rows["Extended key usage"]
    assert rows["Public key"].startswith("ECDSA P-256")
    assert rows["Basic constraints"].startswith("end entity")
    serial = re.search(r"Serial Number:\s*\n?\s*([0-9a-f:]+)", text, re.IGNORECASE)
    assert serial is not None
    assert int(serial.group(1).replace(":", ""), 16) == int(rows["Serial number"], 16)
    assert re.search(r"\(\d+ days left\)$", rows["Valid"])
    assert info.pem == leaf_path.read_text() or info.pem.strip() in leaf_path.read_text()


def test_control_and_bidi_characters_in_a_subject_are_shown_escaped() -> None:
    pem, _ = self_signed("evil\u202eexample.com\nSHA-256: AA", san=False)
    cert = x509.load_pem_x509_certificate(pem)
    info = details(cert)
    for _field, value in info.rows:
        assert "\u202e" not in value
    assert "\u202e" not in info.title and "\n" not in info.title
    assert "\\u202e" in info.title and "\\x0a" in info.title


def _resp_page(qtbot: QtBot, test_ca: TestCA, tmp_path: Path) -> tuple[object, ResponsePage]:
    ws = Workspace.create(wildcard_spec(KeyType.EC256))
    ws.generate()
    leaf = test_ca.sign(ws.csr_pem, tmp_path / "leaf.crt")
    w = _open(qtbot)
    _resume(qtbot, w, ws.path)
    click_next(qtbot, w)
    resp = page(w, ResponsePage)
    assert isinstance(resp, ResponsePage)
    resp.add_files([leaf, test_ca.inter_crt, test_ca.root_crt])
    wait_outcome(qtbot, resp)
    assert resp.verdict.text() == "Matches your key; chain complete"
    return w, resp


def _leaf_item(resp: ResponsePage) -> QTreeWidgetItem:
    return resp.tree.topLevelItem(0).child(0).child(0)


def test_a_double_click_in_the_ca_response_tree_opens_the_certificate(
    qtbot: QtBot, test_ca: TestCA, tmp_path: Path
) -> None:
    _w, resp = _resp_page(qtbot, test_ca, tmp_path)
    item = _leaf_item(resp)
    assert item.text(0) == "*.example.com"
    double_click(qtbot, resp.tree.viewport(), resp.tree.visualItemRect(item).center())
    assert len(resp.opener.opened) == 1
    dialog = resp.opener.opened[0]
    qtbot.waitExposed(dialog)
    assert dialog.windowTitle() == "Certificate — *.example.com"
    shown = {
        dialog.fields.topLevelItem(i).text(0): dialog.fields.topLevelItem(i).text(1)
        for i in range(dialog.fields.topLevelItemCount())
    }
    fields = {name: text.replace("\n", "") for name, text in shown.items() if "Thumb" in name}
    fields["Names (SAN)"] = shown["Names (SAN)"]
    # A SHA-256 takes two lines of 16 bytes: nothing of it is cut off.
    assert len(shown["Thumbprint (SHA-256)"].splitlines()) == 2
    assert "DNS: sbc1.example.com" in fields["Names (SAN)"]
    assert re.fullmatch(r"([0-9A-F]{2}:){19}[0-9A-F]{2}", fields["Thumbprint (SHA-1)"])
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", fields["Thumbprint (SHA-256)"])
    # The PEM tab, and Ctrl+C on a field copies its value.
    dialog.tabs.setCurrentIndex(1)
    assert dialog.pem.toPlainText().startswith("-----BEGIN CERTIFICATE-----")
    dialog.tabs.setCurrentIndex(0)
    for i in range(dialog.fields.topLevelItemCount()):
        if dialog.fields.topLevelItem(i).text(0) == "Thumbprint (SHA-256)":
            dialog.fields.setCurrentItem(dialog.fields.topLevelItem(i))
    dialog.copy_value()
    assert QApplication.clipboard().text() == fields["Thumbprint (SHA-256)"]
    dialog.close()


def test_enter_on_a_certificate_opens_it_and_does_not_import(
    qtbot: QtBot, test_ca: TestCA, tmp_path: Path
) -> None:
    w, resp = _resp_page(qtbot, test_ca, tmp_path)
    root = resp.tree.topLevelItem(0)
    resp.tree.setCurrentItem(root)
    qtbot.keyClick(resp.tree, Qt.Key.Key_Return)
    assert [d.windowTitle() for d in resp.opener.opened] == ["Certificate — Test Root CA"]
    assert w.currentPage() is resp  # Enter opened the certificate; Import was not pressed
    assert w.session.require().state.stage is Stage.REQUESTED
    resp.opener.opened[0].close()


def test_save_as_writes_a_pem_openssl_reads(qtbot: QtBot, test_ca: TestCA, tmp_path: Path) -> None:
    cert = x509.load_pem_x509_certificate(test_ca.root_pem)
    dialog = CertificateDialog(cert)
    qtbot.addWidget(dialog)
    target = tmp_path / "saved" / "root.crt"
    target.parent.mkdir()
    dialog.ask_save_path = lambda: target
    click(qtbot, dialog.save)
    assert dialog.message.property("kind") == "ok" and str(target) in dialog.message.text()
    subject = openssl("x509", "-in", target, "-noout", "-subject").decode()
    assert "Test Root CA" in subject
    (tmp_path / "a-file").write_text("not a folder")
    dialog.ask_save_path = lambda: tmp_path / "a-file" / "x.crt"
    click(qtbot, dialog.save)
    assert dialog.message.property("kind") == "error"
    assert str(tmp_path / "a-file" / "x.crt") in dialog.message.text()


def test_the_dashboard_opens_what_a_port_serves(
    qtbot: QtBot, test_ca: TestCA, tmp_path: Path
) -> None:
    from tests.test_dashboard import open_dashboard

    cert_pem, key_pem = issue(test_ca, "lab.example.com", days_left=100, valid_days=400)
    listener = TlsListener(cert_pem + test_ca.inter_pem, key_pem, tmp_path / "lab")
    try:
        csv_file = tmp_path / "estate.csv"
        csv_file.write_text(
            f"Host;Ports;Kind;Name;Site\r\n127.0.0.1;{listener.port};sbc;SBC Lab;London\r\n",
            encoding="utf-8",
            newline="",  # the CRLF as written, on Windows too (not CR CR LF)
        )
        _w, d = open_dashboard(qtbot)
        d.choose_open = lambda _title, _filter: str(csv_file)
        d.import_button.click()
        d.scan_button.click()
        qtbot.waitUntil(d.scan_button.isEnabled, timeout=WAIT_MS)
        rect = d.table.visualRect(d.table.model().index(0, 0))
        double_click(qtbot, d.table.viewport(), rect.center())
        assert len(d.opener.opened) == 1
        dialog = d.opener.opened[0]
        served = x509.load_pem_x509_certificate(cert_pem)
        assert dialog.value("Thumbprint (SHA-256)") == details(served).sha256
        assert dialog.info.title == "lab.example.com"
        dialog.close()
        d.close()
    finally:
        stop_all([listener])


def _on_the_summary(
    qtbot: QtBot, test_ca: TestCA, tmp_path: Path
) -> tuple[RenewalWizard, SummaryPage, Workspace]:
    """An issued, deployed renewal continued from the Start page up to its Summary."""
    from app.ca_response import Source

    ws = Workspace.create(wildcard_spec(KeyType.EC256))
    ws.generate()
    leaf = test_ca.sign(ws.csr_pem, tmp_path / "leaf.crt")
    ws.import_response([Source("l.crt", leaf.read_bytes() + test_ca.inter_pem)])
    ws.record_deployment({"kind": "mediant", "ok": True, "target": "sbc1.example.com"})
    w = _open(qtbot)
    start = page(w, StartPage)
    assert isinstance(start, StartPage)
    click(qtbot, start.resume)
    click_next(qtbot, w)  # Deploy (deployed once)
    click_next(qtbot, w)
    summary = page(w, SummaryPage)
    assert isinstance(summary, SummaryPage)
    return w, summary, ws


def new_dialogs(act: Callable[[], object]) -> list[CertificateDialog]:
    """The certificate windows `act` opened."""
    before = set(QApplication.topLevelWidgets())
    act()
    return [
        x
        for x in QApplication.topLevelWidgets()
        if x not in before and isinstance(x, CertificateDialog) and x.isVisible()
    ]


def test_the_summary_shows_the_issued_certificate(
    qtbot: QtBot, test_ca: TestCA, tmp_path: Path
) -> None:
    _w, summary, ws = _on_the_summary(qtbot, test_ca, tmp_path)
    dialogs = new_dialogs(lambda: click(qtbot, summary.view_cert))
    assert len(dialogs) == 1
    assert dialogs[0].info.sha256 == ws.state.leaf_sha256
    dialogs[0].close()


def test_a_double_click_or_enter_on_the_summarys_certificate_opens_it(
    qtbot: QtBot, test_ca: TestCA, tmp_path: Path
) -> None:
    from PySide6.QtGui import QTextDocument

    w, summary, ws = _on_the_summary(qtbot, test_ca, tmp_path)
    view = summary.view

    def where(text: str) -> QPoint:
        found = view.document().find(text, 0, QTextDocument.FindFlag.FindCaseSensitively)
        assert not found.isNull(), text
        return view.cursorRect(found).center()

    # The certificate's fingerprint row: the certificate opens.
    opened = new_dialogs(lambda: double_click(qtbot, view.viewport(), where(ws.state.leaf_sha256)))
    assert len(opened) == 1 and opened[0].info.sha256 == ws.state.leaf_sha256
    opened[0].close()
    # The log's row is not the certificate: nothing opens.
    assert new_dialogs(lambda: double_click(qtbot, view.viewport(), where("log.jsonl"))) == []
    # Enter in the summary opens it too, and the wizard stays open on the Summary.
    view.setFocus()
    opened = new_dialogs(lambda: qtbot.keyClick(view, Qt.Key.Key_Return))
    assert len(opened) == 1 and opened[0].info.sha256 == ws.state.leaf_sha256
    assert w.isVisible() and w.currentPage() is summary
    opened[0].close()
