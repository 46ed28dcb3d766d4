"""Render every page of the wizard, and the estate dashboard, to docs/screenshots/*.png.

A real renewal with real crypto: a throwaway CA (the tests' openssl one), a temporary
ACCERT_HOME and passphrase, so nothing touches the user's folders. Offscreen Qt, no display:
    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--scale 1]
--scale 2 renders at 200 % to check the layout (those images are not committed). The PNGs are
reduced to their 256 most used colours (text and flat widgets lose nothing visible), which
keeps each one well under 150 KB.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--scale", default="1", help="QT_SCALE_FACTOR, e.g. 2 to check 200 %%")
    args = parser.parse_args()
    # A fixed, short folder rather than a random one: its path is on several pages.
    tmp = Path(tempfile.gettempdir()) / "accert-screenshots"
    if (tmp / MARKER).exists():
        shutil.rmtree(tmp)  # our own leftovers of an earlier run, nothing else
    elif tmp.exists():
        tmp = Path(tempfile.mkdtemp(prefix="accert-screenshots-"))
    tmp.mkdir()
    (tmp / MARKER).write_text("made by scripts/screenshots.py; safe to delete\n")
    os.environ.update(
        QT_QPA_PLATFORM="offscreen",
        QT_SCALE_FACTOR=args.scale,
        ACCERT_HOME=str(tmp / "accert"),
        ACCERT_PASSPHRASE="screenshots-only-passphrase",
    )
    import keyring
    from keyring.backends.fail import Keyring as NoKeyring

    keyring.set_keyring(NoKeyring())  # type: ignore[no-untyped-call]
    args.out.mkdir(parents=True, exist_ok=True)
    shoot(args.out, tmp)
    return 0


MARKER = ".accert-screenshots"


def save_png(image: QImage, path: Path) -> None:
    """The image in 256 colours (nearest match, no dithering), compressed."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage

    rgb = image.convertToFormat(QImage.Format.Format_RGB32)
    counts = collections.Counter(memoryview(rgb.constBits()).cast("I"))
    table = palette(counts)
    flags = Qt.ImageConversionFlag.ThresholdDither | Qt.ImageConversionFlag.AvoidDither
    indexed = rgb.convertToFormat(QImage.Format.Format_Indexed8, table, flags)
    indexed.save(str(path), "PNG", 9)  # type: ignore[call-overload]


def palette(counts: collections.Counter[int], size: int = 256, common: int = 192) -> list[int]:
    """The most used colours (flat widgets, text), then the ones farthest from all of those.

    The most used alone lose small bright details such as the logo's orange badge; adding
    the farthest keeps them, and antialiased text maps onto its nearest grey.
    """

    def rgb(c: int) -> tuple[int, int, int]:
        return (c >> 16) & 255, (c >> 8) & 255, c & 255

    def dist(a: tuple[int, int, int], b: tuple[int, int, int]) -> int:
        return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2

    ranked = [c & 0xFFFFFF for c, _ in counts.most_common()]
    table = ranked[:common]
    rest = {c: rgb(c) for c in ranked[common:]}
    chosen = [rgb(c) for c in table]
    nearest = {c: min(dist(v, t) for t in chosen) for c, v in rest.items()}
    while rest and len(table) < size:
        pick = max(nearest, key=nearest.__getitem__)
        table.append(pick)
        value = rest.pop(pick)
        del nearest[pick]
        for c, v in rest.items():
            nearest[c] = min(nearest[c], dist(v, value))
    return [c | 0xFF000000 for c in table]


