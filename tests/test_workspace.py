"""A renewal folder survives restarts, crashes and other machines, and keeps its secrets."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app.ca_response import Source
from app.errors import PassphraseError, WorkspaceError
from app.export import Artifact, ExportOptions
from app.fingerprints import same_public_key
from app.workspace import STATE_FILE, Stage, Workspace, create_from_pfx, list_workspaces
from tests.conftest import MemoryKeyring
from tests.helpers import issued, requested, wildcard_spec
from tests.pki import TestCA


def test_resume_on_another_day(tmp_path: Path, test_ca: TestCA) -> None:
    ws, leaf = issued(tmp_path, test_ca)
    csr = ws.csr_pem
    again = Workspace.open(ws.path)  # a new process, another day
    assert again.state.stage is Stage.REQUESTED
    assert again.csr_pem == csr
    again.import_response([Source("l.crt", leaf.read_bytes()), Source("ca", test_ca.inter_pem)])
    assert Workspace.open(ws.path).state.stage is Stage.ISSUED


def test_default_folder_is_named_after_the_cn_and_date(isolated_home: Path) -> None:
    ws = Workspace.create(wildcard_spec())
    assert ws.path.parent == isolated_home / "workspaces"
    assert ws.path.name.startswith("star_example_com-20")
    second = Workspace.create(wildcard_spec())
    assert second.path.name == ws.path.name + "-2"
    listed = list_workspaces()
    assert {s.path for s in listed} == {ws.path, second.path}
    assert all(s.common_name == "*.example.com" and s.stage is Stage.NEW for s in listed)


def test_generate_twice_keeps_the_same_key(tmp_path: Path) -> None:
    ws = requested(tmp_path)
    key_file = (ws.path / "private.key").read_bytes()
    first = ws.csr_summary().public_key_sha256
    ws.generate()
    assert (ws.path / "private.key").read_bytes() == key_file
    assert ws.csr_summary().public_key_sha256 == first


def test_crash_after_key_before_state_recovers(tmp_path: Path) -> None:
    """Killed between writing the key/CSR and the state: the folder opens and moves on."""
    ws = requested(tmp_path)
    state = json.loads((ws.path / STATE_FILE).read_text())
    state["stage"] = "new"
    (ws.path / STATE_FILE).write_text(json.dumps(state))
    again = Workspace.open(ws.path)
    assert again.state.stage is Stage.REQUESTED
    assert again.private_key() is not None


def test_crash_leftovers_of_atomic_writes_are_harmless(tmp_path: Path) -> None:
    ws = requested(tmp_path)
    (ws.path / ".renewal.json.abc.tmp").write_text('{"half": ')
    assert Workspace.open(ws.path).state.stage is Stage.REQUESTED


def test_damaged_state_is_a_clear_error(tmp_path: Path) -> None:
    ws = requested(tmp_path)
    (ws.path / STATE_FILE).write_text("{ not json")
    with pytest.raises(WorkspaceError, match="is damaged") as info:
        Workspace.open(ws.path)
    assert info.value.hint.startswith("The private key (private.key) is still in the folder")


def _damaged_hint(folder: Path) -> str:
    (folder / STATE_FILE).write_text('{"stage": "issued"', "utf-8")
    with pytest.raises(WorkspaceError, match="is damaged") as info:
        Workspace.open(folder)
    listed = [s.error for s in list_workspaces(folder.parent) if s.path == folder]
    assert listed == [str(info.value)]  # `accert list` and the Start page say the same
    return info.value.hint


def test_a_damaged_renewal_without_its_key_points_to_its_pfx_export(
    tmp_path: Path, test_ca: TestCA
) -> None:
    """The hint is followed: the PFX it names opens as a renewal holding the same key."""
    ws, leaf = issued(tmp_path, test_ca)
    ws.import_response([Source("l.crt", leaf.read_bytes()), Source("ca", test_ca.inter_pem)])
    pfx = ws.export(ws.path / "exports", ExportOptions(frozenset({Artifact.PFX}), "Pfx-pass-1"))
    (ws.path / "private.key").unlink()
    hint = _damaged_hint(ws.path)
    named = str(pfx.files[0].path.relative_to(ws.path))  # as the system writes paths
    assert hint.startswith(f"There is no private.key in the folder, but the export {named} ")
    assert "open that PFX as a new renewal" in hint
    again = create_from_pfx(Source(named, (ws.path / named).read_bytes(), "Pfx-pass-1"))
    assert again.state.leaf_sha256 == ws.state.leaf_sha256
    assert same_public_key(again.private_key().public_key(), ws.certificate().public_key())


def test_a_damaged_renewal_with_only_its_certificate_says_so(
    tmp_path: Path, test_ca: TestCA
) -> None:
    ws, leaf = issued(tmp_path, test_ca)
    ws.import_response([Source("l.crt", leaf.read_bytes()), Source("ca", test_ca.inter_pem)])
    (ws.path / "private.key").write_text("")  # emptied by a sync tool
    hint = _damaged_hint(ws.path)
    assert hint.startswith("private.key holds no private key, only certificate.crt and request.csr")
    assert "restore renewal.json from a backup of the folder, or start a new renewal" in hint


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    ws = requested(tmp_path)
    state = json.loads((ws.path / STATE_FILE).read_text())
    state["schema"] = 99
    (ws.path / STATE_FILE).write_text(json.dumps(state))
    with pytest.raises(WorkspaceError, match="newer accert"):
        Workspace.open(ws.path)


def test_not_a_renewal_folder(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="not an accert renewal folder"):
        Workspace.open(tmp_path)


def test_names_cannot_change_after_the_csr(tmp_path: Path) -> None:
    ws = requested(tmp_path)
    with pytest.raises(WorkspaceError, match="can no longer change"):
        ws.update_request(wildcard_spec(cn="*.example.org"))


def test_passphrase_lives_in_the_credential_store(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    """As on Windows: nobody is asked; a random passphrase is kept in the store."""
    assert "ACCERT_PASSPHRASE" not in os.environ
    ws = requested(tmp_path)
    assert ws.state.passphrase_source == "keyring"
    ((service, account), secret) = next(iter(memory_keyring.store.items()))
    assert service == "accert" and account == f"workspace-key:{ws.state.id}"
    assert len(secret) >= 40
    assert secret not in (ws.path / STATE_FILE).read_text()
    assert Workspace.open(ws.path).private_key() is not None
    # On a PC without that entry, the message says what to do.
    memory_keyring.store.clear()
    with pytest.raises(PassphraseError, match="not in this computer's credential store"):
        Workspace.open(ws.path).private_key()


def test_without_store_or_variable_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACCERT_PASSPHRASE")
    ws = Workspace.create(wildcard_spec(), tmp_path / "ws")
    with pytest.raises(PassphraseError, match="No credential store") as info:
        ws.generate()
    assert "ACCERT_PASSPHRASE" in info.value.hint
    assert not (ws.path / "private.key").exists()


def test_wrong_passphrase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = requested(tmp_path)
    monkeypatch.setenv("ACCERT_PASSPHRASE", "this is not the passphrase")
    with pytest.raises(PassphraseError, match=r"passphrase for the private key .* is wrong"):
        Workspace.open(ws.path).private_key()


def test_short_passphrase_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCERT_PASSPHRASE", "short")
    ws = Workspace.create(wildcard_spec(), tmp_path / "ws")
    with pytest.raises(PassphraseError, match="shorter than 12"):
        ws.generate()


def test_log_tells_the_story(tmp_path: Path, test_ca: TestCA) -> None:
    ws, leaf = issued(tmp_path, test_ca)
    ws.import_response([Source("l.crt", leaf.read_bytes()), Source("ca", test_ca.inter_pem)])
    events = [e["event"] for e in Workspace.open(ws.path).read_log()]
    assert events == ["created", "csr-created", "certificate-imported"]


def test_a_device_made_csr_is_adopted(tmp_path: Path, test_ca: TestCA) -> None:
    """The key stays on the device: import checks against its CSR, nothing holds a key here."""
    from app.errors import ExportError
    from app.export import PRESETS, Artifact, ExportOptions
    from tests.helpers import other_csr

    device_csr = other_csr(tmp_path)
    ws = Workspace.create(wildcard_spec(), tmp_path / "dev")
    summary = ws.adopt_device_csr(device_csr, "sbc1.example.com")
    assert summary.key == "RSA 2048"
    leaf = test_ca.sign(device_csr, tmp_path / "dev.crt")
    ws.import_response([Source("dev.crt", leaf.read_bytes()), Source("ca", test_ca.inter_pem)])
    again = Workspace.open(ws.path)
    assert again.state.key_origin == "device" and again.state.stage is Stage.ISSUED
    material = again.deploy_material()
    assert material.key_pem == b"" and material.intermediates_pem
    with pytest.raises(ExportError, match="no private key here"):
        again.export(tmp_path / "o", ExportOptions(PRESETS["windows"].artifacts, "pw-123456"))
    certs_only = PRESETS["audiocodes"].artifacts - {Artifact.KEY}
    result = again.export(tmp_path / "o", ExportOptions(certs_only))
    assert sorted(f.path.name for f in result.files) == [
        "star_example_com-chain.crt",
        "star_example_com-fullchain.crt",
        "star_example_com.crt",
    ]
    assert not (ws.path / "private.key").exists()
