"""Finding 9 of issue 12: redaction by structure, and no password in a dataclass's repr."""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil
import re

import pytest

import app
from app.redact import MASK, redact_fields, register_secret
from app.workspace import Workspace
from tests.helpers import requested


@pytest.fixture(autouse=True)
def _own_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    # register_secret() is process-wide: these tests' secrets ("root") must not leak into
    # other tests.
    from app import redact

    monkeypatch.setattr(redact, "_secrets", set(redact._secrets))


_SECRET_NAME = re.compile(r"(?i)(password|passphrase|secret|hmac|token)")
_NOT_SECRET = re.compile(r"(?i)(_env|_file|_source|_prompt|_account|sources)$")


def _modules() -> list[str]:
    names = ["app"]
    for info in pkgutil.walk_packages(app.__path__, "app."):
        if not info.name.endswith("__main__"):
            names.append(info.name)
    pytest.importorskip("PySide6")
    import ui

    names += [i.name for i in pkgutil.walk_packages(ui.__path__, "ui.") if "__main__" not in i.name]
    return names


def test_no_password_field_shows_in_a_repr() -> None:
    leaking = []
    for name in _modules():
        module = importlib.import_module(name)
        for obj in vars(module).values():
            if not (isinstance(obj, type) and dataclasses.is_dataclass(obj)):
                continue
            if obj.__module__ != module.__name__:
                continue
            for f in dataclasses.fields(obj):
                if _SECRET_NAME.search(f.name) and not _NOT_SECRET.search(f.name):
                    if f.type in ("bool", bool) or "Sources" in str(f.type):
                        continue  # a flag saying whether something is secret; env names
                    if f.repr:
                        leaking.append(f"{obj.__module__}.{obj.__qualname__}.{f.name}")
    assert leaking == [], leaking


def test_export_options_and_device_entries_hide_their_passwords() -> None:
    from app.export import ExportOptions

    assert "Hunter-22-pfx" not in repr(ExportOptions(frozenset(), "Hunter-22-pfx"))


@pytest.mark.parametrize("secret", ['pa"ss\\word-1', "quote'\"and\\back"])
def test_secret_fields_are_masked_before_json_encoding(secret: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    register_secret(secret)
    ws: Workspace = requested(tmp_path)
    ws.log("exported", folder="out", password=secret, files=["a.pfx"])
    raw = ws.log_path.read_text("utf-8")
    assert secret not in raw and json.dumps(secret)[1:-1] not in raw
    assert ws.read_log()[-1]["password"] == MASK


def test_a_password_that_is_also_a_word_does_not_mask_the_prompt() -> None:
    """The root password 'root' must not turn the prompt into [********@ovoc ~]#, which would
    show it; the typed password is masked where it was typed (by structure)."""
    register_secret("root")
    record = redact_fields(
        {"event": "ovoc.transcript", "text": "<<typed: ********>>\n[root@ovoc ~]# ", "host": "h"}
    )
    assert record["text"].endswith("[root@ovoc ~]# ")
    assert redact_fields({"root_password": "root", "password_env": "PW"}) == {
        "root_password": MASK,
        "password_env": "PW",
    }


class _Channel:
    """The far end of an OVOC console: answers each line typed with the next canned output."""

    def __init__(self, first: str, answers: list[str]) -> None:
        self.queue = [first.encode()]
        self.answers = [a.encode() for a in answers]

    def settimeout(self, _t: float) -> None:
        pass

    def sendall(self, _data: bytes) -> None:
        if self.answers:
            self.queue.append(self.answers.pop(0))

    def recv(self, _n: int) -> bytes:
        if not self.queue:
            raise TimeoutError
        return self.queue.pop(0)

    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("secret", "answer", "shown"),
    [
        # The terminal echoed the password (typed before su turned echo off): masked there.
        ("r00t-Secret!", "r00t-Secret!\r\n[root@ovoc ~]# ", "********\n[root@ovoc ~]# "),
        ("root", "root\r\n[root@ovoc ~]# ", "********\n[root@ovoc ~]# "),
        # No echo: the prompt stays whole even when the password is the word "root".
        ("root", "\r\n[root@ovoc ~]# ", "\n[root@ovoc ~]# "),
    ],
)
def test_console_masks_an_echoed_secret_by_position(secret: str, answer: str, shown: str) -> None:
    from app.ovoc.console import Console

    console = Console(_Channel("Password: ", [answer]), "ovoc")  # type: ignore[arg-type]
    console.expect({"pw": r"Password: $"}, 1, "waiting")
    console.send(secret, secret=True)
    console.expect({"root": r"#\s*$"}, 1, "waiting")
    assert console.transcript.endswith("<<typed: ********>>\n" + shown)
    assert "r00t-Secret!" not in console.transcript