def shoot(out: Path, tmp: Path) -> None:
    from PySide6.QtWidgets import QApplication, QRadioButton, QWidget, QWizard

    from app.ca_response import Source
    from app.export import PRESETS, ExportOptions
    from app.mediant.devices import SavedDevice, remember_device
    from app.request import KeyType, RequestSpec, Subject
    from app.workspace import Workspace
    from tests.fakes.mediant_material import FAST
    from tests.fakes.mediant_sim import MediantSim
    from tests.fakes.tls_listeners import TlsListener, closed_port, issue, stop_all
    from tests.pki import TestCA
    from ui.dashboard import Dashboard
    from ui.launch import create_window
    from ui.pages.csr import CsrPage
    from ui.pages.deploy import DeployPage
    from ui.pages.export import ExportPage
    from ui.pages.names import NamesPage
    from ui.pages.response import ResponsePage
    from ui.pages.start import StartPage
    from ui.pages.summary import SummaryPage

    ca = TestCA(tmp / "ca", "Example")
    # Last year's renewal (done) and one waiting for its CA: the Start page lists them.
    old = Workspace.create(
        RequestSpec(
            Subject("sbc.example.org", "Example Ltd", "Voice", "London", "", "GB"),
            ("sbc.example.org",),
            KeyType.EC256,
        )
    )
    old.generate()
    leaf = ca.sign(old.csr_pem, tmp / "old.crt")
    old.import_response([Source("old.crt", leaf.read_bytes() + ca.inter_pem + ca.root_pem)])
    old.export(None, ExportOptions(PRESETS["audiocodes"].artifacts))
    waiting = Workspace.create(
        RequestSpec(Subject("ovoc.example.net", "Example Ltd", "", "Paris", "", "FR"))
    )
    waiting.generate()
    for host, name, ctx, ports in (
        ("sbc-lon.example.com", "SBC London", (0, 1), (443, 5061)),
        ("sbc-par.example.com", "SBC Paris", (1,), (5061,)),
        ("gw-mad.example.com", "Gateway Madrid", (0,), (443,)),
    ):
        remember_device(SavedDevice(host, contexts=ctx, verify_ports=ports, name=name))

    w = create_window()
    w.confirm_close = lambda lost: True
    w.resize(900, 680)
    w.show()
    app = QApplication.instance()
    assert app is not None

    def settle(until: Callable[[], bool] = lambda: True, seconds: float = 30) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            if until():
                break
            time.sleep(0.01)
        for _ in range(5):
            app.processEvents()

    def grab(widget: QWidget, name: str) -> None:
        settle()
        path = out / f"{name}.png"
        save_png(widget.grab().toImage(), path)
        print(f"{path} ({path.stat().st_size // 1024} KB)")

    start = w.currentPage()
    assert isinstance(start, StartPage)
    settle(lambda: start.listed)  # the renewals are listed just after the first paint
    grab(w, "01-start")
    # As a user would: the choice that says "new renewal", whatever the page preselects.
    for choice in start.findChildren(QRadioButton):
        if "new renewal" in choice.text().replace("&", "").lower():
            choice.click()
    w.next()
    names = w.currentPage()
    assert isinstance(names, NamesPage)
    names.cn.setText("*.example.com")
    # One international name: the page shows the xn-- form the CSR will hold.
    for san in ("sbc-lon.example.com", "ovoc.example.com", "sbc-zürich.example.com"):
        names.san_input.setText(san)
        names.add_san()
    names.org.setText("Example Ltd")
    names.ou.setText("Voice")
    names.locality.setText("London")
    names.country.setCurrentIndex(max(names.country.findData("GB"), 0))
    names.email.setText("pki@example.com")
    grab(w, "02-names")
    w.next()
    csr = w.currentPage()
    assert isinstance(csr, CsrPage)
    settle(csr.isComplete)
    grab(w, "03-key-and-csr")
    ws = w.session.require()
    leaf = ca.sign(ws.csr_pem, tmp / "star_example_com.crt")
    (tmp / "DigiCertCA.crt").write_bytes(ca.inter_pem)
    (tmp / "TrustedRoot.crt").write_bytes(ca.root_pem)
    w.next()
    resp = w.currentPage()
    assert isinstance(resp, ResponsePage)
    resp.add_files([leaf, tmp / "DigiCertCA.crt", tmp / "TrustedRoot.crt"])
    settle(lambda: resp.verdict.text() not in ("", "Checking the files…"))
    grab(w, "04-ca-response")
    w.next()
    exp = w.currentPage()
    assert isinstance(exp, ExportPage)
    exp.preset_buttons["windows"].click()
    exp.pass1.setText("Renew-every-year-2026")
    exp.pass2.setText("Renew-every-year-2026")
    settle()
    exp.export_button.click()
    settle(lambda: exp.result.isVisible() or exp.message.isVisible())
    grab(w, "05-export")
    # A lab SBC (the tests' simulator of the documented REST API) to deploy to, as a user
    # would: added, its certificate trusted, deployed; the row shows how it went.
    sim = MediantSim(delay=0.05)
    sim.__enter__()
    lab = SavedDevice("127.0.0.1", sim.port, sim.user, (1,), (sim.context_port(1),), name="SBC Lab")
    remember_device(lab)
    w.next()
    deploy = w.currentPage()
    assert isinstance(deploy, DeployPage)
    panel = deploy.sbc
    panel.timing = FAST
    panel.passwords[lab.key] = sim.password
    panel.ask_trust_all = lambda unknowns: unknowns
    panel.confirm = lambda _text: True
    panel.set_checked(lab.key)
    panel.deploy_button.click()
    settle(lambda: not panel.running and panel.message.isVisible(), seconds=60)
    panel.set_checked("sbc-par.example.com:443")
    panel.table.selectRow(panel.row_of(lab.key))
    grab(w, "06-deploy")
    w.button(QWizard.WizardButton.NextButton).click()
    grab(w, "07-summary")
    summary = w.currentPage()
    assert isinstance(summary, SummaryPage)
    view = summary.view_certificate()
    assert view is not None
    grab(view, "09-certificate")
    view.close()

    # The estate dashboard, scanning real TLS listeners in several states.
    listeners = []
    listening: list[str] = []
    for cn, days in (("sbc-lon", 200), ("sbc-par", 12), ("sbc-nyc", -3), ("teams", 45)):
        cert, key = issue(ca, f"{cn}.example.com", days_left=days, valid_days=400)
        listeners.append(TlsListener(cert + ca.inter_pem, key, tmp / "tls" / cn))
        listening.append(str(listeners[-1].port))
    estate = tmp / "estate.csv"
    estate.write_text(
        "host,ports,kind,name,site\n"
        f"127.0.0.1,{' '.join(listening)},sbc,Lab SBCs,London\n"
        f"localhost,{closed_port()},sbc,SBC Madrid,Madrid\n"
    )
    w.restart()
    start = w.currentPage()
    assert isinstance(start, StartPage)
    dash = start.open_dashboard()
    assert isinstance(dash, Dashboard)
    dash.resize(1000, 600)
    dash.choose_open = lambda _t, _f: str(estate)
    dash.import_button.click()
    dash.renewal.setCurrentIndex(max(dash.renewal.findData(str(ws.path)), 0))
    dash.scan_button.click()
    settle(dash.scan_button.isEnabled)
    grab(dash, "08-estate-dashboard")
    stop_all(listeners)
    sim.__exit__(None, None, None)


if __name__ == "__main__":
    sys.exit(main())
