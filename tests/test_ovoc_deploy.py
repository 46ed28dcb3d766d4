"""OVOC deployment end to end: a real sshd on 127.0.0.1 running the OVOC console simulator."""

from __future__ import annotations

import dataclasses
import stat
import subprocess
from pathlib import Path
from typing import Any

import paramiko
import pytest

from app import cli
from app.ca_response import Source
from app.errors import DeployError
from app.material import DeployMaterial
from app.ovoc.console import Console, ConsoleTimeouts, run_import
from app.ovoc.deploy import OvocImportFailed, OvocTarget, deploy_ovoc, wait_for_certificate
from app.ovoc.profile import load_profile
from app.ovoc.ssh import (
    HostKeyChanged,
    HostKeyPinMismatch,
    HostKeyUnknown,
    SshTarget,
    check_login,
    connect,
    known_hosts_path,
)
from app.ovoc.transfer import RemoteFile, upload
from app.redact import MASK
from app.workspace import Workspace
from tests.fakes.ovoc_env import OvocServer, make_material
from tests.fakes.sshd import Sshd, free_port
from tests.helpers import issued
from tests.pki import TestCA, openssl

FAST = ConsoleTimeouts(prompt=5.0, import_run=30.0, leave=2.0)


@pytest.fixture
def material(test_ca: TestCA, tmp_path: Path) -> DeployMaterial:
    return make_material(test_ca, tmp_path / "renewal")


_SSH_FIELDS = {f.name for f in dataclasses.fields(SshTarget)}


def _target(ovoc: OvocServer, server: Sshd, **changes: Any) -> OvocTarget:
    """An OvocTarget for the simulated appliance; SSH fields and deploy fields may be changed."""
    ssh = {k: v for k, v in changes.items() if k in _SSH_FIELDS}
    rest = {k: v for k, v in changes.items() if k not in _SSH_FIELDS}
    values: dict[str, Any] = {"root_password": ovoc.ROOT_PASSWORD, "verify_interval": 0.2, **rest}
    return OvocTarget(ovoc.target(server, **ssh), **values)


def test_password_login_sftp_places_files_imports_and_serves_new_cert(ovoc, material) -> None:
    server = ovoc.start()
    lines: list[str] = []
    result = deploy_ovoc(
        material, _target(ovoc, server), ovoc.profile, log=lines.append, timeouts=FAST
    )

    assert result.success_line == "PKCS#12 file and JKS Keystore generated successfully"
    assert result.served.leaf_sha256 == material.leaf_sha256
    assert result.transfer.method == "sftp"
    # The folder did not exist: created, readable by the import, not world-writable.
    assert result.transfer.created_directory
    assert stat.S_IMODE(ovoc.cert_dir.stat().st_mode) == 0o750
    files = {p.name: p for p in ovoc.cert_dir.iterdir()}
    assert set(files) == {"server.crt", "server.key", "ca_int1.crt", "root.crt"}
    assert files["server.key"].read_bytes() == material.key_pem
    assert b"BEGIN RSA PRIVATE KEY" in material.key_pem
    assert stat.S_IMODE(files["server.key"].stat().st_mode) == 0o600
    assert files["server.crt"].read_bytes() == material.cert_pem
    assert files["root.crt"].read_bytes() == material.root_pem
    # The simulator really built the keystores, as OVOC does.
    assert (ovoc.state / "server.p12").stat().st_size > 0
    assert (ovoc.state / "server.jks").stat().st_size > 0
    # The menus were walked by text; the numbers came from the screen.
    assert result.outcome.menu_choices == (
        "6 Security",
        "11 Server Certificate Updates",
        "3 Import Server Certificates from Certificate Authority (CA)",
    )
    # Transcript and log keep the session but never the root password.
    log_text = "\n".join(lines)
    assert "EmsServerManager" in result.transcript and MASK in result.transcript
    # su by its absolute path (issue 12, finding 10): no alias of the SSH account sees root's
    # password.
    assert "<<typed: /bin/su ->>" in result.transcript
    assert ovoc.ROOT_PASSWORD not in result.transcript
    assert ovoc.ROOT_PASSWORD not in log_text
    assert "transcript:" in log_text
    assert "127.0.0.1" in known_hosts_path().read_text()


