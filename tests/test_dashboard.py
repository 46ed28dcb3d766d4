"""The estate dashboard against real TLS listeners: scan, colours, export, "renew these".

The scan is the real one (app.estate); the file choosers and the confirmation are answered by
the test (a modal dialog would block it).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from app.ca_response import Source
from app.estate.report import COLOURS
from app.estate.scan import Urgency
from app.request import KeyType
from app.workspace import Workspace
from tests.fakes.tls_listeners import TlsListener, closed_port, issue, silent_listener, stop_all
from tests.helpers import wildcard_spec
from tests.pki import TestCA
from ui.dashboard import Dashboard
from ui.launch import create_window
from ui.pages.export import ExportPage
from ui.pages.names import NamesPage
from ui.pages.start import StartPage
from ui.wizard import RenewalWizard

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support"),
]

WAIT_MS = 30_000


@dataclass
class Estate:
    csv: Path
    ports: dict[str, int]


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory, test_ca: TestCA) -> Iterator[Estate]:
    """One lab SBC with four TLS ports in four states, a host that is gone, one that is silent."""
    tmp = tmp_path_factory.mktemp("dash")
    plan = {
        "fine": (200, True),
        "expiring": (10, True),
        "expired": (-5, True),
        "leafonly": (300, False),  # the intermediate is not served
    }
    listeners: dict[str, TlsListener] = {}
    for name, (days, with_chain) in plan.items():
        cert, key = issue(test_ca, f"{name}.example.com", days_left=days, valid_days=400)
        chain = cert + test_ca.inter_pem if with_chain else cert
        listeners[name] = TlsListener(chain, key, tmp / name)
    ports = {name: lis.port for name, lis in listeners.items()}
    ports["closed"] = closed_port()
    silent = silent_listener()  # accepts, never answers: a device behind a dead firewall rule
    ports["silent"] = silent.getsockname()[1]
    path = tmp / "estate.csv"
    lab_ports = " ".join(str(ports[n]) for n in [*plan, "silent"])
    path.write_text(
        "Host;Ports;Kind;Name;Site\r\n"
        f"127.0.0.1;{lab_ports};sbc;SBC Lab;London\r\n"
        f"localhost;{ports['closed']};sbc;SBC Gone;Paris\r\n",
        encoding="utf-8",
        newline="",  # the CRLF as written, on Windows too (not CR CR LF)
    )
    yield Estate(path, ports)
    stop_all(list(listeners.values()))
    silent.close()


@pytest.fixture
def renewal(test_ca: TestCA, tmp_path: Path) -> Workspace:
    """An issued renewal: the scan judges chains with its CA and says what it renewed."""
    ws = Workspace.create(wildcard_spec(KeyType.EC256))
    ws.generate()
    leaf = test_ca.sign(ws.csr_pem, tmp_path / "leaf.crt")
    chain = leaf.read_bytes() + test_ca.inter_pem + test_ca.root_pem
    ws.import_response([Source("leaf.crt", chain)])
    return ws


def open_dashboard(qtbot: QtBot) -> tuple[RenewalWizard, Dashboard]:
    w = create_window()
    w.confirm_close = lambda lost: True
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    start = w.currentPage()
    assert isinstance(start, StartPage)
    start.dashboard.click()
    dashboards = w.findChildren(Dashboard)
    assert len(dashboards) == 1 and dashboards[0].isVisible()
    return w, dashboards[0]


def scan_estate(qtbot: QtBot, d: Dashboard, estate: Estate, renewal: Workspace) -> list[int]:
    d.choose_open = lambda _title, _filter: str(estate.csv)
    d.import_button.click()
    assert "2 target(s) read from estate.csv" in d.message.text()
    assert d.table.rowCount() == 6  # every port listed before the scan
    d.renewal.setCurrentIndex(d.renewal.findData(str(renewal.path)))
    d.wait.setValue(1)  # the silent port takes this long
    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(5)
    d.scan_button.click()
    assert not d.scan_button.isEnabled() and d.cancel_button.isEnabled()
    # Rows come in as ports answer, while the silent one is still being waited for.
    qtbot.waitUntil(lambda: d.table.rowCount() == 5, timeout=WAIT_MS)
    assert not d.scan_button.isEnabled()
    qtbot.waitUntil(d.scan_button.isEnabled, timeout=WAIT_MS)
    timer.stop()
    return ticks


def column(d: Dashboard, name: str) -> list[str]:
    from ui.dashboard import COLUMNS

    c = COLUMNS.index(name)
    return [d.table.item(r, c).text() for r in range(d.table.rowCount())]  # type: ignore[union-attr]


def test_scan_sorts_by_urgency_colours_and_exports(
    qtbot: QtBot, estate: Estate, renewal: Workspace, tmp_path: Path
) -> None:
    _w, d = open_dashboard(qtbot)
    ticks = scan_estate(qtbot, d, estate, renewal)
    assert len(ticks) >= 20, "the window kept running during the scan"
    p = estate.ports
    assert column(d, "Target") == [
        "SBC Lab",
        "SBC Lab",
        "SBC Gone",
        "SBC Lab",
        "SBC Lab",
        "SBC Lab",
    ]
    assert column(d, "Port") == [
        str(p[n]) for n in ("expired", "expiring", "closed", "silent", "leafonly", "fine")
    ]
    status = column(d, "Status")
    assert status[:2] == ["expired 5 days ago", "expires in 10 days"]
    assert status[2] == f"Cannot connect to localhost:{p['closed']}: Connection refused."
    assert "did not complete a TLS handshake within 1 s" in status[3]
    assert status[4] == "expires in 300 days; intermediate not served"
    assert status[5] == "expires in 200 days"
    assert column(d, "Chain")[4] == "incomplete: intermediate not served"
    assert column(d, "Chain")[5] == "complete"
    assert column(d, "Renewal")[5] == "not yet"  # another certificate than the renewal's
    # Colour follows urgency; the status says it in words too.
    order = [Urgency.EXPIRED, Urgency.EXPIRING, Urgency.UNREACHABLE, Urgency.UNREACHABLE]
    for r, urgency in enumerate([*order, Urgency.PROBLEM, Urgency.OK]):
        item = d.table.item(r, 0)
        assert item is not None
        assert item.background().color().name() == COLOURS[urgency][1]
    assert "1 expired, 1 expiring, 2 unreachable, 1 check, 1 ok" in d.summary.text()
    assert d.timeline.svg.startswith("<svg") and d.timeline.renderer.isValid()

    csv_path, html_path = tmp_path / "estate-report.csv", tmp_path / "estate-report.html"
    d.choose_save = lambda _t, f: str(csv_path if "csv" in f.lower() else html_path)
    d.csv_button.click()
    d.html_button.click()
    with csv_path.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert [r["common_name"] for r in rows if r["common_name"]][:2] == [
        "expired.example.com",
        "expiring.example.com",
    ]
    assert len(rows) == 6
    page = html_path.read_text(encoding="utf-8")
    assert "<svg" in page and "leafonly.example.com" in page


def test_renew_these_starts_a_new_renewal_with_their_names_and_devices(
    qtbot: QtBot, estate: Estate, renewal: Workspace
) -> None:
    w, d = open_dashboard(qtbot)
    scan_estate(qtbot, d, estate, renewal)
    d.renewal.setCurrentIndex(0)  # no renewal chosen: a new one
    d.table.selectRow(1)  # expiring.example.com
    asked: list[str] = []
    d.confirm = lambda text: asked.append(text) or True
    d.renew_button.click()
    assert "Start a new renewal for expiring.example.com" in asked[0]
    names = w.currentPage()
    assert isinstance(names, NamesPage)
    assert names.cn.text() == "expiring.example.com"
    assert [dev.host for dev in w.session.preselected_devices] == ["127.0.0.1"]
    assert w.session.preselected_devices[0].name == "SBC Lab"
    assert not d.isVisible()


def test_renew_these_continues_an_issued_renewal_to_its_next_step(
    qtbot: QtBot, estate: Estate, renewal: Workspace
) -> None:
    w, d = open_dashboard(qtbot)
    scan_estate(qtbot, d, estate, renewal)
    d.table.selectRow(0)
    d.confirm = lambda text: "Continue the renewal of *.example.com" in text
    d.renew_button.click()
    assert isinstance(w.currentPage(), ExportPage)
    assert w.session.require().path == renewal.path
    assert w.session.preselected_devices[0].host == "127.0.0.1"


def test_an_empty_inventory_says_what_to_do(qtbot: QtBot) -> None:
    _w, d = open_dashboard(qtbot)
    assert "No targets yet" in d.summary.text()
    d.scan_button.click()
    assert d.message.property("kind") == "error" and "Add targets first" in d.message.text()
    assert not d.renew_button.isEnabled() and not d.csv_button.isEnabled()
