"""The small parts: INI table, pins, device list, on-device CSR, manual steps, system trust."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from app.errors import InputError
from app.fingerprints import cert_sha256
from app.material import DeployMaterial
from app.mediant import pins
from app.mediant.client import MediantClient, parse_firmware
from app.mediant.deploy import DeviceTarget, deploy_device
from app.mediant.device_csr import DeviceCsrSubject, request_device_csr
from app.mediant.devices import (
    SavedDevice,
    load_device_password,
    load_devices,
    parse_host_port,
    remember_device,
    store_device_password,
)
from app.mediant.errors import DeviceUntrusted
from app.mediant.ini import looks_like_ini, parse_tls_contexts
from app.mediant.manual import manual_steps, write_manual_files
from app.tls_probe import fetch_served_chain
from tests.conftest import MemoryKeyring
from tests.fakes.mediant_material import FAST, make_material
from tests.fakes.mediant_sim import MediantSim
from tests.owner_only import assert_owner_only
from tests.pki import TestCA

INI = """;** Ini File **
[SYSTEM Params]
TLSPkeySize = 1024

[ TLSContexts ]

FORMAT Index = Name, TLSVersion, ServerCipherString;
TLSContexts 0 = "default", 0, "DEFAULT";
TLSContexts 3 = "Teams, Direct Routing", 4, "HIGH:!aNULL";

[ \\TLSContexts ]

