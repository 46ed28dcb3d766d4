"""Per-host trust pins for device HTTPS certificates: config_dir()/device-pins.json."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

from app.atomic import atomic_write
from app.errors import InputError
from app.paths import config_dir

_lock = threading.Lock()  # fleet deployments pin from several threads
PINS_FILE = "device-pins.json"


def pins_path() -> Path:
    return config_dir() / PINS_FILE


def normalize_fingerprint(text: str) -> str:
    """'SHA256:ab:cd..', 'abcd..' or 'AB CD ..' -> 'AB:CD:...' (64 hex digits)."""
    raw = text.strip()
    if raw.upper().startswith("SHA256:"):
        raw = raw[7:]
    digits = re.sub(r"[\s:]", "", raw).upper()
    if not re.fullmatch(r"[0-9A-F]{64}", digits):
        raise InputError(
            f"{text!r} is not a SHA-256 fingerprint.",
            "Give 64 hexadecimal digits, with or without colons, e.g. SHA256:AB:CD:...",
        )
    return ":".join(digits[i : i + 2] for i in range(0, 64, 2))


def host_key(host: str, port: int) -> str:
    return f"{host.lower()}:{port}"


def _load() -> dict[str, str]:
    path = pins_path()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def get_pin(host: str, port: int) -> str | None:
    with _lock:
        return _load().get(host_key(host, port))


def set_pin(host: str, port: int, fingerprint: str) -> None:
    fp = normalize_fingerprint(fingerprint)
    with _lock:
        pins = _load()
        pins[host_key(host, port)] = fp
        data = json.dumps(pins, indent=2, sort_keys=True).encode("utf-8")
        atomic_write(pins_path(), data, secret=False)


def forget_pin(host: str, port: int) -> None:
    with _lock:
        pins = _load()
        if pins.pop(host_key(host, port), None) is not None:
            data = json.dumps(pins, indent=2, sort_keys=True).encode("utf-8")
            atomic_write(pins_path(), data, secret=False)
