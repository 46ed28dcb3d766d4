"""How far a renewal has come: its own module, so the wizard's page flow (app.flow) and the
Start page's first paint need it without the workspace engine."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    """How far a renewal has come; the wizard resumes from here."""

    NEW = "new"  # names entered, no key yet
    REQUESTED = "requested"  # key and CSR made; waiting for the CA
    ISSUED = "issued"  # the CA's certificate imported and checked
    EXPORTED = "exported"
    DEPLOYED = "deployed"

    @property
    def label(self) -> str:
        return {
            "new": "Names entered",
            "requested": "CSR made, waiting for the CA",
            "issued": "Certificate imported",
            "exported": "Files exported",
            "deployed": "Deployed",
        }[self.value]

    def at_least(self, other: Stage) -> bool:
        order = list(Stage)
        return order.index(self) >= order.index(other)
