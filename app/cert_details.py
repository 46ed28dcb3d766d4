"""Everything a user looks for inside a certificate, as rows of (field, value), plus its PEM.

What the Windows certificate viewer shows the DigiCert utility's users: names, extended key
usage, key, validity, SHA-1 and SHA-256 thumbprints. Values from the certificate are peer
text: control and bidirectional characters are shown escaped, never acted on (lesson 15).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID

from app.checks import cn_of
from app.fingerprints import colon_hex, public_key_sha256
from app.keys import describe
from app.names import readable_name
from app.peer_text import escape_peer

EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH: "TLS server authentication",
    ExtendedKeyUsageOID.CLIENT_AUTH: "TLS client authentication",
    ExtendedKeyUsageOID.CODE_SIGNING: "Code signing",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "Secure e-mail",
    ExtendedKeyUsageOID.TIME_STAMPING: "Time stamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSP signing",
}
KEY_USAGES = (
    ("digital_signature", "Digital signature"),
    ("content_commitment", "Non-repudiation"),
    ("key_encipherment", "Key encipherment"),
    ("data_encipherment", "Data encipherment"),
    ("key_agreement", "Key agreement"),
    ("key_cert_sign", "Certificate signing"),
    ("crl_sign", "CRL signing"),
)


@dataclass(frozen=True)
class CertDetails:
    title: str  # the common name (or the subject), escaped
    rows: tuple[tuple[str, str], ...]  # (field, value), in the order a user reads them
    pem: str
    sha1: str
    sha256: str


def _validity(cert: x509.Certificate, now: dt.datetime) -> str:
    before, after = cert.not_valid_before_utc, cert.not_valid_after_utc
    span = f"{before:%Y-%m-%d %H:%M} to {after:%Y-%m-%d %H:%M} UTC"
    if now < before:
        return f"{span} (not valid yet)"
    if now > after:
        return f"{span} (EXPIRED {(now - after).days} days ago)"
    return f"{span} ({(after - now).days} days left)"


def _names(cert: x509.Certificate) -> str:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "none (only the CN names the host: clients ignore it)"
    parts: list[str] = []
    for general in san:
        if isinstance(general, x509.DNSName):
            parts.append(f"DNS: {general.value}")
        elif isinstance(general, x509.IPAddress):
            parts.append(f"IP: {general.value}")
        elif isinstance(general, x509.RFC822Name):
            parts.append(f"e-mail: {general.value}")
        elif isinstance(general, x509.UniformResourceIdentifier):
            parts.append(f"URI: {general.value}")
        else:
            parts.append(f"{type(general).__name__}: {general.value}")
    return "\n".join(escape_peer(p) for p in parts)


def _eku(cert: x509.Certificate) -> str:
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return "not restricted (no extended key usage)"
    return "\n".join(
        f"{EKU_NAMES[oid]} ({oid.dotted_string})" if oid in EKU_NAMES else oid.dotted_string
        for oid in usages
    )


def _key_usage(cert: x509.Certificate) -> str | None:
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None
    on: list[str] = []
    for attr, label in KEY_USAGES:
        if getattr(usage, attr):
            on.append(label)
    if usage.key_agreement:
        if usage.encipher_only:
            on.append("Encipher only")
        if usage.decipher_only:
            on.append("Decipher only")
    return ", ".join(on) or "none"


def _basic_constraints(cert: x509.Certificate) -> str:
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return "end entity (no basic constraints)"
    if not bc.ca:
        return "end entity (not a CA)"
    return "CA" + (f", path length {bc.path_length}" if bc.path_length is not None else "")


def _access(cert: x509.Certificate) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    try:
        aia = cert.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    except x509.ExtensionNotFound:
        pass
    else:
        for desc in aia.value:  # type: ignore[attr-defined]
            loc = desc.access_location
            if isinstance(loc, x509.UniformResourceIdentifier):
                what = "OCSP" if desc.access_method.dotted_string.endswith(".1") else "CA issuers"
                rows.append((what, escape_peer(loc.value)))
    try:
        crl = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        pass
    else:
        urls = [
            escape_peer(n.value)
            for point in crl
            for n in point.full_name or ()
            if isinstance(n, x509.UniformResourceIdentifier)
        ]
        if urls:
            rows.append(("CRL", "\n".join(urls)))
    return rows


def details(cert: x509.Certificate, now: dt.datetime | None = None) -> CertDetails:
    now = now or dt.datetime.now(dt.UTC)
    der = cert.public_bytes(serialization.Encoding.DER)
    sha1 = colon_hex(hashlib.sha1(der, usedforsecurity=False).digest())
    sha256 = colon_hex(hashlib.sha256(der).digest())
    algorithm = cert.signature_hash_algorithm
    rows: list[tuple[str, str]] = [
        ("Subject", escape_peer(readable_name(cert.subject))),
        ("Issuer", escape_peer(readable_name(cert.issuer))),
        ("Names (SAN)", _names(cert)),
        ("Valid", _validity(cert, now)),
        ("Extended key usage", _eku(cert)),
    ]
    usage = _key_usage(cert)
    if usage is not None:
        rows.append(("Key usage", usage))
    rows += [
        ("Basic constraints", _basic_constraints(cert)),
        ("Public key", describe(cert.public_key())),
        ("Public key SHA-256", public_key_sha256(cert.public_key())),
        ("Signature", f"{algorithm.name.upper() if algorithm else 'unknown'}"),
        ("Serial number", f"{cert.serial_number:X}"),
        ("Thumbprint (SHA-1)", sha1),
        ("Thumbprint (SHA-256)", sha256),
    ]
    rows += _access(cert)
    title = escape_peer(cn_of(cert) or readable_name(cert.subject))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
    return CertDetails(title, tuple(rows), pem, sha1, sha256)
