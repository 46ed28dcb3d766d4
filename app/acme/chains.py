"""Which of the CA's chains to keep: the default, or the one a --preferred-chain names."""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import NameOID


def _top_issuer_cn(pem: str) -> str:
    certs = x509.load_pem_x509_certificates(pem.encode("ascii"))
    if not certs:
        return ""
    names = certs[-1].issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def choose(default: str, alternates: list[str], preferred: str) -> tuple[str, str]:
    """(chain PEM, a note). Like certbot: match the issuer CN of each chain's top certificate."""
    if not preferred:
        return default, ""
    wanted = preferred.strip().casefold()
    for pem in (default, *alternates):
        try:
            if _top_issuer_cn(pem).casefold() == wanted:
                return pem, f"Chain up to '{preferred}' chosen, as asked."
        except ValueError:
            continue  # a damaged alternate is simply not chosen; the import judges the default
    offered = []
    for pem in (default, *alternates):
        try:
            offered.append(_top_issuer_cn(pem) or "?")
        except ValueError:
            offered.append("?")
    return default, (
        f"The CA offers no chain up to '{preferred}' (offered: {', '.join(offered)}); "
        "kept its default chain."
    )
