"""ACME accounts: one key per (directory, EAB key id), made once and reused.

The key lives under the settings folder (accounts/acme/<id>/account.key), encrypted like a
renewal's key with a passphrase kept in the credential store (or ACCERT_PASSPHRASE). Once the
CA has bound the account to an EAB key id, later orders sign with the key alone: no HMAC.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from app import key_passphrase, keys
from app.atomic import atomic_write, atomic_write_text, restrict_to_owner
from app.errors import WorkspaceError
from app.paths import config_dir

KEY_FILE = "account.key"
INFO_FILE = "account.json"


@dataclass(frozen=True)
class AccountInfo:
    directory: str
    eab_kid: str
    url: str  # the account's URL at the CA ("kid" of every later request)
    email: str
    created: str
    passphrase_source: str  # "keyring" or "user", as for renewal keys


def account_id(directory: str, eab_kid: str) -> str:
    return hashlib.sha256(f"{directory}\n{eab_kid}".encode()).hexdigest()[:20]


def folder(directory: str, eab_kid: str) -> Path:
    return config_dir() / "accounts" / "acme" / account_id(directory, eab_kid)


def _passphrase_id(directory: str, eab_kid: str) -> str:
    return f"acme-account-{account_id(directory, eab_kid)}"


def load(directory: str, eab_kid: str) -> tuple[AccountInfo, keys.PrivateKey] | None:
    """The stored account for this CA and key id, or None when there is none yet."""
    where = folder(directory, eab_kid)
    info_file, key_file = where / INFO_FILE, where / KEY_FILE
    if not (info_file.is_file() and key_file.is_file()):
        return None
    try:
        info = AccountInfo(**json.loads(info_file.read_text("utf-8")))
    except (ValueError, TypeError, OSError) as exc:
        raise WorkspaceError(
            f"The ACME account file {info_file} is damaged ({type(exc).__name__}).",
            f"Delete the folder {where} to register a new account (the CA may need the EAB "
            "key again).",
        ) from exc
    passphrase = key_passphrase.existing(
        _passphrase_id(directory, eab_kid), info.passphrase_source, str(where)
    )
    key = keys.load_at_rest(key_file.read_bytes(), passphrase, str(key_file))
    return info, key


def new_key() -> ec.EllipticCurvePrivateKey:
    """P-256, signed with ES256: what current ACME clients use, short JWS, every CA accepts."""
    return ec.generate_private_key(ec.SECP256R1())


def save(directory: str, eab_kid: str, url: str, email: str, key: keys.PrivateKey) -> AccountInfo:
    where = folder(directory, eab_kid)
    where.mkdir(parents=True, exist_ok=True)
    restrict_to_owner(where)
    passphrase, source = key_passphrase.new(_passphrase_id(directory, eab_kid))
    # A random passphrase from the credential store needs no extra stretching (as renewal keys).
    person_chosen = source != key_passphrase.KEYRING
    atomic_write(
        where / KEY_FILE,
        keys.encrypt_at_rest(key, passphrase, person_chosen=person_chosen),
        secret=True,
    )
    info = AccountInfo(
        directory=directory,
        eab_kid=eab_kid,
        url=url,
        email=email,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        passphrase_source=source,
    )
    atomic_write_text(where / INFO_FILE, json.dumps(asdict(info), indent=2) + "\n")
    return info


def forget(directory: str, eab_kid: str) -> None:
    """Drop a stored account (e.g. the CA deactivated it) so the next run registers anew."""
    where = folder(directory, eab_kid)
    for name in (KEY_FILE, INFO_FILE):
        (where / name).unlink(missing_ok=True)
    key_passphrase.forget(_passphrase_id(directory, eab_kid))


# --- the EAB HMAC key, kept only in the credential store ------------------------------------


def _hmac_account(directory: str, eab_kid: str) -> str:
    return f"acme-eab-hmac:{account_id(directory, eab_kid)}"


def remember_hmac(directory: str, eab_kid: str, hmac: str) -> bool:
    """Keep the HMAC in the OS credential store (never a file); False when there is none."""
    from app import passwords

    if not (eab_kid and hmac and passwords.keyring_available()):
        return False
    passwords.store_secret(_hmac_account(directory, eab_kid), hmac)
    return True


def remembered_hmac(directory: str, eab_kid: str) -> str | None:
    from app import passwords

    return passwords.load_secret(_hmac_account(directory, eab_kid)) if eab_kid else None
