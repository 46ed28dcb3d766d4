"""Finding 3 of issue 12: a peer's text cannot forge the trust prompt, the logs or a report.

The attack: a device (or any TLS server) presents a certificate whose subject holds a new line
and a fake `SHA-256 ...` line, ESC[8m (hides what follows on a terminal) and a right-to-left
override. Every place that shows it must show those characters as escapes.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
from pathlib import Path

import pytest

from app import cli
from app.estate.inventory import Target
from app.estate.report import to_html
from app.estate.scan import scan
from app.peer_text import escape_peer, peer_line
from app.tls_probe import fetch_served_chain
from tests.fakes.mediant_sim import MediantSim, SimContext
from tests.fakes.tls_listeners import TlsListener
from tests.helpers import requested
from tests.pki import self_signed

FAKE_FP = ":".join(["AB"] * 32)
# The forged line, then ESC[8m to hide the real fingerprint line, then an RLO.
EVIL_CN = f"sbc1\n  SHA-256  {FAKE_FP}\x1b[8m\u202eevil\u0085"
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f]")


def test_escape_peer_shows_controls_and_keeps_ordinary_text() -> None:
    assert escape_peer("Müller GmbH, Zürich 東京 ✓") == "Müller GmbH, Zürich 東京 ✓"
    assert escape_peer("a\nb\x1b[8mc\u202ed\u200be\x00") == "a\\x0ab\\x1b[8mc\\u202ed\\u200be\\x00"
    assert escape_peer("line1\nline2\r", keep_newlines=True) == "line1\nline2\\x0d"
    assert escape_peer("\u2028\U000e0001") == "\\u2028\\U000e0001"


def test_peer_line_is_one_escaped_line_of_bounded_length() -> None:
    assert peer_line("  a\u202eb\nc\t\u200b ") == "a\\u202eb\\x0ac\\x09\\u200b"
    assert peer_line("Zürich 東京") == "Zürich 東京"
    assert peer_line("y" * 50, 20) == "y" * 17 + "..."


def contexts_of_evil_device(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *, terminal: bool
) -> tuple[int, str, str, MediantSim]:
    """`accert sbc-contexts` against a device presenting EVIL_CN, from a terminal that answers
    "n" to the trust question or with no terminal: (exit code, stderr, the real fingerprint,
    the device)."""
    sim = MediantSim()
    cert, key = self_signed(EVIL_CN, san=False)
    sim.web = SimContext("default", key, cert)
    with sim:
        real_fp = fetch_served_chain("127.0.0.1", sim.port).leaf_sha256
        monkeypatch.setenv("DEVICE_PW", sim.password)
        stdin = io.StringIO()
        if terminal:
            stdin.isatty = lambda: True  # type: ignore[method-assign]
            monkeypatch.setattr("builtins.input", lambda prompt="": "n")
        monkeypatch.setattr(sys, "stdin", stdin)
        code = cli.main(["sbc-contexts", "--host", sim.host_port, "--password-env", "DEVICE_PW"])
        err = capsys.readouterr().err
    return code, err, real_fp, sim


def test_cli_trust_prompt_cannot_be_forged(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err, real_fp, sim = contexts_of_evil_device(monkeypatch, capsys, terminal=True)
    assert code == 1 and sim.calls == []
    lines = err.splitlines()
    # (A library warning about the overlong name may come before the question.)
    head = next(i for i, line in enumerate(lines) if "presents a certificate not trusted" in line)
    assert lines[head + 1] == f"  SHA-256  {real_fp}"  # first, on its own line
    assert [line for line in lines if line.lstrip().startswith("SHA-256")] == [lines[head + 1]]
    assert not UNSAFE.search(err)
    subject = lines[head + 2]
    assert "\\x0a  SHA-256  AB:AB" in subject and "\\x1b[8m\\u202eevil\\x85" in subject


def test_non_interactive_untrusted_message_is_escaped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err, real_fp, sim = contexts_of_evil_device(monkeypatch, capsys, terminal=False)
    assert code == 1 and sim.calls == []
    assert not UNSAFE.search(err)
    first = err.splitlines()[0]
    assert first.index(real_fp) < first.index("subject") and FAKE_FP not in err.split("subject")[0]


def test_gui_trust_question_puts_the_fingerprint_first_and_escapes() -> None:
    pytest.importorskip("PySide6")
    from ui.device_dialog import TrustQuestion, trust_text

    for changed in (False, True):
        _, text = trust_text(TrustQuestion("sbc1", 443, EVIL_CN, "12:" * 31 + "12", changed))
        block = text.split("\n\n")[1].splitlines()
        assert block[0] == "SHA-256: " + "12:" * 31 + "12"
        assert len(block) == 2 and block[1].startswith("Subject: sbc1\\x0a")
        assert not UNSAFE.search(text)


def test_logs_and_html_report_escape_what_a_server_presents(tmp_path: Path) -> None:
    cert, key = self_signed(EVIL_CN, san=False)
    with TlsListener(cert, key, tmp_path / "tls") as server:
        rows = scan([Target("127.0.0.1", ports=(server.port,))], timeout=5)
    (row,) = rows
    assert row.reachable, row.error
    assert "\\x1b[8m" in row.common_name
    page = to_html(rows, now=dt.datetime.now(dt.UTC))
    assert "\\x1b[8m\\u202eevil" in page and not UNSAFE.search(page)
    ws = requested(tmp_path)
    ws.log("device-answer", detail=EVIL_CN, items=[EVIL_CN])
    raw = ws.log_path.read_text("utf-8")
    assert not UNSAFE.search(raw) and "\\\\u202eevil" in raw
    assert ws.read_log()[-1]["detail"] == escape_peer(EVIL_CN, keep_newlines=True)
