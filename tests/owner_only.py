"""Owner-only, checked as each system means it.

POSIX: the file's mode, exactly as app/atomic.py sets it (0o600 a file, 0o700 a folder), or at
least nothing for group and others. Windows has no modes (st_mode there only mirrors the
read-only flag): app/winacl.py sets the ACL instead, and that is read back here as
windows.yml's installer job reads it, inheritance off and the current user's SID alone.
"""

from __future__ import annotations

import stat
import sys
from pathlib import Path


def assert_owner_only(path: Path, mode: int | None = None) -> None:
    """`mode` given: exactly that mode on POSIX; None: no rights for group or others."""
    if sys.platform == "win32":
        _assert_acl_owner_only(path)
        return
    actual = stat.S_IMODE(path.stat().st_mode)
    if mode is None:
        assert actual & 0o077 == 0, f"{path} is open to others: {oct(actual)}"
    else:
        assert actual == mode, f"{path} has mode {oct(actual)}, not {oct(mode)}"


def _assert_acl_owner_only(path: Path) -> None:
    import win32security  # pywin32: a Windows dependency of accert (pyproject.toml)

    from app.winacl import current_user_sid

    sd = win32security.GetFileSecurity(str(path), win32security.DACL_SECURITY_INFORMATION)
    control, _revision = sd.GetSecurityDescriptorControl()
    assert control & win32security.SE_DACL_PROTECTED, f"{path} still inherits its folder's ACL"
    dacl = sd.GetSecurityDescriptorDacl()
    assert dacl is not None, f"{path} has no DACL: everyone may open it"
    # An ACE reads back as ((type, flags), mask, [object types,] sid): the SID comes last.
    sids = {
        win32security.ConvertSidToStringSid(dacl.GetAce(i)[-1]) for i in range(dacl.GetAceCount())
    }
    assert sids == {current_user_sid()}, f"{path} is open to {sorted(sids)}"
