"""pytest fixtures for the ACME tests: challtestsrv, pebble, and settings that use them.

Imported by tests/conftest.py, so any test (ACME issuance, `accert renew`) may ask for them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.pebble import ChallTestSrv, Pebble, hook_command


@pytest.fixture(scope="session")
def challtestsrv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChallTestSrv]:
    server = ChallTestSrv(tmp_path_factory.mktemp("challtestsrv")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pebble(
    tmp_path_factory: pytest.TempPathFactory, challtestsrv: ChallTestSrv
) -> Iterator[Pebble]:
    """A pebble without EAB, resolving through challtestsrv, with one alternate root."""
    ca = Pebble(tmp_path_factory.mktemp("pebble"), challtestsrv.dns, alternate_roots=1).start()
    yield ca
    ca.stop()


@pytest.fixture
def pebble_hook(challtestsrv: ChallTestSrv) -> str:
    """The DNS hook command that publishes into challtestsrv."""
    return hook_command(challtestsrv)
