"""The key that never leaves the device: ask the device for a CSR (REST certificate/request).

Always SHA-256 (the device's default is SHA-1), filled from the renewal's organisation data,
and checked on arrival: signature, hash, subject and key size.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from app.errors import DeployError
from app.mediant.client import MediantClient
from app.names import readable_name

MIN_RSA_BITS = 2048


@dataclass(frozen=True)
class DeviceCsrSubject:
    common_name: str
    organization: str = ""
    organizational_unit: str = ""
    locality: str = ""
    state: str = ""
    country: str = ""

    def as_request(self) -> dict[str, str]:
        body = {
            "subjectName": self.common_name,
            "organizationalUnit": self.organizational_unit,
            "companyName": self.organization,
            "localityName": self.locality,
            "state": self.state,
            "countryCode": self.country,
            "signatureAlgorithm": "sha256",  # never the device's SHA-1 default
        }
        return {k: v for k, v in body.items() if v}


@dataclass(frozen=True)
class DeviceCsr:
    csr_pem: bytes
    subject: str
    key_description: str
    key_bits: int
    warnings: tuple[str, ...]


def request_device_csr(client: MediantClient, context: int, subject: DeviceCsrSubject) -> DeviceCsr:
    path = f"/files/tls/{context}/certificate/request"
    answer = client.call("POST", path, json=subject.as_request()).content
    try:
        csr = x509.load_pem_x509_csr(answer)
    except ValueError as exc:
        raise DeployError(
            f"{client.where} did not answer a PEM CSR to {path}.", "Check the firmware version."
        ) from exc
    if not csr.is_signature_valid:
        raise DeployError(f"The CSR from {client.where} has a bad signature.", "Request it again.")
    algo = csr.signature_hash_algorithm
    if not isinstance(algo, hashes.SHA256 | hashes.SHA384 | hashes.SHA512):
        raise DeployError(
            f"{client.where} signed its CSR with {algo.name if algo else 'an unknown hash'}, "
            "not SHA-256.",
            "Public CAs refuse SHA-1 requests: update the firmware or use a key made here.",
        )
    cns = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not cns or cns[0].value != subject.common_name:
        raise DeployError(
            f"The CSR from {client.where} is for {readable_name(csr.subject)}, not "
            f"{subject.common_name}.",
            "Request it again.",
        )
    key = csr.public_key()
    warnings = ["The device's CSR has no SAN list: check that your CA adds the name as a SAN."]
    if isinstance(key, rsa.RSAPublicKey):
        bits, desc = key.key_size, f"RSA {key.key_size}"
        if bits < MIN_RSA_BITS:
            warnings.insert(
                0,
                f"The device made a {bits}-bit key: public CAs require {MIN_RSA_BITS}. Set the "
                "INI parameter TLSPkeySize to 2048 on the device and request again.",
            )
    elif isinstance(key, ec.EllipticCurvePublicKey):
        bits, desc = key.key_size, f"EC {key.curve.name}"
    else:
        bits, desc = 0, type(key).__name__
    return DeviceCsr(
        csr_pem=csr.public_bytes(serialization.Encoding.PEM),
        subject=readable_name(csr.subject),
        key_description=desc,
        key_bits=bits,
        warnings=tuple(warnings),
    )
