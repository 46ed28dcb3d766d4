"""The renewal's log as a person reads it: log.jsonl rendered to log.txt, which Notepad opens.

log.jsonl stays the record (append-only, one JSON object a line); nothing on Windows opens a
.jsonl by double-click, so "Open the log" shows this rendering instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from app.atomic import atomic_write_text

TEXT_FILE = "log.txt"


def render(entries: Iterable[dict[str, Any]]) -> str:
    """One line per event (local-free ISO time, event), its details indented below it."""
    out: list[str] = []
    for entry in entries:
        at = str(entry.get("at", ""))[:19].replace("T", " ")
        out.append(f"{at}  {entry.get('event', '?')}")
        for name, value in entry.items():
            if name not in ("at", "event"):
                out.append(f"    {name}: {' '.join(_value(value).splitlines())}")
    return "\r\n".join(out) + "\r\n"


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def write_readable(entries: Iterable[dict[str, Any]], folder: Path) -> Path:
    """Write log.txt beside log.jsonl (UTF-8 with a BOM and CRLF, as Notepad expects)."""
    path = Path(folder) / TEXT_FILE
    atomic_write_text(path, "\ufeff" + render(entries))
    return path
