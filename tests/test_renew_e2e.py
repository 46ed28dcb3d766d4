"""`accert renew` end to end: pebble issues, two simulated Mediant devices and an OVOC behind
a real sshd take the certificate, and each serves it to a real TLS handshake.

Deploy once by hand (as an engineer does, remembering the passwords), then `renew --force`:
a new renewal beside the old one, every device serves the new certificate and has a new
backup, the export folder holds the new files, the report says it all. `renew` when nothing is
due sends nothing to any device and makes no folder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from app import cli
from app.fingerprints import cert_sha256, public_key_sha256
from app.mediant import pins
from app.tls_probe import fetch_served_chain
from app.workspace import Workspace
from tests.conftest import MemoryKeyring
from tests.fakes.mediant_sim import MediantSim
from tests.fakes.ovoc_env import OvocServer, ovoc_server
from tests.fakes.pebble import ChallTestSrv, Pebble
from tests.fakes.sshd import Sshd, TestUser
from tests.fakes.tls_listeners import closed_port

PFX_PASSWORD = "Iis-export-Pass-1"


@dataclass
class Estate:
    """A renewal issued by pebble, exported and deployed to two SBCs and an OVOC."""

    ws: Path
    export: Path
    sims: list[MediantSim]
    ovoc: OvocServer
    sshd: Sshd
    pebble: Pebble

    def sshd_connections(self) -> int:
        return self.sshd.log.read_text(errors="replace").count("Connection from")

    def serves(self) -> dict[str, str]:
        """What each device serves now, by a real handshake."""
        out = {
            f"sbc{n}": fetch_served_chain("127.0.0.1", sim.context_port(1)).leaf_sha256
            for n, sim in enumerate(self.sims, 1)
        }
        out["ovoc"] = fetch_served_chain("127.0.0.1", self.ovoc.https_port).leaf_sha256
        return out


def _main(*args: str | Path) -> int:
    return cli.main([str(a) for a in args])


@pytest.fixture
def estate(
    tmp_path: Path,
    pebble: Pebble,
    challtestsrv: ChallTestSrv,
    pebble_hook: str,
    ssh_user: TestUser,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Estate]:
    root = tmp_path / "renewals"
    ws = root / "star_renew_example_test"
    assert _main("request", ws, "--cn", "*.renew.example.test", "--key", "ec256") == 0
    assert _main("acme", ws, "--directory", pebble.directory, "--ca-bundle", pebble.ca_bundle,
                 "--dns-hook", pebble_hook, "--dns-resolver", challtestsrv.dns) == 0  # fmt: skip
    # pebble (like Let's Encrypt) sends no root; OVOC's import needs it: import it once.
    root_file = tmp_path / "pebble-root.pem"
    root_file.write_bytes(pebble.root_pem(0))
    assert _main("import", ws, ws / "certificate.crt", ws / "chain.crt", root_file) == 0
    export = tmp_path / "for-iis"
    monkeypatch.setenv("PFX_PW", PFX_PASSWORD)
    assert _main("export", ws, "--out", export, "--preset", "windows", "--preset", "audiocodes",
                 "--pfx-password-env", "PFX_PW", "--save-password") == 0  # fmt: skip
    with ExitStack() as stack:
        sims = [stack.enter_context(MediantSim()) for _ in range(2)]
        ovoc = stack.enter_context(ovoc_server(ssh_user))
        ovoc.configure(https_lifetime=300)
        sshd = ovoc.start()
        for sim in sims:
            monkeypatch.setenv("SBC_PW", sim.password)
            fp = fetch_served_chain("127.0.0.1", sim.port).leaf_sha256
            assert _main("deploy-sbc", ws, "--host", sim.host_port, "--user", sim.user,
                         "--password-env", "SBC_PW", "--context", "1", "--fingerprint",
                         f"SHA256:{fp}", "--verify-port", sim.context_port(1),
                         "--save-password") == 0  # fmt: skip
        monkeypatch.setenv("OVOC_PW", ovoc.user.password)
        monkeypatch.setenv("OVOC_ROOT", ovoc.ROOT_PASSWORD)
        profile = tmp_path / "my-ovoc.toml"
        profile.write_text(f'name = "my-ovoc"\nextends = "ovoc-8"\n[upload]\ndirectory = '
                           f'"{ovoc.cert_dir}"\n[verify]\nwait_seconds = 15\n')  # fmt: skip
        assert _main("deploy-ovoc", ws, "--host", "127.0.0.1", "--port", sshd.port, "--user",
                     ovoc.user.name, "--password-env", "OVOC_PW", "--root-password-env",
                     "OVOC_ROOT", "--profile", profile, "--verify-port", ovoc.https_port,
                     "--host-key", ovoc.target(sshd).host_key_pin or "",
                     "--save-password") == 0  # fmt: skip
        for name in ("SBC_PW", "OVOC_PW", "OVOC_ROOT", "PFX_PW"):
            monkeypatch.delenv(name)  # from here on, only the credential store knows them
        yield Estate(ws, export, sims, ovoc, sshd, pebble)


def _new_folders(estate: Estate) -> list[Path]:
    return sorted(p for p in estate.ws.parent.iterdir() if p != estate.ws and p.is_dir())


def test_renew_force_renews_every_device_and_not_due_touches_nothing(
    estate: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    old = Workspace.open(estate.ws).state.leaf_sha256
    assert set(estate.serves().values()) == {old}
    calls_before = [len(s.calls) for s in estate.sims]
    capsys.readouterr()

    # Not due (pebble's certificates last years): nothing sent to any device, no folder.
    connections = [s.connections for s in estate.sims]
    ssh_before = estate.sshd_connections()
    assert _main("renew", estate.ws) == 0
    out = capsys.readouterr().out
    assert "Not due:" in out and "is not due" in out
    assert [s.connections for s in estate.sims] == connections
    assert estate.sshd_connections() == ssh_before
    assert _new_folders(estate) == []

    # Forced: the whole cycle, unattended, passwords from the credential store.
    assert _main("renew", estate.ws, "--force") == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    (new,) = _new_folders(estate)
    successor = Workspace.open(new)
    new_sha = successor.state.leaf_sha256
    assert new_sha and new_sha != old
    assert successor.state.renews == str(estate.ws)
    assert Workspace.open(estate.ws).state.renewed_by == str(new)
    previous = Workspace.open(estate.ws)
    assert successor.state.request.all_sans() == previous.state.request.all_sans()
    assert successor.state.request.key_type is previous.state.request.key_type
    assert public_key_sha256(successor.private_key().public_key()) != public_key_sha256(
        previous.private_key().public_key()
    )  # a new key
    assert set(estate.serves().values()) == {new_sha}, out
    for sim in estate.sims:
        backups = list((new / "backups").glob(f"127.0.0.1_{sim.port}_*.ini"))
        assert len(backups) == 1 and "[ TLSContexts ]" in backups[0].read_text()
    assert (estate.ovoc.cert_dir / "server.crt").read_bytes() == successor.deploy_material(
        with_key=False).cert_pem  # fmt: skip
    # Exported as before: same folder, same presets; the PFX opens with the remembered password.
    pfx = pkcs12.load_pkcs12((estate.export / "star_renew_example_test.pfx").read_bytes(),
                             PFX_PASSWORD.encode())  # fmt: skip
    assert pfx.cert is not None and cert_sha256(pfx.cert.certificate) == new_sha
    crt = x509.load_pem_x509_certificate(
        (estate.export / "star_renew_example_test.crt").read_bytes()
    )
    assert cert_sha256(crt) == new_sha
    # The report: per device old, new and served fingerprint, backup, time.
    report = json.loads((new / "renew-report.json").read_text())
    (renewal,) = report["renewals"]
    assert renewal["status"] == "renewed" and report["ok"] is True
    devices = [s for s in renewal["steps"] if s["kind"] in ("sbc", "ovoc")]
    assert len(devices) == 3
    for d in devices:
        assert (d["ok"], d["old_sha256"], d["new_sha256"], d["served_sha256"]) == (
            True, old, new_sha, new_sha)  # fmt: skip
        assert d["elapsed_s"] > 0
    assert all(d["backup"] for d in devices)
    html = (new / "renew-report.html").read_text()
    assert "Renewed" in html and new_sha in html
    assert [len(s.calls) for s in estate.sims] > calls_before

    # The task runs again the next day, naming the old folder: it follows the lineage.
    connections = [s.connections for s in estate.sims]
    ssh_before = estate.sshd_connections()
    assert _main("renew", estate.ws) == 0
    out = capsys.readouterr()
    assert f"its newest renewal is {new}" in out.err and "is not due" in out.out
    assert [s.connections for s in estate.sims] == connections
    assert estate.sshd_connections() == ssh_before
    assert _new_folders(estate) == [new]
    assert _main("list", "--root", estate.ws.parent) == 0
    listing = capsys.readouterr().out
    assert f"(renewed by {new.name})" in listing and f"(renews {estate.ws.name})" in listing


def test_a_device_presenting_another_certificate_is_skipped_and_reported(
    estate: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    """The pin says which certificate the device's HTTPS presents; another one (a replaced
    device, an interception) is never trusted: skipped, reported, nothing sent; the others go on."""
    bad = estate.sims[1]
    pins.set_pin("127.0.0.1", bad.port, "AB" * 32)  # the device no longer presents this one
    calls = len(bad.calls)
    assert _main("renew", estate.ws, "--force") == 3
    captured = capsys.readouterr()
    (new,) = _new_folders(estate)
    new_sha = Workspace.open(new).state.leaf_sha256
    served = estate.serves()
    assert served["sbc1"] == new_sha and served["ovoc"] == new_sha
    assert served["sbc2"] == Workspace.open(estate.ws).state.leaf_sha256
    assert len(bad.calls) == calls  # not one authenticated call
    assert pins.get_pin("127.0.0.1", bad.port) == ":".join(["AB"] * 32)  # still not trusted
    assert "presents a different certificate" in captured.out
    assert "Nothing was sent" in captured.out
    report = json.loads((new / "renew-report.json").read_text())
    step = next(s for s in report["renewals"][0]["steps"] if s["target"].endswith(str(bad.port)))
    assert step["ok"] is False and step["nothing_sent"] is True
    assert "skipped, nothing sent" in (new / "renew-report.html").read_text()


def test_a_failed_order_deploys_nothing_and_the_next_run_resumes(
    estate: Estate, challtestsrv: ChallTestSrv, capsys: pytest.CaptureFixture[str]
) -> None:
    state_file = estate.ws / "renewal.json"
    state = json.loads(state_file.read_text())
    good = dict(state["acme"]["settings"])
    # The CA is down (nothing listens at its address): no certificate, so nothing to deploy.
    state["acme"]["settings"]["directory"] = f"https://127.0.0.1:{closed_port()}/dir"
    state_file.write_text(json.dumps(state))
    connections = [s.connections for s in estate.sims]
    ssh_before = estate.sshd_connections()
    assert _main("renew", estate.ws, "--force") == 3
    out = capsys.readouterr().out
    assert "FAILED ACME order: Cannot reach the CA at 127.0.0.1" in out
    assert [s.connections for s in estate.sims] == connections
    assert estate.sshd_connections() == ssh_before
    (new,) = _new_folders(estate)
    assert Workspace.open(new).state.stage.value == "requested"  # the CSR is kept
    key_before = (new / "private.key").read_bytes()

    # Fixed; the next run (not forced: an unfinished renewal is always resumed) completes it.
    state = json.loads(state_file.read_text())
    state["acme"]["settings"] = good
    state_file.write_text(json.dumps(state))
    assert _main("renew", estate.ws) == 0, capsys.readouterr().err
    assert _new_folders(estate) == [new]
    assert (new / "private.key").read_bytes() == key_before
    new_sha = Workspace.open(new).state.leaf_sha256
    assert set(estate.serves().values()) == {new_sha}


def test_dry_run_says_what_would_happen_and_changes_nothing(
    estate: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (estate.ws / "renewal.json").read_text()
    connections = [s.connections for s in estate.sims]
    assert _main("renew", estate.ws, "--force", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "Dry run" in out
    for sim in estate.sims:
        assert f"would deploy to SBC 127.0.0.1:{sim.port}" in out
    assert "would deploy to OVOC 127.0.0.1" in out
    assert re.search(r"would export .*pfx.* to .*for-iis", out)
    assert (estate.ws / "renewal.json").read_text() == before
    assert [s.connections for s in estate.sims] == connections
    assert _new_folders(estate) == []


def test_all_renews_each_acme_lineage_once(
    estate: Estate, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # A renewal that did not come by ACME is left alone by --all.
    assert _main("request", estate.ws.parent / "manual", "--cn", "manual.example.test") == 0
    assert _main("renew", "--all", "--root", estate.ws.parent, "--force",
                 "--report", tmp_path / "all.json") == 0  # fmt: skip
    data: dict[str, Any] = json.loads((tmp_path / "all.json").read_text())
    assert [r["status"] for r in data["renewals"]] == ["renewed"]
    assert _main("renew", "--all", "--root", estate.ws.parent) == 0
    assert "Not due" in capsys.readouterr().out
