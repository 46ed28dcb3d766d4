"""The wizard's Windows papercuts: where Save CSR starts, what "Open the log" opens, OneDrive.

Qt's file dialog is answered as a user would (it is Qt's, not ours); what the wizard opens is
recorded through SummaryPage.open_path, the seam the existing tests use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from app import onedrive
from app.ca_response import Source
from app.export import PRESETS, ExportOptions
from app.log_text import render
from app.request import KeyType
from app.workspace import Workspace
from tests import test_windows_files
from tests.helpers import wildcard_spec
from tests.pki import TestCA
from tests.test_wizard import (
    _close,
    _open,
    _resume,
    click,
    click_next,
    new_renewal_to_csr,
    page,
)
from ui.pages.summary import SummaryPage

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support"),
]


def test_save_csr_starts_in_the_renewal_folder(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def save_dialog(parent: Any, title: str, start: str, filters: str) -> tuple[str, str]:
        asked.append(start)
        return start, filters.split(";;")[0]  # the user accepts what is proposed

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)
    w = _open(qtbot)
    csr_page = new_renewal_to_csr(qtbot, w, KeyType.EC256)
    click(qtbot, csr_page.save)
    ws = w.session.require()
    assert asked == [str(ws.path / "star_example_com.csr")]
    assert (ws.path / "star_example_com.csr").read_bytes() == ws.csr_pem
    _close(w)


def test_open_the_log_opens_a_text_rendering(qtbot: QtBot, test_ca: TestCA, tmp_path: Path) -> None:
    ws = Workspace.create(wildcard_spec(KeyType.EC256))
    ws.generate()
    leaf = test_ca.sign(ws.csr_pem, tmp_path / "leaf.crt")
    ws.import_response([Source("leaf.crt", leaf.read_bytes() + test_ca.inter_pem)])
    ws.export(None, ExportOptions(PRESETS["audiocodes"].artifacts))
    ws.record_deployment({"kind": "mediant", "ok": True, "target": "sbc1.example.com"})
    w = _open(qtbot)
    _resume(qtbot, w, ws.path)  # a deployed renewal reopens on Deploy; Summary is next
    if not isinstance(w.currentPage(), SummaryPage):
        click_next(qtbot, w)
    summary = page(w, SummaryPage)
    assert isinstance(summary, SummaryPage)
    opened: list[object] = []
    summary.open_path = lambda path: opened.append(path) or True  # type: ignore[method-assign]
    click(qtbot, summary.open_log)
    assert opened == [ws.path / "log.txt"]
    data = (ws.path / "log.txt").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # Notepad reads it as UTF-8
    text = data.decode("utf-8-sig")
    lines = text.split("\r\n")
    assert lines[0][:2] == "20" and lines[0].endswith("  created")
    assert any(line.endswith("  exported") for line in lines)
    assert any(line.startswith("    files: star_example_com") for line in lines)
    assert "{" not in lines[0]
    _close(w)


def test_log_rendering_keeps_every_event_on_its_own_line() -> None:
    text = render([
        {"at": "2026-11-30T04:05:06+00:00", "event": "created", "cn": "*.example.com"},
        {"at": "2026-11-30T04:06:00+00:00", "event": "deploy-failed", "error": "one\ntwo"},
    ])  # fmt: skip
    assert text == (
        "2026-11-30 04:05:06  created\r\n    cn: *.example.com\r\n"
        "2026-11-30 04:06:00  deploy-failed\r\n    error: one two\r\n"
    )


def test_the_wizard_says_once_that_the_renewal_is_in_onedrive(
    qtbot: QtBot, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OneDrive syncs the folder the renewals go to (here the test's accert home)."""
    for name in onedrive.VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OneDrive", str(isolated_home))
    texts = []
    for _ in range(2):
        w = _open(qtbot)
        csr_page = new_renewal_to_csr(qtbot, w, KeyType.EC256)
        assert onedrive.synced_root(w.session.require().path) == isolated_home
        texts.append(csr_page.where.text())
        _close(w)
    assert "is in OneDrive" in texts[0] and "export a PFX to move a renewal" in texts[0]
    assert "is in OneDrive" not in texts[1]  # once


windows = test_windows_files.windows  # Windows' file answers (icacls, pywin32), as there


def test_the_wizard_says_when_the_renewal_folder_cannot_be_private(
    qtbot: QtBot, isolated_home: Path, windows: Any
) -> None:
    """The renewals live on a FAT/exFAT stick: the Key and CSR page says so, and the key
    (encrypted) is still made."""
    icacls = windows(fat=isolated_home)
    w = _open(qtbot)
    csr_page = new_renewal_to_csr(qtbot, w, KeyType.EC256)
    ws = w.session.require()
    text = csr_page.where.text()
    assert f"Files in {ws.path} cannot be made private to your account" in text
    assert "This function is not supported on this system." in text
    assert (ws.path / "private.key").exists() and icacls.calls
    _close(w)