[ SIPInterface ]
FORMAT Index = InterfaceName;
SIPInterface 0 = "TLSContexts 9";
[ \\SIPInterface ]
"""


def test_tls_contexts_from_ini() -> None:
    rows = parse_tls_contexts(INI)
    assert [(r.index, r.name) for r in rows] == [(0, "default"), (3, "Teams, Direct Routing")]
    assert rows[1].fields["ServerCipherString"] == "HIGH:!aNULL"
    assert [r.index for r in parse_tls_contexts("[SYSTEM Params]\nA = 1\n")] == [0]
    assert looks_like_ini(INI.encode()) and not looks_like_ini(b"<html>error</html>")


def test_firmware_versions() -> None:
    assert parse_firmware("7.40A.250.003") == (7, 40)
    assert parse_firmware("7.2A.1") == (7, 20) and parse_firmware("6.60A") == (6, 60)
    assert parse_firmware("garbage") == (0, 0)


def test_fingerprints_are_normalized_and_pinned() -> None:
    plain = "ab" * 32
    colon = ":".join(["AB"] * 32)
    assert pins.normalize_fingerprint(f"SHA256:{plain}") == colon
    assert pins.normalize_fingerprint(colon.lower()) == colon
    with pytest.raises(InputError):
        pins.normalize_fingerprint("SHA1:abcd")
    pins.set_pin("SBC1.example.com", 443, plain)
    assert pins.get_pin("sbc1.example.com", 443) == colon
    assert json.loads(pins.pins_path().read_text()) == {"sbc1.example.com:443": colon}
    pins.forget_pin("sbc1.example.com", 443)
    assert pins.get_pin("sbc1.example.com", 443) is None


def test_host_port_forms() -> None:
    assert parse_host_port("sbc1") == ("sbc1", 443)
    assert parse_host_port("sbc1:8443") == ("sbc1", 8443)
    assert parse_host_port("[fe80::1]:444") == ("fe80::1", 444)
    with pytest.raises(InputError):
        parse_host_port("sbc1:99999")


def test_device_list_keeps_no_password(memory_keyring: MemoryKeyring) -> None:
    dev = SavedDevice("sbc1.example.com", 443, "Admin", (1, 2), (5061,), name="London SBC")
    remember_device(dev)
    remember_device(SavedDevice("sbc1.example.com", 443, "Admin", (2,), name="London SBC"))
    store_device_password(dev, "S3cret-device-pw")
    assert [d.contexts for d in load_devices()] == [(2,)]  # updated, not duplicated
    text = (Path(pins.pins_path()).parent / "devices.json").read_text()
    assert "S3cret-device-pw" not in text and "London SBC" in text
    assert load_device_password(dev) == "S3cret-device-pw"


def test_device_csr_is_sha256_and_warns_on_small_keys(test_ca: TestCA, tmp_path: Path) -> None:
    with MediantSim(csr_key_size=1024) as sim:
        fp = fetch_served_chain("127.0.0.1", sim.port).leaf_sha256
        client = MediantClient("127.0.0.1", sim.port, user=sim.user, password=sim.password,
                               fingerprint=fp, timing=FAST)  # fmt: skip
        subject = DeviceCsrSubject("sbc1.example.com", "Example Ltd", "Voice", "London", "", "GB")
        csr = request_device_csr(client, 1, subject)
        assert sim.csr_requests[-1]["signatureAlgorithm"] == "sha256"
        assert sim.csr_requests[-1]["companyName"] == "Example Ltd"
        parsed = x509.load_pem_x509_csr(csr.csr_pem)
        assert isinstance(parsed.signature_hash_algorithm, hashes.SHA256)
        assert "O=Example Ltd" in csr.subject and csr.key_bits == 1024
        assert "TLSPkeySize" in csr.warnings[0]
        client.close()


def test_key_made_on_device_gets_only_certificate_and_chain(
    test_ca: TestCA, tmp_path: Path
) -> None:
    with MediantSim() as sim:
        fp = fetch_served_chain("127.0.0.1", sim.port).leaf_sha256
        client = MediantClient("127.0.0.1", sim.port, user=sim.user, password=sim.password,
                               fingerprint=fp, timing=FAST)  # fmt: skip
        csr = request_device_csr(client, 1, DeviceCsrSubject("sbc1.example.com"))
        client.close()
        assert csr.warnings == (
            "The device's CSR has no SAN list: check that your CA adds the name as a SAN.",
        )
        leaf = test_ca.sign(csr.csr_pem, tmp_path / "device.crt").read_bytes()
        cert = x509.load_pem_x509_certificate(leaf)
        material = DeployMaterial(
            name="sbc1_example_com", cert_pem=cert.public_bytes(serialization.Encoding.PEM),
            intermediates_pem=(test_ca.inter_pem,), root_pem=test_ca.root_pem,
            leaf_sha256=cert_sha256(cert),
        )  # fmt: skip
        target = DeviceTarget("127.0.0.1", sim.port, sim.user, sim.password, (1,),
                              (sim.context_port(1),))  # fmt: skip
        result = deploy_device(target, material, tmp_path / "b", timing=FAST)
        assert result.ok, result.message
        assert not [c for c in sim.calls if c == ("PUT", "/files/tls/1/privateKey")]
        assert fetch_served_chain("127.0.0.1", sim.context_port(1)).leaf_sha256 == cert_sha256(cert)


def test_system_trust_refuses_a_self_signed_device(tmp_path: Path, test_ca: TestCA) -> None:
    material = make_material(test_ca, tmp_path / "m")
    with MediantSim() as sim:
        client = MediantClient("127.0.0.1", sim.port, user=sim.user, password=sim.password,
                               trust_system=True, timing=FAST)  # fmt: skip
        with pytest.raises(DeviceUntrusted) as caught:
            client.identify()
        assert f"ACL_{sim.serial}" in caught.value.subject
        assert caught.value.fingerprint == fetch_served_chain("127.0.0.1", sim.port).leaf_sha256
        target = DeviceTarget("127.0.0.1", sim.port, sim.user, sim.password, (1,),
                              trust_system=True)  # fmt: skip
        result = deploy_device(target, material, tmp_path / "b", timing=FAST)
        assert not result.ok and result.step == "identify" and sim.calls == []


def test_manual_files_and_steps(tmp_path: Path, test_ca: TestCA) -> None:
    material = make_material(test_ca, tmp_path / "m")
    files = write_manual_files(material, tmp_path / "manual", include_key=True)
    assert files["key"].read_bytes().startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert_owner_only(files["key"], 0o600)
    steps = manual_steps("6.60A.300.001", files)
    assert any("Configuration > System > Certificates" in s for s in steps)
    assert any(str(files["ca1"]) in s for s in steps)
    assert any("TLS Contexts" in s for s in manual_steps("7.00A.100.001", files, 1))
