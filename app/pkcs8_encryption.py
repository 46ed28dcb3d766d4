"""Encrypted PKCS#8 with a KDF we choose: PBES2 with scrypt (keys at rest) or PBKDF2-SHA256
with 600 000 iterations (exports), both AES-256-CBC (RFC 8018, RFC 7914 section 7).

cryptography writes encrypted PKCS#8 only with PBKDF2 at 2048 iterations (BestAvailable) and
its encryption builder does not cover PKCS#8, so the small ASN.1 wrapper is built here from
cryptography's own primitives. OpenSSL (`openssl pkey`) and cryptography both read the result.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

_PBES2 = "1.2.840.113549.1.5.13"
_SCRYPT = "1.3.6.1.4.1.11591.4.11"
_PBKDF2 = "1.2.840.113549.1.5.12"
_HMAC_SHA256 = "1.2.840.113549.2.9"
_AES256_CBC = "2.16.840.1.101.3.4.1.42"


@dataclass(frozen=True)
class ScryptCost:
    """scrypt's cost. N stays at 2**14 (16 MiB) because OpenSSL refuses to read more than
    32 MiB by default; the work is raised through p instead (OWASP's equivalent settings:
    N=2**17,p=1 ~ N=2**14,p=5)."""

    n: int = 2**14
    r: int = 8
    p: int = 5


# A passphrase a person chose (ACCERT_PASSPHRASE, the prompt): the OWASP cost.
PERSON_CHOSEN = ScryptCost(p=5)
# A random 256-bit passphrase from the credential store: stretching adds nothing but time.
RANDOM = ScryptCost(p=1)
PBKDF2_ITERATIONS = 600_000  # OWASP 2023 for PBKDF2-HMAC-SHA256


def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _len(len(body)) + body


def _seq(*items: bytes) -> bytes:
    return _tlv(0x30, b"".join(items))


def _int(n: int) -> bytes:
    return _tlv(0x02, n.to_bytes(n.bit_length() // 8 + 1, "big"))


def _octets(data: bytes) -> bytes:
    return _tlv(0x04, data)


def _oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytearray([40 * parts[0] + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.append(0x80 | (part & 0x7F))
            part >>= 7
        body += bytes(reversed(chunk))
    return _tlv(0x06, bytes(body))


def _encrypt(plain: bytes, key: bytes, iv: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    data = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def _pem(der: bytes) -> bytes:
    import base64

    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return (
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
        + b"\n".join(lines)
        + b"\n-----END ENCRYPTED PRIVATE KEY-----\n"
    )


def _pkcs8(key: PrivateKeyTypes) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def scrypt_pem(key: PrivateKeyTypes, passphrase: str, cost: ScryptCost = PERSON_CHOSEN) -> bytes:
    """PEM `ENCRYPTED PRIVATE KEY`: PBES2, scrypt, AES-256-CBC."""
    salt, iv = os.urandom(16), os.urandom(16)
    secret = Scrypt(salt=salt, length=32, n=cost.n, r=cost.r, p=cost.p).derive(
        passphrase.encode("utf-8")
    )
    kdf = _seq(_oid(_SCRYPT), _seq(_octets(salt), _int(cost.n), _int(cost.r), _int(cost.p)))
    return _wrap(kdf, _encrypt(_pkcs8(key), secret, iv), iv)


def pbkdf2_pem(key: PrivateKeyTypes, passphrase: str, iterations: int = PBKDF2_ITERATIONS) -> bytes:
    """PEM `ENCRYPTED PRIVATE KEY`: PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC; for tools that
    predate scrypt (OpenSSL 1.0, Java's PKCS#8 readers)."""
    salt, iv = os.urandom(16), os.urandom(16)
    secret = PBKDF2HMAC(hashes.SHA256(), 32, salt, iterations).derive(passphrase.encode("utf-8"))
    prf = _seq(_oid(_HMAC_SHA256), _tlv(0x05, b""))
    kdf = _seq(_oid(_PBKDF2), _seq(_octets(salt), _int(iterations), prf))
    return _wrap(kdf, _encrypt(_pkcs8(key), secret, iv), iv)


def _wrap(kdf: bytes, encrypted: bytes, iv: bytes) -> bytes:
    scheme = _seq(_oid(_AES256_CBC), _octets(iv))
    algorithm = _seq(_oid(_PBES2), _seq(kdf, scheme))
    return _pem(_seq(algorithm, _octets(encrypted)))


def kdf_of(pem: bytes) -> str:
    """'scrypt', 'pbkdf2' (any iteration count) or 'other' for a PEM key: for tests, `accert
    show` and deciding whether an old file deserves re-encryption."""
    import base64
    import re

    m = re.search(rb"-----BEGIN ENCRYPTED PRIVATE KEY-----(.*?)-----END", pem, re.S)
    if not m:
        return "other"
    der = base64.b64decode(b"".join(m.group(1).split()))
    if _oid(_SCRYPT) in der[:80]:
        return "scrypt"
    if _oid(_PBKDF2) in der[:80]:
        return "pbkdf2"
    return "other"
