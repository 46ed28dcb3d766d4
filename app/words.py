"""Small wording helpers shared by every message: counts with the right noun form."""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`1 target`, `2 targets`, `0 ports`; `plural` for nouns that do not just take an s."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"
