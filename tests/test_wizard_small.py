"""The smaller things of issue 17, point 9, as a user sees them."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtWidgets import QLabel, QLineEdit, QWizard
from pytestqt.qtbot import QtBot

from app.ca_response import Source
from app.request import KeyType
from app.workspace import Workspace
from tests.helpers import wildcard_spec
from tests.pki import TestCA
from tests.test_wizard import _open, _resume, click, click_next, page, type_into
from ui.device_dialog import DeviceDialog
from ui.pages.export import ExportPage
from ui.pages.names import NamesPage

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support"),
]


def test_the_cn_help_and_the_rows_below_stay_put_when_the_bare_domain_box_appears(
    qtbot: QtBot,
) -> None:
    w = _open(qtbot)
    click_next(qtbot, w)
    names = page(w, NamesPage)
    assert isinstance(names, NamesPage)
    help_label = next(
        label for label in names.findChildren(QLabel) if "covers one level" in label.text()
    )
    assert "tick the box" not in help_label.text()
    type_into(qtbot, names.cn, "sbc.example.com")
    assert not names.bare.isVisible()
    before = (help_label.mapTo(names, QPoint(0, 0)), names.org.mapTo(names, QPoint(0, 0)))
    type_into(qtbot, names.cn, "*.example.com")
    assert names.bare.isVisible() and "example.com" in names.bare.text()
    after = (help_label.mapTo(names, QPoint(0, 0)), names.org.mapTo(names, QPoint(0, 0)))
    assert after == before


def _export_page(qtbot: QtBot, test_ca: TestCA, tmp_path: Path) -> tuple[QWizard, ExportPage]:
    ws = Workspace.create(wildcard_spec(KeyType.EC256))
    ws.generate()
    leaf = test_ca.sign(ws.csr_pem, tmp_path / "leaf.crt")
    ws.import_response([Source("leaf.crt", leaf.read_bytes() + test_ca.inter_pem)])
    w = _open(qtbot)
    _resume(qtbot, w, ws.path)
    exp = page(w, ExportPage)
    assert isinstance(exp, ExportPage)
    return w, exp


def _filled_colour(bar: QLineEdit | object) -> QColor:
    image = bar.grab().toImage()  # type: ignore[attr-defined]
    return image.pixelColor(image.width() // 8, image.height() // 2)


def test_the_meter_is_green_when_it_says_strong(
    qtbot: QtBot, test_ca: TestCA, tmp_path: Path
) -> None:
    _w, exp = _export_page(qtbot, test_ca, tmp_path)
    click(qtbot, exp.preset_buttons["windows"])
    type_into(qtbot, exp.pass1, "short")  # weak first: the meter's first colour
    weak = _filled_colour(exp.strength)
    type_into(qtbot, exp.pass1, "Renew-every-year-2026")
    assert exp.strength_hint.text() == "Strong."
    strong = _filled_colour(exp.strength)
    assert strong != weak
    assert strong.green() > strong.red(), strong.name()  # green, not the orange of before


def test_open_folder_says_so_when_nothing_can_open_it(
    qtbot: QtBot, test_ca: TestCA, tmp_path: Path
) -> None:
    _w, exp = _export_page(qtbot, test_ca, tmp_path)
    type_into(qtbot, exp.folder, str(tmp_path / "out"))
    click(qtbot, exp.export_button)
    qtbot.waitUntil(exp.open_folder.isEnabled, timeout=30_000)
    exp.open_path = lambda _p: False  # no file manager on this machine
    click(qtbot, exp.open_folder)
    assert exp.message.property("kind") == "warning"
    assert f"Nothing on this computer opened {tmp_path / 'out'}" in exp.message.text()


def test_an_error_in_the_device_dialog_does_not_squeeze_its_fields(qtbot: QtBot) -> None:
    dialog = DeviceDialog(None, "")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    heights = {f: f.height() for f in dialog.findChildren(QLineEdit) if f.isVisible()}
    dialog.accept()  # no address: an error under the form
    assert dialog.message.isVisible() and "address" in dialog.message.text()
    qtbot.wait(50)
    for field, height in heights.items():
        assert field.height() >= min(height, field.sizeHint().height()), field.placeholderText()
    message = dialog.message  # its whole text shown, not cut to a line
    assert message.height() >= message.heightForWidth(message.width()) - 2


def test_at_200_percent_on_a_small_screen_the_window_and_next_fit(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ui import look

    monkeypatch.setattr(look, "scaled", lambda pixels: pixels * 2)  # 200 % text
    w = _open(qtbot)
    free = (w.screen() or QGuiApplication.primaryScreen()).availableGeometry()
    assert w.width() <= free.width() and w.height() <= free.height()
    assert w.minimumWidth() <= free.width() and w.minimumHeight() <= free.height()
    nxt = w.button(QWizard.WizardButton.NextButton)
    bottom_right = nxt.mapTo(w, QPoint(nxt.width(), nxt.height()))
    assert nxt.isVisible()
    assert bottom_right.x() <= w.width() and bottom_right.y() <= w.height()  # on the screen


def test_the_reminder_says_so_when_no_calendar_opens_it(
    qtbot: QtBot, test_ca: TestCA, tmp_path: Path
) -> None:
    from ui.pages.summary import SummaryPage

    w, exp = _export_page(qtbot, test_ca, tmp_path)
    type_into(qtbot, exp.folder, str(tmp_path / "out"))
    click(qtbot, exp.export_button)
    qtbot.waitUntil(exp.open_folder.isEnabled, timeout=30_000)
    click_next(qtbot, w)  # Deploy
    click_next(qtbot, w)  # Summary
    summary = page(w, SummaryPage)
    assert isinstance(summary, SummaryPage)
    summary.open_path = lambda _p: False  # no calendar program on this machine
    click(qtbot, summary.reminder)
    ics = w.session.require().path / "renew-reminder.ics"  # type: ignore[attr-defined]
    assert ics.exists()
    assert summary.message.property("kind") == "warning"
    assert "no calendar program opened it" in summary.message.text() and str(ics) in (
        summary.message.text()
    )


def test_the_names_page_shows_the_xn_form_the_csr_will_hold_while_typing(qtbot: QtBot) -> None:
    w = _open(qtbot)
    click_next(qtbot, w)
    names = page(w, NamesPage)
    assert isinstance(names, NamesPage)
    type_into(qtbot, names.cn, "sbc.example.com")
    assert not names.cn_idna.isVisible()  # a plain name: nothing to explain
    type_into(qtbot, names.cn, "*.bücher.example")
    assert names.cn_idna.isVisible()
    assert names.cn_idna.text() == "In the CSR: *.xn--bcher-kva.example"
    type_into(qtbot, names.san_input, "münchen.example")
    assert names.san_input_idna.isVisible()
    assert names.san_input_idna.text() == "In the CSR: xn--mnchen-3ya.example"
    qtbot.keyClick(names.san_input, Qt.Key.Key_Return)
    assert not names.san_input_idna.isVisible()  # the box is empty again
    assert names.san_idna.isVisible()
    assert names.san_idna.text() == "In the CSR: münchen.example \u2192 xn--mnchen-3ya.example"
    # The engine puts exactly those forms into the request.
    click_next(qtbot, w)
    ws = w.session.workspace
    assert ws is not None
    assert ws.state.request.subject.common_name == "*.xn--bcher-kva.example"
    assert "xn--mnchen-3ya.example" in ws.state.request.sans
