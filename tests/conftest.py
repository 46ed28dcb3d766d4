"""Shared fixtures: an isolated home, a passphrase from the environment, test CAs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend

from tests.pki import TestCA

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The fixtures that start Debian's services: OpenSSH's sshd logging in a useradd'd account
# (ssh_user, and ovoc on top of it), pebble with pebble-challtestsrv (challtestsrv, pebble,
# pebble_hook, eab_pebble), bind9 (and hidden_bind9). A test asking for one is marked
# `linux_services`: Linux CI runs it, windows.yml deselects it by that marker and reports how
# many (pyproject: markers).
LINUX_SERVICE_FIXTURES = frozenset(
    {
        "ssh_user",
        "ovoc",
        "challtestsrv",
        "pebble",
        "pebble_hook",
        "eab_pebble",
        "bind9",
        "hidden_bind9",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if LINUX_SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.linux_services)


TEST_PASSPHRASE = "correct horse battery staple 4 tests"


class MemoryKeyring(KeyringBackend):
    """A keyring backend held in memory, so tests never touch a real credential store."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own settings, logs and workspaces; no real keyring is touched."""
    home = tmp_path / "accert-home"
    monkeypatch.setenv("ACCERT_HOME", str(home))
    monkeypatch.setenv("ACCERT_PASSPHRASE", TEST_PASSPHRASE)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    return home


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    """A working credential store, as on Windows: the passphrase is kept there."""
    import keyring

    backend = MemoryKeyring()
    monkeypatch.delenv("ACCERT_PASSPHRASE", raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("ca"), "Test")


@pytest.fixture(scope="session")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("other-ca"), "Other")


# OpenSSH's sshd in a test account (ssh_user) and the OVOC appliance on it: tests/fakes/ovoc_env.py.
# The ACME test CA (pebble) and its DNS (challtestsrv): tests/fakes/pebble.py.
from tests.fakes.ovoc_fixtures import ovoc, ssh_user  # noqa: E402, F401
from tests.fakes.pebble_fixtures import challtestsrv, pebble, pebble_hook  # noqa: E402, F401
