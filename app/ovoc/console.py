"""Walk OVOC's console over an SSH PTY: `su -`, EmsServerManager, menus matched by their text.

Every read has a timeout; everything seen and typed is kept in a transcript with passwords
masked. The import counts as done only when OVOC prints the profile's success text.
"""

from __future__ import annotations

import codecs
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import paramiko

from app.errors import DeployError
from app.ovoc.profile import OvocProfile
from app.peer_text import escape_peer
from app.redact import MASK, redact_patterns

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][A-Za-z0-9]|\x1b[=>]")
# The start of such a sequence at the end of a read: the rest comes with the next one.
_UNFINISHED = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|[()])?\Z")


@dataclass(frozen=True)
class ConsoleTimeouts:
    prompt: float = 30.0  # any prompt or menu
    import_run: float = 300.0  # the import itself (keytool, service restarts)
    leave: float = 5.0  # best-effort exit at the end


DEFAULT_TIMEOUTS = ConsoleTimeouts()

# A prompt is where the peer stops and waits for input. Output can reach us cut anywhere (a PTY
# read or an SSH packet ends mid-line), and "...the SEM PKCS#" of "PKCS#12" ends like a root
# prompt: a match counts only once this long has passed with nothing more arriving.
PROMPT_QUIET = 0.1


@dataclass(frozen=True)
class ImportOutcome:
    succeeded: bool
    result_line: str  # OVOC's own words: the success line, or its failure lines
    output: str  # what the import printed after the password
    transcript: str  # the whole session, redacted
    menu_choices: tuple[str, ...]  # e.g. ("6 Security", "11 Server Certificate Updates", ...)


class Console:
    """A PTY shell with expect-style reads, each bounded by a timeout."""

    def __init__(self, channel: paramiko.Channel, host: str) -> None:
        self.chan, self.host = channel, host
        self.pending = ""  # received since the last match
        self._log: list[str] = []
        self.last_seen = ""
        self._echo: str | None = None  # a secret just typed, until we know it was not echoed
        # A UTF-8 character cut between two reads is decoded whole, not as two U+FFFD.
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._carry = ""  # a terminal escape sequence cut by the read, kept for the next one

    @classmethod
    def open(cls, transport: paramiko.Transport, host: str, timeout: float) -> Console:
        chan = transport.open_session(timeout=timeout)
        chan.get_pty(term="vt100", width=200, height=50)  # wide: menu lines never wrap
        chan.invoke_shell()
        return cls(chan, host)

    @property
    def transcript(self) -> str:
        # Typed secrets are already ******** (send): only shaped secrets are looked for.
        return escape_peer(redact_patterns("".join(self._log) + self.pending), keep_newlines=True)

    def send(self, text: str, *, secret: bool = False) -> None:
        self._log.append(self.pending)
        self.pending = ""
        # On its own line: after "Password: " it would read as an assignment to redact.
        last = next((entry for entry in reversed(self._log) if entry), "\n")
        start = "" if last.endswith("\n") else "\n"
        self._log.append(f"{start}<<typed: {MASK if secret else text}>>\n")
        self._echo = text if secret and text else None
        try:
            self.chan.sendall((text + "\r").encode())
        except (OSError, paramiko.SSHException) as exc:
            raise self._dropped("sending input") from exc

    def expect(self, patterns: dict[str, str], timeout: float, step: str) -> tuple[str, str]:
        """Wait until one of `patterns` (checked in order) matches and the peer has gone quiet;
        return (key, text read)."""
        deadline = time.monotonic() + timeout
        while True:
            key = next((k for k, p in patterns.items() if re.search(p, self.pending)), None)
            if key is not None and (self._quiet() or time.monotonic() >= deadline):
                text = self.pending
                self._log.append(text)
                self.last_seen = text
                self.pending = ""
                return key, text
            if key is not None:
                continue  # more came: the match may have been half a line, look again
            if time.monotonic() >= deadline:
                raise DeployError(
                    f"{self.host} did not answer as expected while {step} "
                    f"(waited {timeout:g} s). Last output: {self._tail()!r}",
                    "The console differs from the OVOC profile: compare the transcript in the "
                    "workspace log with the profile's prompts, or deploy by hand (manual mode).",
                )
            self._read(0.2, step)

    def _read(self, wait: float, step: str) -> bool:
        """Add what arrives within `wait` seconds to `pending`; False if nothing did."""
        self.chan.settimeout(wait)
        try:
            data = self.chan.recv(65536)
        except TimeoutError:
            return False
        except (OSError, paramiko.SSHException) as exc:
            raise self._dropped(step) from exc
        if not data:
            raise self._dropped(step)
        text = self._carry + self._decoder.decode(data)
        cut = _UNFINISHED.search(text)
        self._carry = text[cut.start() :] if cut else ""
        self.pending += _clean(text[: cut.start()] if cut else text)
        self._mask_echo()
        return True

    def _quiet(self) -> bool:
        """Nothing more within PROMPT_QUIET. A connection that ends here is quiet too: what
        matched is all there is, and the next read reports the drop."""
        try:
            return not self._read(PROMPT_QUIET, "reading")
        except DeployError:
            return True

    def _mask_echo(self) -> None:
        """A terminal may echo a password typed before the program turned echo off: the
        answer to a secret prompt is masked where it comes back, by position (right after it
        was typed), not by searching for the password everywhere."""
        if self._echo is None:
            return
        head = self.pending.lstrip(" \r\n")
        if head.startswith(self._echo):
            self.pending = self.pending.replace(self._echo, MASK, 1)
            self._echo = None
        elif head and not self._echo.startswith(head):
            self._echo = None  # something else came first: no echo

    def close(self) -> None:
        self._log.append(self.pending)
        self.pending = ""
        self.chan.close()

    def _tail(self) -> str:
        text = redact_patterns(self.pending or self.last_seen).strip()
        return escape_peer(text[-400:], keep_newlines=True)

    def _dropped(self, step: str) -> DeployError:
        return DeployError(
            f"The SSH connection to {self.host} dropped while {step}. "
            f"Last output: {self._tail()!r}",
            "Nothing was reported as imported. Check the server, then deploy again (the files "
            "are re-sent and the old ones kept aside).",
        )