def test_key_login_on_scp_only_server_moves_old_files_aside(ovoc, material, tmp_path) -> None:
    server = ovoc.start(sftp=False)
    key_file = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key_file)], check=True)
    (server.folder / "authorized_keys").write_text((tmp_path / "id_ed25519.pub").read_text())
    ovoc.make_cert_dir()
    (ovoc.cert_dir / "server.crt").write_text("old certificate\n")
    (ovoc.cert_dir / "wildcard.pfx").write_bytes(b"old pfx")

    ovoc.cert_dir.chmod(0o777)  # as the field note made it
    target = _target(ovoc, server, password=None, key_file=key_file)
    lines: list[str] = []
    result = deploy_ovoc(material, target, ovoc.profile, log=lines.append, timeouts=FAST)
    assert any("world-writable (mode 0777)" in line for line in lines)

    assert result.transfer.method == "scp"
    assert not result.transfer.created_directory
    assert result.served.leaf_sha256 == material.leaf_sha256
    aside = Path(result.transfer.moved_aside_to or "")
    assert aside.parent == ovoc.cert_dir.parent and aside.name.startswith("server_certs_previous_")
    assert (aside / "server.crt").read_text() == "old certificate\n"
    assert (aside / "wildcard.pfx").read_bytes() == b"old pfx"
    assert sorted(p.name for p in ovoc.cert_dir.iterdir()) == [
        "ca_int1.crt",
        "root.crt",
        "server.crt",
        "server.key",
    ]
    assert (ovoc.cert_dir / "server.crt").read_bytes() == material.cert_pem
    assert stat.S_IMODE((ovoc.cert_dir / "server.key").stat().st_mode) == 0o600


def test_first_contact_shows_fingerprint_and_pin_accepts_it(ovoc) -> None:
    server = ovoc.start()
    expected = subprocess.run(
        ["ssh-keygen", "-lf", f"{server.host_key}.pub"], capture_output=True, text=True, check=True
    ).stdout.split()[1]

    with pytest.raises(HostKeyUnknown) as info:
        connect(ovoc.target(server, host_key_pin=None))
    assert info.value.fingerprint == expected
    assert expected in str(info.value) and "--host-key" in info.value.hint
    assert not known_hosts_path().exists() or "127.0.0.1" not in known_hosts_path().read_text()

    connect(ovoc.target(server, host_key_pin=expected)).close()
    # Remembered: the next connection needs no pin.
    connect(ovoc.target(server, host_key_pin=None)).close()


def test_check_login_accepts_a_good_login_and_writes_nothing(ovoc: OvocServer) -> None:
    server = ovoc.start()
    target = ovoc.target(server)
    assert check_login(target) == target.host_key_pin
    assert not ovoc.cert_dir.exists()
    with pytest.raises(DeployError, match="refused the SSH login"):
        check_login(dataclasses.replace(target, password="wrong"))


def test_wrong_pin_is_refused(ovoc) -> None:
    server = ovoc.start()
    with pytest.raises(HostKeyPinMismatch, match="not the pinned"):
        connect(ovoc.target(server, host_key_pin="SHA256:" + "A" * 43))


def test_changed_host_key_is_refused_with_a_warning(ovoc, material) -> None:
    server = ovoc.start()
    old = paramiko.ECDSAKey.generate()
    entry = f"[127.0.0.1]:{server.port} {old.get_name()} {old.get_base64()}\n"
    known_hosts_path().write_text(entry)

    with pytest.raises(HostKeyChanged) as info:
        deploy_ovoc(material, _target(ovoc, server), ovoc.profile, timeouts=FAST)
    assert str(info.value).startswith("WARNING")
    assert "nothing was sent" in str(info.value)
    assert str(known_hosts_path()) in info.value.hint
    assert not ovoc.cert_dir.exists()


