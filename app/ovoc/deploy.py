"""The whole OVOC deployment: check the files, copy them, run the import, prove the new cert.

Check first (cheap, nothing sent), then SSH, transfer, console import; success only when OVOC
printed its success text and its HTTPS port serves the renewal's certificate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import paramiko
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from app.errors import DeployError
from app.fingerprints import same_public_key
from app.material import DeployMaterial
from app.ovoc.console import (
    DEFAULT_TIMEOUTS,
    Console,
    ConsoleTimeouts,
    ImportOutcome,
    become_root,
    run_import,
)
from app.ovoc.profile import OvocProfile
from app.ovoc.ssh import SshTarget, connect, fingerprint
from app.ovoc.transfer import RemoteFile, TransferResult, upload
from app.redact import redact, register_secret
from app.tls_probe import ProbeError, ServedChain, fetch_served_chain

Log = Callable[[str], None]


@dataclass(frozen=True)
class OvocTarget:
    ssh: SshTarget
    root_password: str = field(repr=False)
    import_password: str = field(default="", repr=False)  # typed at the import's prompt
    verify_host: str | None = None  # default: the SSH host
    verify_port: int | None = None  # default: the profile's (443)
    verify_wait: float | None = None  # seconds; default: the profile's
    verify_interval: float = 5.0
    directory_mode: int | None = None  # override the profile's (e.g. 0o777 if asked)
    force_scp: bool = False


@dataclass(frozen=True)
class OvocResult:
    host: str
    profile: str
    transfer: TransferResult
    outcome: ImportOutcome
    served: ServedChain

    @property
    def success_line(self) -> str:
        return self.outcome.result_line

    @property
    def transcript(self) -> str:
        return self.outcome.transcript


class OvocImportFailed(DeployError):
    """OVOC's import ran and did not print its success text; carries what it said."""

    def __init__(self, message: str, hint: str, transfer: TransferResult, outcome: ImportOutcome):
        super().__init__(message, hint)
        self.transfer, self.outcome = transfer, outcome


def plan_files(material: DeployMaterial, profile: OvocProfile) -> list[RemoteFile]:
    """The files OVOC's import needs, under the profile's names; refuses what would fail there."""
    if not material.key_pem:
        raise DeployError(
            "OVOC's import needs the private key, and this renewal has none (the key stayed on a "
            "device).",
            "Renew with a key made by accert (off-box CSR), as for a shared wildcard certificate.",
        )
    if b"ENCRYPTED" in material.key_pem or b"-----BEGIN" not in material.key_pem:
        raise DeployError(
            "The private key for OVOC is not an unencrypted PEM key.",
            "OVOC builds its SEM PKCS#12 only from the Apache-compatible (unencrypted PEM) key; "
            "a PFX or an encrypted key makes the import fail.",
        )
    try:
        key = serialization.load_pem_private_key(material.key_pem, password=None)
        cert = x509.load_pem_x509_certificate(material.cert_pem)
    except (ValueError, TypeError) as exc:
        raise DeployError(
            f"The key or certificate of {material.name} cannot be read: {exc}.",
            "Import the CA response into the workspace again.",
        ) from exc
    if not same_public_key(key.public_key(), cert.public_key()):
        raise DeployError(
            f"The certificate of {material.name} does not belong to its private key.",
            "Import the CA response that was issued for this renewal's CSR.",
        )
    if material.root_pem is None:
        raise DeployError(
            f"The root CA certificate of {material.name} is not known; OVOC's import needs it.",
            "Add the root CA certificate to the workspace (import the full chain from the CA).",
        )
    names = profile.intermediate_certificates
    if len(material.intermediates_pem) > len(names):
        raise DeployError(
            f"The chain has {len(material.intermediates_pem)} intermediate CAs but the OVOC "
            f"profile {profile.name} names only {len(names)} files for them.",
            f"Add names to intermediate_certificates in a copy of {profile.source}.",
        )
    files = [
        RemoteFile(
            profile.server_certificate, material.cert_pem, profile.file_mode, "server certificate"
        ),
        RemoteFile(
            profile.private_key, material.key_pem, profile.key_mode, "private key (unencrypted PEM)"
        ),
    ]
    for i, (name, pem) in enumerate(zip(names, material.intermediates_pem, strict=False), 1):
        files.append(RemoteFile(name, pem, profile.file_mode, f"intermediate CA {i}"))
    files.append(
        RemoteFile(profile.root_certificate, material.root_pem, profile.file_mode, "root CA")
    )
    return files


