"""Where accert keeps its settings, trust pins and default workspaces."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "accert"


def _override() -> Path | None:
    # Tests and portable installs point everything at one folder.
    home = os.environ.get("ACCERT_HOME")
    return Path(home) if home else None


# platformdirs is imported where a folder is looked up, not with this module: with ACCERT_HOME
# (tests, portable installs) it is never needed, and it costs ~7 ms at start-up.


def config_dir() -> Path:
    import platformdirs

    base = _override()
    path = base / "config" if base else Path(platformdirs.user_config_dir(APP_NAME, False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    import platformdirs

    base = _override()
    path = base / "logs" if base else Path(platformdirs.user_log_dir(APP_NAME, False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def workspaces_root() -> Path:
    """Default parent of renewal folders: Documents/accert."""
    import platformdirs

    base = _override()
    return base / "workspaces" if base else Path(platformdirs.user_documents_dir()) / APP_NAME


def resources_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "resources"
