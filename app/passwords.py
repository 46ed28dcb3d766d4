"""Where passwords come from: an environment variable, a file, the OS credential store or a
prompt; never a plain command-line argument. Every password read is registered for redaction."""

from __future__ import annotations

import codecs
import getpass
import os
import re
import sys
from pathlib import Path

from app.errors import PassphraseError
from app.redact import register_secret

SERVICE = "accert"


# What a shell (POSIX, PowerShell's $env:, cmd's set) takes as a variable name without quoting.
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def set_variable_hint(var: str) -> str:
    """How to set `var` in the user's shell: PowerShell on Windows, POSIX elsewhere."""
    if sys.platform == "win32":
        return f"PowerShell: $env:{var}='...'"
    return f"export {var}='...'"


def from_env(var: str, option: str = "") -> str:
    """The password held by the environment variable named `var`.

    Hurried users put the password itself where the variable's name belongs
    (`--pfx-password-env "$PFX_PASSWORD"`): anything that is not a variable name is never
    printed, and is registered as a secret so no log or crash report keeps it either.
    """
    option = option or "--…-env"
    example = option.strip("-").removesuffix("-env").replace("-", "_").upper() or "PASSWORD"
    if not example.isidentifier():
        example = "PASSWORD"
    usage = f"{option} {example}" if option.startswith("-") else f'{option}: "{example}"'
    hint = (
        "Pass the NAME of the variable that holds the password, e.g. "
        f"{usage} after {set_variable_hint(example)}"
    )
    if not var:
        raise PassphraseError(f"{option} was given an empty name.", hint + ".")
    if not _VARIABLE_NAME.fullmatch(var):
        register_secret(var)
        raise PassphraseError(
            f"What was given to {option} is not a variable name (it is not shown here, in case "
            "it is the password itself).",
            hint + "; never the password itself.",
        )
    value = os.environ.get(var)
    if value is None or value == "":
        raise PassphraseError(
            f"The environment variable {var} is not set or empty.",
            f"Set it to the password before running the command ({set_variable_hint(var)}).",
        )
    register_secret(value)
    return value