def _clean(text: str) -> str:
    return _ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "")


def menu_entries(text: str, entry_pattern: str) -> list[tuple[str, str]]:
    """(key, label) of every numbered line of the last menu in `text`."""
    return [
        (m.group(1), escape_peer(m.group(2).strip()))
        for m in re.finditer(entry_pattern, text, re.MULTILINE)
    ]


def choose(text: str, label_pattern: str, entry_pattern: str) -> tuple[str, str] | None:
    for key, label in menu_entries(text, entry_pattern):
        if re.search(label_pattern, label, re.IGNORECASE):
            return key, label
    return None


def become_root(
    console: Console,
    profile: OvocProfile,
    root_password: str,
    *,
    timeouts: ConsoleTimeouts = DEFAULT_TIMEOUTS,
    log: Callable[[str], None] = lambda _line: None,
) -> None:
    """`su -` to root; a refused password is reported as such (before anything is uploaded)."""
    p, host = profile, console.host
    console.expect({"shell": p.shell_prompt}, timeouts.prompt, "waiting for the shell prompt")
    console.send(p.su_command)
    console.expect(
        {"password": p.su_password_prompt}, timeouts.prompt, f"waiting for {p.su_command!r} to ask"
    )
    console.send(root_password, secret=True)
    key, text = console.expect(
        {"failed": p.su_failure, "root": p.root_prompt, "shell": p.shell_prompt},
        timeouts.prompt,
        "waiting for the root prompt",
    )
    if key != "root":
        said = _last_words(text) or "no root prompt"
        raise DeployError(
            f"The root password was refused by {host}: su said {said!r}.",
            "Check the root password of the OVOC server (--root-password-env).",
        )
    log("su: root shell opened")


