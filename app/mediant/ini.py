"""Read what we need from a device's INI file: the `[ TLSContexts ]` table."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field

_ROW = re.compile(r"^\s*TLSContexts\s+(\d+)\s*=\s*(.*?);?\s*$", re.IGNORECASE)
_FORMAT = re.compile(r"^\s*FORMAT\s+\w+\s*=\s*(.*?);?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class TlsContextRow:
    index: int
    name: str
    fields: dict[str, str] = field(default_factory=dict, compare=False)

    def label(self) -> str:
        return f"{self.index} ({self.name})"


def _split(values: str) -> list[str]:
    return next(csv.reader([values], skipinitialspace=True), [])


def parse_tls_contexts(ini_text: str) -> list[TlsContextRow]:
    """Rows of `[ TLSContexts ]` ... `[ \\TLSContexts ]`, by index. Context 0 always exists
    on a device; an INI without the table (very old firmware) yields just that one."""
    inside = False
    columns: list[str] = []
    rows: dict[int, TlsContextRow] = {}
    for line in ini_text.splitlines():
        stripped = line.strip()
        if stripped.startswith(";") or not stripped:
            continue
        if stripped.startswith("["):
            name = stripped.strip("[] ").lower()
            if name == "tlscontexts":
                inside = True
            elif inside:
                break  # `[ \TLSContexts ]` or the next section
            continue
        if not inside:
            continue
        fmt = _FORMAT.match(stripped)
        if fmt:
            columns = [c.strip() for c in fmt.group(1).split(",")]
            continue
        row = _ROW.match(stripped)
        if row:
            values = _split(row.group(2))
            named = dict(zip(columns, values, strict=False))
            name = named.get("Name", values[0] if values else "")
            rows[int(row.group(1))] = TlsContextRow(int(row.group(1)), name, named)
    if 0 not in rows:
        rows[0] = TlsContextRow(0, "default")
    return [rows[i] for i in sorted(rows)]


def looks_like_ini(data: bytes) -> bool:
    """A backup we can trust holds sections; an error page or an empty body does not."""
    text = data.decode("utf-8", errors="replace")
    return bool(re.search(r"^\s*\[[^\]]+\]\s*$", text, re.MULTILINE))