def from_file(path: Path) -> str:
    """The password in a file as Windows tools write it: UTF-8 with or without a BOM
    (PowerShell 5.1's `Set-Content -Encoding UTF8` adds one), UTF-16 with a BOM (`echo pw > f`
    in PowerShell 5.1), one trailing line end (CRLF, LF or CR) dropped. Anything else is
    refused rather than guessed: a wrong guess makes a PFX that nobody can open."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise PassphraseError(
            f"Cannot read the password file {path}: {exc.strerror or exc}.",
            "Check the path and that you may read it.",
        ) from exc
    value = _strip_one_line_end(_decode_password_file(data, path))
    if not value:
        raise PassphraseError(f"The password file {path} is empty.", "Put the password in it.")
    if "\n" in value or "\r" in value:
        raise PassphraseError(
            f"The password file {path} holds more than one line.",
            "Keep only the password in it, on one line.",
        )
    if "\ufeff" in value or "\x00" in value:
        raise PassphraseError(
            f"The password file {path} holds a byte-order mark or NUL character inside the "
            "password.",
            _SAVE_AS_UTF8,
        )
    register_secret(value)
    return value


_SAVE_AS_UTF8 = (
    "Save it as UTF-8 (PowerShell: Set-Content -NoNewline -Encoding utf8 FILE 'password'; "
    "Notepad: Save as, Encoding UTF-8)."
)


def _decode_password_file(data: bytes, path: Path) -> str:
    try:
        if data.startswith(codecs.BOM_UTF8):
            return data[len(codecs.BOM_UTF8) :].decode("utf-8")
        if data.startswith(codecs.BOM_UTF16_LE):
            return data[len(codecs.BOM_UTF16_LE) :].decode("utf-16-le")
        if data.startswith(codecs.BOM_UTF16_BE):
            return data[len(codecs.BOM_UTF16_BE) :].decode("utf-16-be")
        if b"\x00" in data:
            raise PassphraseError(
                f"The password file {path} looks like UTF-16 without a byte-order mark.",
                _SAVE_AS_UTF8,
            )
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PassphraseError(
            f"The password file {path} is not UTF-8 or UTF-16 text (byte {exc.start + 1} "
            "cannot be read; saved in an ANSI code page?).",
            _SAVE_AS_UTF8,
        ) from exc


def _strip_one_line_end(text: str) -> str:
    for end in ("\r\n", "\n", "\r"):
        if text.endswith(end):
            return text[: -len(end)]
    return text


def prompt(label: str, *, confirm: bool = False) -> str:
    """Ask on the terminal; a clear error when there is no terminal (CI, a pipe)."""
    if not sys.stdin or not sys.stdin.isatty():
        raise PassphraseError(
            f"{label} is needed but there is no terminal to ask on.",
            "Pass it through an environment variable or a file (see --help).",
        )
    value = getpass.getpass(f"{label}: ")
    if confirm and getpass.getpass(f"{label} (again): ") != value:
        raise PassphraseError("The two entries differ.", "Type the same password twice.")
    register_secret(value)
    return value


def read_password(
    label: str,
    *,
    env: str | None = None,
    file: Path | None = None,
    confirm: bool = False,
    option: str = "",
) -> str:
    """The one entry point the CLI uses for every password option (`option`: the --…-env
    option's name, for messages)."""
    if env is not None:
        return from_env(env, option)
    if file:
        return from_file(file)
    return prompt(label, confirm=confirm)


# --- The OS credential store (Windows Credential Manager, macOS Keychain, Secret Service) ---


# keyring's own switch: PYTHON_KEYRING_BACKEND naming a backend that keeps nothing (as on
# headless servers and in CI) means "no store", known without importing keyring (~40 ms). Once
# keyring is loaded, a backend set in code (keyring.set_keyring) wins, so it is asked then.
_NO_STORE_BACKENDS = frozenset({"keyring.backends.fail.Keyring", "keyring.backends.null.Keyring"})


def keyring_available() -> bool:
    """True when a real credential store answers (not the 'fail' or plaintext backends)."""
    switched_off = os.environ.get("PYTHON_KEYRING_BACKEND", "").strip() in _NO_STORE_BACKENDS
    if switched_off and "keyring" not in sys.modules:
        return False
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception:  # any import or backend discovery failure means: no store
        return False
    if isinstance(backend, fail.Keyring):
        return False
    name = type(backend).__module__ + "." + type(backend).__name__
    # Never accept a backend that keeps secrets in a plain file.
    return "PlaintextKeyring" not in name and "null" not in name.lower()


def store_secret(account: str, value: str) -> None:
    import keyring

    register_secret(value)
    try:
        keyring.set_password(SERVICE, account, value)
    except Exception as exc:  # keyring raises backend-specific errors
        raise PassphraseError(_not_stored(exc), _STORE_HINT) from exc


_STORE_HINT = "Check that Windows Credential Manager (or your keyring) is available."


def _not_stored(exc: Exception) -> str:
    """Why the store refused, in words (a class name like NoKeyringError says nothing)."""
    from keyring.errors import NoKeyringError

    if isinstance(exc, NoKeyringError):
        return "There is no credential store on this computer to remember it in."
    reason = str(exc).strip().rstrip(".")
    return f"The credential store did not save it: {reason or 'it gave no reason'}."


def load_secret(account: str) -> str | None:
    if not keyring_available():
        return None
    import keyring

    try:
        value = keyring.get_password(SERVICE, account)
    except Exception:  # an unavailable store behaves like an empty one
        return None
    if value:
        register_secret(value)
    return value


def delete_secret(account: str) -> None:
    if not keyring_available():
        return
    import keyring

    try:
        keyring.delete_password(SERVICE, account)
    except Exception:  # nothing to delete is fine
        return
