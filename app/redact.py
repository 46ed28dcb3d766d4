"""Keep secrets out of logs: every password the program learns is registered here."""

from __future__ import annotations

import re
import threading

_lock = threading.Lock()
_secrets: set[str] = set()

MASK = "********"
# A private key block of any kind, should one ever reach a log line.
_KEY_BLOCK = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.DOTALL
)

# "password=..." in an exception or a URL, for a secret the program never learnt (a library's).
_ASSIGNED = re.compile(
    r"(?i)(?<![a-z])((?:pass(?:word|phrase|wd)?|pwd|secret)[ \t]*[=:][ \t]*)([^\s\"',;&]+)"
)


def register_secret(value: str | None) -> None:
    """Remember `value` so that redact() hides it wherever it appears later."""
    if value and len(value) >= 3:  # shorter strings would mask ordinary words
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    text = _KEY_BLOCK.sub("[private key removed]", text)
    text = _ASSIGNED.sub(lambda m: m.group(1) + MASK, text)
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text
