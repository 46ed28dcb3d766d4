"""Where an unattended run finds its passwords: the `--…-env` variables first, then the OS
credential store (Windows Credential Manager: per user, which is why the scheduled task runs
as the user who saved them). Never a prompt: nobody is there to answer."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from app.errors import PassphraseError
from app.passwords import from_env, load_secret, store_secret


@dataclass(frozen=True)
class PasswordSources:
    device_env: str | None = None  # --password-env: every SBC's password
    ovoc_env: str | None = None  # --ovoc-password-env
    ovoc_root_env: str | None = None  # --ovoc-root-password-env
    pfx_env: str | None = None  # --pfx-password-env


def ovoc_login_account(host: str, port: int, user: str) -> str:
    return f"ovoc:{user}@{host.lower()}:{port}"


def ovoc_root_account(host: str, port: int) -> str:
    return f"ovoc-root:{host.lower()}:{port}"


def export_password_account(folder: str | Path) -> str:
    """One PFX/JKS password per export folder: what its consumers (IIS, Java) expect."""
    return f"export-password:{os.path.normcase(os.path.abspath(folder))}"


def save_export_password(folder: str | Path, password: str) -> None:
    store_secret(export_password_account(folder), password)


def save_ovoc_passwords(
    host: str, port: int, user: str, login: str | None, root: str | None
) -> None:
    if login:
        store_secret(ovoc_login_account(host, port, user), login)
    if root:
        store_secret(ovoc_root_account(host, port), root)


def _env_or_store(env: str | None, option: str, account: str, missing: PassphraseError) -> str:
    if env:
        return from_env(env, option)
    value = load_secret(account)
    if value:
        return value
    raise missing


def device_password(host: str, port: int, user: str, sources: PasswordSources) -> str:
    from app.mediant.devices import SavedDevice

    return _env_or_store(
        sources.device_env,
        "--password-env",
        SavedDevice(host=host, port=port, user=user).account,
        PassphraseError(
            f"No password for {user}@{host}:{port} in the credential store; nothing was sent.",
            "Deploy to it once with 'Remember the password' ticked (or accert deploy-sbc ... "
            "--save-password), or pass --password-env VAR.",
        ),
    )


def ovoc_password(host: str, port: int, user: str, sources: PasswordSources) -> str:
    return _env_or_store(
        sources.ovoc_env,
        "--ovoc-password-env",
        ovoc_login_account(host, port, user),
        PassphraseError(
            f"No SSH password for {user}@{host}:{port} in the credential store; nothing was sent.",
            "Deploy to it once with accert deploy-ovoc ... --save-password, or pass "
            "--ovoc-password-env VAR.",
        ),
    )


def ovoc_root_password(host: str, port: int, sources: PasswordSources) -> str:
    return _env_or_store(
        sources.ovoc_root_env,
        "--ovoc-root-password-env",
        ovoc_root_account(host, port),
        PassphraseError(
            f"No root password for OVOC {host} in the credential store; nothing was sent.",
            "Deploy to it once with accert deploy-ovoc ... --save-password, or pass "
            "--ovoc-root-password-env VAR.",
        ),
    )


def export_password(folder: str, sources: PasswordSources) -> str:
    return _env_or_store(
        sources.pfx_env,
        "--pfx-password-env",
        export_password_account(folder),
        PassphraseError(
            f"The PFX/JKS password for the export to {folder} is not in the credential store.",
            "Export once with accert export ... --save-password, or pass --pfx-password-env VAR.",
        ),
    )
