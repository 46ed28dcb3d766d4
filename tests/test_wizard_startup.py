"""The wizard paints its Start page without loading the other pages or the engine.

Read from a fresh process (this test process has long imported everything): the window is
made, shown and painted offscreen, then its sys.modules is listed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_PROBE = """
import sys
from PySide6.QtWidgets import QApplication
from ui.launch import create_window
window = create_window()
window.confirm_close = lambda lost: True
window.show()
QApplication.processEvents()
assert window.grab().width() > 0
print(type(window.currentPage()).__name__)
print(" ".join(sorted(sys.modules)))
"""


def test_first_page_loads_no_engine_and_no_other_page(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", ACCERT_HOME=str(tmp_path / "home"))
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    page, modules_line = proc.stdout.strip().splitlines()[-2:]
    assert page == "StartPage"
    modules = set(modules_line.split())
    heavy = ("cryptography", "requests", "paramiko", "keyring", "PySide6.QtSvg")
    engine = ("app.ca_response", "app.export", "app.keys", "app.csr", "app.mediant", "app.ovoc")
    pages = ("ui.pages.names", "ui.pages.csr", "ui.pages.response", "ui.pages.export",
             "ui.pages.deploy", "ui.pages.summary", "ui.dashboard")  # fmt: skip
    loaded = sorted(
        m
        for m in modules
        for root in heavy + engine + pages
        if m == root or m.startswith(root + ".")
    )
    assert loaded == []
