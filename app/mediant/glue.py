"""Glue between a renewal workspace and the device deployment: material in, records out."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from app.csr import CsrSummary
from app.material import DeployMaterial
from app.mediant.client import Timing
from app.mediant.deploy import DeviceResult, DeviceTarget, Progress, client_for, deploy_device
from app.mediant.device_csr import DeviceCsr, DeviceCsrSubject, request_device_csr
from app.mediant.fleet import DEFAULT_PARALLEL, FleetProgress, FleetReport, deploy_fleet
from app.mediant.manual import manual_steps, write_manual_files
from app.request import KeyType
from app.workspace import Workspace


def adopt_csr_from_device(
    workspace: Workspace, target: DeviceTarget, context: int, *, timing: Timing | None = None
) -> tuple[CsrSummary, DeviceCsr]:
    """The key that never leaves the device: the device makes key and CSR in `context` from
    the renewal's subject (SHA-256), and the renewal adopts that CSR as its request.

    The renewal must not have a key yet. Deploy later to the same device and context: only
    there does the certificate match a key.
    """
    s = workspace.state.request.subject
    subject = DeviceCsrSubject(
        s.common_name, s.organization, s.organizational_unit, s.locality, s.state, s.country
    )
    client = client_for(target, timing)
    try:
        device_csr = request_device_csr(client, context, subject)
    finally:
        client.close()
    key_type = _key_type(device_csr)
    if key_type and key_type is not workspace.state.request.key_type:
        workspace.update_request(replace(workspace.state.request, key_type=key_type))
    summary = workspace.adopt_device_csr(device_csr.csr_pem, f"{target.label} context {context}")
    for warning in device_csr.warnings:
        workspace.log("device-csr-warning", device=target.label, warning=warning)
    return summary, device_csr


def _key_type(device_csr: DeviceCsr) -> KeyType | None:
    """The renewal records the device's key type, so `show` tells the truth about it."""
    name = {"RSA": f"rsa{device_csr.key_bits}", "EC secp256r1": "ec256", "EC secp384r1": "ec384"}
    kind = "RSA" if device_csr.key_description.startswith("RSA") else device_csr.key_description
    try:
        return KeyType(name.get(kind, ""))
    except ValueError:
        return None  # e.g. a 1024-bit device key: kept as requested, the warning says why


def deploy_to_device(
    workspace: Workspace,
    target: DeviceTarget,
    *,
    progress: Progress | None = None,
    timing: Timing | None = None,
    material: DeployMaterial | None = None,
) -> DeviceResult:
    """One device; the INI backup goes to workspace.backups_dir, the outcome to its record."""
    material = material or workspace.deploy_material()
    result = deploy_device(
        target,
        material,
        workspace.backups_dir,
        log=lambda line: workspace.log("mediant", detail=line),
        progress=progress,
        timing=timing,
    )
    result = with_manual_steps(workspace, result, material, target)
    workspace.record_deployment(
        {"kind": "mediant", **result.as_dict(), "settings": target_settings(target)}
    )
    return result


def target_settings(target: DeviceTarget) -> dict[str, object]:
    """How the device was reached, so `accert renew` can deploy there again (no password: it
    stays in the credential store; no pin: the pins file holds it)."""
    return {
        "host": target.host,
        "port": target.port,
        "user": target.user,
        "contexts": list(target.contexts),
        "verify_ports": list(target.verify_ports),
        "reset": target.reset,
        "trust_system": target.trust_system,
        "name": target.name,
        # The calling platform per context: its roots are checked again at the next renewal.
        "platforms": {str(c): p for c, p in target.platforms},
        "add_platform_roots": target.add_platform_roots,
        "fqdn": target.fqdn,
    }


def with_manual_steps(
    workspace: Workspace, result: DeviceResult, material: DeployMaterial, target: DeviceTarget
) -> DeviceResult:
    """A device without the REST API gets the certificates as files and the web-page steps."""
    if not result.needs_manual_steps:
        return result
    folder = workspace.path / f"manual-{re.sub(r'[^A-Za-z0-9._-]', '_', target.host)}"
    files = write_manual_files(material, folder)
    firmware = result.identity.firmware if result.identity else "6"
    key_hint = (
        f"the key written by `accert export {workspace.path} --out <folder> --preset "
        "audiocodes` (unencrypted PKCS#1 PEM: delete it once uploaded)"
        if material.key_pem
        else ""
    )
    steps = manual_steps(firmware, files, target.contexts[0], key_hint=key_hint)
    return replace(result, manual_steps=tuple(steps))


def deploy_to_devices(
    workspace: Workspace,
    targets: Sequence[DeviceTarget],
    *,
    parallel: int = DEFAULT_PARALLEL,
    progress: FleetProgress | None = None,
    timing: Timing | None = None,
    material: DeployMaterial | None = None,
) -> tuple[FleetReport, Path, Path]:
    """Many devices in parallel; the summary is saved as JSON and text in the workspace."""
    material = material or workspace.deploy_material()
    report = deploy_fleet(
        targets,
        material,
        workspace.backups_dir,
        parallel=parallel,
        progress=progress,
        log=lambda line: workspace.log("mediant", detail=line),
        timing=timing,
    )
    by_label = {t.label: t for t in targets}
    report = replace(
        report,
        results=tuple(
            with_manual_steps(workspace, r, material, by_label[r.label]) for r in report.results
        ),
    )
    json_path, text_path = report.save(workspace.path)
    workspace.record_deployment(
        {
            "kind": "mediant-fleet",
            "ok": report.ok,
            "report": str(json_path),
            "devices": [
                {
                    "device": r.label,
                    "ok": r.ok,
                    "backup": r.backup_path,
                    "served": r.served_sha256,
                    # What the summary says about each device, without opening the report.
                    "step": r.step,
                    "message": r.message,
                    "hint": r.hint,
                    "contexts": list(r.contexts),
                    "manual": r.needs_manual_steps,
                    "settings": target_settings(by_label[r.label]),
                    "roots": [status.text for status in r.roots],  # "Teams roots 7/7"
                }
                for r in report.results
            ],
        }
    )
    return report, json_path, text_path


def expected_material(workspace: Workspace) -> DeployMaterial:
    """The certificates only (no key, so no passphrase): what `verify --expect` compares."""
    return workspace.deploy_material(with_key=False)