def deploy_ovoc(
    material: DeployMaterial,
    target: OvocTarget,
    profile: OvocProfile,
    *,
    log: Log = lambda _line: None,
    timeouts: ConsoleTimeouts = DEFAULT_TIMEOUTS,
) -> OvocResult:
    """Copy, import, verify. Raises DeployError (OvocImportFailed for OVOC's own refusal)."""
    register_secret(target.root_password)
    register_secret(target.import_password)
    files = plan_files(material, profile)
    host = target.ssh.host
    log(f"ovoc: {target.ssh.user}@{host}:{target.ssh.port}, profile {profile.name}")
    transport = connect(target.ssh)
    console: Console | None = None
    try:
        log(f"ssh: logged in, host key {_host_key(transport)}")
        # Root first: a wrong root password is found before any file is moved or placed.
        console = Console.open(transport, host, timeouts.prompt)
        try:
            try:
                become_root(console, profile, target.root_password, timeouts=timeouts, log=log)
            except DeployError as exc:
                raise DeployError(f"{exc.message} Nothing was sent.", exc.hint) from exc
            mode = (
                profile.directory_mode if target.directory_mode is None else target.directory_mode
            )
            transfer = upload(
                transport,
                profile.directory,
                files,
                directory_mode=mode,
                move_aside=profile.move_aside,
                log=log,
                timeout=timeouts.prompt,
                force_scp=target.force_scp,
            )
            outcome = run_import(
                console,
                profile,
                target.root_password,
                target.import_password,
                timeouts=timeouts,
                log=log,
                as_root=True,
            )
        finally:
            log("transcript:\n" + console.transcript)
    finally:
        if console is not None:
            console.close()
        transport.close()
    if not outcome.succeeded:
        raise OvocImportFailed(
            f"OVOC's certificate import on {host} failed: {outcome.result_line!r}",
            profile.hint_for(outcome.output),
            transfer,
            outcome,
        )
    served = wait_for_certificate(
        target.verify_host or host,
        target.verify_port or profile.verify_port,
        material.leaf_sha256,
        wait=profile.verify_wait_seconds if target.verify_wait is None else target.verify_wait,
        interval=target.verify_interval,
        log=log,
    )
    return OvocResult(host, profile.name, transfer, outcome, served)


def wait_for_certificate(
    host: str,
    port: int,
    expected_sha256: str,
    *,
    wait: float,
    interval: float = 5.0,
    log: Log = lambda _line: None,
) -> ServedChain:
    """Handshake until host:port serves `expected_sha256`, for at most `wait` seconds."""
    deadline = time.monotonic() + wait
    last = "no answer"
    while True:
        try:
            served = fetch_served_chain(host, port, timeout=min(10.0, max(wait, 1.0)))
        except ProbeError as exc:
            last = exc.message
        else:
            if served.leaf_sha256 == expected_sha256:
                log(f"verify: {host}:{port} serves the new certificate {expected_sha256}")
                return served
            last = f"it serves another certificate ({served.leaf_sha256})"
        if time.monotonic() + interval > deadline:
            break
        time.sleep(interval)
    raise DeployError(
        f"The import succeeded but {host}:{port} does not serve the new certificate after "
        f"{wait:g} s: {redact(last)}",
        "OVOC restarts its services after an import; wait a few minutes and check again "
        "(accert deploy-ovoc ... or a browser). If it persists, restart OVOC's services.",
    )


def _host_key(transport: paramiko.Transport) -> str:
    return fingerprint(transport.get_remote_server_key())
