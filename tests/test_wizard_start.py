"""The Start page as people meet it: a click on a renewal chooses it, a double-click or Enter
opens that one (never a new one), and what is highlighted is what Next opens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QHelpEvent, QTextDocument
from PySide6.QtWidgets import QApplication, QToolTip, QTreeWidgetItem, QWidget
from pytestqt.qtbot import QtBot

from app.request import KeyType
from app.workspace import STATE_FILE, Stage, Workspace
from tests.helpers import DAMAGED_ROWS, damaged_renewals, wildcard_spec
from tests.pki import TestCA
from tests.test_wizard import WAIT_MS, _open, click, click_next, page, type_into, wait_outcome
from ui.pages.csr import CsrPage
from ui.pages.names import NamesPage
from ui.pages.start import RenewalItem, StartPage
from ui.wizard import RenewalWizard

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support"),
]


@pytest.fixture
def two_renewals() -> tuple[Workspace, Workspace]:
    """An older one waiting for the CA, then a newer one (listed first) with names only."""
    older = Workspace.create(wildcard_spec(KeyType.EC256, cn="older.example.com"))
    older.generate()
    newer = Workspace.create(wildcard_spec(KeyType.EC256, cn="newer.example.com"))
    return older, newer


def _row(start: StartPage, cn: str) -> QTreeWidgetItem:
    for i in range(start.renewals.topLevelItemCount()):
        item = start.renewals.topLevelItem(i)
        if item.text(0) == cn:
            return item
    raise AssertionError(f"{cn} is not listed")


def _click_row(qtbot: QtBot, start: StartPage, item: QTreeWidgetItem, double: bool = False) -> None:
    rect = start.renewals.visualItemRect(item)
    viewport = start.renewals.viewport()
    if double:
        # A double-click as Qt sees it: press, release, then the double-click event.
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
    else:
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())


def activate(qtbot: QtBot, w: QWidget) -> None:
    """Mnemonics reach the active window only (offscreen Qt activates none by itself)."""
    w.windowHandle().requestActivate()
    qtbot.waitUntil(w.isActiveWindow, timeout=5_000)


def _start(qtbot: QtBot) -> tuple[RenewalWizard, StartPage]:
    w = _open(qtbot)
    start = page(w, StartPage)
    assert isinstance(start, StartPage)
    return w, start


def test_nothing_is_highlighted_while_new_is_chosen_and_a_click_chooses_continue(
    qtbot: QtBot, two_renewals: tuple[Workspace, Workspace]
) -> None:
    older, _newer = two_renewals
    w, start = _start(qtbot)
    assert start.new.isChecked()
    assert start.renewals.selectedItems() == []  # nothing suggests Next would open a renewal
    row = _row(start, "older.example.com")
    _click_row(qtbot, start, row)
    assert start.resume.isChecked()
    assert start.renewals.selectedItems() == [row]
    click_next(qtbot, w)
    qtbot.waitUntil(lambda: isinstance(w.currentPage(), CsrPage), timeout=WAIT_MS)
    assert w.session.require().path == older.path


def test_choosing_continue_highlights_the_renewal_next_opens(
    qtbot: QtBot, two_renewals: tuple[Workspace, Workspace]
) -> None:
    _older, newer = two_renewals
    w, start = _start(qtbot)
    click(qtbot, start.resume)
    assert [i.text(0) for i in start.renewals.selectedItems()] == ["newer.example.com"]
    click(qtbot, start.new)
    assert start.renewals.selectedItems() == []
    click(qtbot, start.resume)
    click_next(qtbot, w)
    qtbot.waitUntil(lambda: isinstance(w.currentPage(), CsrPage), timeout=WAIT_MS)
    assert w.session.require().path == newer.path


def test_a_double_click_opens_that_renewal_not_a_new_one(
    qtbot: QtBot, two_renewals: tuple[Workspace, Workspace]
) -> None:
    older, _newer = two_renewals
    w, start = _start(qtbot)
    _click_row(qtbot, start, _row(start, "older.example.com"), double=True)
    qtbot.waitUntil(lambda: isinstance(w.currentPage(), CsrPage), timeout=WAIT_MS)
    assert w.session.require().path == older.path
    assert w.session.require().state.stage is Stage.REQUESTED


def test_enter_on_a_renewal_opens_it(
    qtbot: QtBot, two_renewals: tuple[Workspace, Workspace]
) -> None:
    older, _newer = two_renewals
    w, start = _start(qtbot)
    start.renewals.setFocus()
    qtbot.keyClick(start.renewals, Qt.Key.Key_Down)  # the first row (the newer)
    qtbot.keyClick(start.renewals, Qt.Key.Key_Down)  # the older
    assert start.resume.isChecked()
    assert [i.text(0) for i in start.renewals.selectedItems()] == ["older.example.com"]
    qtbot.keyClick(start.renewals, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: isinstance(w.currentPage(), CsrPage), timeout=WAIT_MS)
    assert w.session.require().path == older.path
    # Exactly one page on: the CSR waiting for the CA, not the page after it.
    assert w.session.require().state.stage is Stage.REQUESTED


def test_alt_r_is_a_new_renewal_and_alt_n_is_next(
    qtbot: QtBot, two_renewals: tuple[Workspace, Workspace]
) -> None:
    w, start = _start(qtbot)
    activate(qtbot, w)
    click(qtbot, start.resume)
    assert "&r" in start.new.text().lower() and "&n" not in start.new.text().lower()
    qtbot.keyClick(w, Qt.Key.Key_R, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(start.new.isChecked, timeout=10_000)  # a mnemonic "animates" its click
    qtbot.keyClick(w, Qt.Key.Key_N, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: isinstance(w.currentPage(), NamesPage), timeout=WAIT_MS)


def test_last_change_is_shown_in_full(
    qtbot: QtBot, two_renewals: tuple[Workspace, Workspace], isolated_home: Path
) -> None:
    _w, start = _start(qtbot)
    row = start.renewals.topLevelItem(0)
    metrics = start.renewals.fontMetrics()
    for column in (0, 1, 2):
        needed = metrics.horizontalAdvance(row.text(column))
        assert start.renewals.columnWidth(column) >= needed, row.text(column)
        header = start.renewals.headerItem().text(column)
        assert start.renewals.columnWidth(column) >= metrics.horizontalAdvance(header)


# --- what a row says: international names, damaged renewals ------------------------------------


def _tip(start: StartPage, item: QTreeWidgetItem, column: int) -> str:
    """The tooltip a user hovering the cell reads (Qt is given HTML, so that `<` stays `<`)."""
    view = start.renewals
    pos = QPoint(view.header().sectionPosition(column) + 5, view.visualItemRect(item).center().y())
    viewport = view.viewport()
    QApplication.sendEvent(
        viewport, QHelpEvent(QEvent.Type.ToolTip, pos, viewport.mapToGlobal(pos))
    )
    assert QToolTip.isVisible()
    doc = QTextDocument()
    doc.setHtml(QToolTip.text())
    QToolTip.hideText()
    return doc.toPlainText()


def _row_of(start: StartPage, folder: Path) -> QTreeWidgetItem:
    for i in range(start.renewals.topLevelItemCount()):
        item = start.renewals.topLevelItem(i)
        if isinstance(item, RenewalItem) and item.path == folder:
            return item
    raise AssertionError(f"{folder} is not listed")


def test_an_international_name_is_listed_in_both_forms_escaped(qtbot: QtBot) -> None:
    idn = Workspace.create(wildcard_spec(KeyType.EC256, cn="sbc.münchen.example"))
    forged = Workspace.create(wildcard_spec(KeyType.EC256, cn="sbc.xn--bcher-kva.example"))
    # As a PFX from elsewhere may bring it: a name with a terminal control and a bidi override.
    state = json.loads((forged.path / STATE_FILE).read_text("utf-8"))
    state["request"]["subject"]["common_name"] = "sbc.xn--bcher-kva.example\x1b[2J\u202e<b>"
    (forged.path / STATE_FILE).write_text(json.dumps(state), "utf-8")
    _w, start = _start(qtbot)
    row = _row_of(start, idn.path)
    assert row.text(0) == "sbc.xn--mnchen-3ya.example (sbc.münchen.example)"
    assert _tip(start, row, 0) == (
        "In the certificate: sbc.xn--mnchen-3ya.example\nReads as: sbc.münchen.example"
    )
    assert start.renewals.columnWidth(0) >= start.renewals.fontMetrics().horizontalAdvance(
        row.text(0)
    )
    bad = _row_of(start, forged.path)
    assert bad.text(0) == (
        "sbc.xn--bcher-kva.example\\x1b[2J\\u202e<b> (sbc.bücher.example\\x1b[2J\\u202e<b>)"
    )
    bad_tip = _tip(start, bad, 0)
    assert "Reads as: sbc.bücher.example\\x1b[2J\\u202e<b>" in bad_tip
    assert "\x1b" not in bad.text(0) + bad_tip and "\u202e" not in bad.text(0) + bad_tip


def test_a_damaged_renewal_says_on_hover_what_is_left_of_it(qtbot: QtBot) -> None:
    with_key = Workspace.create(wildcard_spec(KeyType.EC256, cn="kept.example.com"))
    with_key.generate()
    without_key = Workspace.create(wildcard_spec(KeyType.EC256, cn="lost.example.com"))
    for ws in (with_key, without_key):
        (ws.path / STATE_FILE).write_text('{"stage": ', "utf-8")
    _w, start = _start(qtbot)
    kept, lost = _row_of(start, with_key.path), _row_of(start, without_key.path)
    for row in (kept, lost):
        assert row.isDisabled() and row.text(1) == "Damaged: cannot be opened"
        for column in (0, 1, 2):
            assert f"{row.path / STATE_FILE} is damaged" in _tip(start, row, column)
    assert kept.text(0) == "kept.example.com (from request.csr)"
    assert lost.text(0) == f"{without_key.path.name} (from the folder name)"  # nothing left
    assert "The private key (private.key) is still in the folder" in _tip(start, kept, 1)
    lost_tip = _tip(start, lost, 1)
    assert "Nothing usable is in the folder" in lost_tip
    assert "private key (private.key) is still" not in lost_tip and "untouched" not in lost_tip


def test_a_damaged_renewal_is_listed_by_the_name_left_in_its_folder(qtbot: QtBot) -> None:
    from app.paths import workspaces_root

    folders = damaged_renewals(workspaces_root())
    _w, start = _start(qtbot)
    for folder, name in DAMAGED_ROWS.items():
        row = _row_of(start, folders[folder])
        assert row.isDisabled() and row.text(0) == name
        assert start.renewals.columnWidth(0) >= start.renewals.fontMetrics().horizontalAdvance(name)
        source = name.rsplit("(from ", 1)[1].rstrip(")")
        tip = _tip(start, row, 0)
        assert tip.startswith(f"The name was read from {source}, not from renewal.json.")
        assert f"{folders[folder] / STATE_FILE} is damaged" in tip
        assert "\x1b" not in tip and "\u202e" not in tip
    forged = _row_of(start, folders["forged-csr"])
    assert "\x1b" not in forged.text(0) and "\u202e" not in forged.text(0)


# --- a PFX that belongs to a renewal (issue 17, point 7) --------------------------------------


def _issued(test_ca: TestCA, tmp_path: Path, cn: str, org: str = "Example Ltd") -> Workspace:
    from app.ca_response import Source
    from app.request import RequestSpec, Subject

    spec = RequestSpec(Subject(cn, org, "Voice", "London", "", "GB", ""), (), KeyType.EC256)
    ws = Workspace.create(spec)
    ws.generate()
    leaf = test_ca.sign(ws.csr_pem, tmp_path / f"{cn}.crt")
    ws.import_response([Source("leaf.crt", leaf.read_bytes() + test_ca.inter_pem)])
    return ws


def _open_file(qtbot: QtBot, w: RenewalWizard, path: Path, password: str) -> None:
    start = page(w, StartPage)
    assert isinstance(start, StartPage)
    click(qtbot, start.existing)
    type_into(qtbot, start.file, str(path))
    click_next(qtbot, w)
    qtbot.waitUntil(start.password.isVisible, timeout=WAIT_MS)
    assert start.message.property("kind") == "info"  # asked for, not an error
    type_into(qtbot, start.password, password)
    click_next(qtbot, w)


def test_a_pfx_exported_from_a_renewal_opens_that_renewal(
    qtbot: QtBot, test_ca: TestCA, tmp_path: Path
) -> None:
    from app.export import Artifact, ExportOptions
    from app.workspace import list_workspaces
    from ui.pages.deploy import DeployPage

    ws = _issued(test_ca, tmp_path, "sbc.example.com")
    result = ws.export(
        tmp_path / "out", ExportOptions(frozenset({Artifact.PFX}), "Pfx-pass-2026-x")
    )
    before = {s.path for s in list_workspaces()}
    w = _open(qtbot)
    _open_file(qtbot, w, result.files[0].path, "Pfx-pass-2026-x")
    qtbot.waitUntil(lambda: isinstance(w.currentPage(), DeployPage), timeout=WAIT_MS)
    assert w.session.require().path == ws.path  # the same renewal, where it was left
    assert {s.path for s in list_workspaces()} == before  # no duplicate "…-2"
    assert w.session.require().state.request.subject.organization == "Example Ltd"


def test_a_pfx_for_a_renewal_waiting_for_the_ca_brings_it_the_certificate(
    qtbot: QtBot, test_ca: TestCA, tmp_path: Path
) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

    from ui.pages.response import ResponsePage

    ws = Workspace.create(wildcard_spec(KeyType.EC256, cn="waiting.example.com"))
    ws.generate()
    leaf = x509.load_pem_x509_certificate(test_ca.sign(ws.csr_pem, tmp_path / "l.crt").read_bytes())
    pfx = tmp_path / "from-the-ca.pfx"
    pfx.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"waiting",
            ws.private_key(),
            leaf,
            [x509.load_pem_x509_certificate(p) for p in (test_ca.inter_pem, test_ca.root_pem)],
            BestAvailableEncryption(b"Ca-gave-me-1"),
        )
    )
    w = _open(qtbot)
    _open_file(qtbot, w, pfx, "Ca-gave-me-1")
    qtbot.waitUntil(lambda: isinstance(w.currentPage(), ResponsePage), timeout=WAIT_MS)
    assert w.session.require().path == ws.path
    resp = w.currentPage()
    assert isinstance(resp, ResponsePage)
    wait_outcome(qtbot, resp)
    assert resp.verdict.text() == "Matches your key; chain complete"
    assert "from-the-ca.pfx" in resp.added.text()


def test_a_new_renewal_takes_the_defaults_of_the_last_renewal_that_had_them(
    qtbot: QtBot, test_ca: TestCA, tmp_path: Path
) -> None:
    from app.export import Artifact, ExportOptions
    from ui.pages.names import NamesPage

    _issued(test_ca, tmp_path, "last-year.example.com", org="Example Ltd")
    # Then a PFX from elsewhere: its renewal has the CN only, and is the newest.
    other = Workspace.create(wildcard_spec(KeyType.EC256, cn="other.example.com"), tmp_path / "x")
    other.generate()
    leaf = test_ca.sign(other.csr_pem, tmp_path / "other.crt")
    from app.ca_response import Source

    other.import_response([Source("l.crt", leaf.read_bytes() + test_ca.inter_pem)])
    pfx = other.export(tmp_path / "o", ExportOptions(frozenset({Artifact.PFX}), "Other-pass-11"))
    w = _open(qtbot)
    _open_file(qtbot, w, pfx.files[0].path, "Other-pass-11")
    qtbot.waitUntil(lambda: w.currentId() != 0, timeout=WAIT_MS)
    assert w.session.require().state.key_origin == "pfx"
    assert w.session.require().state.request.subject.organization == ""
    w.close()

    w2 = _open(qtbot)
    click_next(qtbot, w2)  # Start a new renewal
    names = page(w2, NamesPage)
    assert isinstance(names, NamesPage)
    assert names.org.text() == "Example Ltd" and names.locality.text() == "London"
    assert names.cn.text() == ""
