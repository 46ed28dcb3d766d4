"""The per-device deployment against the simulator: the whole path, then each fault alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from app.fingerprints import cert_sha256
from app.material import DeployMaterial
from app.mediant import pins
from app.mediant.deploy import DeviceTarget, deploy_device
from app.tls_probe import fetch_served_chain
from tests.fakes.mediant_material import FAST, make_material
from tests.fakes.mediant_sim import MediantSim
from tests.pki import TestCA


@pytest.fixture(scope="module")
def material(test_ca: TestCA, tmp_path_factory: pytest.TempPathFactory) -> DeployMaterial:
    return make_material(test_ca, tmp_path_factory.mktemp("mat"))


@pytest.fixture
def sim() -> Iterator[MediantSim]:
    with MediantSim() as s:
        yield s


def web_fp(sim: MediantSim) -> str:
    return fetch_served_chain("127.0.0.1", sim.port).leaf_sha256


def target(sim: MediantSim, **kw: object) -> DeviceTarget:
    base: dict[str, object] = {
        "host": "127.0.0.1",
        "port": sim.port,
        "user": sim.user,
        "password": sim.password,
        "contexts": (1,),
        "verify_ports": (sim.context_port(1),),
        "fingerprint": web_fp(sim),
    }
    base.update(kw)
    return DeviceTarget(**base)  # type: ignore[arg-type]


def uploads(sim: MediantSim) -> list[tuple[str, str]]:
    return [c for c in sim.calls if c[0] in ("PUT", "POST")]


def fps(pems: list[bytes]) -> set[str]:
    return {cert_sha256(x509.load_pem_x509_certificate(p)) for p in pems}


def test_whole_path_installs_saves_and_proves(
    sim: MediantSim, material: DeployMaterial, tmp_path: Path
) -> None:
    steps: list[tuple[str, str]] = []
    lines: list[str] = []
    result = deploy_device(
        target(sim), material, tmp_path, log=lines.append,
        progress=lambda s, st: steps.append((s, st)), timing=FAST,
    )  # fmt: skip
    assert result.ok, result.message
    # The device holds, in flash, our certificate and the whole chain in context 1.
    saved = sim.saved[1]
    assert cert_sha256(x509.load_pem_x509_certificate(saved.cert_pem)) == material.leaf_sha256
    assert fps(saved.trusted) == fps(list(material.ca_pems))
    assert saved.key_matches_cert()
    # The handshake on the context's port shows the new certificate with its intermediate.
    assert result.verifications[0].ok and result.served_sha256 == material.leaf_sha256
    assert result.verifications[0].chain_complete
    # Backup first, named after host and port, holding the device's INI.
    backup = Path(result.backup_path)
    assert backup.name.startswith(f"127.0.0.1_{sim.port}_") and backup.suffix == ".ini"
    assert "[ TLSContexts ]" in backup.read_text()
    order = [c[1] for c in sim.calls]
    assert order.index("/files/ini") < order.index("/files/tls/1/privateKey")
    assert order.index("/files/tls/1/privateKey") < order.index("/files/tls/1/certificate")
    assert order[-1] == "/actions/saveConfiguration" or "/actions/saveConfiguration" in order
    assert ("verify", "done") in steps and ("reset", "skipped") in steps
    assert result.identity is not None and result.identity.product == "Mediant 800"
    assert pins.get_pin("127.0.0.1", sim.port) == web_fp(sim)  # trusted once, pinned
    assert not any("PRIVATE KEY" in line for line in lines)


def test_trusted_roots_already_present_are_skipped(
    sim: MediantSim, material: DeployMaterial, tmp_path: Path
) -> None:
    assert deploy_device(target(sim), material, tmp_path, timing=FAST).ok
    sim.calls.clear()
    again = deploy_device(target(sim, fingerprint=None), material, tmp_path, timing=FAST)
    assert again.ok, again.message
    assert not [c for c in sim.calls if c[1].endswith("/incremental")]
    assert len(sim.saved[1].trusted) == 2


def test_digest_device(material: DeployMaterial, tmp_path: Path) -> None:
    with MediantSim(auth="digest") as sim:
        result = deploy_device(target(sim), material, tmp_path, timing=FAST)
        assert result.ok, result.message
        assert sim.saved[1].key_matches_cert()


def test_first_contact_shows_certificate_and_sends_no_password(
    sim: MediantSim, material: DeployMaterial, tmp_path: Path
) -> None:
    result = deploy_device(target(sim, fingerprint=None), material, tmp_path, timing=FAST)
    assert not result.ok and result.step == "identify"
    assert web_fp(sim) in result.message and f"ACL_{sim.serial}" in result.message
    assert "--fingerprint SHA256:" in result.hint
    assert sim.calls == [] and result.backup_path == ""


def test_changed_device_certificate_is_refused(
    sim: MediantSim, material: DeployMaterial, tmp_path: Path
) -> None:
    pins.set_pin("127.0.0.1", sim.port, "AB" * 32)
    result = deploy_device(target(sim, fingerprint=None), material, tmp_path, timing=FAST)
    assert not result.ok and "different certificate" in result.message
    assert sim.calls == []


def test_wrong_password(sim: MediantSim, material: DeployMaterial, tmp_path: Path) -> None:
    result = deploy_device(target(sim, password="nope"), material, tmp_path, timing=FAST)
    assert not result.ok and result.step == "identify"
    assert "refused the user 'Admin'" in result.message
    assert "Nothing was changed" in result.hint
    assert uploads(sim) == []


def test_weak_user_gets_403_before_anything_changes(
    sim: MediantSim, material: DeployMaterial, tmp_path: Path
) -> None:
    weak, pw = sim.weak_user
    backups = tmp_path / "backups"
    result = deploy_device(target(sim, user=weak, password=pw), material, backups, timing=FAST)
    assert not result.ok and result.step == "backup"
    assert "Administrator" in result.hint and "403" in result.message
    assert uploads(sim) == [] and not backups.exists()


def test_failed_backup_means_no_upload(
    sim: MediantSim, material: DeployMaterial, tmp_path: Path
) -> None:
    before = sim.saved[1].cert_pem
    sim.fail("/files/ini", 500)
    result = deploy_device(target(sim), material, tmp_path, timing=FAST)
    assert not result.ok and result.step == "backup"
    assert "500" in result.message and "Nothing was changed" in result.hint
    assert uploads(sim) == [] and sim.running[1].cert_pem == before


def test_busy_ha_pair_is_retried(sim: MediantSim, material: DeployMaterial, tmp_path: Path) -> None:
    sim.fail("/actions/saveConfiguration", 409, times=2)
    result = deploy_device(target(sim), material, tmp_path, timing=FAST)
    assert result.ok, result.message
    assert sim.saves == 1


def test_busy_forever_fails_with_reason_and_backup(
    sim: MediantSim, material: DeployMaterial, tmp_path: Path
) -> None:
    saved_before = sim.saved[1].cert_pem
    sim.fail("/actions/saveConfiguration", 409, times=100)
    result = deploy_device(target(sim), material, tmp_path, timing=FAST)
    assert not result.ok and result.step == "save"
    assert "409" in result.message and "4 tries" in result.message
    assert "HA pair" in result.hint and result.backup_path in result.hint
    assert "not saved" in result.hint
    assert sim.saved[1].cert_pem == saved_before  # flash untouched


def test_server_error_on_certificate(
    sim: MediantSim, material: DeployMaterial, tmp_path: Path
) -> None:
    sim.fail("/files/tls/1/certificate", 500, method="PUT")
    result = deploy_device(target(sim), material, tmp_path, timing=FAST)
    assert not result.ok and result.step == "certificate"
    assert "answered 500 to PUT /api/v1/files/tls/1/certificate: Internal server error" in (
        result.message
    )
    assert Path(result.backup_path).exists() and sim.saves == 0


def test_dropped_connection_is_retried(
    sim: MediantSim, material: DeployMaterial, tmp_path: Path
) -> None:
    sim.drop("/files/tls/1/certificate", times=1)
    result = deploy_device(target(sim), material, tmp_path, timing=FAST)
    assert result.ok, result.message


def test_connection_dropped_every_time(
    sim: MediantSim, material: DeployMaterial, tmp_path: Path
) -> None:
    sim.drop("/files/tls/1/privateKey", times=100)
    result = deploy_device(target(sim), material, tmp_path, timing=FAST)
    assert not result.ok and result.step == "key"
    assert "dropped the connection" in result.message and "3 times" in result.message


def test_slow_device_times_out(material: DeployMaterial, tmp_path: Path) -> None:
    with MediantSim(delay=0.4) as sim:
        fast = FAST.__class__(**{**FAST.__dict__, "timeout": 0.1, "drop_retries": 0})
        result = deploy_device(target(sim), material, tmp_path, timing=fast)
        assert not result.ok and result.step == "identify" and "timed out" in result.message


def test_firmware_without_rest(material: DeployMaterial, tmp_path: Path) -> None:
    with MediantSim(rest_api=False, firmware="6.60A.300.001") as sim:
        result = deploy_device(target(sim), material, tmp_path, timing=FAST)
        assert not result.ok and result.step == "identify"
        assert "no REST API" in result.message and "manual steps" in result.hint


def test_old_firmware_with_status_is_refused(material: DeployMaterial, tmp_path: Path) -> None:
    with MediantSim(firmware="7.00A.100.001") as sim:
        result = deploy_device(target(sim), material, tmp_path, timing=FAST)
        assert not result.ok and "7.00A.100.001" in result.message
        assert uploads(sim) == []


def test_unknown_context_lists_the_device_contexts(
    sim: MediantSim, material: DeployMaterial, tmp_path: Path
) -> None:
    result = deploy_device(target(sim, contexts=(5,)), material, tmp_path, timing=FAST)
    assert not result.ok and result.step == "backup"
    assert "0 (default), 1 (SIP-Teams)" in result.message
    assert uploads(sim) == []


def test_certificate_of_another_key_is_caught_before_contact(
    sim: MediantSim, material: DeployMaterial, other_ca: TestCA, tmp_path: Path
) -> None:
    other = make_material(other_ca, tmp_path / "other")
    wrong = DeployMaterial(
        name=material.name, cert_pem=other.cert_pem, intermediates_pem=other.intermediates_pem,
        root_pem=other.root_pem, leaf_sha256=other.leaf_sha256, key_pem=material.key_pem,
    )  # fmt: skip
    result = deploy_device(target(sim), wrong, tmp_path, timing=FAST)
    assert not result.ok and result.step == "check" and "does not belong" in result.message
    assert sim.calls == []


def test_web_context_needs_reset_and_then_serves_new_cert(
    sim: MediantSim, material: DeployMaterial, tmp_path: Path
) -> None:
    no_reset = deploy_device(target(sim, contexts=(0,), verify_ports=()), material, tmp_path,
                             timing=FAST)  # fmt: skip
    assert not no_reset.ok and no_reset.step == "verify"
    assert "still serves another certificate" in no_reset.message and "reset" in no_reset.hint
    assert "saved" in no_reset.hint

    result = deploy_device(
        target(sim, contexts=(0,), verify_ports=(), reset=True, fingerprint=None),
        material, tmp_path, timing=FAST,
    )  # fmt: skip
    assert result.ok, result.message
    assert sim.resets == 1 and web_fp(sim) == material.leaf_sha256
    assert pins.get_pin("127.0.0.1", sim.port) == material.leaf_sha256  # re-pinned to ours
