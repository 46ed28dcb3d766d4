"""Certificate signing requests: build ours, read any, and summarise them for the screen."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.errors import ImportProblem
from app.fingerprints import public_key_sha256
from app.keys import PrivateKey, describe
from app.names import is_ip, readable_name
from app.peer_text import escape_peer
from app.request import RequestSpec, require_valid


def build(key: PrivateKey, spec: RequestSpec) -> x509.CertificateSigningRequest:
    """A CSR with the full subject and every SAN, signed SHA-256 (SHA-384 for P-384)."""
    spec = require_valid(spec)
    s = spec.subject
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, s.common_name)]
    for oid, value in (
        (NameOID.ORGANIZATIONAL_UNIT_NAME, s.organizational_unit),
        (NameOID.ORGANIZATION_NAME, s.organization),
        (NameOID.LOCALITY_NAME, s.locality),
        (NameOID.STATE_OR_PROVINCE_NAME, s.state),
        (NameOID.COUNTRY_NAME, s.country),
        (NameOID.EMAIL_ADDRESS, s.email),
    ):
        if value:
            attrs.append(x509.NameAttribute(oid, value))
    # Conventional order, most general first: C, ST, L, O, OU, CN, email.
    order = [
        NameOID.COUNTRY_NAME,
        NameOID.STATE_OR_PROVINCE_NAME,
        NameOID.LOCALITY_NAME,
        NameOID.ORGANIZATION_NAME,
        NameOID.ORGANIZATIONAL_UNIT_NAME,
        NameOID.COMMON_NAME,
        NameOID.EMAIL_ADDRESS,
    ]
    attrs.sort(key=lambda a: order.index(a.oid))
    general_names: list[x509.GeneralName] = []
    for name in spec.all_sans():
        if is_ip(name):
            import ipaddress

            general_names.append(x509.IPAddress(ipaddress.ip_address(name)))
        else:
            general_names.append(x509.DNSName(name))
    algorithm: hashes.SHA256 | hashes.SHA384 = hashes.SHA256()
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        algorithm = hashes.SHA384()
    builder = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name(attrs))
        .add_extension(x509.SubjectAlternativeName(general_names), critical=False)
    )
    return builder.sign(key, algorithm)


def to_pem(csr: x509.CertificateSigningRequest) -> bytes:
    return csr.public_bytes(serialization.Encoding.PEM)


def load(data: bytes, origin: str) -> x509.CertificateSigningRequest:
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_csr(data)
        return x509.load_der_x509_csr(data)
    except ValueError as exc:
        raise ImportProblem(
            f"{origin} is not a certificate signing request.",
            "Check that you picked the .csr file.",
        ) from exc


def sans_of(extensions: x509.Extensions) -> tuple[str, ...]:
    try:
        ext = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    # Escaped: a SAN is the peer's text (a control character in it is shown, never acted on).
    names: list[str] = [escape_peer(n) for n in ext.get_values_for_type(x509.DNSName)]
    names += [str(ip) for ip in ext.get_values_for_type(x509.IPAddress)]
    return tuple(names)


@dataclass(frozen=True)
class CsrSummary:
    subject: str
    common_name: str
    sans: tuple[str, ...]
    key: str
    signature: str
    public_key_sha256: str
    signature_valid: bool


def summarise(csr: x509.CertificateSigningRequest) -> CsrSummary:
    cns = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    algorithm = csr.signature_hash_algorithm
    return CsrSummary(
        subject=readable_name(csr.subject),
        common_name=str(cns[0].value) if cns else "",
        sans=sans_of(csr.extensions),
        key=describe(csr.public_key()),
        signature=f"{algorithm.name.upper() if algorithm else 'unknown'}",
        public_key_sha256=public_key_sha256(csr.public_key()),
        signature_valid=csr.is_signature_valid,
    )
