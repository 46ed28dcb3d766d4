"""What `accert renew` will repeat, read from what export and the deployments recorded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app import cli
from app.ca_response import Source
from app.errors import WorkspaceError
from app.mediant.deploy import DeviceTarget
from app.mediant.glue import deploy_to_device, deploy_to_devices
from app.renewal import credentials
from app.renewal.lineage import newest
from app.renewal.plan import plan_for
from app.tls_probe import fetch_served_chain
from app.workspace import STATE_FILE, Workspace
from tests.fakes.mediant_material import FAST
from tests.fakes.mediant_sim import MediantSim
from tests.helpers import issued
from tests.pki import TestCA


@pytest.fixture
def workspace(tmp_path: Path, test_ca: TestCA) -> Workspace:
    ws, leaf = issued(tmp_path, test_ca)
    ws.import_response([Source(leaf.name, leaf.read_bytes() + test_ca.inter_pem, None)])
    return ws


def _target(sim: MediantSim, **kw: Any) -> DeviceTarget:
    values: dict[str, Any] = {
        "host": "127.0.0.1", "port": sim.port, "user": sim.user, "password": sim.password,
        "contexts": (1,), "verify_ports": (sim.context_port(1),),
        "fingerprint": fetch_served_chain("127.0.0.1", sim.port).leaf_sha256,
        "name": f"sbc-{sim.port}",
    }  # fmt: skip
    values.update(kw)
    return DeviceTarget(**values)


def test_plan_repeats_the_last_export_and_every_successful_device(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PFX_PW", "Export-pass-1")
    out = tmp_path / "for-iis"
    assert cli.main(["export", str(workspace.path), "--out", str(tmp_path / "first")]) == 0
    assert cli.main(["export", str(workspace.path), "--out", str(out), "--preset", "windows",
                     "--preset", "audiocodes", "--pfx-password-env", "PFX_PW"]) == 0  # fmt: skip
    workspace = Workspace.open(workspace.path)  # as the wizard does after the CLI wrote
    with MediantSim() as one, MediantSim() as two, MediantSim(rest_api=False) as old:
        deploy_to_device(workspace, _target(one), timing=FAST)
        deploy_to_devices(
            workspace, [_target(two, reset=True), _target(old, fingerprint=None)], timing=FAST
        )
    plan = plan_for(Workspace.open(workspace.path))
    assert plan.export is not None
    assert Path(plan.export.folder) == out
    assert set(plan.export.artifacts) == {"pfx", "key", "cert", "chain", "fullchain", "root"}
    assert plan.export.needs_password
    assert [(s.port, s.contexts, s.verify_ports, s.reset, s.name) for s in plan.sbcs] == [
        (one.port, (1,), (one.context_port(1),), False, f"sbc-{one.port}"),
        (two.port, (1,), (two.context_port(1),), True, f"sbc-{two.port}"),
    ]  # the device that failed (no REST API) is not repeated
    state = json.loads((workspace.path / STATE_FILE).read_text())
    assert "Admin-pass-1" not in json.dumps(state)  # settings, never passwords


def test_records_without_settings_are_listed_as_not_repeated(workspace: Workspace) -> None:
    workspace.record_deployment({"kind": "mediant", "device": "sbc9:443", "ok": True})
    plan = plan_for(workspace)
    assert plan.sbcs == ()
    assert any("sbc9:443" in s and "deploy the new renewal there once" in s for s in plan.skipped)


def test_a_device_made_key_cannot_be_renewed_unattended(tmp_path: Path) -> None:
    from app.request import RequestSpec, Subject
    from tests.helpers import other_csr

    ws = Workspace.create(RequestSpec(Subject("*.example.com")), tmp_path / "dev")
    ws.adopt_device_csr(other_csr(tmp_path), "sbc1")
    with pytest.raises(WorkspaceError, match="made on a device"):
        plan_for(ws)


def test_lineage_is_followed_and_listed(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.helpers import requested

    second = requested(tmp_path, name="second")
    third = requested(tmp_path, name="third")
    workspace.set_lineage(renewed_by=str(second.path))
    second.set_lineage(renews=str(workspace.path), renewed_by=str(third.path))
    # third says it renews second, but second's forward link was lost... no: here it is kept;
    # an orphan (forward link missing) is found by its backward link.
    third.set_lineage(renews=str(second.path))
    assert newest(workspace).workspace.path == third.path
    second.set_lineage(renewed_by="")
    assert newest(Workspace.open(workspace.path)).workspace.path == third.path
    assert Workspace.open(second.path).state.renewed_by == str(third.path)  # repaired
    assert cli.main(["list", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"(renewed by {second.path.name})" in out and f"(renews {second.path.name})" in out
    assert cli.main(["show", str(second.path)]) == 0
    out = capsys.readouterr().out
    assert f"Renews:   {workspace.path}" in out and f"Renewed:  by {third.path}" in out


def test_unattended_passwords_come_from_env_or_the_credential_store(
    memory_keyring: Any, monkeypatch: pytest.MonkeyPatch, workspace: Workspace, tmp_path: Path
) -> None:
    none = credentials.PasswordSources()
    with pytest.raises(Exception, match="No password for Admin@sbc1:443"):
        credentials.device_password("sbc1", 443, "Admin", none)
    from app.mediant.devices import SavedDevice, store_device_password

    store_device_password(SavedDevice("sbc1", 443, "Admin"), "kept-in-store")
    assert credentials.device_password("sbc1", 443, "Admin", none) == "kept-in-store"
    monkeypatch.setenv("SBC_PW", "from-env")
    env = credentials.PasswordSources(device_env="SBC_PW")
    assert credentials.device_password("sbc1", 443, "Admin", env) == "from-env"
    # accert export --save-password keeps the PFX password per export folder.
    monkeypatch.setenv("PFX_PW", "Export-pass-1")
    out = tmp_path / "iis"
    assert cli.main(["export", str(workspace.path), "--out", str(out), "--preset", "windows",
                     "--pfx-password-env", "PFX_PW", "--save-password"]) == 0  # fmt: skip
    assert credentials.export_password(str(out), none) == "Export-pass-1"
    with pytest.raises(Exception, match="No root password for OVOC ovoc1"):
        credentials.ovoc_root_password("ovoc1", 22, none)


def test_platform_settings_are_repeated_and_survive_the_run_record(workspace: Workspace) -> None:
    import json as _json

    from app.renewal.plan import RenewalPlan

    workspace.record_deployment({
        "kind": "mediant", "ok": True, "device": "sbc1:443",
        "settings": {"host": "sbc1", "port": 443, "contexts": [1], "platforms": {"1": "teams"},
                     "add_platform_roots": True, "fqdn": "sbc1.example.com"},
    })  # fmt: skip
    plan = plan_for(workspace)
    (sbc,) = plan.sbcs
    assert (sbc.platforms, sbc.add_platform_roots, sbc.fqdn) == (
        ((1, "teams"),), True, "sbc1.example.com")  # fmt: skip
    again = RenewalPlan.from_dict(_json.loads(_json.dumps(plan.to_dict())))
    assert again == plan