def test_wrong_ssh_password_is_reported(ovoc, material) -> None:
    server = ovoc.start()
    with pytest.raises(DeployError, match="refused the SSH login"):
        deploy_ovoc(material, _target(ovoc, server, password="nope"), ovoc.profile, timeouts=FAST)


def test_wrong_root_password_is_reported_as_such(ovoc, material) -> None:
    server = ovoc.start()
    with pytest.raises(DeployError) as info:
        deploy_ovoc(
            material, _target(ovoc, server, root_password="wrong-root"), ovoc.profile, timeouts=FAST
        )
    assert "root password was refused" in str(info.value)
    assert "Authentication failure" in str(info.value)
    assert "--root-password-env" in info.value.hint
    # Checked before the upload: the server's folder is as it was.
    assert "Nothing was sent" in str(info.value) and not ovoc.cert_dir.exists()


def test_pfx_only_upload_fails_with_ovocs_words_and_the_hint(
    ovoc, material, test_ca, tmp_path
) -> None:
    """What the field engineer did: a PFX instead of the Apache PEM key."""
    server = ovoc.start()
    key = tmp_path / "k.pem"
    key.write_bytes(material.key_pem)
    crt = tmp_path / "c.pem"
    crt.write_bytes(material.cert_pem)
    pfx = openssl("pkcs12", "-export", "-inkey", key, "-in", crt, "-passout", "pass:digicert")
    p = ovoc.profile
    transport = connect(ovoc.target(server))
    try:
        upload(
            transport,
            p.directory,
            [
                RemoteFile(p.server_certificate, material.cert_pem, 0o644, "server certificate"),
                RemoteFile("server.pfx", pfx, 0o600, "PFX"),
                RemoteFile("ca_int1.crt", test_ca.inter_pem, 0o644, "intermediate"),
                RemoteFile(p.root_certificate, test_ca.root_pem, 0o644, "root"),
            ],
        )
        console = Console.open(transport, "127.0.0.1", 5)
        outcome = run_import(console, p, ovoc.ROOT_PASSWORD, "digicert", timeouts=FAST)
        console.close()
    finally:
        transport.close()
    assert not outcome.succeeded
    assert "SEM PKCS#12" in outcome.result_line
    assert "Apache-compatible" in p.hint_for(outcome.output)
    assert "digicert" not in outcome.transcript
    assert not (ovoc.state / "https.pid").exists()


def test_file_names_not_matching_ovoc_fail_with_the_hint(ovoc, material) -> None:
    server = ovoc.start()
    wrong = dataclasses.replace(ovoc.profile, private_key="wildcard.key")
    with pytest.raises(OvocImportFailed) as info:
        deploy_ovoc(material, _target(ovoc, server), wrong, timeouts=FAST)
    assert "SEM PKCS#12" in str(info.value)
    assert "file names" in info.value.hint
    assert not info.value.outcome.succeeded
    assert "server.key not found" in info.value.outcome.output


def test_connection_dropped_mid_menu_is_a_clear_failure(ovoc, material) -> None:
    ovoc.configure(fault="drop_in_menu")
    server = ovoc.start()
    lines: list[str] = []
    with pytest.raises(DeployError) as info:
        deploy_ovoc(material, _target(ovoc, server), ovoc.profile, log=lines.append, timeouts=FAST)
    assert "dropped" in str(info.value) and "Server Certificate" in str(info.value)
    assert "Nothing was reported as imported" in info.value.hint
    assert not any(line.startswith("import: succeeded") for line in lines)
    assert not (ovoc.state / "server.jks").exists()


def test_connection_dropped_during_the_import_says_the_outcome_is_unknown(
    ovoc: OvocServer, material: DeployMaterial
) -> None:
    ovoc.configure(fault="drop_in_import")
    server = ovoc.start()
    with pytest.raises(DeployError) as info:
        deploy_ovoc(material, _target(ovoc, server), ovoc.profile, timeouts=FAST)
    assert "dropped" in str(info.value) and "Importing server certificates" in str(info.value)
    assert "outcome is unknown" in info.value.hint


