"""A Documents folder OneDrive syncs: told once, unencrypted keys kept out by default.

The OneDrive client's environment variables are set as Windows sets them; platformdirs' answer
for the Documents known folder is what Windows returns after Known Folder Move.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import platformdirs
import pytest

from app import onedrive, paths
from app.ca_response import Source
from app.cli import main
from app.errors import ExportError
from app.export import Artifact, ExportOptions
from app.workspace import Workspace
from tests.helpers import issued
from tests.pki import TestCA, openssl


@pytest.fixture
def synced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """OneDrive for work moved Documents into itself; the profile folder is not synced."""
    profile = tmp_path / "Users" / "ana"
    root = profile / "OneDrive - Example Ltd"
    (root / "Documents").mkdir(parents=True)
    for name in onedrive.VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OneDrive", str(root))
    monkeypatch.setenv("OneDriveCommercial", str(root))
    monkeypatch.setenv("HOME", str(profile))  # Path.home(): HOME here,
    monkeypatch.setenv("USERPROFILE", str(profile))  # USERPROFILE on Windows
    monkeypatch.setattr(platformdirs, "user_documents_dir", lambda: str(root / "Documents"))
    return root


def _renewal_in(folder: Path, ca: TestCA) -> Workspace:
    ws, leaf = issued(folder, ca)
    ws.import_response([Source("leaf.crt", leaf.read_bytes()),
                        Source("bundle.crt", ca.inter_pem + ca.root_pem)])  # fmt: skip
    return ws


def test_documents_under_onedrive_is_detected(
    synced: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Known Folder Move: Windows' Documents folder (as platformdirs asks Windows for it) lies
    in OneDrive, and with it the default renewals folder."""
    monkeypatch.delenv("ACCERT_HOME")
    assert paths.workspaces_root() == synced / "Documents" / "accert"
    assert onedrive.synced_root(paths.workspaces_root()) == synced
    assert onedrive.synced_root(synced / "Documents" / "accert" / "x") == synced
    assert onedrive.synced_root(tmp_path / "Users" / "ana" / "accert exports") is None
    assert onedrive.synced_root(Path(str(synced) + " (old)") / "x") is None  # a namesake


def test_no_onedrive_no_notice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in onedrive.VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert onedrive.roots() == [] and onedrive.notice_once(tmp_path) is None


def test_told_once_when_a_renewal_is_made_there(synced: Path, test_ca: TestCA, capsys: Any) -> None:
    docs = synced / "Documents" / "accert"
    args = ["request", "--cn", "sbc.example.com"]
    assert main([args[0], str(docs / "one"), *args[1:]]) == 0
    err = capsys.readouterr().err
    assert err.count("is in OneDrive") == 1
    assert "passphrase stays in this PC's Credential Manager" in err
    assert "export a PFX to move a renewal" in err
    assert main([args[0], str(docs / "two"), *args[1:]]) == 0
    assert "is in OneDrive" not in capsys.readouterr().err  # once


def test_unencrypted_key_is_not_exported_into_onedrive_by_default(
    synced: Path, test_ca: TestCA, tmp_path: Path
) -> None:
    ws = _renewal_in(synced / "Documents" / "accert", test_ca)
    # The default export folder of a synced renewal is outside OneDrive.
    assert ws.exports_dir == tmp_path / "Users" / "ana" / "accert exports" / ws.path.name
    result = ws.export(None, ExportOptions(frozenset({Artifact.KEY, Artifact.CERT})))
    key = next(f.path for f in result.files if f.artifact is Artifact.KEY)
    assert onedrive.synced_root(key) is None
    assert b"BEGIN RSA PRIVATE KEY" in key.read_bytes()
    # Asked for a folder in OneDrive: refused with the way out, nothing written.
    inside = synced / "Desktop" / "certs"
    with pytest.raises(ExportError) as caught:
        ws.export(inside, ExportOptions(frozenset({Artifact.KEY, Artifact.CERT})))
    text = str(caught.value)
    assert f"{inside} is in OneDrive ({synced})" in text and "unencrypted key" in text
    assert "outside OneDrive" in text and "--allow-onedrive" in text
    assert not inside.exists() or list(inside.iterdir()) == []
    # A PFX is encrypted: it may go there.
    pfx_only = ExportOptions(frozenset({Artifact.PFX}), "Pfx-Pass-1")
    [pfx] = [f.path for f in ws.export(inside, pfx_only).files]
    assert openssl("pkcs12", "-in", pfx, "-nokeys", "-passin", "pass:Pfx-Pass-1")


def test_allow_onedrive_keeps_it_there_when_asked(
    synced: Path, test_ca: TestCA, capsys: Any
) -> None:
    ws = _renewal_in(synced / "Documents" / "accert", test_ca)
    out = synced / "Documents" / "for-ovoc"
    assert main(["export", str(ws.path), "--out", str(out)]) == 1
    assert "is in OneDrive" in capsys.readouterr().err
    assert main(["export", str(ws.path), "--out", str(out), "--allow-onedrive"]) == 0
    assert (out / "star_example_com.key").exists()
