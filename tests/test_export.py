"""Exports, checked by the tools that consume them: openssl and Java's keytool."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.ca_response import Source
from app.errors import ExportError, InputError
from app.export import PRESETS, Artifact, ExportOptions, KeyFormat
from app.request import KeyType
from app.workspace import Stage, Workspace
from tests.helpers import issued, keytool
from tests.owner_only import assert_owner_only
from tests.pki import TestCA, openssl

PFX_PASSWORD = "Pfx-Export-Pass-42"


def imported(tmp_path: Path, ca: TestCA, key: KeyType = KeyType.RSA2048) -> Workspace:
    ws, leaf = issued(tmp_path, ca, key)
    ws.import_response([Source("leaf.crt", leaf.read_bytes()),
                        Source("bundle.crt", ca.inter_pem + ca.root_pem)])  # fmt: skip
    return ws


def everything(ws: Workspace, out: Path) -> dict[Artifact, Path]:
    result = ws.export(out, ExportOptions(PRESETS["everything"].artifacts, PFX_PASSWORD))
    return {f.artifact: f.path for f in result.files}


def pubkey_of_cert(path: Path) -> bytes:
    return openssl("x509", "-in", path, "-noout", "-pubkey")


@pytest.mark.parametrize(
    ("key_type", "header"),
    [
        (KeyType.RSA2048, b"-----BEGIN RSA PRIVATE KEY-----"),
        (KeyType.EC256, b"-----BEGIN EC PRIVATE KEY-----"),
    ],
)
def test_everything_preset_is_accepted_by_openssl(
    tmp_path: Path, test_ca: TestCA, key_type: KeyType, header: bytes
) -> None:
    ws = imported(tmp_path, test_ca, key_type)
    files = everything(ws, tmp_path / "out")
    names = sorted(p.name for p in files.values())
    assert names == sorted([
        "star_example_com.key", "star_example_com.crt", "star_example_com-chain.crt",
        "star_example_com-fullchain.crt", "star_example_com-root.crt", "star_example_com.pfx",
        "star_example_com-legacy.pfx", "star_example_com.jks",
    ])  # fmt: skip
    # Apache-compatible key: traditional PEM, unencrypted, and the certificate's key.
    key = files[Artifact.KEY]
    assert key.read_bytes().startswith(header)
    assert b"ENCRYPTED" not in key.read_bytes()
    assert_owner_only(key, 0o600)
    assert openssl("pkey", "-in", key, "-pubout") == pubkey_of_cert(files[Artifact.CERT])
    # The chain verifies: leaf via intermediates to the root.
    out = openssl("verify", "-CAfile", files[Artifact.ROOT], "-untrusted", files[Artifact.CHAIN],
                  files[Artifact.CERT])  # fmt: skip
    assert out.strip().endswith(b": OK")
    full = files[Artifact.FULLCHAIN].read_bytes()
    assert full.count(b"BEGIN CERTIFICATE") == 2
    first = openssl("x509", "-in", files[Artifact.FULLCHAIN], "-noout", "-subject")
    assert b"CN = *.example.com" in first
    # Exporting marks the renewal, and the log says where.
    assert Workspace.open(ws.path).state.stage is Stage.EXPORTED


def test_pfx_modern_and_legacy_profiles(tmp_path: Path, test_ca: TestCA) -> None:
    ws = imported(tmp_path, test_ca)
    files = everything(ws, tmp_path / "out")
    modern, legacy = files[Artifact.PFX], files[Artifact.PFX_LEGACY]
    env = {"passin": f"pass:{PFX_PASSWORD}"}
    # openssl prints the algorithms of -info on stderr.
    import subprocess

    def details(path: Path, *extra: str) -> str:
        proc = subprocess.run(
            ["openssl", "pkcs12", "-in", str(path), "-info", "-nokeys", "-nocerts", "-passin",
             env["passin"], *extra], capture_output=True, check=True,
        )  # fmt: skip
        return (proc.stdout + proc.stderr).decode()

    modern_text = details(modern)
    legacy_text = details(legacy, "-legacy")
    assert "MAC: sha256" in modern_text and "AES-256-CBC" in modern_text
    assert "MAC: sha1" in legacy_text and "pbeWithSHA1And3-KeyTripleDES-CBC" in legacy_text
    # Both carry key + leaf + intermediate + root, and open only with the password.
    for pfx in (modern, legacy):
        certs = openssl("pkcs12", "-in", pfx, "-nokeys", "-passin", env["passin"])
        assert certs.count(b"BEGIN CERTIFICATE") == 3
        with pytest.raises(RuntimeError, match=r"Mac verify error|invalid password"):
            openssl("pkcs12", "-in", pfx, "-nokeys", "-passin", "pass:wrong")
    # Java reads both; the key entry has the full chain.
    for pfx in (modern, legacy):
        text = keytool("-list", "-v", "-keystore", pfx, "-storetype", "PKCS12",
                       password=PFX_PASSWORD)  # fmt: skip
        assert "Entry type: PrivateKeyEntry" in text
        assert "Certificate chain length: 3" in text


def test_jks_is_read_by_keytool(tmp_path: Path, test_ca: TestCA) -> None:
    ws = imported(tmp_path, test_ca)
    files = everything(ws, tmp_path / "out")
    text = keytool("-list", "-v", "-keystore", files[Artifact.JKS], "-storetype", "JKS",
                   password=PFX_PASSWORD)  # fmt: skip
    assert "Keystore type: JKS" in text or "Keystore type: jks" in text
    assert "Alias name: star_example_com" in text
    assert "Entry type: PrivateKeyEntry" in text
    assert "Certificate chain length: 3" in text
    assert "CN=*.example.com, OU=Voice, O=Example Ltd" in text


def test_jks_without_pyjks_uses_keytool(
    tmp_path: Path, test_ca: TestCA, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Windows install without the jks extra: Java's keytool writes the same store."""
    import builtins

    real_import = builtins.__import__

    def no_jks(name: str, *args: object, **kwargs: object) -> object:
        if name == "jks":
            raise ImportError("No module named 'jks'")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_jks)
    ws = imported(tmp_path, test_ca)
    result = ws.export(tmp_path / "out", ExportOptions(frozenset({Artifact.JKS}), PFX_PASSWORD))
    monkeypatch.undo()
    text = keytool("-list", "-v", "-keystore", result.files[0].path, password=PFX_PASSWORD)
    assert "Certificate chain length: 3" in text


