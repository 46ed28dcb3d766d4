"""A certificate described in the words the screens and `accert show` use."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509

from app.checks import cn_of, days_left
from app.csr import sans_of
from app.fingerprints import cert_sha256, public_key_sha256
from app.keys import describe
from app.names import readable_name, shown


@dataclass(frozen=True)
class CertInfo:
    role: str  # "leaf", "intermediate", "root", "other"
    common_name: str
    subject: str
    issuer: str
    sans: tuple[str, ...]
    not_before: dt.datetime
    not_after: dt.datetime
    days_left: int
    serial: str
    sha256: str
    public_key_sha256: str
    key: str
    signature: str
    source: str = ""

    def lines(self) -> list[str]:
        out = [
            f"{self.role.capitalize()}: {shown(self.common_name)}",
            f"  Subject:     {self.subject}",
            f"  Issuer:      {self.issuer}",
        ]
        if self.sans:
            out.append(f"  Names (SAN): {', '.join(shown(n) for n in self.sans)}")
        span = f"{self.not_before:%Y-%m-%d} to {self.not_after:%Y-%m-%d}"
        left = f"{self.days_left} days left" if self.days_left >= 0 else "EXPIRED"
        out += [
            f"  Valid:       {span} ({left})",
            f"  Key:         {self.key}, signed {self.signature}",
            f"  Serial:      {self.serial}",
            f"  SHA-256:     {self.sha256}",
            f"  Key SHA-256: {self.public_key_sha256}",
        ]
        if self.source:
            out.append(f"  From:        {self.source}")
        return out


def info(cert: x509.Certificate, role: str, source: str = "") -> CertInfo:
    algorithm = cert.signature_hash_algorithm
    return CertInfo(
        role=role,
        common_name=cn_of(cert),
        subject=readable_name(cert.subject),
        issuer=readable_name(cert.issuer),
        sans=sans_of(cert.extensions),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        days_left=days_left(cert),
        serial=f"{cert.serial_number:X}",
        sha256=cert_sha256(cert),
        public_key_sha256=public_key_sha256(cert.public_key()),
        key=describe(cert.public_key()),
        signature=algorithm.name.upper() if algorithm else "unknown",
        source=source,
    )
