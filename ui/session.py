"""What the open wizard knows about the renewal in hand (the workspace is the real record)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.flow import StartChoice

if TYPE_CHECKING:  # annotations only: the engine loads when a page needs it
    from app.ca_response import Source
    from app.estate.inventory import Target
    from app.export import ExportResult
    from app.mediant.devices import SavedDevice
    from app.response_check import ImportOutcome
    from app.workspace import Stage, Workspace
    from ui.key_origin import DeviceKey


@dataclass
class Session:
    workspace: Workspace | None = None
    choice: StartChoice = StartChoice.NEW
    outcome: ImportOutcome | None = None  # analysed, not yet accepted
    sources: list[Source] = field(default_factory=list)
    exports: list[ExportResult] = field(default_factory=list)
    # "Renew these" from the estate dashboard: the Deploy page starts with these selected.
    preselected_devices: list[SavedDevice] = field(default_factory=list)
    preselected_ovoc: list[Target] = field(default_factory=list)
    # ... and for a new renewal, the names those targets serve today (CN first).
    suggested_names: tuple[str, ...] = ()
    # The key is made by this SBC (Names page choice); None: made here.
    device_key: DeviceKey | None = None

    @property
    def stage(self) -> Stage | None:
        return self.workspace.state.stage if self.workspace else None

    def require(self) -> Workspace:
        assert self.workspace is not None, "a page after Start runs without a renewal"
        return self.workspace
