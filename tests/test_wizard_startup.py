"""The wizard paints its Start page first and lists the renewals just after, as `main.py` runs it.

Read from a fresh process (this test process has long imported everything): `main.py` starts
the wizard offscreen as a user starts it; at its first paint the process reports what it has
loaded, then what the Start page lists once it has listed the renewals.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.request import KeyType
from app.workspace import Workspace
from tests.helpers import wildcard_spec

ROOT = Path(__file__).resolve().parent.parent

_PROBE = """
import json, sys
sys.path.insert(0, {root!r})
import PySide6.QtCore as QtCore
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

app = QApplication(sys.argv)  # ui.launch.main() takes this one, and its event filter
seen = {{}}

def wizard():
    return next(w for w in app.topLevelWidgets() if w.objectName() == "wizard")

def listed():
    start = wizard().currentPage()
    if not start.listed:
        QTimer.singleShot(10, listed)
        return
    rows = [start.renewals.topLevelItem(i) for i in range(start.renewals.topLevelItemCount())]
    seen["rows"] = [row.text(0) for row in rows]
    seen["continue_enabled"] = start.resume.isEnabled()
    seen["new_chosen"] = start.new.isChecked()
    app.quit()

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            app.removeEventFilter(self)
            start = wizard().currentPage()
            seen["page"] = type(start).__name__
            seen["listed_at_paint"] = start.listed
            seen["rows_at_paint"] = start.renewals.topLevelItemCount()
            # Qt's `Qt` namespace is built on first use (its enums take ~20 ms).
            seen["qt_namespace_built"] = "Qt" in QtCore.__dict__
            seen["modules"] = sorted(sys.modules)
            QTimer.singleShot(0, listed)
        return False

first_paint = FirstPaint()
app.installEventFilter(first_paint)
import main
code = main.main(["main.py"])
print(json.dumps(seen))
sys.exit(code)
"""


def _start_wizard(home: Path) -> dict[str, object]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", ACCERT_HOME=str(home))
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE.format(root=str(ROOT))],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    seen: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return seen


def test_first_paint_loads_no_engine_no_other_page_and_no_qt_namespace(
    isolated_home: Path,
) -> None:
    Workspace.create(wildcard_spec(KeyType.EC256, cn="waiting.example.com")).generate()
    seen = _start_wizard(isolated_home)
    assert seen["page"] == "StartPage"
    modules = set(seen["modules"])  # type: ignore[arg-type]
    heavy = ("cryptography", "requests", "paramiko", "keyring", "PySide6.QtSvg", "queue",
             "concurrent.futures")  # fmt: skip
    engine = ("app.ca_response", "app.export", "app.keys", "app.csr", "app.mediant", "app.ovoc",
              "app.workspace", "app.renewal_lookup")  # fmt: skip
    pages = ("ui.pages.names", "ui.pages.csr", "ui.pages.response", "ui.pages.export",
             "ui.pages.deploy", "ui.pages.summary", "ui.dashboard", "ui.feedback")  # fmt: skip
    loaded = sorted(
        m
        for m in modules
        for root in heavy + engine + pages
        if m == root or m.startswith(root + ".")
    )
    assert loaded == []
    assert seen["qt_namespace_built"] is False
    # ... and the renewal to continue is there right after the first paint.
    assert seen["listed_at_paint"] is False and seen["rows_at_paint"] == 0
    assert seen["rows"] == ["waiting.example.com"]
    assert seen["continue_enabled"] is True and seen["new_chosen"] is True


def test_with_no_renewal_continue_stays_disabled(isolated_home: Path) -> None:
    seen = _start_wizard(isolated_home)
    assert seen["rows"] == []
    assert seen["continue_enabled"] is False and seen["new_chosen"] is True
