"""Keep secrets out of logs: every password the program learns is registered here."""

from __future__ import annotations

import re
import threading
from typing import Any

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


# Field names whose values are secrets wherever they appear in a log record.
_SECRET_FIELD = re.compile(
    r"(?i)(pass(word|phrase|wd)?|pwd|secret|token|hmac|private_?key|key_pem)"
)
# ... unless the field names where a secret is, not the secret ("password_env": a variable).
_NAMES_A_PLACE = re.compile(r"(?i)_(env|file|source|prompt|account)$")


# What else names a secret on a command line: `--api-key`, `-ApiKey`, `--auth`, `AWS_ACCESS_KEY`.
_SECRET_OPTION = re.compile(r"(?i)(api_?key|access_?key|credentials?$|bearer|^auth(orization)?$)")
# ... and what names something beside it: `--token-path`, `--api-key-id`, `--auth-user`.
_NAMES_BESIDE = re.compile(r"(?i)_(path|dir|name|id|url|user|type)$")


def names_a_secret(name: str) -> bool:
    """Whether a field, option or variable called `name` holds a secret (`password`, `--token`,
    `CF_API_TOKEN`, `-ApiKey`), not where one is kept (`password_env`, `--token-file`)."""
    name = name.lstrip("-").replace("-", "_")
    if _NAMES_A_PLACE.search(name) or _NAMES_BESIDE.search(name):
        return False
    return bool(_SECRET_FIELD.search(name) or _SECRET_OPTION.search(name))


def redact_patterns(text: str) -> str:
    """Only what has the shape of a secret: a private key block, `password=...`. For text
    whose secrets are already masked by structure (a console transcript records what was
    typed as a secret as ********), so a password that is also an ordinary word ("root") does
    not turn the prompt `[root@ovoc ~]#` into `[********@ovoc ~]#`, revealing it."""
    text = _KEY_BLOCK.sub("[private key removed]", text)
    return _ASSIGNED.sub(lambda m: m.group(1) + MASK, text)


def redact_fields(value: Any, name: str = "") -> Any:
    """A log record redacted by structure, before it is encoded: fields named as secrets are
    masked whole (encoding first would hide a secret holding `"` or `\\` from any search),
    other strings get redact_patterns()."""
    secret = bool(name) and _SECRET_FIELD.search(name) and not _NAMES_A_PLACE.search(name)
    if secret and value not in (None, "", False, True):
        return MASK
    if isinstance(value, str):
        return redact_patterns(value)
    if isinstance(value, dict):
        return {k: redact_fields(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_fields(v, name) for v in value]
    return value


def redact(text: str) -> str:
    """Free text of unknown structure (an exception, a traceback for the crash log): shaped
    secrets, then every password the program learnt, wherever it appears."""
    text = redact_patterns(text)
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text
