"""OneDrive: a Documents folder it syncs (Windows' Known Folder Move) sends renewals to the cloud.

Each renewal's key is encrypted there, but its passphrase stays in this PC's Credential Manager:
on a new laptop the folders come back and the keys cannot be opened. The user is told once, and
unencrypted keys are not exported into a synced folder unless asked for.
"""

from __future__ import annotations

import os
from pathlib import Path

from app.atomic import atomic_write_text
from app.paths import config_dir

# Set by the OneDrive client for the personal and the work or school account.
VARIABLES = ("OneDrive", "OneDriveCommercial", "OneDriveConsumer")
TOLD_FILE = "onedrive-told.txt"


def roots() -> list[Path]:
    found: list[Path] = []
    for name in VARIABLES:
        value = os.environ.get(name, "").strip()  # Windows spells them so (any case works)
        if value and Path(value) not in found:
            found.append(Path(value))
    return found


def _norm(path: Path) -> str:
    # Windows compares paths without case and with either slash.
    return os.path.normcase(os.path.abspath(path))


def synced_root(path: Path) -> Path | None:
    """The OneDrive folder `path` lies in, or None."""
    target = _norm(path)
    for root in roots():
        base = _norm(root)
        if target == base or target.startswith(base.rstrip(os.sep) + os.sep):
            return root
    return None


def local_exports_root() -> Path:
    """Where unencrypted exports go by default when the renewal is synced: the user's profile
    folder itself, which OneDrive does not sync (it moves Desktop, Documents and Pictures)."""
    return Path.home() / "accert exports"


def notice(path: Path) -> str:
    root = synced_root(path)
    return (
        f"{path} is in OneDrive ({root}), which copies it to the cloud and to your other PCs. "
        "Each renewal's key there is encrypted, but its passphrase stays in this PC's Credential "
        "Manager: on another PC the key cannot be opened (export a PFX to move a renewal). "
        f"Unencrypted keys are exported outside OneDrive, to {local_exports_root()}, unless you "
        "choose otherwise."
    )


def notice_once(path: Path) -> str | None:
    """The notice when `path` is synced and this OneDrive folder was not mentioned before."""
    root = synced_root(path)
    if root is None:
        return None
    marker = config_dir() / TOLD_FILE
    told = marker.read_text("utf-8").splitlines() if marker.exists() else []
    if str(root) in told:
        return None
    atomic_write_text(marker, "".join(f"{line}\n" for line in [*told, str(root)]))
    return notice(path)
