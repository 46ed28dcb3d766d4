"""The key that never leaves the device, end to end through the `accert` command:
device CSR -> the CA signs it -> import -> deploy-sbc -> the device serves the new certificate."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from app import cli
from app.fingerprints import cert_sha256
from app.mediant import pins
from app.mediant.devices import load_devices
from app.tls_probe import fetch_served_chain
from app.workspace import Workspace
from tests.fakes.mediant_sim import MediantSim
from tests.pki import TestCA

CN = "sbc1.example.com"


def spki(public_key: object) -> bytes:
    return public_key.public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def device_csr_args(ws: Path, sim: MediantSim, *extra: str) -> list[str]:
    return [
        "device-csr", str(ws), "--cn", CN, "--org", "Example Ltd", "--country", "gb",
        "--host", sim.host_port, "--user", sim.user, "--password-env", "SBC_PW",
        "--context", "1", *extra,
    ]  # fmt: skip


def deploy_args(ws: Path, sim: MediantSim, context: int) -> list[str]:
    return [
        "deploy-sbc", str(ws), "--host", sim.host_port, "--user", sim.user,
        "--password-env", "SBC_PW", "--context", str(context),
        "--verify-port", str(sim.context_port(context)),
    ]  # fmt: skip


def test_device_key_from_csr_to_served_certificate(
    tmp_path: Path,
    test_ca: TestCA,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ws_path = tmp_path / "sbc1"
    with MediantSim() as sim:
        monkeypatch.setenv("SBC_PW", sim.password)
        fp = fetch_served_chain("127.0.0.1", sim.port).leaf_sha256

        # First contact without a fingerprint: refused (no terminal to ask), nothing asked of
        # the device; the same folder is then reused once the user trusts the certificate.
        assert cli.main(device_csr_args(ws_path, sim)) == 1
        err = capsys.readouterr().err
        assert f"--fingerprint SHA256:{fp}" in err and "Traceback" not in err
        assert sim.csr_requests == []

        assert cli.main(device_csr_args(ws_path, sim, "--fingerprint", f"SHA256:{fp}")) == 0
        out = capsys.readouterr()
        csr = x509.load_pem_x509_csr(out.out.encode())
        assert isinstance(csr.signature_hash_algorithm, hashes.SHA256)
        assert csr.subject.rfc4514_string() == f"C=GB,O=Example Ltd,CN={CN}"
        assert sim.csr_requests[-1]["signatureAlgorithm"] == "sha256"
        assert "never leaves the device" in out.err and "warning: " in out.err and "SAN" in out.err
        # The CSR's key is the one now in the device's context 1; no key exists here.
        assert spki(csr.public_key()) == spki(
            serialization.load_pem_private_key(sim.running[1].key_pem, None).public_key()
        )
        ws = Workspace.open(ws_path)
        assert ws.state.key_origin == "device" and not ws.has_key()
        assert ws.csr_pem == out.out.encode()
        assert pins.get_pin("127.0.0.1", sim.port) == fp
        assert [(d.port, d.contexts) for d in load_devices()] == [(sim.port, (1,))]

        # The CA answers; `accert import` checks it against the device's CSR.
        leaf_file = test_ca.sign(ws.csr_pem, tmp_path / "sbc1.crt")
        bundle = tmp_path / "sbc1-bundle.pem"
        bundle.write_bytes(leaf_file.read_bytes() + test_ca.inter_pem)
        assert cli.main(["import", str(ws_path), str(bundle)]) == 0, capsys.readouterr().err
        capsys.readouterr()
        leaf = x509.load_pem_x509_certificate(leaf_file.read_bytes())
        assert Workspace.open(ws_path).deploy_material().key_pem == b""

        # A context whose key is not the device's own: the device refuses, nothing is saved.
        saves = sim.saves
        assert cli.main(deploy_args(ws_path, sim, 0)) == 1
        err = capsys.readouterr().err
        assert "does not match the private key" in err and "accert device-csr" in err
        assert sim.saves == saves

        # The context that made the key: certificate and chain only, saved, and served.
        assert cli.main(deploy_args(ws_path, sim, 1)) == 0, capsys.readouterr().err
        assert "installed in context 1 (SIP-Teams) and saved" in capsys.readouterr().out
        served = fetch_served_chain("127.0.0.1", sim.context_port(1))
        assert served.leaf_sha256 == cert_sha256(leaf)
        assert cert_sha256(served.chain[1]) == cert_sha256(
            x509.load_pem_x509_certificate(test_ca.inter_pem)
        )
        assert not [c for c in sim.calls if c[1].endswith("/privateKey") and c[0] == "PUT"]
        assert ("PUT", "/files/tls/1/certificate") in sim.calls
        assert sim.saved[1].key_matches_cert()

    # No private key was ever written on this side.
    for f in ws_path.rglob("*"):
        assert not f.is_file() or b"PRIVATE KEY" not in f.read_bytes(), f


@pytest.mark.parametrize(("bits", "recorded"), [(3072, "rsa3072"), (1024, "rsa2048")])
def test_device_key_size_is_recorded_or_warned(
    bits: int,
    recorded: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with MediantSim(csr_key_size=bits) as sim:
        monkeypatch.setenv("SBC_PW", sim.password)
        fp = fetch_served_chain("127.0.0.1", sim.port).leaf_sha256
        code = cli.main(device_csr_args(tmp_path / "ws", sim, "--fingerprint", fp))
        err = capsys.readouterr().err
        assert code == 0, err
    ws = Workspace.open(tmp_path / "ws")
    assert ws.state.request.key_type.value == recorded
    assert ws.csr_summary().key == f"RSA {bits}"
    # Public CAs refuse 1024-bit keys: the user is told how to make the device use 2048.
    assert ("TLSPkeySize" in err) is (bits < 2048)
