"""Private keys: generate, protect at rest, and write in the forms devices accept."""

from __future__ import annotations

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from app.errors import ImportProblem, InputError, PassphraseError
from app.request import KeyType

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_CURVES: dict[KeyType, ec.EllipticCurve] = {
    KeyType.EC256: ec.SECP256R1(),
    KeyType.EC384: ec.SECP384R1(),
}


def generate(key_type: KeyType) -> PrivateKey:
    if key_type.is_rsa:
        return rsa.generate_private_key(public_exponent=65537, key_size=key_type.bits)
    return ec.generate_private_key(_CURVES[key_type])


def describe(key: PrivateKeyTypes | PublicKeyTypes) -> str:
    """'RSA 2048', 'ECDSA P-256' ... for a private or a public key."""
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return f"RSA {key.key_size}"
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return {"secp256r1": "ECDSA P-256", "secp384r1": "ECDSA P-384"}.get(
            key.curve.name, f"ECDSA {key.curve.name}"
        )
    return type(key).__name__.lstrip("_")


def check_supported(key: PrivateKeyTypes, origin: str) -> PrivateKey:
    """Accept only the key kinds AudioCodes devices and OVOC can use."""
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise InputError(
                f"The key in {origin} is RSA {key.key_size}, below the 2048 bits CAs accept.",
                "Make a new request with an RSA 2048 key or larger.",
            )
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in {"secp256r1", "secp384r1"}:
        return key
    raise InputError(
        f"The key in {origin} is {describe(key)}, which AudioCodes devices cannot use.",
        "Use an RSA (2048 or more) or ECDSA P-256/P-384 key.",
    )


def encrypt_at_rest(key: PrivateKey, passphrase: str, *, person_chosen: bool = True) -> bytes:
    """PKCS#8, AES-256-CBC with an scrypt-derived key; the full OWASP cost when a person chose
    the passphrase, less for the credential store's random 256-bit one (nothing to stretch).
    Files written before (PBKDF2, 2048 iterations) are still read by load_at_rest."""
    from app import pkcs8_encryption as p8

    return p8.scrypt_pem(key, passphrase, p8.PERSON_CHOSEN if person_chosen else p8.RANDOM)


def load_at_rest(pem: bytes, passphrase: str, origin: str) -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, passphrase.encode("utf-8"))
    except ValueError as exc:
        # cryptography says "Bad decrypt" for a wrong passphrase, other texts for damage.
        if "decrypt" in str(exc).lower() or "password" in str(exc).lower():
            raise PassphraseError(
                f"The passphrase for the private key in {origin} is wrong.",
                "Use the passphrase this renewal was created with (ACCERT_PASSPHRASE or the "
                "credential store entry 'accert').",
            ) from exc
        raise ImportProblem(
            f"The private key file {origin} is damaged and cannot be read.",
            "Restore it from a backup of the renewal folder, or start a new request.",
        ) from exc
    except (TypeError, UnsupportedAlgorithm) as exc:
        raise ImportProblem(f"The private key file {origin} cannot be read: {exc}.", "") from exc
    return check_supported(key, origin)


def apache_pem(key: PrivateKey) -> bytes:
    """Unencrypted 'traditional' PEM: PKCS#1 `RSA PRIVATE KEY` or SEC1 `EC PRIVATE KEY`.

    This is what Apache, OVOC's import and the Mediant REST API accept.
    """
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def pkcs8_pem(key: PrivateKey, passphrase: str | None = None) -> bytes:
    """PKCS#8 PEM; with a passphrase, PBES2 with PBKDF2-SHA256 at 600 000 iterations and
    AES-256-CBC (read by OpenSSL 1.0.1 and later, unlike scrypt by older tools)."""
    if passphrase:
        from app.pkcs8_encryption import pbkdf2_pem

        return pbkdf2_pem(key, passphrase)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def encrypted_traditional_pem(key: PrivateKey, passphrase: str) -> bytes:
    """Apache-style PEM with a passphrase (Proc-Type: 4,ENCRYPTED, AES-256-CBC).

    The format derives its key from the passphrase with OpenSSL's old EVP_BytesToKey (one MD5
    round): offered for tools that need it; the encrypted PKCS#8 beside it is far stronger."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(passphrase.encode("utf-8")),
    )