def test_unexpected_menu_text_stops_and_shows_what_it_saw(ovoc, material) -> None:
    ovoc.configure(fault="unexpected_menu")
    server = ovoc.start()
    with pytest.raises(DeployError) as info:
        deploy_ovoc(material, _target(ovoc, server), ovoc.profile, timeouts=FAST)
    message = str(info.value)
    assert (
        "no entry matching 'Import Server Certificates from Certificate Authority (CA)'" in message
    )
    assert "Certificate Wizard (new)" in message
    assert "menu_path" in info.value.hint
    assert not (ovoc.state / "server.p12").exists()


def test_other_menu_numbering_is_followed_by_text(ovoc, material) -> None:
    ovoc.configure(menu_variant="7")
    server = ovoc.start()
    profile = dataclasses.replace(
        load_profile("ovoc-7"), directory=ovoc.profile.directory, verify_port=ovoc.https_port
    )
    result = deploy_ovoc(material, _target(ovoc, server), profile, timeouts=FAST)
    assert result.outcome.menu_choices[:2] == ("6 Security", "5 Server Certificates Update")
    assert result.served.leaf_sha256 == material.leaf_sha256


def test_verification_waits_with_a_bound_and_says_what_is_served() -> None:
    port = free_port()
    with pytest.raises(DeployError, match=f"127.0.0.1:{port} does not serve the new certificate"):
        wait_for_certificate("127.0.0.1", port, "AA:BB", wait=0.5, interval=0.2)


# --- the workspace and the CLI -----------------------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path, test_ca: TestCA) -> Workspace:
    ws, leaf = issued(tmp_path, test_ca)
    chain = leaf.read_bytes() + test_ca.inter_pem + test_ca.root_pem
    ws.import_response([Source(leaf.name, chain, None)])
    return ws


def deploy_ovoc_args(
    ovoc: OvocServer,
    server: Sshd,
    workspace: Workspace,
    monkeypatch: pytest.MonkeyPatch,
    folder: Path,
    root_password: str = OvocServer.ROOT_PASSWORD,
) -> list[str]:
    """`accert deploy-ovoc` of the renewal to the appliance with the user's profile file, the
    passwords in OVOC_PW and OVOC_ROOT (set here) as a script passes them."""
    monkeypatch.setenv("OVOC_PW", ovoc.user.password)
    monkeypatch.setenv("OVOC_ROOT", root_password)
    return [
        "deploy-ovoc", str(workspace.path), "--host", "127.0.0.1", "--port", str(server.port),
        "--user", ovoc.user.name, "--password-env", "OVOC_PW", "--root-password-env",
        "OVOC_ROOT", "--profile", str(ovoc.profile_file(folder)),
    ]  # fmt: skip


