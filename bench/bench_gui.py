"""The wizard's cold start against a bare PySide6 QWizard, and the GUI thread during RSA-4096.

1. Cold start: a fresh Python process imports what it needs, builds the window, shows it and
   exits once the first page has painted. The reference is a bare QWizard with one empty page,
   started the same way in the same run; the median of --rounds runs each. The ratio says what
   our imports and pages cost on top of Qt itself.
2. Responsiveness: the wizard makes an RSA-4096 key and CSR (the slowest step) while a 5 ms
   timer ticks on the GUI thread; the longest gap between ticks is the longest the window
   could not repaint or react.
A command, not a test (offscreen Qt; no display needed):
    .venv/bin/python bench/bench_gui.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Each child prints the seconds from its own start to the first paint of the page.
_CHILD = """
import time, sys
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWizard, QWizardPage
{build}
class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            print(f"{{time.perf_counter() - t0:.4f}}", flush=True)
            QTimer.singleShot(0, app.quit)
            app.removeEventFilter(self)
        return False
f = FirstPaint()
app.installEventFilter(f)
window.show()
app.exec()
"""

BARE = """
app = QApplication(sys.argv)
window = QWizard()
window.addPage(QWizardPage())
"""

OURS = """
from ui.launch import create_window
window = create_window()
window.confirm_close = lambda lost: True
app = QApplication.instance()
"""


def cold_start(build: str, env: dict[str, str]) -> float:
    code = _CHILD.format(root=str(ROOT), build=build)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise SystemExit(f"the window did not start: {proc.stderr.strip()[-2000:]}")
    return float(proc.stdout.strip().splitlines()[-1])


def longest_stall_during_rsa4096() -> tuple[float, float, int]:
    """(longest gap between 5 ms ticks in ms, generation seconds, ticks)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QWizard

    from app.request import KeyType
    from ui.launch import create_window
    from ui.pages.csr import CsrPage
    from ui.pages.names import NamesPage

    w = create_window()
    w.confirm_close = lambda lost: True
    w.show()
    app = QApplication.instance()
    assert app is not None
    w.next()  # Start -> Names (a new renewal)
    names = w.currentPage()
    assert isinstance(names, NamesPage)
    names.cn.setText("*.example.com")
    names.org.setText("Example Ltd")
    names.country.setCurrentIndex(max(names.country.findData("GB"), 0))
    names.key_type.setCurrentIndex(names.key_type.findData(KeyType.RSA4096.value))
    app.processEvents()
    if not w.button(QWizard.WizardButton.NextButton).isEnabled():
        raise SystemExit("the names page did not accept the bench's names")
    stamps: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: stamps.append(time.perf_counter()))
    timer.start(5)
    start = time.perf_counter()
    w.next()  # Names -> Key and CSR: the key is made in the pool
    page = w.currentPage()
    assert isinstance(page, CsrPage)
    while not page.isComplete():
        app.processEvents()
        time.sleep(0.001)
        if time.perf_counter() - start > 120:
            raise SystemExit("RSA-4096 generation did not finish in 120 s")
    took = time.perf_counter() - start
    timer.stop()
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    w.close()
    return (max(gaps) * 1000 if gaps else float("inf")), took, len(stamps)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="cold starts of each window")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="accert-bench-gui-") as tmp:
        env = dict(
            os.environ,
            QT_QPA_PLATFORM="offscreen",
            ACCERT_HOME=str(Path(tmp) / "home"),
            ACCERT_PASSPHRASE="bench-passphrase-long-enough",
        )
        os.environ.update(env)
        cold_start(BARE, env)  # warm the disk cache for both sides alike
        cold_start(OURS, env)
        bare, ours = [], []
        for _ in range(args.rounds):  # interleaved, so a busy moment hits both
            bare.append(cold_start(BARE, env))
            ours.append(cold_start(OURS, env))
        b, o = statistics.median(bare), statistics.median(ours)
        print(f"{'cold start to first paint':34} {o * 1000:8.1f} ms {b * 1000:8.1f} ms "
              f"{o / b:6.2f}  bare PySide6 QWizard")  # fmt: skip
        import keyring
        from keyring.backends.fail import Keyring as NoKeyring

        keyring.set_keyring(NoKeyring())  # the passphrase comes from ACCERT_PASSPHRASE
        stall, took, ticks = longest_stall_during_rsa4096()
        print(f"RSA-4096 key+CSR in the wizard: {took:.2f} s, {ticks} ticks of a 5 ms timer, "
              f"longest GUI-thread stall {stall:.1f} ms")  # fmt: skip
        verdict = "OK" if stall < 50 else "over target"
        print(f"stall ratio: {stall / 50:.2f} (longest stall / 50 ms target: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
