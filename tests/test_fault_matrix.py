"""Faults on the wire, as one matrix, through the renewal workspace as the wizard and CLI use it.

Each fault of the device and OVOC simulators (timeouts, connections reset mid-upload, 409
storms, wrong credentials, a changed device certificate or SSH host key, menus that drop or
change) must end in its clear message; the device/OVOC must then be in the state that message
describes; and the renewal's log and deployment record must tell the same story.

The single faults are tested against the deploy functions in test_mediant_deploy.py and
test_ovoc_deploy.py; this file checks the three-way agreement (message, device, log).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko
import pytest
from cryptography import x509

from app.ca_response import Source
from app.errors import AccertError
from app.fingerprints import cert_sha256
from app.mediant import pins
from app.mediant.deploy import DeviceTarget
from app.mediant.glue import deploy_to_device
from app.ovoc.console import ConsoleTimeouts
from app.ovoc.deploy import OvocTarget
from app.ovoc.glue import deploy_workspace_to_ovoc
from app.ovoc.ssh import known_hosts_path
from app.tls_probe import fetch_served_chain
from app.workspace import Workspace
from tests.fakes.mediant_material import FAST
from tests.fakes.mediant_sim import MediantSim
from tests.fakes.ovoc_env import OvocServer
from tests.helpers import issued
from tests.pki import TestCA


@pytest.fixture
def workspace(tmp_path: Path, test_ca: TestCA) -> Workspace:
    ws, leaf = issued(tmp_path, test_ca)
    ws.import_response(
        [Source(leaf.name, leaf.read_bytes() + test_ca.inter_pem + test_ca.root_pem)]
    )
    return ws


def _record(ws: Workspace) -> dict[str, Any]:
    deployments = Workspace.open(ws.path).state.deployments
    assert deployments, "the deployment was not recorded in the renewal"
    return dict(deployments[-1])


def _log_text(ws: Workspace, kind: str) -> str:
    return "\n".join(str(e) for e in Workspace.open(ws.path).read_log() if e["event"] == kind)


# --- Mediant devices ------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceFault:
    name: str
    arrange: Callable[[MediantSim], dict[str, Any]]  # sets the fault; returns target changes
    ok: bool
    step: str  # the step the record names ("done" when it worked)
    says: str  # in the message
    running_new: bool  # the running configuration holds the new certificate
    saved_new: bool  # the saved configuration (kept across a reset) holds it
    uploaded: bool  # whether anything was sent at all
    sim_options: tuple[tuple[str, Any], ...] = ()
    timing: tuple[tuple[str, Any], ...] = ()


def _pin_other(sim: MediantSim) -> dict[str, Any]:
    pins.set_pin("127.0.0.1", sim.port, "AB" * 32)  # remembered from an earlier visit
    return {"fingerprint": None}


DEVICE_FAULTS = [
    DeviceFault("device times out", lambda s: {}, False, "identify", "timed out",
                running_new=False, saved_new=False, uploaded=False,
                sim_options=(("delay", 0.4),), timing=(("timeout", 0.1), ("drop_retries", 0))),
    DeviceFault("wrong password", lambda s: {"password": "nope"}, False, "identify",
                "refused the user", running_new=False, saved_new=False, uploaded=False),
    DeviceFault("device certificate changed", _pin_other, False, "identify",
                "different certificate", running_new=False, saved_new=False, uploaded=False),
    DeviceFault("reset once mid-upload", lambda s: s.drop("/files/tls/1/certificate") or {},
                True, "done", "", running_new=True, saved_new=True, uploaded=True),
    DeviceFault("reset on every upload",
                lambda s: s.drop("/files/tls/1/certificate", times=100) or {},
                False, "certificate", "dropped the connection",
                running_new=False, saved_new=False, uploaded=True),
    DeviceFault("short 409 storm on save",
                lambda s: s.fail("/actions/saveConfiguration", 409, times=2) or {},
                True, "done", "", running_new=True, saved_new=True, uploaded=True),
    DeviceFault("endless 409 storm on save",
                lambda s: s.fail("/actions/saveConfiguration", 409, times=100) or {},
                False, "save", "409", running_new=True, saved_new=False, uploaded=True),
    DeviceFault("server error on the certificate",
                lambda s: s.fail("/files/tls/1/certificate", 500, method="PUT") or {},
                False, "certificate", "answered 500", running_new=False, saved_new=False,
                uploaded=True),
]  # fmt: skip


@pytest.mark.parametrize("fault", DEVICE_FAULTS, ids=lambda f: f.name)
def test_device_fault_matrix(workspace: Workspace, fault: DeviceFault) -> None:
    material = workspace.deploy_material()
    with MediantSim(**dict(fault.sim_options)) as sim:
        old_saved = cert_sha256(x509.load_pem_x509_certificate(sim.saved[1].cert_pem))
        target_values: dict[str, Any] = {
            "host": "127.0.0.1", "port": sim.port, "user": sim.user, "password": sim.password,
            "contexts": (1,), "verify_ports": (sim.context_port(1),),
            "fingerprint": fetch_served_chain("127.0.0.1", sim.port).leaf_sha256,
        }  # fmt: skip
        target_values.update(fault.arrange(sim))
        timing = dataclasses.replace(FAST, **dict(fault.timing))
        result = deploy_to_device(workspace, DeviceTarget(**target_values), timing=timing)
        # 1. The message.
        assert result.ok is fault.ok, result.message
        assert result.step == fault.step, (result.step, result.message)
        assert fault.says in result.message
        if not fault.ok:
            assert result.hint, "a failure says what to do"
        # 2. The device is in the state the message describes.
        running = cert_sha256(x509.load_pem_x509_certificate(sim.running[1].cert_pem))
        assert (running == material.leaf_sha256) is fault.running_new
        saved = cert_sha256(x509.load_pem_x509_certificate(sim.saved[1].cert_pem))
        assert (saved == material.leaf_sha256) is fault.saved_new
        # What SIP clients see on the context's port (the simulator serves what is saved).
        served = fetch_served_chain("127.0.0.1", sim.context_port(1)).leaf_sha256
        assert served == saved
        if not fault.saved_new:
            assert saved == old_saved, "the flash holds the old certificate, untouched"
        sent = [c for c in sim.calls if c[0] in ("PUT", "POST")]
        assert bool(sent) is fault.uploaded, sent
        if "Nothing was changed" in result.hint:
            assert not sent
        if "reached the running configuration but were not saved" in result.hint:
            # The key (at least) is in the running configuration, the flash is untouched.
            assert sim.running[1].key_pem != sim.saved[1].key_pem and not fault.saved_new
        if fault.uploaded and not fault.ok:
            assert result.backup_path and Path(result.backup_path).exists()
            assert result.backup_path in result.hint or result.step == "certificate"
    # 3. The renewal's record and log tell the same story.
    record = _record(workspace)
    assert record["kind"] == "mediant" and record["ok"] is fault.ok
    assert fault.says in str(record)
    log = _log_text(workspace, "mediant")
    assert log, "the steps were logged"
    if fault.uploaded:
        assert "backup" in log.lower()
    assert sim.password not in log and "PRIVATE KEY-----" not in log


# --- OVOC -----------------------------------------------------------------------------------

FAST_CONSOLE = ConsoleTimeouts(prompt=5.0, import_run=30.0, leave=2.0)


@dataclass(frozen=True)
class OvocFault:
    name: str
    console_fault: str  # the simulator's fault mode
    ssh: tuple[tuple[str, Any], ...]  # SSH target changes
    deploy: tuple[tuple[str, Any], ...]  # OvocTarget changes
    says: str
    files_sent: bool  # the certificate files reached the appliance


OVOC_FAULTS = [
    OvocFault("wrong SSH password", "", (("password", "nope"),), (), "refused the SSH login",
              files_sent=False),
    OvocFault("wrong root password", "", (), (("root_password", "wrong-root"),),
              "root password was refused", files_sent=False),
    OvocFault("host key changed", "changed-host-key", (), (), "nothing was sent",
              files_sent=False),
    OvocFault("session dropped in the menu", "drop_in_menu", (), (), "dropped",
              files_sent=True),
    OvocFault("session dropped during the import", "drop_in_import", (), (), "dropped",
              files_sent=True),
    OvocFault("menu text changed", "unexpected_menu", (), (), "no entry matching",
              files_sent=True),
]  # fmt: skip


@pytest.mark.parametrize("fault", OVOC_FAULTS, ids=lambda f: f.name)
def test_ovoc_fault_matrix(ovoc: OvocServer, workspace: Workspace, fault: OvocFault) -> None:
    if fault.console_fault and fault.console_fault != "changed-host-key":
        ovoc.configure(fault=fault.console_fault)
    server = ovoc.start()
    if fault.console_fault == "changed-host-key":
        old = paramiko.ECDSAKey.generate()
        known_hosts_path().write_text(
            f"[127.0.0.1]:{server.port} {old.get_name()} {old.get_base64()}\n"
        )
    target = OvocTarget(
        ovoc.target(server, **dict(fault.ssh)),
        **{"root_password": ovoc.ROOT_PASSWORD, "verify_interval": 0.2, **dict(fault.deploy)},
    )
    if fault.console_fault == "changed-host-key":
        target = dataclasses.replace(target, ssh=dataclasses.replace(target.ssh, host_key_pin=None))
    # 1. The message.
    with pytest.raises(AccertError) as info:
        deploy_workspace_to_ovoc(workspace, target, ovoc.profile, timeouts=FAST_CONSOLE)
    message = str(info.value)
    assert fault.says in message
    assert info.value.hint, "a failure says what to do"
    # 2. The appliance is in the state the message describes.
    material = workspace.deploy_material()
    placed = ovoc.cert_dir / ovoc.profile.server_certificate
    assert (placed.exists() and placed.read_bytes() == material.cert_pem) is fault.files_sent
    assert not any((ovoc.state / name).exists() for name in ("server.jks", "server.p12")), (
        "no keystore was built"
    )
    if "nothing was sent" in message.lower():
        assert not placed.exists() and not ovoc.cert_dir.exists()
    if "Nothing was reported as imported" in info.value.hint:
        assert "generated successfully" not in _log_text(workspace, "ovoc.transcript")
    # 3. The renewal's record and log tell the same story.
    record = _record(workspace)
    assert record["kind"] == "ovoc" and record["ok"] is False
    assert record["error"] == info.value.message
    log = _log_text(workspace, "ovoc") + _log_text(workspace, "ovoc.transcript")
    if fault.files_sent:
        assert ovoc.profile.server_certificate in log, "the upload is in the log"
    assert ovoc.ROOT_PASSWORD not in log and ovoc.user.password not in log