def test_legacy_only_is_named_pfx(tmp_path: Path, test_ca: TestCA) -> None:
    ws = imported(tmp_path, test_ca)
    result = ws.export(tmp_path / "o", ExportOptions(frozenset({Artifact.PFX_LEGACY}), "pw-12345"))
    assert [f.path.name for f in result.files] == ["star_example_com.pfx"]


@pytest.mark.parametrize(
    ("fmt", "header"),
    [
        (KeyFormat.APACHE_ENCRYPTED, b"Proc-Type: 4,ENCRYPTED"),
        (KeyFormat.PKCS8, b"-----BEGIN PRIVATE KEY-----"),
        (KeyFormat.PKCS8_ENCRYPTED, b"-----BEGIN ENCRYPTED PRIVATE KEY-----"),
    ],
)
def test_other_key_formats(tmp_path: Path, test_ca: TestCA, fmt: KeyFormat, header: bytes) -> None:
    ws = imported(tmp_path, test_ca)
    result = ws.export(tmp_path / "o", ExportOptions(frozenset({Artifact.KEY}), "Key-Pass-1", fmt))
    key = result.files[0].path
    assert header in key.read_bytes()
    out = openssl("pkey", "-in", key, "-passin", "pass:Key-Pass-1", "-pubout")
    assert out == pubkey_of_cert(ws.path / "certificate.crt")


def test_existing_files_are_never_silently_overwritten(tmp_path: Path, test_ca: TestCA) -> None:
    ws = imported(tmp_path, test_ca)
    opts = ExportOptions(PRESETS["audiocodes"].artifacts)
    ws.export(tmp_path / "o", opts)
    before = (tmp_path / "o" / "star_example_com.key").read_bytes()
    with pytest.raises(ExportError, match="already holds") as info:
        ws.export(tmp_path / "o", opts)
    assert "--overwrite" in info.value.hint
    assert (tmp_path / "o" / "star_example_com.key").read_bytes() == before
    ws.export(tmp_path / "o", ExportOptions(opts.artifacts, overwrite=True))


def test_pfx_needs_a_password(tmp_path: Path, test_ca: TestCA) -> None:
    ws = imported(tmp_path, test_ca)
    with pytest.raises(InputError, match="need a password"):
        ws.export(tmp_path / "o", ExportOptions(frozenset({Artifact.PFX})))
    assert not (tmp_path / "o").exists()
