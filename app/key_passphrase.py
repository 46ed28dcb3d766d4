"""The passphrase that protects a renewal's key at rest.

By default a random one kept in the OS credential store, so a Windows user is never asked.
Without a working store (headless Linux, CI) it comes from ACCERT_PASSPHRASE or a prompt.
"""

from __future__ import annotations

import os

from app import passwords
from app.errors import PassphraseError
from app.redact import register_secret

ENV_VAR = "ACCERT_PASSPHRASE"
MIN_LENGTH = 12
KEYRING = "keyring"
USER = "user"


def _account(workspace_id: str) -> str:
    return f"workspace-key:{workspace_id}"


def _from_env() -> str | None:
    value = os.environ.get(ENV_VAR)
    if value is None:
        return None
    if len(value) < MIN_LENGTH:
        raise PassphraseError(
            f"{ENV_VAR} is shorter than {MIN_LENGTH} characters; the private key deserves "
            "a strong passphrase.",
            "Use a longer passphrase (a few words work well).",
        )
    register_secret(value)
    return value


def new(workspace_id: str) -> tuple[str, str]:
    """A passphrase for a new key, and where it is kept ('keyring' or 'user')."""
    if passwords.keyring_available():
        import secrets

        value = secrets.token_urlsafe(32)
        passwords.store_secret(_account(workspace_id), value)
        return value, KEYRING
    from_env = _from_env()
    if from_env is not None:
        return from_env, USER
    try:
        value = passwords.prompt("Passphrase to protect the private key", confirm=True)
    except PassphraseError as exc:
        raise PassphraseError(
            "No credential store is available here to keep the key's passphrase.",
            f"Set {ENV_VAR} to a passphrase of {MIN_LENGTH}+ characters, or run in a terminal.",
        ) from exc
    if len(value) < MIN_LENGTH:
        raise PassphraseError(
            f"The passphrase is shorter than {MIN_LENGTH} characters.", "Use a longer one."
        )
    return value, USER


def existing(workspace_id: str, source: str, folder: str) -> str:
    """The passphrase of an existing renewal's key."""
    if source == KEYRING:
        value = passwords.load_secret(_account(workspace_id))
        if value:
            return value
        env = _from_env()
        if env is not None:
            return env
        raise PassphraseError(
            f"The passphrase of the key in {folder} is not in this computer's credential store.",
            "Open the renewal on the PC and user account that created it, or import its PFX "
            "export into a new renewal.",
        )
    env = _from_env()
    if env is not None:
        return env
    try:
        return passwords.prompt(f"Passphrase of the private key in {folder}")
    except PassphraseError as exc:
        raise PassphraseError(
            f"The key in {folder} is protected by a passphrase, and none was given.",
            f"Set {ENV_VAR} to it, or run in a terminal to be asked.",
        ) from exc


def forget(workspace_id: str) -> None:
    passwords.delete_secret(_account(workspace_id))
