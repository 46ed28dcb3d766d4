"""Prove what a port serves: a real handshake, compared with the renewal's certificates."""

from __future__ import annotations

import time
from dataclasses import dataclass

from cryptography import x509

from app.fingerprints import cert_sha256
from app.material import DeployMaterial
from app.names import readable_name
from app.tls_probe import ProbeError, fetch_served_chain


@dataclass(frozen=True)
class Verification:
    host: str
    port: int
    ok: bool
    served_sha256: str  # "" when no handshake could be made
    served_subject: str
    served_not_after: str
    chain_complete: bool
    missing: tuple[str, ...]  # subjects of intermediates the port does not send
    message: str
    hint: str = ""  # what to do, when no handshake could be made

    def as_dict(self) -> dict[str, object]:
        return {
            "host": self.host,
            "port": self.port,
            "ok": self.ok,
            "served_sha256": self.served_sha256,
            "served_subject": self.served_subject,
            "served_not_after": self.served_not_after,
            "chain_complete": self.chain_complete,
            "missing": list(self.missing),
            "message": self.message,
        }


def verify_served(
    host: str,
    port: int,
    material: DeployMaterial | None,
    *,
    timeout: float = 10.0,
    attempts: int = 1,
    interval: float = 1.0,
) -> Verification:
    """Handshake with host:port; with `material`, check the leaf is ours and the chain complete.

    A listener may need a moment after a save or reset, so a mismatch is retried `attempts`
    times before the served certificate is reported.
    """
    result = _once(host, port, material, timeout)
    for _ in range(attempts - 1):
        if result.ok:
            break
        time.sleep(interval)
        result = _once(host, port, material, timeout)
    return result


def _once(host: str, port: int, material: DeployMaterial | None, timeout: float) -> Verification:
    try:
        served = fetch_served_chain(host, port, timeout=timeout)
    except ProbeError as exc:
        return Verification(host, port, False, "", "", "", False, (), exc.message, exc.hint)
    leaf = served.leaf
    subject = readable_name(leaf.subject)
    not_after = leaf.not_valid_after_utc.strftime("%Y-%m-%d")
    if material is None:
        return Verification(
            host, port, True, served.leaf_sha256, subject, not_after, True, (),
            f"{host}:{port} serves {subject} (SHA-256 {served.leaf_sha256}, "
            f"until {not_after}), {len(served.chain)} certificate(s).",
        )  # fmt: skip
    sent = {cert_sha256(c) for c in served.chain[1:]}
    missing = tuple(
        readable_name(x509.load_pem_x509_certificate(p).subject)
        for p in material.intermediates_pem
        if cert_sha256(x509.load_pem_x509_certificate(p)) not in sent
    )
    if served.leaf_sha256 != material.leaf_sha256:
        message = (
            f"{host}:{port} still serves another certificate: {subject}, SHA-256 "
            f"{served.leaf_sha256}, valid until {not_after} (expected {material.leaf_sha256})."
        )
        return Verification(
            host, port, False, served.leaf_sha256, subject, not_after, not missing, missing,
            message,
        )  # fmt: skip
    if missing:
        message = (
            f"{host}:{port} serves the new certificate but not its intermediate(s): "
            f"{'; '.join(missing)}: clients that lack them will fail."
        )
        return Verification(
            host, port, False, served.leaf_sha256, subject, not_after, False, missing, message
        )
    return Verification(
        host, port, True, served.leaf_sha256, subject, not_after, True, (),
        f"{host}:{port} serves the new certificate ({subject}, until {not_after}) "
        "with its complete chain.",
    )  # fmt: skip
