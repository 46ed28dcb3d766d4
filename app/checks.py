"""Warnings about a certificate an engineer should see before deploying it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from app.csr import sans_of
from app.names import readable_name
from app.peer_text import escape_peer

EXPIRY_WARNING_DAYS = 30


def cn_of(cert: x509.Certificate) -> str:
    from cryptography.x509.oid import NameOID

    values = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return escape_peer(values[0].value) if values else readable_name(cert.subject)


def days_left(cert: x509.Certificate, now: dt.datetime | None = None) -> int:
    now = now or dt.datetime.now(dt.UTC)
    return (cert.not_valid_after_utc - now).days


def validity_warnings(
    cert: x509.Certificate, label: str, now: dt.datetime | None = None
) -> list[str]:
    now = now or dt.datetime.now(dt.UTC)
    if cert.not_valid_before_utc > now:
        return [
            f"{label} is not valid yet: it starts on {cert.not_valid_before_utc:%Y-%m-%d %H:%M} "
            "UTC. Devices will reject it until then; check the clock or wait."
        ]
    if cert.not_valid_after_utc <= now:
        return [
            f"{label} expired on {cert.not_valid_after_utc:%Y-%m-%d}. Do not deploy it; "
            "request a new certificate."
        ]
    left = days_left(cert, now)
    if left < EXPIRY_WARNING_DAYS:
        return [
            f"{label} expires in {left} days ({cert.not_valid_after_utc:%Y-%m-%d}). Renew it soon."
        ]
    return []


def leaf_warnings(
    leaf: x509.Certificate,
    chain: Iterable[x509.Certificate],
    requested_names: Iterable[str] = (),
    now: dt.datetime | None = None,
) -> list[str]:
    warnings = validity_warnings(leaf, "The certificate", now)
    for cert in chain:
        if cert is leaf:
            continue
        warnings += validity_warnings(cert, f"The CA certificate '{cn_of(cert)}'", now)
    for cert in [leaf, *chain]:
        algorithm = cert.signature_hash_algorithm
        if isinstance(algorithm, (hashes.SHA1, hashes.MD5)) and cert.subject != cert.issuer:
            who = "The certificate" if cert is leaf else f"The CA certificate '{cn_of(cert)}'"
            warnings.append(
                f"{who} is signed with {algorithm.name.upper()}, which browsers, "
                "Teams and current firmware reject. Ask the CA to reissue with SHA-256."
            )
            break
    issued = {n.lower() for n in sans_of(leaf.extensions)}
    missing = [n for n in requested_names if n.lower() not in issued]
    if missing:
        warnings.append(
            "Names you requested are not in the certificate: "
            + ", ".join(missing)
            + ". Devices reached by those names will fail TLS; ask the CA to reissue."
        )
    warnings += usage_warnings(leaf)
    public_key = leaf.public_key()
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size < 2048:
        warnings.append(
            f"The key is RSA {public_key.key_size}; below 2048 bits it is refused by modern peers."
        )
    return warnings


def usage_warnings(leaf: x509.Certificate) -> list[str]:
    warnings: list[str] = []
    try:
        eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if (
            ExtendedKeyUsageOID.SERVER_AUTH not in eku
            and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in eku
        ):
            warnings.append(
                "The certificate is not made for TLS servers (its extended key usage "
                "lacks serverAuth): HTTPS and SIP-TLS peers will refuse it. Order a "
                "TLS/SSL server certificate."
            )
    except x509.ExtensionNotFound:
        pass
    try:
        ku = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        if not ku.digital_signature and not ku.key_encipherment:
            warnings.append(
                "The certificate's key usage allows neither digitalSignature nor "
                "keyEncipherment: TLS cannot use it."
            )
    except x509.ExtensionNotFound:
        pass
    try:
        if leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            warnings.append("The certificate is a CA certificate, not a server certificate.")
    except x509.ExtensionNotFound:
        pass
    return warnings
