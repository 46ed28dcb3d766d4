"""DNS-01: putting `_acme-challenge` TXT records where the CA looks, and seeing them there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class TxtRecord:
    name: str  # _acme-challenge.example.com (no trailing dot)
    value: str  # base64url SHA-256 of the key authorisation
    identifier: str  # the order's name it proves: example.com or *.example.com

    @property
    def fqdn(self) -> str:
        return self.name + "."


class Publisher(Protocol):
    """Creates and removes TXT records: a hook, a person (manual), or RFC 2136 updates."""

    def present(self, record: TxtRecord) -> None: ...

    def cleanup(self, record: TxtRecord) -> None: ...
