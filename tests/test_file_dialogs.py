"""File dialogs open where the user was last time for the same purpose (issue 17, point 8):
the real QFileDialog is answered as a user answers it, and where it opened is checked."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from app.folders import remember_folder, remembered_folder
from app.request import KeyType
from app.workspace import Workspace
from tests.helpers import wildcard_spec
from tests.pki import TestCA
from tests.test_wizard import (
    WAIT_MS,
    _open,
    _resume,
    click,
    click_next,
    page,
    wizard,  # noqa: F401  (the fixture)
)
from tests.test_wizard_deploy import _answer_modal
from ui.pages.csr import CsrPage
from ui.pages.response import ResponsePage
from ui.wizard import RenewalWizard

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support"),
]


def test_each_purpose_keeps_its_own_folder(tmp_path: Path) -> None:
    (tmp_path / "ca").mkdir()
    (tmp_path / "csr").mkdir()
    remember_folder("ca-response", tmp_path / "ca")
    remember_folder("csr", tmp_path / "csr")
    assert remembered_folder("ca-response") == tmp_path / "ca"
    assert remembered_folder("csr") == tmp_path / "csr"
    assert remembered_folder("export", tmp_path) == tmp_path  # never chosen: the default
    (tmp_path / "csr").rmdir()
    assert remembered_folder("csr", tmp_path) == tmp_path  # gone since: the default again


def test_the_ca_response_dialog_opens_where_the_last_files_came_from(
    qtbot: QtBot, test_ca: TestCA, tmp_path: Path
) -> None:
    ws = Workspace.create(wildcard_spec(KeyType.EC256))
    ws.generate()
    mail = tmp_path / "from-the-ca"
    mail.mkdir()
    leaf = test_ca.sign(ws.csr_pem, mail / "leaf.crt")
    w = _open(qtbot)
    _resume(qtbot, w, ws.path)
    csr = page(w, CsrPage)
    assert isinstance(csr, CsrPage)
    qtbot.waitUntil(csr.isComplete, timeout=WAIT_MS)

    # Save the CSR into the CA's order folder: the CSR's purpose remembers it.
    orders = tmp_path / "orders"
    orders.mkdir()
    seen: list[str] = []

    def save_here(dialog: QFileDialog) -> None:
        seen.append(dialog.directory().absolutePath())
        dialog.selectFile(str(orders / "order.csr"))
        dialog.accept()

    errors = _answer_modal(qtbot, QFileDialog, save_here)
    click(qtbot, csr.save)
    assert not errors, errors
    assert (orders / "order.csr").read_bytes() == ws.csr_pem

    click_next(qtbot, w)
    resp = page(w, ResponsePage)
    assert isinstance(resp, ResponsePage)

    def pick(dialog: QFileDialog) -> None:
        seen.append(dialog.directory().absolutePath())
        dialog.selectFile(str(leaf))
        dialog.accept()

    browse = next(b for b in resp.findChildren(type(csr.save)) if "Bro" in b.text())
    errors = _answer_modal(qtbot, QFileDialog, pick)
    click(qtbot, browse)
    assert not errors, errors
    assert "leaf.crt" in resp.added.text()
    # Not the CSR's folder: each purpose has its own.
    assert seen[1] != str(orders)

    errors = _answer_modal(
        qtbot, QFileDialog, lambda d: (seen.append(d.directory().absolutePath()), d.reject())
    )
    click(qtbot, browse)
    assert not errors, errors
    assert seen[2] == str(mail)  # where the CA's files came from last time
    assert remembered_folder("csr") == orders


def _pick(seen: list[str], path: Path | None) -> Callable[[QFileDialog], None]:
    """Answer a file dialog as a user does: note where it opened, choose `path` (or cancel)."""

    def act(dialog: QFileDialog) -> None:
        seen.append(dialog.directory().absolutePath())
        if path is None:
            dialog.reject()
            return
        dialog.selectFile(str(path))
        dialog.accept()

    return act


def test_the_ovoc_profile_dialog_opens_where_the_last_profile_came_from(
    qtbot: QtBot, tmp_path: Path
) -> None:
    from app.paths import resources_dir
    from ui.ovoc_panel import OTHER_PROFILE, OvocPanel

    profiles = tmp_path / "profiles"
    profiles.mkdir()
    mine = profiles / "ovoc-8-ours.toml"
    mine.write_bytes((resources_dir() / "ovoc_profiles" / "ovoc-8.toml").read_bytes())
    panel = OvocPanel(lambda: pytest.fail("no workspace needed"), lambda: pytest.fail("no task"))
    qtbot.addWidget(panel)
    panel.load_profiles()  # as the Deploy page does when it is shown
    panel.show()
    qtbot.waitExposed(panel)
    seen: list[str] = []

    def choose_other() -> None:
        panel.profile.setFocus()
        qtbot.keyClick(panel.profile, Qt.Key.Key_End)  # the last entry: "Other profile file…"

    assert panel.profile.itemText(panel.profile.count() - 1) == OTHER_PROFILE
    errors = _answer_modal(qtbot, QFileDialog, _pick(seen, mine))
    choose_other()
    assert not errors, errors
    assert panel.profile.currentText() == mine.name
    assert seen[0] != str(profiles)  # the first time: Documents

    errors = _answer_modal(qtbot, QFileDialog, _pick(seen, None))
    choose_other()
    assert not errors, errors
    assert seen[1] == str(profiles)  # where the profile came from last time
    assert remembered_folder("ovoc-profile") == profiles


def test_the_acme_dialog_remembers_the_hook_and_ca_root_folders_apart(
    qtbot: QtBot,
    wizard: RenewalWizard,  # noqa: F811
    tmp_path: Path,
) -> None:
    from tests.test_wizard_acme import open_acme

    hooks, roots = tmp_path / "scripts", tmp_path / "private ca"
    hooks.mkdir()
    roots.mkdir()
    (hooks / "dns-txt.ps1").write_text("# present|cleanup FQDN VALUE\n")
    (roots / "acme-root.pem").write_bytes(b"")
    resp, d = open_acme(qtbot, wizard)
    click(qtbot, d.use_hook)
    seen: list[str] = []
    errors = _answer_modal(qtbot, QFileDialog, _pick(seen, hooks / "dns-txt.ps1"))
    click(qtbot, d.browse_hook)
    assert not errors, errors
    assert d.hook.text() == str(hooks / "dns-txt.ps1")
    errors = _answer_modal(qtbot, QFileDialog, _pick(seen, roots / "acme-root.pem"))
    click(qtbot, d.browse_bundle)
    assert not errors, errors
    assert d.ca_bundle.text() == str(roots / "acme-root.pem")
    d.reject()

    # The dialog opened again: each button starts where its own file came from.
    click(qtbot, resp.acme_button)
    d = resp.acme_dialog
    assert d is not None and d.isVisible()
    click(qtbot, d.use_hook)
    for button, folder in ((d.browse_hook, hooks), (d.browse_bundle, roots)):
        errors = _answer_modal(qtbot, QFileDialog, _pick(seen, None))
        click(qtbot, button)
        assert not errors, errors
        assert seen[-1] == str(folder)
    d.reject()
