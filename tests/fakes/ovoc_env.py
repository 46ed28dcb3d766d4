"""Test helpers for the OVOC deployment: a simulated OVOC behind a real sshd."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from app.fingerprints import cert_sha256
from app.material import DeployMaterial
from app.ovoc.profile import OvocProfile, load_profile
from app.ovoc.ssh import SshTarget, fingerprint
from tests.fakes.sshd import Sshd, TestUser, free_port
from tests.pki import TestCA


def make_material(ca: TestCA, folder: Path, cn: str = "ovoc.example.com") -> DeployMaterial:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    leaf = ca.sign(csr.public_bytes(serialization.Encoding.PEM), folder / f"{cn}.crt")
    cert_pem = leaf.read_bytes()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # PKCS#1: Apache-compatible
        serialization.NoEncryption(),
    )
    return DeployMaterial(
        name=cn.replace(".", "_"),
        cert_pem=cert_pem,
        intermediates_pem=(ca.inter_pem,),
        root_pem=ca.root_pem,
        leaf_sha256=cert_sha256(x509.load_pem_x509_certificate(cert_pem)),
        key_pem=key_pem,
        key_description="RSA 2048",
    )


class OvocServer:
    """The simulated appliance of one test: its settings, folders and sshd(s)."""

    ROOT_PASSWORD = "r00t-Secret!"

    def __init__(self, user: TestUser) -> None:
        self.user = user
        self.folder = Path(tempfile.mkdtemp(prefix="t-", dir=user.base))
        self.folder.chmod(0o755)
        for child in user.home.iterdir():  # a fresh appliance for every test
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        self.state = user.home / ".ovoc-state"
        self.state.mkdir()
        os.chown(self.state, user.uid, user.gid)
        self.cert_dir = user.home / "server_certs"
        self.https_port = free_port()
        self.settings_path = self.folder / "ovoc.json"
        self.profile: OvocProfile = dataclasses.replace(
            load_profile("ovoc-8"),
            directory=str(self.cert_dir),
            verify_port=self.https_port,
            verify_wait_seconds=15.0,
        )
        self.servers: list[Sshd] = []
        self.configure()

    def configure(self, **changes: Any) -> None:
        p = self.profile
        settings: dict[str, Any] = {
            "root_password": self.ROOT_PASSWORD,
            "hostname": "ovoc",
            "cert_dir": str(self.cert_dir),
            "state_dir": str(self.state),
            "files": {
                "server_certificate": p.server_certificate,
                "private_key": p.private_key,
                "root_certificate": p.root_certificate,
                "intermediate_certificates": list(p.intermediate_certificates),
            },
            "https_port": self.https_port,
            "restart_delay": 0.3,
            "https_lifetime": 30,
            "menu_variant": "8",
            "fault": "",
        }
        settings.update(changes)
        self.settings_path.write_text(json.dumps(settings))
        self.settings_path.chmod(0o644)

    def profile_file(self, folder: Path) -> Path:
        """A user's copy of the profile, as the README tells engineers to make."""
        path = folder / "my-ovoc.toml"
        path.write_text(
            'name = "my-ovoc"\nextends = "ovoc-8"\n'
            f'[upload]\ndirectory = "{self.cert_dir}"\n'
            "[verify]\nwait_seconds = 15\n"
        )
        return path

    def make_cert_dir(self, mode: int = 0o755) -> None:
        self.cert_dir.mkdir()
        os.chown(self.cert_dir, self.user.uid, self.user.gid)
        self.cert_dir.chmod(mode)

    def start(self, *, sftp: bool = True) -> Sshd:
        sub = Path(tempfile.mkdtemp(prefix="sshd-", dir=self.folder))
        sub.chmod(0o755)
        server = Sshd(self.user, sub, self.settings_path, sftp=sftp)
        self.servers.append(server)
        return server

    def target(self, server: Sshd, **changes: Any) -> SshTarget:
        import paramiko

        host_key = paramiko.Ed25519Key.from_private_key_file(str(server.host_key))
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": server.port,
            "user": self.user.name,
            "password": self.user.password,
            "host_key_pin": fingerprint(host_key),
            "timeout": 10.0,
        }
        values.update(changes)
        return SshTarget(**values)

    def stop(self) -> None:
        pid_file = self.state / "https.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                pid = int(pid_file.read_text())
                os.kill(pid, signal.SIGTERM)
                for _ in range(40):  # gone within 2 s, so the test user can be removed
                    if not _alive(pid):
                        break
                    time.sleep(0.05)
        for server in self.servers:
            server.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    """Running (a zombie left to a container's init that never reaps counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@contextlib.contextmanager
def ovoc_server(user: TestUser) -> Iterator[OvocServer]:
    server = OvocServer(user)
    try:
        yield server
    finally:
        server.stop()
