"""The folder each file dialog opened last, per purpose (CA response, CSR, export...).

File dialogs that always start in the home folder make the user walk to the same place every
time. Only folder paths are kept (config/folders.json), never file names or anything secret.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import platformdirs

from app.atomic import atomic_write_text
from app.errors import AccertError
from app.paths import config_dir

FILE = "folders.json"
# The purposes the wizard asks about; a typo in a caller is a bug, not a new purpose.
PURPOSES = frozenset(
    {
        "ca-response",
        "csr",
        "export",
        "open-file",
        "renewal-folder",
        "certificate",
        "estate",
        "ovoc-profile",
        "acme-hook",
        "acme-ca-bundle",
        "acme-tsig-key",
    }
)


def _load() -> dict[str, str]:
    try:
        data = json.loads((config_dir() / FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def remembered_folder(purpose: str, default: Path | None = None) -> Path:
    """The folder used last for `purpose` if it still exists; else `default`, else Documents."""
    assert purpose in PURPOSES, purpose
    known = _load().get(purpose)
    if known and Path(known).is_dir():
        return Path(known)
    if default is not None:
        return default
    return Path(platformdirs.user_documents_dir())


def remember_folder(purpose: str, folder: Path) -> None:
    """Keep `folder` for next time; a settings folder that cannot be written is not an error."""
    assert purpose in PURPOSES, purpose
    data = _load()
    data[purpose] = str(folder)
    # A settings folder that cannot be written: the next dialog starts in the default folder.
    with contextlib.suppress(OSError, AccertError):
        atomic_write_text(config_dir() / FILE, json.dumps(data, indent=2, sort_keys=True))
