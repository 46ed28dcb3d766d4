"""Manual mode: the exact steps (WinSCP and PuTTY terms) and the files, in the profile's names.

For sites where accert may not log in to OVOC itself: the engineer gets the same files the
automatic deployment would send and a numbered list of what to click and type.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.atomic import atomic_write
from app.material import DeployMaterial
from app.ovoc.deploy import plan_files
from app.ovoc.profile import OvocProfile, menu_labels


@dataclass(frozen=True)
class ManualFile:
    path: Path
    role: str
    secret: bool


def write_manual_files(
    material: DeployMaterial, profile: OvocProfile, folder: Path
) -> list[ManualFile]:
    """The files OVOC's import needs, under the profile's names; the key owner-only."""
    written = []
    for f in plan_files(material, profile):
        path = folder / f.name
        secret = f.name == profile.private_key
        atomic_write(path, f.data, plaintext=secret)  # the unencrypted key OVOC imports
        written.append(ManualFile(path, f.role, secret))
    return written


def manual_steps(
    profile: OvocProfile,
    files: list[ManualFile],
    *,
    host: str = "<OVOC address>",
    user: str = "acems",
    port: int = 22,
    leaf_sha256: str = "",
    verify_port: int | None = None,
) -> list[str]:
    d = profile.directory.rstrip("/")
    parent = d.rsplit("/", 1)[0] or "/"
    folder = files[0].path.parent if files else Path(".")
    names = ", ".join(f"{f.path.name} ({f.role})" for f in files)
    path = "; then ".join(f"'{label}'" for label in menu_labels(profile))
    https = verify_port or profile.verify_port
    steps = [
        f"WinSCP: New Site, File protocol SFTP (choose SCP if SFTP is refused), Host name {host}, "
        f"Port number {port}, User name {user}, Login. On first contact compare the server's "
        "host key fingerprint with the one OVOC shows before you accept it.",
        f"WinSCP: open {parent}. If the folder {d.rsplit('/', 1)[-1]} is missing, create it "
        f"(right-click, New, Directory) with permissions {profile.directory_mode:04o} "
        "(Properties, Octal). Do not make it 777.",
        f"WinSCP: if {d} already holds files, move them into a new folder next to it, e.g. "
        f"{d}_previous_<date> (keep them; do not overwrite). Leave no old PFX in {d}.",
        f"WinSCP: upload from {folder} into {d} exactly these files, without renaming them: "
        f"{names}. Set the permissions of {profile.private_key} to {profile.key_mode:04o}.",
        f"PuTTY: Host Name {host}, Port {port}, Connection type SSH, Open; log in as {user}.",
        "PuTTY: type `su -` and the root password (nothing is shown while you type).",
        f"PuTTY: type `{profile.manager_command}`. In each menu type the number shown next to: "
        f"{path}. The numbers differ between OVOC "
        "versions: go by the words.",
        "PuTTY: at 'Press Enter to continue' press Enter. At the password prompt press Enter "
        f"(the key {profile.private_key} is not encrypted), unless your OVOC insists on one.",
        f"PuTTY: OVOC must answer '{profile.success}'. An error about the 'SEM PKCS#12 file' "
        "means the key is not the unencrypted PEM from this folder or a file name differs: "
        "fix the files in WinSCP and run the import again.",
        "PuTTY: leave the menus (q), then type `exit` twice. OVOC restarts its services; allow a "
        "few minutes.",
        f"Browser: open https://{host}:{https}/ and check the certificate's SHA-256 fingerprint"
        + (f" is {leaf_sha256}" if leaf_sha256 else "")
        + " (or run `accert verify HOST:PORT --expect WORKSPACE`).",
    ]
    if any(f.secret for f in files):
        key = next(f.path for f in files if f.secret)
        steps.append(
            f"Delete {key} from this computer once OVOC works: it is the unencrypted key "
            "(the renewal folder keeps the encrypted one)."
        )
    return steps
