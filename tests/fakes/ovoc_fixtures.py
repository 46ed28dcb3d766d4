"""pytest fixtures for the OVOC tests: a useradd'd account for OpenSSH's sshd, and the simulated
appliance logging in as it.

Imported by tests/conftest.py, so any test (deploy-ovoc, the wizard's OVOC tab, the fault matrix,
`accert renew`) may ask for them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.ovoc_env import OvocServer, ovoc_server
from tests.fakes.sshd import TestUser, create_user


@pytest.fixture(scope="module")
def ssh_user() -> Iterator[TestUser]:
    user = create_user()
    yield user
    user.remove()


@pytest.fixture
def ovoc(ssh_user: TestUser) -> Iterator[OvocServer]:
    with ovoc_server(ssh_user) as server:
        yield server