def run_import(
    console: Console,
    profile: OvocProfile,
    root_password: str,
    import_password: str,
    *,
    timeouts: ConsoleTimeouts = DEFAULT_TIMEOUTS,
    log: Callable[[str], None] = lambda _line: None,
    as_root: bool = False,
) -> ImportOutcome:
    """su to root (unless `as_root`: done already), open EmsServerManager, walk to the CA
    import, answer its prompts, judge it."""
    p, host = profile, console.host
    if not as_root:
        become_root(console, profile, root_password, timeouts=timeouts, log=log)
    console.send(p.manager_command)
    choices: list[str] = []
    for label in p.menu_path:
        key, text = console.expect(
            {"menu": p.menu_prompt, "shell": p.root_prompt},
            timeouts.prompt,
            f"waiting for the menu that offers {_plain(label)!r}",
        )
        if key == "shell":
            raise DeployError(
                f"{p.manager_command} did not show its menu on {host}; the shell said "
                f"{_last_words(text)!r}.",
                "Check that this is an OVOC server and the command name in the profile.",
            )
        picked = choose(text, label, p.menu_entry)
        if picked is None:
            raise DeployError(
                f"OVOC's menu on {host} has no entry matching {_plain(label)!r}; stopped there. "
                f"It showed:\n{redact_patterns(_menu_block(text, p.menu_entry))}",
                "This OVOC version words its menu differently: copy the profile, adjust menu_path "
                "to the text shown, and deploy again (or follow the manual steps).",
            )
        console.send(picked[0])
        choices.append(f"{picked[0]} {picked[1]}")
        log(f"menu: chose {picked[0]} ({picked[1]})")
    # Before the password: instructions, "Press Enter to continue", then the password prompt.
    for _ in range(5):
        key, text = console.expect(
            {
                "password": p.import_password_prompt,
                "enter": p.press_enter,
                "menu": p.menu_prompt,
            },
            timeouts.prompt,
            "waiting for the import's password prompt",
        )
        if key == "password":
            break
        if key == "enter":
            console.send("")
            continue
        raise DeployError(
            f"The import on {host} went back to a menu before asking for the password. "
            f"It said: {_last_words(text)!r}",
            "Run the import by hand once to see what OVOC expects (manual mode).",
        )
    else:
        raise DeployError(f"The import on {host} never asked for its password.", "")
    console.send(import_password, secret=True)
    try:
        key, output = console.expect(
            {"enter": p.press_enter, "menu": p.menu_prompt, "shell": p.root_prompt},
            timeouts.import_run,
            "the import ran (its result was not seen)",
        )
    except DeployError as exc:
        raise DeployError(
            exc.message,
            "The import's outcome is unknown: log in to OVOC, check EmsServerManager and "
            "the HTTPS certificate, then deploy again if needed.",
        ) from exc
    output = redact_patterns(output)
    succeeded = p.success in output
    if succeeded:
        result_line = next(line.strip() for line in output.splitlines() if p.success in line)
    else:
        result_line = _failure_lines(output, profile) or "(no result line)"
    log(f"import: {'succeeded' if succeeded else 'failed'}: {result_line}")
    _leave(console, p, key, timeouts.leave)
    return ImportOutcome(succeeded, result_line, output, console.transcript, tuple(choices))


def _leave(console: Console, p: OvocProfile, state: str, timeout: float) -> None:
    """Back out of the menus and shells; best effort, the result is already known."""
    try:
        if state == "enter":
            console.send("")
        for _ in range(len(p.menu_path) + 2):
            key, text = console.expect(
                {"menu": p.menu_prompt, "root": p.root_prompt}, timeout, "leaving the menus"
            )
            if key == "root":
                break
            out = choose(text, p.leave_menu, p.menu_entry)
            console.send(out[0] if out else "q")
        console.send("exit")
        console.expect({"shell": p.shell_prompt}, timeout, "leaving the root shell")
        console.send("exit")
    except DeployError:
        return


def _failure_lines(output: str, profile: OvocProfile) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    flagged = [line for line in lines if any(re.search(f.pattern, line) for f in profile.failures)]
    return escape_peer(" / ".join(flagged or lines[-3:]))


def _last_words(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return escape_peer(redact_patterns(" / ".join(lines[-2:])))


def _menu_block(text: str, entry_pattern: str) -> str:
    lines = [line.rstrip() for line in text.splitlines()]
    keep = [line for line in lines if line.strip()]
    return escape_peer("\n".join(keep[-25:]), keep_newlines=True)


def _plain(pattern: str) -> str:
    return re.sub(r"\\(.)", r"\1", pattern.strip("^$"))
