"""Fingerprints shown to the engineer: colon-separated upper-case SHA-256."""

from __future__ import annotations

import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes


def colon_hex(digest: bytes) -> str:
    return digest.hex(":").upper()  # in C: an estate scan formats several per port


def cert_sha256(cert: x509.Certificate) -> str:
    """SHA-256 of the whole certificate, as browsers and Windows show it."""
    return colon_hex(hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest())


def der_sha256(der: bytes) -> str:
    return colon_hex(hashlib.sha256(der).digest())


def public_key_sha256(public_key: PublicKeyTypes) -> str:
    """SHA-256 of the SubjectPublicKeyInfo: the same for a key, its CSR and its certificate."""
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return colon_hex(hashlib.sha256(spki).digest())


def same_public_key(a: PublicKeyTypes, b: PublicKeyTypes) -> bool:
    return public_key_sha256(a) == public_key_sha256(b)
