"""Glue between a renewal workspace and the OVOC deployment: material in, log and record out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.errors import AccertError
from app.ovoc.console import DEFAULT_TIMEOUTS, ConsoleTimeouts
from app.ovoc.deploy import OvocImportFailed, OvocResult, OvocTarget, deploy_ovoc
from app.ovoc.manual import ManualFile, manual_steps, write_manual_files
from app.ovoc.profile import OvocProfile
from app.workspace import Workspace


def deploy_workspace_to_ovoc(
    workspace: Workspace,
    target: OvocTarget,
    profile: OvocProfile,
    *,
    progress: Callable[[str], None] | None = None,
    timeouts: ConsoleTimeouts = DEFAULT_TIMEOUTS,
) -> OvocResult:
    """Deploy the renewal to OVOC; every step and the redacted transcript go to its log."""

    def log(line: str) -> None:
        if line.startswith("transcript:\n"):
            workspace.log("ovoc.transcript", host=target.ssh.host, text=line[12:])
            return
        workspace.log("ovoc", detail=line)
        if progress is not None:
            progress(line)

    record: dict[str, object] = {
        "kind": "ovoc",
        "target": f"{target.ssh.user}@{target.ssh.host}:{target.ssh.port}",
        "profile": profile.name,
        "settings": target_settings(target, profile),
    }
    try:
        result = deploy_ovoc(
            workspace.deploy_material(), target, profile, log=log, timeouts=timeouts
        )
    except AccertError as exc:
        if isinstance(exc, OvocImportFailed):
            record["files"] = list(exc.transfer.placed)
        workspace.record_deployment({**record, "ok": False, "error": exc.message})
        raise
    workspace.record_deployment(
        {
            **record,
            "ok": True,
            "files": list(result.transfer.placed),
            "moved_aside_to": result.transfer.moved_aside_to,
            "result": result.success_line,
            "served_sha256": result.served.leaf_sha256,
        }
    )
    return result


def target_settings(target: OvocTarget, profile: OvocProfile) -> dict[str, object]:
    """How OVOC was reached, so `accert renew` can deploy there again. Never a password: those
    come from the credential store or the environment; the host key is in accert's known-hosts."""
    return {
        "host": target.ssh.host,
        "port": target.ssh.port,
        "user": target.ssh.user,
        "key_file": str(target.ssh.key_file) if target.ssh.key_file else "",
        "profile": profile.name,
        "profile_source": str(profile.source),
        "verify_host": target.verify_host or "",
        "verify_port": target.verify_port,
        "verify_wait": target.verify_wait,
        "directory_mode": target.directory_mode,
        "force_scp": target.force_scp,
    }


def prepare_manual(
    workspace: Workspace,
    profile: OvocProfile,
    folder: Path | None = None,
    *,
    host: str = "<OVOC address>",
    user: str = "acems",
    port: int = 22,
) -> tuple[list[ManualFile], list[str]]:
    """Files under the profile's names in `folder` (default: <renewal>/ovoc-manual) and steps."""
    material = workspace.deploy_material()
    folder = folder or workspace.path / "ovoc-manual"
    files = write_manual_files(material, profile, folder)
    steps = manual_steps(
        profile, files, host=host, user=user, port=port, leaf_sha256=material.leaf_sha256
    )
    workspace.log("ovoc.manual", folder=str(folder), files=[f.path.name for f in files])
    return files, steps
