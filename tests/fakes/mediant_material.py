"""Deployment material for the Mediant tests: an RSA key whose CSR the test CA signed."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from app.fingerprints import cert_sha256
from app.material import DeployMaterial
from app.mediant.client import Timing
from tests.pki import TestCA

# Short waits so a whole fault test runs in well under a second.
FAST = Timing(
    timeout=3.0,
    busy_retries=3,
    backoff=0.02,
    backoff_cap=0.05,
    drop_retries=2,
    reset_grace=0.05,
    reset_timeout=5.0,
    poll_interval=0.05,
    verify_attempts=2,
    verify_interval=0.05,
)


def make_material(
    ca: TestCA, workdir: Path, cn: str = "*.example.com", bits: int = 2048
) -> DeployMaterial:
    key = rsa.generate_private_key(65537, bits)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    workdir.mkdir(parents=True, exist_ok=True)
    leaf_path = ca.sign(csr.public_bytes(serialization.Encoding.PEM), workdir / "leaf.crt")
    cert_pem = leaf_path.read_bytes()
    cert = x509.load_pem_x509_certificate(cert_pem)
    return DeployMaterial(
        name=cn.replace("*", "star").replace(".", "_"),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        intermediates_pem=(ca.inter_pem,),
        root_pem=ca.root_pem,
        leaf_sha256=cert_sha256(cert),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ),
        key_description=f"RSA {bits}",
    )
