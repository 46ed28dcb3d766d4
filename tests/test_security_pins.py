"""Finding 6 of issue 12: a pin the user gives decides; it never silently replaces another."""

from __future__ import annotations

import pytest

from app import cli
from app.mediant import pins
from app.tls_probe import fetch_served_chain
from tests.fakes.mediant_sim import MediantSim

STALE = ":".join(["5A"] * 32)  # a certificate the device served before (or an attacker's)


def _contexts(sim: MediantSim, *extra: str) -> int:
    return cli.main(
        ["sbc-contexts", "--host", sim.host_port, "--password-env", "DEVICE_PW", *extra]
    )


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> MediantSim:
    with MediantSim() as device:
        monkeypatch.setenv("DEVICE_PW", device.password)
        yield device


def test_fingerprint_does_not_silently_replace_a_stored_pin(
    sim: MediantSim, capsys: pytest.CaptureFixture[str]
) -> None:
    served = fetch_served_chain("127.0.0.1", sim.port).leaf_sha256
    pins.set_pin("127.0.0.1", sim.port, STALE)  # trusted before; the device was re-certified
    assert _contexts(sim, "--fingerprint", served) == 1
    err = capsys.readouterr().err
    assert "not the one trusted before" in err and "--replace-fingerprint" in err
    assert sim.calls == [] and pins.get_pin("127.0.0.1", sim.port) == STALE
    # Asked for explicitly: replaced, since the device presents exactly that certificate.
    assert _contexts(sim, "--fingerprint", served, "--replace-fingerprint") == 0
    assert pins.get_pin("127.0.0.1", sim.port) == served and sim.calls


def test_replace_fingerprint_refuses_a_device_that_does_not_match(
    sim: MediantSim, capsys: pytest.CaptureFixture[str]
) -> None:
    served = fetch_served_chain("127.0.0.1", sim.port).leaf_sha256
    pins.set_pin("127.0.0.1", sim.port, served)
    assert _contexts(sim, "--fingerprint", STALE, "--replace-fingerprint") == 1
    err = capsys.readouterr().err
    assert f"presents SHA-256 {served}, not the fingerprint given" in err
    assert sim.calls == [] and pins.get_pin("127.0.0.1", sim.port) == served


def test_a_given_fingerprint_the_device_does_not_match_is_refused(
    sim: MediantSim, capsys: pytest.CaptureFixture[str]
) -> None:
    """First contact with an explicit pin: nothing is stored, nothing is asked, nothing sent."""
    assert _contexts(sim, "--fingerprint", STALE) == 1
    assert "not the fingerprint given" in capsys.readouterr().err
    assert sim.calls == [] and pins.get_pin("127.0.0.1", sim.port) is None


def test_changed_certificate_hint_names_the_replace_option(
    sim: MediantSim, capsys: pytest.CaptureFixture[str]
) -> None:
    served = fetch_served_chain("127.0.0.1", sim.port).leaf_sha256
    pins.set_pin("127.0.0.1", sim.port, STALE)
    assert _contexts(sim) == 1
    err = capsys.readouterr().err
    assert f"--fingerprint SHA256:{served} --replace-fingerprint" in err and sim.calls == []
