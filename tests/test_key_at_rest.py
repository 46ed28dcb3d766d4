"""Finding 4 of issue 12: the key at rest is stretched with scrypt; old files still open."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from app import cli
from app.workspace import Workspace
from tests.conftest import TEST_PASSPHRASE, MemoryKeyring
from tests.helpers import requested
from tests.pki import TestCA


def kdf_params(path: Path) -> dict[str, str]:
    """What `openssl asn1parse` says protects an encrypted PKCS#8 file."""
    out = subprocess.run(
        ["openssl", "asn1parse", "-in", str(path)], capture_output=True, text=True, check=True
    ).stdout
    objects = re.findall(r"OBJECT\s+:(\S+)", out)
    integers = re.findall(r"INTEGER\s+:(\S+)", out)
    return {"objects": " ".join(objects), "integers": " ".join(integers)}


def openssl_public(path: Path, passphrase: str) -> bytes:
    return subprocess.run(
        ["openssl", "pkey", "-in", str(path), "-passin", f"pass:{passphrase}", "-pubout"],
        capture_output=True,
        check=True,
    ).stdout


def csr_public(ws: Workspace) -> bytes:
    return (
        serialization.load_pem_private_key(
            ws.private_key().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            None,
        )
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def test_a_person_chosen_passphrase_gets_scrypt_at_owasp_cost(tmp_path: Path) -> None:
    ws = requested(tmp_path)  # ACCERT_PASSPHRASE: a passphrase a person chose
    key_file = ws.path / "private.key"
    params = kdf_params(key_file)
    assert params["objects"].split()[:3] == ["PBES2", "scrypt", "aes-256-cbc"]
    assert params["integers"].split() == ["4000", "08", "05"]  # N=2**14, r=8, p=5
    # OpenSSL reads it with the passphrase: the file is standard PKCS#8.
    assert openssl_public(key_file, TEST_PASSPHRASE) == csr_public(ws)


def test_the_credential_store_passphrase_gets_scrypt_without_extra_cost(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    ws = requested(tmp_path)
    params = kdf_params(ws.path / "private.key")
    assert "scrypt" in params["objects"] and params["integers"].split() == ["4000", "08", "01"]


def test_an_old_pbkdf2_key_still_opens_and_is_re_encrypted(tmp_path: Path) -> None:
    ws = requested(tmp_path)
    key = ws.private_key()
    old = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(TEST_PASSPHRASE.encode()),
    )
    key_file = ws.path / "private.key"
    key_file.write_bytes(old)
    assert "pbkdf2" in kdf_params(key_file)["objects"].lower()
    again = Workspace.open(ws.path).private_key()
    assert again.private_numbers() == key.private_numbers()
    assert "scrypt" in kdf_params(key_file)["objects"]
    assert any(e["event"] == "key-re-encrypted" for e in ws.read_log())


def test_encrypted_pkcs8_export_uses_pbkdf2_600000_and_help_warns_about_apache(
    tmp_path: Path,
    test_ca: TestCA,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app.ca_response import Source
    from tests.helpers import issued

    ws, leaf = issued(tmp_path, test_ca)
    ws.import_response([Source("leaf.crt", leaf.read_bytes()), Source("ca", test_ca.inter_pem)])
    monkeypatch.setenv("EXPORT_PW", "export password 1")
    out = tmp_path / "out"
    code = cli.main(["export", str(ws.path), "--out", str(out), "--key-format",
                     "pkcs8-encrypted", "--pfx-password-env", "EXPORT_PW"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    (key_file,) = [p for p in out.rglob("*.key")]
    params = kdf_params(key_file)
    assert params["objects"].split()[:4] == ["PBES2", "PBKDF2", "hmacWithSHA256", "aes-256-cbc"]
    assert params["integers"].split() == ["0927C0"]  # 600 000 iterations
    assert openssl_public(key_file, "export password 1") == csr_public(ws)
    with pytest.raises(SystemExit):
        cli.main(["export", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "MD5" in text and "pkcs8-encrypted uses PBKDF2-SHA256 with 600 000 rounds" in text


@pytest.mark.parametrize("store", ["keyring", "environment"])
def test_the_acme_account_key_is_stretched_as_renewal_keys_are(
    store: str, request: pytest.FixtureRequest
) -> None:
    from app.acme import account

    if store == "keyring":
        request.getfixturevalue("memory_keyring")
    key = account.new_key()
    account.save("https://ca.example.test/dir", "kid-1", "https://ca/acct/1", "", key)
    key_file = account.folder("https://ca.example.test/dir", "kid-1") / account.KEY_FILE
    p = "01" if store == "keyring" else "05"  # random credential-store passphrase: no extra cost
    assert kdf_params(key_file)["integers"].split() == ["4000", "08", p]
