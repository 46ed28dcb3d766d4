"""What is left of a renewal whose renewal.json cannot be read, and what to do about it.

The hint looks at the folder instead of promising a key: a renewal whose key was made on the
device, or a folder someone tidied, has no private.key, and telling that user to rely on it
would send them the wrong way at the worst moment.
"""

from __future__ import annotations

from pathlib import Path

from app.peer_text import escape_peer
from app.workspace import CERT_FILE, CSR_FILE, EXPORT_DIR, KEY_FILE

_PFX = (".pfx", ".p12")
_RESTORE = "restore renewal.json from a backup of the folder"


def _holds_key(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return b"PRIVATE KEY-----" in f.read(64 * 1024)
    except OSError:
        return False


def _pfx_exports(folder: Path) -> list[str]:
    """PFX files in the renewal's own exports folder, as paths relative to the renewal."""
    try:
        found = [
            p for p in (folder / EXPORT_DIR).rglob("*") if p.suffix.lower() in _PFX and p.is_file()
        ]
    except OSError:
        return []
    return sorted(escape_peer(str(p.relative_to(folder))) for p in found)


def salvage_hint(folder: Path) -> str:
    """The hint under "renewal.json is damaged": what the folder still holds that is worth
    having, and the way back."""
    if _holds_key(folder / KEY_FILE):
        return (
            f"The private key ({KEY_FILE}) is still in the folder: {_RESTORE} and "
            "the renewal opens again with its key."
        )
    missing = (
        f"{KEY_FILE} holds no private key"
        if (folder / KEY_FILE).exists()
        else f"There is no {KEY_FILE} in the folder"
    )
    pfx = _pfx_exports(folder)
    if pfx:
        more = f" (and {len(pfx) - 1} more)" if len(pfx) > 1 else ""
        return (
            f"{missing}, but the export {pfx[0]}{more} holds the key with its certificate: "
            "open that PFX as a new renewal (Start page: Open a PFX, or `accert open-pfx "
            f"FILE`), or {_RESTORE}."
        )
    left = [name for name in (CERT_FILE, CSR_FILE) if (folder / name).is_file()]
    if left:
        return (
            f"{missing}, only {' and '.join(left)} (a key made on a device stays on the "
            f"device): {_RESTORE}, or start a new renewal."
        )
    return (
        f"Nothing usable is in the folder (no private key, certificate or PFX export): "
        f"{_RESTORE}, or start a new renewal."
    )
