"""Throwaway certificate authorities for the tests, built with the real `openssl` command.

root -> intermediate -> leaf, as public CAs issue them. A second, unrelated CA gives
"certificate for another key" and "wrong chain" cases.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

OPENSSL = shutil.which("openssl")


def openssl(*args: str | Path, input: bytes | None = None, cwd: Path | None = None) -> bytes:
    if OPENSSL is None:
        raise RuntimeError("openssl is not installed: run scripts/test, which installs it")
    proc = subprocess.run(
        [OPENSSL, *map(str, args)], input=input, capture_output=True, cwd=cwd, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"openssl {' '.join(map(str, args))} failed:\n{proc.stderr.decode(errors='replace')}"
        )
    return proc.stdout


_CA_EXT = """
[ v3_root ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_inter ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess = caIssuers;URI:http://127.0.0.1:9/{name}-root.crt
[ v3_leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess = caIssuers;URI:http://127.0.0.1:9/{name}-inter.crt
[ v3_leaf_noeku ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = emailProtection
authorityKeyIdentifier = keyid:always
"""


@dataclass
class TestCA:
    """A root and an intermediate in `directory`, able to sign CSRs like a public CA."""

    directory: Path
    name: str = "Test"
    aia_base: str = "http://127.0.0.1:9"  # where caIssuers URLs point (a test may serve them)

    __test__ = False  # not a pytest class

    def __post_init__(self) -> None:
        d = self.directory
        d.mkdir(parents=True, exist_ok=True)
        self.ext = d / "ext.cnf"
        self.ext.write_text(
            _CA_EXT.replace("{name}", self.name).replace("http://127.0.0.1:9", self.aia_base)
        )
        self.root_key = d / "root.key"
        self.root_crt = d / "root.crt"
        self.inter_key = d / "inter.key"
        self.inter_crt = d / "inter.crt"
        openssl(
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            self.root_key,
        )
        openssl(
            "req",
            "-new",
            "-x509",
            "-key",
            self.root_key,
            "-out",
            self.root_crt,
            "-days",
            "3650",
            "-subj",
            f"/C=US/O={self.name} Trust/CN={self.name} Root CA",
            "-config",
            self.ext,
            "-extensions",
            "v3_root",
            "-sha256",
        )
        openssl(
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            self.inter_key,
        )
        csr = d / "inter.csr"
        openssl(
            "req",
            "-new",
            "-key",
            self.inter_key,
            "-out",
            csr,
            "-subj",
            f"/C=US/O={self.name} Trust/CN={self.name} TLS RSA CA G2",
        )
        openssl(
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            self.root_crt,
            "-CAkey",
            self.root_key,
            "-CAcreateserial",
            "-out",
            self.inter_crt,
            "-days",
            "1825",
            "-extfile",
            self.ext,
            "-extensions",
            "v3_inter",
            "-sha256",
        )

    def sign(
        self,
        csr_pem: bytes,
        out: Path,
        *,
        days: int = 90,
        extensions: str = "v3_leaf",
        copy_sans: bool = True,
        digest: str = "sha256",
    ) -> Path:
        """Sign a CSR as the intermediate, copying its SANs, like a DV/OV order."""
        csr = out.with_suffix(".csr")
        csr.write_bytes(csr_pem)
        args: list[str | Path] = [
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            self.inter_crt,
            "-CAkey",
            self.inter_key,
            "-CAcreateserial",
            "-out",
            out,
            "-days",
            str(days),
            "-extfile",
            self.ext,
            "-extensions",
            extensions,
            f"-{digest}",
        ]
        if copy_sans:
            args += ["-copy_extensions", "copy"]
        openssl(*args)
        return out

    def sign_not_yet_valid(self, csr_pem: bytes, out: Path, *, starts_in_days: int = 5) -> Path:
        """openssl 3.0 cannot post-date a certificate; the same CA key does it here."""
        csr = x509.load_pem_x509_csr(csr_pem)
        issuer = x509.load_pem_x509_certificate(self.inter_pem)
        key = serialization.load_pem_private_key(self.inter_key.read_bytes(), None)
        start = dt.datetime.now(dt.UTC) + dt.timedelta(days=starts_in_days)
        cert = (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(issuer.subject)
            .public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=90))
            .add_extension(
                csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value,
                critical=False,
            )
            .sign(key, hashes.SHA256())  # type: ignore[arg-type]
        )
        out.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return out

    @property
    def root_pem(self) -> bytes:
        return self.root_crt.read_bytes()

    @property
    def inter_pem(self) -> bytes:
        return self.inter_crt.read_bytes()


def self_signed(cn: str, *, days: int = 365, san: bool = True) -> tuple[bytes, bytes]:
    """A self-signed EC certificate and its PEM key, e.g. a device's ACL_<serial> cert.

    `cn` is taken as given, unchecked, so a test can forge one (overlong, with control
    characters); `san=False` leaves out the subjectAltName, which could not hold such a name."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn, _validate=False)])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
    )
    if san:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False
        )
    cert = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem
