"""The self-test's GUI check: open the wizard window offscreen, look at it, close it.

It lives in ui/ because the engine (app/) never imports Qt; `accert selftest --gui` and the
wizard binary's `--selftest` flag look it up by name. It uses the wizard's own factory,
`ui.launch.create_window()`, when that exists, and otherwise a plain QWizard, which still
proves that Qt, its platform plugin and its widgets are in the build.
"""

from __future__ import annotations

import importlib
import os
import time
from typing import Any

SHOW_TIMEOUT_S = 5.0


def _window() -> tuple[Any, str]:
    from PySide6.QtWidgets import QWizard, QWizardPage

    try:
        launch: object = importlib.import_module("ui.launch")  # the wizard, when it is built
    except ImportError:
        launch = None
    factory = getattr(launch, "create_window", None)
    if callable(factory):
        return factory(), "wizard window"
    wizard = QWizard()
    wizard.setWindowTitle("accert")
    page = QWizardPage()
    page.setTitle("accert self-test")
    wizard.addPage(page)
    return wizard, "plain QWizard (ui.launch.create_window not found)"


def probe() -> str:
    if not os.environ.get("QT_QPA_PLATFORM"):  # headless unless a person asks to see it
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["accert-selftest"])
    window, what = _window()
    window.show()
    deadline = time.monotonic() + SHOW_TIMEOUT_S
    while not window.isVisible() and time.monotonic() < deadline:
        app.processEvents()
    app.processEvents()
    if not window.isVisible():
        raise RuntimeError(f"the {what} did not become visible within {SHOW_TIMEOUT_S:.0f} s")
    title, size = window.windowTitle(), window.size()
    platform = QApplication.platformName()
    # The icon files are data a build can forget; the wizard's own window must show one.
    if what == "wizard window" and window.windowIcon().isNull():
        window.close()
        raise RuntimeError("the wizard window has no icon (resources/icons missing?)")
    window.close()
    app.processEvents()
    window.deleteLater()
    app.processEvents()
    return f"{what} '{title}' shown {size.width()}x{size.height()} on {platform} and closed"
