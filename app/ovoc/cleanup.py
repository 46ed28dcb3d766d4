"""After a successful import: remove the unencrypted key we uploaded and the folders of old keys.

OVOC's import copies the key into its keystores; the `server.key` left in the import folder and
every `<folder>_previous_<time>` (old keys moved aside by earlier deployments) are unencrypted
keys lying on the server. Removing them is offered, asked, never done by default.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass

from app.errors import DeployError
from app.ovoc.profile import OvocProfile
from app.ovoc.ssh import SshTarget, connect


@dataclass(frozen=True)
class Leftovers:
    key_file: str | None  # the uploaded key, if it is still there
    previous_folders: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return self.key_file is None and not self.previous_folders

    def describe(self) -> str:
        parts = [self.key_file] if self.key_file else []
        parts += [f"{p}/" for p in self.previous_folders]
        return ", ".join(parts)


def _run(target: SshTarget, command: str) -> tuple[int, str]:
    transport = connect(target)
    try:
        chan = transport.open_session(timeout=target.timeout)
        chan.settimeout(target.timeout)
        chan.exec_command(command)
        out = b""
        while chunk := chan.recv(65536):
            out += chunk
        rc = chan.recv_exit_status()
        chan.close()
    finally:
        transport.close()
    return rc, out.decode("utf-8", "replace")


def find_leftovers(target: SshTarget, profile: OvocProfile) -> Leftovers:
    directory = profile.directory.rstrip("/")
    key = profile.remote_path(profile.private_key)
    # Names only; the glob is ours (the folder comes from the profile, quoted).
    command = (
        f"test -e {shlex.quote(key)} && echo KEY; "
        f'for d in {shlex.quote(directory)}_previous_*; do test -d "$d" && echo "DIR $d"; done; '
        "true"
    )
    rc, out = _run(target, command)
    if rc != 0:
        raise DeployError(f"Could not list the old key files on {target.host}: {out.strip()}.")
    lines = out.splitlines()
    folders = tuple(line[4:] for line in lines if line.startswith("DIR "))
    return Leftovers(key if "KEY" in lines else None, folders)


def remove_leftovers(
    target: SshTarget, leftovers: Leftovers, log: Callable[[str], None] = lambda _l: None
) -> None:
    paths = ([leftovers.key_file] if leftovers.key_file else []) + list(leftovers.previous_folders)
    if not paths:
        return
    rc, out = _run(target, "rm -rf -- " + " ".join(shlex.quote(p) for p in paths))
    if rc != 0:
        raise DeployError(
            f"Could not remove the old key files on {target.host}: {out.strip()}.",
            "Remove them there by hand (as root if the SSH user may not).",
        )
    log(f"cleanup: removed {leftovers.describe()}")
