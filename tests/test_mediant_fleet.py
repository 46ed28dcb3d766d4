"""Many devices at once, the workspace glue and the CLI, all against simulated devices."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from app import cli
from app.ca_response import Source
from app.material import DeployMaterial
from app.mediant import pins
from app.mediant.deploy import DeviceTarget
from app.mediant.fleet import DeviceProgress, deploy_fleet
from app.tls_probe import fetch_served_chain
from app.workspace import Workspace
from tests.conftest import TEST_PASSPHRASE
from tests.fakes.mediant_material import FAST, make_material
from tests.fakes.mediant_sim import MediantSim
from tests.helpers import issued
from tests.pki import TestCA


@pytest.fixture(scope="module")
def material(test_ca: TestCA, tmp_path_factory: pytest.TempPathFactory) -> DeployMaterial:
    return make_material(test_ca, tmp_path_factory.mktemp("mat"))


@pytest.fixture
def sims() -> Iterator[list[MediantSim]]:
    with ExitStack() as stack:
        yield [stack.enter_context(MediantSim(delay=0.02)) for _ in range(4)]


def target_for(sim: MediantSim, **kw: object) -> DeviceTarget:
    base: dict[str, object] = {
        "host": "127.0.0.1", "port": sim.port, "user": sim.user, "password": sim.password,
        "contexts": (1,), "verify_ports": (sim.context_port(1),),
        "fingerprint": fetch_served_chain("127.0.0.1", sim.port).leaf_sha256,
        "name": f"sbc-{sim.port}",
    }  # fmt: skip
    base.update(kw)
    return DeviceTarget(**base)  # type: ignore[arg-type]


def test_one_failing_device_does_not_stop_the_others(
    sims: list[MediantSim], material: DeployMaterial, tmp_path: Path
) -> None:
    sims[2].fail("/files/tls/1/certificate", 500, method="PUT")
    rows: list[DeviceProgress] = []
    targets = [target_for(s) for s in sims]
    report = deploy_fleet(targets, material, tmp_path, parallel=4, progress=rows.append,
                          timing=FAST)  # fmt: skip
    assert [r.ok for r in report.results] == [True, True, False, True]
    assert not report.ok and report.failed[0].label == targets[2].label
    for sim, r in zip(sims, report.results, strict=True):
        if r.ok:
            assert r.served_sha256 == material.leaf_sha256 and sim.saves == 1
            assert Path(r.backup_path).exists()
    assert sims[2].saves == 0  # the failing one was not saved half-done
    # Every device has its own rows, with a step, a status and a growing elapsed time.
    for t in targets:
        mine = [r for r in rows if r.label == t.label]
        assert {r.step for r in mine} >= {"identify", "backup", "certificate"}
        assert all(b.elapsed >= a.elapsed for a, b in itertools.pairwise(mine))
    assert rows[-1].status in ("finished", "failed")
    json_path, text_path = report.save(tmp_path / "out")
    data = json.loads(json_path.read_text())
    assert [d["ok"] for d in data["devices"]] == [True, True, False, True]
    assert data["devices"][0]["served_sha256"] == material.leaf_sha256
    assert data["devices"][0]["contexts"] == ["1 (SIP-Teams)"]
    text = text_path.read_text()
    assert "3 of 4 device(s) done" in text and "failed at certificate" in text
    assert sims[0].password not in text + json_path.read_text()


def test_parallel_is_faster_than_serial(material: DeployMaterial, tmp_path: Path) -> None:
    with ExitStack() as stack:
        devices = [stack.enter_context(MediantSim(delay=0.05)) for _ in range(6)]
        targets = [target_for(s) for s in devices]
        serial = deploy_fleet(targets[:1], material, tmp_path, timing=FAST)
        parallel = deploy_fleet(targets, material, tmp_path, parallel=6, timing=FAST)
    assert parallel.ok, parallel.text()
    assert parallel.elapsed < 3 * serial.elapsed  # six devices, not six times the time


@pytest.fixture
def workspace(tmp_path: Path, test_ca: TestCA) -> Workspace:
    ws, leaf = issued(tmp_path, test_ca)
    ws.import_response([Source(leaf.name, leaf.read_bytes() + test_ca.inter_pem, None)])
    return ws


def test_cli_deploys_one_device_and_remembers_it(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with MediantSim() as sim:
        monkeypatch.setenv("SBC_PW", sim.password)
        fp = fetch_served_chain("127.0.0.1", sim.port).leaf_sha256
        code = cli.main([
            "deploy-sbc", str(workspace.path), "--host", sim.host_port, "--user", sim.user,
            "--password-env", "SBC_PW", "--context", "1", "--fingerprint", f"SHA256:{fp}",
            "--verify-port", str(sim.context_port(1)),
        ])  # fmt: skip
        out = capsys.readouterr()
        assert code == 0, out.err
        assert "installed in context 1 (SIP-Teams) and saved" in out.out
        leaf = workspace.deploy_material().leaf_sha256
        assert fetch_served_chain("127.0.0.1", sim.context_port(1)).leaf_sha256 == leaf
        assert list(workspace.backups_dir.glob("127.0.0.1_*.ini"))
        from app.mediant.devices import load_devices

        assert [(d.port, d.contexts) for d in load_devices()] == [(sim.port, (1,))]
        assert pins.get_pin("127.0.0.1", sim.port) == fp
        assert Workspace.open(workspace.path).state.deployments[-1]["ok"] is True

        code = cli.main(["verify", f"127.0.0.1:{sim.context_port(1)}", "--expect",
                         str(workspace.path)])  # fmt: skip
        assert code == 0 and "with its complete chain" in capsys.readouterr().out
        code = cli.main(["verify", sim.host_port, "--expect", str(workspace.path)])
        assert code == 1 and "still serves another certificate" in capsys.readouterr().out


def test_cli_untrusted_device_prints_fingerprint_in_one_line(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with MediantSim() as sim:
        monkeypatch.setenv("SBC_PW", sim.password)
        code = cli.main([
            "deploy-sbc", str(workspace.path), "--host", sim.host_port, "--user", sim.user,
            "--password-env", "SBC_PW", "--context", "1",
        ])  # fmt: skip
        err = capsys.readouterr().err
        assert code != 0 and "Traceback" not in err
        assert fetch_served_chain("127.0.0.1", sim.port).leaf_sha256 in err
        assert "--fingerprint SHA256:" in err and sim.calls == []


def test_cli_devices_file_deploys_to_all(
    workspace: Workspace,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    with ExitStack() as stack:
        devices = [stack.enter_context(MediantSim()) for _ in range(3)]
        monkeypatch.setenv("SBC_PW", devices[0].password)
        entries = [
            {"host": d.host_port, "name": f"sbc{i}", "user": d.user, "context": 1,
             "verify_ports": [d.context_port(1)], "password_env": "SBC_PW",
             "fingerprint": fetch_served_chain("127.0.0.1", d.port).leaf_sha256}
            for i, d in enumerate(devices)
        ]  # fmt: skip
        devices_file = tmp_path / "estate.json"
        devices_file.write_text(json.dumps({"devices": entries}))
        code = cli.main(["deploy-sbc", str(workspace.path), "--devices", str(devices_file)])
        out = capsys.readouterr()
        assert code == 0, out.out + out.err
        assert "3 of 3 device(s) done" in out.out
        assert {line.split()[0] for line in out.err.splitlines() if "verify" in line} == {
            "sbc0", "sbc1", "sbc2"
        }  # fmt: skip
        reports = list(workspace.path.glob("deploy-*.json"))
        assert len(reports) == 1 and json.loads(reports[0].read_text())["ok"] is True
        assert len(list(workspace.backups_dir.glob("*.ini"))) == 3


def test_devices_file_with_a_password_is_refused(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "estate.json"
    f.write_text(json.dumps({"devices": [{"host": "sbc1", "password": "secret1"}]}))
    assert cli.main(["deploy-sbc", str(workspace.path), "--devices", str(f)]) != 0
    assert "never hold one" in capsys.readouterr().err


def test_saved_password_is_used_from_the_credential_store(
    workspace: Workspace,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    memory_keyring: object,
) -> None:
    monkeypatch.setenv("ACCERT_PASSPHRASE", TEST_PASSPHRASE)  # the renewal's key, made before
    with MediantSim() as sim:
        monkeypatch.setenv("SBC_PW", sim.password)
        fp = fetch_served_chain("127.0.0.1", sim.port).leaf_sha256
        base = ["deploy-sbc", str(workspace.path), "--host", sim.host_port, "--user", sim.user,
                "--context", "1", "--verify-port", str(sim.context_port(1))]  # fmt: skip
        assert cli.main([*base, "--password-env", "SBC_PW", "--fingerprint", fp,
                         "--save-password"]) == 0  # fmt: skip
        monkeypatch.delenv("SBC_PW")
        monkeypatch.setattr("sys.stdin", None)  # no terminal: the store must answer
        assert cli.main(base) == 0, capsys.readouterr().err
        assert sim.saves == 2
        log = (workspace.path / "log.jsonl").read_text()
        assert "backup done" in log and sim.password not in log


def test_device_without_rest_api_gets_manual_steps_and_files(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with MediantSim(rest_api=False) as sim:
        monkeypatch.setenv("SBC_PW", sim.password)
        fp = fetch_served_chain("127.0.0.1", sim.port).leaf_sha256
        code = cli.main([
            "deploy-sbc", str(workspace.path), "--host", sim.host_port, "--user", sim.user,
            "--password-env", "SBC_PW", "--context", "0", "--fingerprint", fp,
        ])  # fmt: skip
        err = capsys.readouterr().err
        assert code != 0 and "no REST API" in err
        folder = workspace.path / "manual-127.0.0.1"
        certs = sorted(p.name for p in folder.iterdir())
        assert certs == [f"{workspace.stem}-ca1.crt.pem", f"{workspace.stem}.crt.pem"]
        assert "Configuration > System > Certificates" in err and "--preset audiocodes" in err
        assert not list(folder.glob("*.key.pem"))  # no unencrypted key written unasked


def test_cli_lists_a_devices_tls_contexts_and_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with MediantSim() as sim:
        monkeypatch.setenv("SBC_PW", sim.password)
        fp = fetch_served_chain("127.0.0.1", sim.port).leaf_sha256
        code = cli.main([
            "sbc-contexts", "--host", sim.host_port, "--user", sim.user,
            "--password-env", "SBC_PW", "--fingerprint", f"SHA256:{fp}",
        ])  # fmt: skip
        out = capsys.readouterr()
        assert code == 0, out.err
        assert out.out == "0\tdefault\n1\tSIP-Teams\n"
        assert "Mediant 800, firmware 7.40A.250.003" in out.err
        assert sim.saves == 0 and {m for m, _p in sim.calls} == {"GET"}
        monkeypatch.setenv("SBC_PW", "wrong")
        code = cli.main(["sbc-contexts", "--host", sim.host_port, "--password-env", "SBC_PW"])
        err = capsys.readouterr().err
        assert code != 0 and "Traceback" not in err and "error:" in err
