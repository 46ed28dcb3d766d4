"""The chain of renewals: each successor `renews` its predecessor, which it `renewed_by`.

Successors are made beside their predecessor, so the chain is followed through renewal.json;
a successor whose link back was written but not yet its predecessor's (a kill in between) is
found by looking at the folders beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.errors import WorkspaceError
from app.workspace import STATE_FILE, RenewalState, Workspace

MAX_LINEAGE = 1000  # a loop written by hand must not hang a scheduled task


@dataclass(frozen=True)
class Head:
    """The newest renewal of a lineage, or where its successor is to be made."""

    workspace: Workspace
    pending: Path | None = None  # `renewed_by` names a folder not created yet (a kill)
    previous: Workspace | None = None  # the renewal that names `workspace` as its successor


def same_folder(a: str | Path, b: str | Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return str(a) == str(b)


def _state_of(folder: Path) -> RenewalState | None:
    try:
        state_file = folder / STATE_FILE
        return RenewalState.from_json(state_file.read_text("utf-8"), state_file)
    except (OSError, WorkspaceError):
        return None


def orphan_successor(ws: Workspace) -> Path | None:
    """A folder beside `ws` that says it renews `ws` while `ws` does not know it yet."""
    for state_file in ws.path.parent.glob(f"*/{STATE_FILE}"):
        folder = state_file.parent
        if folder == ws.path:
            continue
        state = _state_of(folder)
        if state is not None and state.renews and same_folder(state.renews, ws.path):
            return folder
    return None


def newest(ws: Workspace) -> Head:
    """Follow `renewed_by` (and orphans) to the newest renewal of `ws`'s lineage."""
    seen = {ws.path.resolve()}
    current, previous = ws, None
    for _ in range(MAX_LINEAGE):
        nxt = Path(current.state.renewed_by) if current.state.renewed_by else None
        if nxt is None:
            nxt = orphan_successor(current)
            if nxt is None:
                return Head(current, previous=previous)
            current.set_lineage(renewed_by=str(nxt))  # repair the forward link
        if not (nxt / STATE_FILE).exists():
            return Head(current, pending=nxt)
        if nxt.resolve() in seen:
            raise WorkspaceError(
                f"The renewals {current.path} and {nxt} name each other as successor.",
                f"Edit renewed_by in {current.path / STATE_FILE} so that it names the newer one.",
            )
        seen.add(nxt.resolve())
        current, previous = Workspace.open(nxt), current
    raise WorkspaceError(f"The lineage of {ws.path} is longer than {MAX_LINEAGE}.", "")


def lineage_label(state: RenewalState) -> str:
    """For `accert list` and the dashboard: 'renews X', 'renewed by Y', both or ''."""
    parts = []
    if state.renews:
        parts.append(f"renews {Path(state.renews).name}")
    if state.renewed_by:
        parts.append(f"renewed by {Path(state.renewed_by).name}")
    return "; ".join(parts)
