"""What a deployment takes to a device or OVOC: key and certificates, in memory only."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DeployMaterial:
    """The renewal's key and certificates, in the PEM forms the devices accept.

    `key_pem` is the unencrypted Apache-compatible key (PKCS#1 `RSA PRIVATE KEY` or
    SEC1 `EC PRIVATE KEY`). It lives only in memory; it is written to disk only where
    the user asked (an export, or OVOC's import folder). `key_pem` is empty when the
    key never left a device (on-device CSR): then only certificates are deployed.
    """

    name: str  # file stem, e.g. "star_example_com"
    cert_pem: bytes  # the leaf
    intermediates_pem: tuple[bytes, ...]  # nearest the leaf first
    root_pem: bytes | None  # the root, when known
    leaf_sha256: str  # certificate fingerprint (colon hex) that verification expects
    key_pem: bytes = field(default=b"", repr=False)
    key_description: str = ""  # e.g. "RSA 2048"

    @property
    def ca_pems(self) -> tuple[bytes, ...]:
        """Intermediates then root: what goes into a device's trusted root store."""
        return self.intermediates_pem + ((self.root_pem,) if self.root_pem else ())
