"""Real servers and simulated devices the tests run against."""

from __future__ import annotations

import sys


def require_linux(service: str) -> None:
    """Debian's services (sshd with a useradd'd account, pebble, bind9) run only on Linux; a
    test starting one is marked `linux_services` (tests/conftest.py), which windows.yml
    deselects and counts. Reaching here on Windows means that marker is missing."""
    if sys.platform == "win32":
        raise RuntimeError(
            f"{service} is one of Debian's services, started only on Linux: the test needs the "
            "linux_services marker (tests/conftest.py LINUX_SERVICE_FIXTURES)"
        )
