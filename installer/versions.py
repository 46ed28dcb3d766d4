"""The version numbers Windows wants, from the package version as packaging parses it.

Windows' VERSIONINFO and Inno Setup's VersionInfoVersion take four numbers; a release candidate
such as 0.2.0rc1 is 0.2.0.0 there (its full text stays in the product version string).
"""

from __future__ import annotations

from packaging.version import Version


def windows_numbers(version: str) -> tuple[int, int, int, int]:
    """'0.2.0rc1' -> (0, 2, 0, 0); '1.4' -> (1, 4, 0, 0); '2.0.1.7.9' -> (2, 0, 1, 7)."""
    release = Version(version).release  # InvalidVersion for what pip would refuse too
    padded = (*release, 0, 0, 0, 0)[:4]
    if any(n > 65535 for n in padded):
        raise ValueError(f"{version}: Windows version numbers are at most 65535 each")
    return (padded[0], padded[1], padded[2], padded[3])


def windows_version(version: str) -> str:
    """The dotted form Inno Setup's VersionInfoVersion accepts: '0.2.0.0'."""
    return ".".join(str(n) for n in windows_numbers(version))