def test_cli_deploys_a_renewal_and_records_it(
    ovoc: OvocServer,
    workspace: Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = ovoc.start(sftp=False)
    base = deploy_ovoc_args(ovoc, server, workspace, monkeypatch, tmp_path)
    base += ["--verify-port", str(ovoc.https_port)]

    # First contact without a pin and without a terminal: the fingerprint, nothing sent.
    assert cli.main(base) == 1
    err = capsys.readouterr().err
    fp = ovoc.target(server).host_key_pin or ""
    assert fp in err and f"--host-key {fp}" in err
    assert "server.key" in err  # the profile's names were shown before anything was sent
    assert not ovoc.cert_dir.exists()

    assert cli.main([*base, "--host-key", fp]) == 0
    out = capsys.readouterr().out
    assert "PKCS#12 file and JKS Keystore generated successfully" in out
    assert f"{ovoc.cert_dir}/server.key" in out
    material = workspace.deploy_material()
    assert f"serves the new certificate {material.leaf_sha256}" in out
    assert (ovoc.cert_dir / "server.crt").read_bytes() == material.cert_pem

    ws = Workspace.open(workspace.path)
    record = ws.state.deployments[-1]
    assert record["kind"] == "ovoc" and record["ok"] is True
    assert record["served_sha256"] == material.leaf_sha256
    log = ws.log_path.read_text()
    assert "ovoc.transcript" in log and "EmsServerManager" in log
    assert ovoc.ROOT_PASSWORD not in log and ovoc.user.password not in log


def test_cli_failure_is_one_plain_error_and_recorded(
    ovoc: OvocServer,
    workspace: Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = ovoc.start()
    base = deploy_ovoc_args(ovoc, server, workspace, monkeypatch, tmp_path, "not-the-root-password")
    code = cli.main([*base, "--host-key", ovoc.target(server).host_key_pin or ""])
    assert code == 1
    err = capsys.readouterr().err
    assert "error: The root password was refused by 127.0.0.1" in err
    assert "Traceback" not in err
    record = Workspace.open(workspace.path).state.deployments[-1]
    assert record["ok"] is False and "root password" in record["error"]


def test_cli_manual_mode_writes_files_and_steps(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "for-winscp"
    code = cli.main(
        ["deploy-ovoc", str(workspace.path), "--host", "ovoc.example.com", "--manual", str(folder)]
    )
    assert code == 0
    out = capsys.readouterr().out
    material = workspace.deploy_material()
    assert (folder / "server.key").read_bytes() == material.key_pem
    assert stat.S_IMODE((folder / "server.key").stat().st_mode) == 0o600
    assert (folder / "server.crt").read_bytes() == material.cert_pem
    assert (folder / "ca_int1.crt").exists() and (folder / "root.crt").exists()
    assert "WinSCP" in out and "PuTTY" in out and "/home/acems/server_certs" in out
    assert "'Import Server Certificates from Certificate Authority (CA)'" in out
    assert "PKCS#12 file and JKS Keystore generated successfully" in out
    assert material.leaf_sha256 in out


def test_an_explicit_host_key_the_server_does_not_match_is_refused_even_when_known(
    ovoc, material
) -> None:
    """Issue 12, finding 6: --host-key is what decides, whatever known hosts holds."""
    server = ovoc.start()
    connect(ovoc.target(server)).close()  # known now
    with pytest.raises(HostKeyPinMismatch, match="not the pinned"):
        deploy_ovoc(
            material,
            _target(ovoc, server, host_key_pin="SHA256:" + "A" * 43),
            ovoc.profile,
            timeouts=FAST,
        )
    assert not ovoc.cert_dir.exists() or not any(ovoc.cert_dir.iterdir())


def test_cli_offers_to_remove_the_uploaded_key_and_old_keys_default_keep(
    ovoc: OvocServer,
    workspace: Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 12, finding 10: after a successful import the unencrypted server.key and the
    *_previous_* folders are named; removed only when the user says yes."""
    import io
    import sys

    server = ovoc.start()
    base = deploy_ovoc_args(ovoc, server, workspace, monkeypatch, tmp_path)
    base += ["--verify-port", str(ovoc.https_port)]
    base += ["--host-key", ovoc.target(server).host_key_pin or ""]
    assert cli.main(base) == 0  # no terminal: kept, and said
    err = capsys.readouterr().err
    assert f"Unencrypted keys left on 127.0.0.1: {ovoc.cert_dir}/server.key" in err
    assert "Kept." in err and (ovoc.cert_dir / "server.key").exists()
    assert cli.main(base) == 0  # a second deployment moves the first files aside
    capsys.readouterr()
    previous = list(ovoc.cert_dir.parent.glob(ovoc.cert_dir.name + "_previous_*"))
    assert previous and (ovoc.cert_dir / "server.key").exists()

    tty = io.StringIO()
    tty.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr(sys, "stdin", tty)
    answers = iter(["y"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    assert cli.main(base) == 0
    out = capsys.readouterr().out
    assert "Removed from 127.0.0.1" in out
    assert not (ovoc.cert_dir / "server.key").exists()
    assert not list(ovoc.cert_dir.parent.glob(ovoc.cert_dir.name + "_previous_*"))
    assert (ovoc.cert_dir / "server.crt").exists()  # only keys and old folders went
