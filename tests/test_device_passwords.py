"""Finding 8 of issue 12: a device password outside Latin-1 is sent as UTF-8, never a crash;
crash logs are owner-only like every file we write."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app import cli
from app.mediant import pins
from app.paths import log_dir
from app.tls_probe import fetch_served_chain
from tests.fakes.mediant_sim import MediantSim
from tests.owner_only import assert_owner_only

PASSWORD = "Pässwörd-€-日本-🔒"  # € and beyond are outside Latin-1


@pytest.mark.parametrize("auth", ["basic", "digest"])
def test_a_password_outside_latin1_logs_in(
    auth: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with MediantSim(password=PASSWORD, auth=auth) as sim:
        pins.set_pin("127.0.0.1", sim.port, fetch_served_chain("127.0.0.1", sim.port).leaf_sha256)
        monkeypatch.setenv("DEVICE_PW", PASSWORD)
        code = cli.main(["sbc-contexts", "--host", sim.host_port, "--password-env", "DEVICE_PW"])
        out = capsys.readouterr()
        assert code == 0, out.err
        assert ("GET", "/files/ini") in sim.calls and "default" in out.out


def test_a_refused_non_ascii_password_is_a_clear_error_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with MediantSim() as sim:  # its password is ASCII: ours is refused
        pins.set_pin("127.0.0.1", sim.port, fetch_served_chain("127.0.0.1", sim.port).leaf_sha256)
        monkeypatch.setenv("DEVICE_PW", PASSWORD)
        code = cli.main(["sbc-contexts", "--host", sim.host_port, "--password-env", "DEVICE_PW"])
    err = capsys.readouterr().err
    assert code == 1 and "refused the user 'Admin' (401" in err
    assert "outside ASCII, sent as UTF-8" in err and PASSWORD not in err
    assert not (log_dir() / "crash.log").exists()


def test_crash_logs_are_owner_only() -> None:
    old = log_dir() / "crash.log"
    old.parent.mkdir(parents=True, exist_ok=True)
    old.write_text("from an older version\n")
    os.chmod(old, 0o644)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        path = cli._record_crash()
    assert_owner_only(path, 0o600)
    assert "RuntimeError: boom" in path.read_text() and "older version" in path.read_text()

    from ui.feedback import log_unexpected

    gui = Path(log_unexpected(RuntimeError("gui boom"), "Traceback: gui boom"))
    assert_owner_only(gui, 0o600)
    assert "gui boom" in gui.read_text()
