"""`accert scan` and `accert inventory` as Task Scheduler and an engineer would run them."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from app.ca_response import Source
from app.cli import main
from app.estate import inventory as inv
from app.request import KeyType
from tests.fakes.tls_listeners import TlsListener, closed_port, issue
from tests.helpers import requested
from tests.pki import TestCA


@pytest.fixture
def two_devices(tmp_path: Path, test_ca: TestCA) -> Iterator[tuple[Path, TlsListener, Path]]:
    """An inventory with a healthy SBC, one expiring in 5 days and one switched off."""
    cert, key = issue(test_ca, "sbc-ok.example.com", days_left=180)
    ok = TlsListener(cert + test_ca.inter_pem, key, tmp_path / "ok")
    cert, key = issue(test_ca, "sbc-old.example.com", days_left=5)
    old = TlsListener(cert + test_ca.inter_pem, key, tmp_path / "old")
    root = tmp_path / "root.pem"
    root.write_bytes(test_ca.root_pem)
    path = tmp_path / "estate.toml"
    path.write_text(
        f"""
[[targets]]
name = "SBC London"
host = "127.0.0.1"
ports = [{ok.port}]
site = "London"

[[targets]]
name = "SBC Paris"
host = "127.0.0.1"
ports = [{old.port}]
contexts = [0, 2]

[[targets]]
name = "OVOC"
kind = "ovoc"
host = "127.0.0.1:{closed_port()}"
""",
        encoding="utf-8",
    )
    yield path, ok, root
    ok.stop()
    old.stop()


def test_scan_exits_3_when_something_expires_and_writes_reports(
    two_devices: tuple[Path, TlsListener, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, _, root = two_devices
    out_csv, out_html = tmp_path / "r.csv", tmp_path / "r.html"
    args = ["scan", str(path), "--timeout", "1", "--ca", str(root)]
    code = main([*args, "--csv", str(out_csv), "--html", str(out_html)])
    assert code == 3
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("EXPIRING") and "sbc-old.example.com" in lines[0]
    assert lines[1].startswith("UNREACHABLE") and "Cannot connect" in lines[1]
    assert lines[2].startswith("OK") and "sbc-ok.example.com" in lines[2]

    rows = list(csv.DictReader(io.StringIO(out_csv.read_text(encoding="utf-8-sig"))))
    assert [r["name"] for r in rows] == ["SBC Paris", "OVOC", "SBC London"]
    assert rows[0]["days_left"] == "5" and rows[0]["chain_complete"] == "yes"
    assert rows[1]["urgency"] == "unreachable" and rows[1]["kind"] == "ovoc"
    assert rows[2]["site"] == "London" and rows[2]["key"] == "ECDSA P-256"

    page = out_html.read_text(encoding="utf-8")
    assert "<svg" in page and page.count("<circle") == 2  # the timeline: one dot per date
    assert "expires in 5 days" in page and "sbc-ok.example.com" in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")  # self-contained
    assert re.search(r"<script|<link|src=", page) is None


def test_a_later_threshold_and_strict_unreachable(
    two_devices: tuple[Path, TlsListener, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _, _ = two_devices
    assert main(["scan", str(path), "--timeout", "1", "--threshold", "3"]) == 0
    assert main(["scan", str(path), "--timeout", "1", "--threshold", "3", "--strict"]) == 4
    assert main(["scan", str(path), "--timeout", "1", "--threshold", "200"]) == 3


def test_renewal_column_before_and_after_import(
    tmp_path: Path, test_ca: TestCA, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before the import the key is recognised; afterwards the very certificate."""
    ws = requested(tmp_path, KeyType.EC256)
    leaf = test_ca.sign(ws.csr_pem, tmp_path / "leaf.crt")
    key_pem = ws.private_key().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with TlsListener(leaf.read_bytes() + test_ca.inter_pem, key_pem, tmp_path / "srv") as srv:
        path = tmp_path / "one.json"
        inv.save(inv.Inventory((inv.Target("127.0.0.1", ports=(srv.port,), name="sbc1"),)), path)
        assert main(["scan", str(path), "--timeout", "2", "--renewal", str(ws.path)]) == 0
        assert "(same key)" in capsys.readouterr().out
        ws.import_response([Source("l.crt", leaf.read_bytes()), Source("ca", test_ca.inter_pem)])
        assert main(["scan", str(path), "--timeout", "2", "--renewal", str(ws.path)]) == 0
        out = capsys.readouterr().out
        assert "(renewed)" in out and "root not trusted here" in out  # its root is private
        root = tmp_path / "root.pem"
        root.write_bytes(test_ca.root_pem)
        args = ["scan", str(path), "--renewal", str(ws.path), "--ca", str(root)]
        assert main(args) == 0
        assert capsys.readouterr().out.startswith("OK          sbc1 ")
    scans = [e for e in ws.read_log() if e.get("event") == "estate-scan"]
    assert len(scans) == 3 and scans[0]["same_key_other_certificate"] == [
        f"sbc1 127.0.0.1:{srv.port}"
    ]
    assert scans[-1]["serving_renewal"] == [f"sbc1 127.0.0.1:{srv.port}"]


def test_import_csv_from_excel_with_semicolons_and_show(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = tmp_path / "devices.csv"
    sheet.write_bytes(
        "\ufeffName;Hostname;Type;Port;TLS Context;Site\r\n"
        "SBC Zürich;sbc-zh.example.ch;SBC;443 5061;0,1;Zürich\r\n"
        "OVOC;ovoc.example.ch;ovoc;;;\r\n"
        ";;;;;\r\n".encode()
    )
    target = tmp_path / "estate.toml"
    assert main(["inventory", "import-csv", str(sheet), "--to", str(target)]) == 0
    assert main(["inventory", "show", str(target)]) == 0
    shown = capsys.readouterr().out
    assert "SBC Zürich" in shown and "ports 443 5061" in shown and "ports 443" in shown
    loaded = inv.load(target)
    assert loaded.targets[0].contexts == (0, 1) or loaded.targets[1].contexts == (0, 1)
    # Importing the same sheet again updates rather than duplicates.
    assert main(["inventory", "import-csv", str(sheet), "--to", str(target)]) == 0
    assert len(inv.load(target).targets) == 2


def test_the_default_inventory_lives_in_the_settings(
    tmp_path: Path, isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = tmp_path / "d.csv"
    sheet.write_text("host,name\nsbc1.example.com,SBC 1\n", encoding="utf-8")
    assert main(["inventory", "import-csv", str(sheet)]) == 0
    assert (isolated_home / "inventory.toml").exists() or inv.inventory_path().exists()
    assert [t.name for t in inv.load().targets] == ["SBC 1"]


def test_an_empty_inventory_is_an_error_with_a_fix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan"]) == 1
    err = capsys.readouterr().err
    assert "lists no targets" in err and "accert inventory import-csv" in err
