"""DNS hook: lego's exec convention, `CMD present FQDN. VALUE` and `CMD cleanup FQDN. VALUE`,
with ACCERT_ACTION, ACCERT_FQDN, ACCERT_VALUE (and ACCERT_IDENTIFIER) in its environment too.

A .ps1 runs through Windows PowerShell, a .cmd/.bat through cmd /c, anything else directly.
The command line is split like a shell's (Windows rules on Windows) and never run by a shell,
so a TXT value or name cannot be read as shell syntax.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

from app.acme.dns import TxtRecord
from app.acme.errors import DnsError
from app.peer_text import escape_peer, peer_line
from app.redact import names_a_secret

HOOK_TIMEOUT = 300.0  # a cloud API call plus its own wait; a hung hook must not hang us


def split(command: str) -> list[str]:
    try:
        parts = shlex.split(command, posix=os.name != "nt")
    except ValueError as exc:
        raise DnsError(
            f"The DNS hook command cannot be read ({exc}).",
            "Quote a path with spaces in double quotes.",
        ) from exc
    if os.name == "nt":
        parts = [p[1:-1] if len(p) > 1 and p[0] == p[-1] == '"' else p for p in parts]
    if not parts:
        raise DnsError(
            "The DNS hook command is empty.", "Give the script that creates TXT records."
        )
    return parts


# `--token=VALUE`, `TOKEN=VALUE`, `password: VALUE`: a name, then what it is set to.
_ASSIGNMENT = re.compile(r"^(-{0,2}[A-Za-z][\w.-]*)\s*[=:]\s*(\S)")


def secret_arguments(command: str) -> list[str]:
    """The names of the arguments of a hook command that carry a secret: `--token=VALUE`,
    `--token VALUE`, `-ApiKey VALUE` (PowerShell), `CF_API_TOKEN=VALUE`, also inside a quoted
    `sh -c "..."`. Judged by the names alone; the values are never looked at."""
    try:
        parts = split(command)
    except DnsError:
        return []
    found: list[str] = []
    for part, following in zip(parts, [*parts[1:], ""], strict=True):
        assigned = _ASSIGNMENT.match(part)
        if assigned and names_a_secret(assigned.group(1)):
            found.append(assigned.group(1))
        elif part.startswith("-") and names_a_secret(part) and following[:1] not in ("", "-"):
            found.append(part)
        elif " " in part.strip():  # a script given to a shell: its own words
            found += secret_arguments(part)
    return list(dict.fromkeys(found))


def secret_warning(command: str) -> str | None:
    """One line for the user who put a secret on the hook's command line, naming the argument
    (never its value)."""
    names = secret_arguments(command)
    if not names:
        return None
    shown = ", ".join(escape_peer(n) for n in names)
    return (
        f"The DNS hook command holds a secret ({shown}): renewal.json records the command and "
        "`accert show` prints it. Let the hook read the secret from an environment variable "
        "instead (it inherits accert's environment)."
    )


def argv(command: str, action: str, record: TxtRecord) -> list[str]:
    parts = split(command)
    program, rest = parts[0], parts[1:]
    suffix = Path(program).suffix.lower()
    if suffix == ".ps1":
        head = ["powershell", "-NoProfile", "-ExecutionPolicy", "Bypass", "-File", program]
    elif suffix in (".cmd", ".bat"):
        head = ["cmd", "/c", program]
    else:
        head = [program]
    return [*head, *rest, action, record.fqdn, record.value]


def hook_environment(action: str, record: TxtRecord) -> dict[str, str]:
    """The same three values as environment variables (as certbot's CERTBOT_VALIDATION):
    a VALUE may begin with '-', which PowerShell's -File would read as a parameter name."""
    return {
        **os.environ,
        "ACCERT_ACTION": action,
        "ACCERT_FQDN": record.fqdn,
        "ACCERT_VALUE": record.value,
        "ACCERT_IDENTIFIER": record.identifier,
    }


class HookPublisher:
    def __init__(self, command: str, timeout: float = HOOK_TIMEOUT) -> None:
        self.command = command
        self.timeout = timeout
        # A command that cannot be parsed, or a script that is not there, fails before any
        # order is placed (powershell would only say so once the CA is waiting).
        program = Path(split(command)[0])
        is_path = program.suffix.lower() in (".ps1", ".cmd", ".bat") or len(program.parts) > 1
        if is_path and not program.is_file():
            raise DnsError(
                f"The DNS hook {program} was not found.",
                "Give the full path of the script (and check it exists on this PC).",
            )

    def present(self, record: TxtRecord) -> None:
        self._run("present", record)

    def cleanup(self, record: TxtRecord) -> None:
        self._run("cleanup", record)

    def _run(self, action: str, record: TxtRecord) -> None:
        args = argv(self.command, action, record)
        try:
            proc = subprocess.run(
                args,
                env=hook_environment(action, record),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError as exc:
            raise DnsError(
                f"The DNS hook {args[0]} was not found.",
                "Give the full path of the script (and check it exists on this PC).",
            ) from exc
        except PermissionError as exc:
            raise DnsError(
                f"The DNS hook {args[0]} cannot be run (permission denied).",
                "Make it executable (chmod +x) or give the interpreter first.",
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise DnsError(
                f"The DNS hook ({action} {record.fqdn}) did not finish within "
                f"{self.timeout:g} s and was stopped.",
                "Check the script on its own: it must return once the record is set.",
            ) from exc
        except OSError as exc:
            raise DnsError(
                f"The DNS hook {args[0]} could not start: {exc.strerror or exc}.",
                "Check the command.",
            ) from exc
        if proc.returncode != 0:
            tail = _tail(proc.stderr) or _tail(proc.stdout) or "no output"
            raise DnsError(
                f"The DNS hook failed to {'publish' if action == 'present' else 'remove'} TXT "
                f"{record.fqdn} ('{action}', exit code {proc.returncode}): {tail}",
                "Run the hook by hand with the same arguments to see why; nothing was imported "
                "and the CSR is kept.",
            )


def _tail(data: bytes, lines: int = 3) -> str:
    text = data.decode("utf-8", errors="replace").strip().splitlines()
    return peer_line(" | ".join(text[-lines:]), 300)
