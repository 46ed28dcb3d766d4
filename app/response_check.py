"""Judge a CA response against our key: the verdict the import screen and CLI show."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from app import chain as chains
from app.ca_response import Parsed
from app.certinfo import CertInfo, info
from app.checks import leaf_warnings
from app.fingerprints import cert_sha256, public_key_sha256


@dataclass(frozen=True)
class ImportOutcome:
    matches_key: bool
    key_fingerprint: str  # SHA-256 of our public key
    chain: tuple[CertInfo, ...]  # leaf -> intermediates -> root, as far as known
    others: tuple[CertInfo, ...]  # certificates in the response not in the chain
    complete: bool
    missing_issuer: str | None
    aia_url: str | None
    problems: tuple[str, ...]  # blocking: nothing is saved or deployed while there are any
    warnings: tuple[str, ...]
    notes: tuple[str, ...]
    report: chains.ChainReport | None  # the certificates themselves, for saving

    @property
    def acceptable(self) -> bool:
        return self.matches_key and not self.problems

    def verdict(self) -> str:
        if not self.matches_key:
            return "Does not match your key"
        if self.problems:
            return "Chain has problems"
        if not self.complete:
            return "Matches your key; root not included"
        return "Matches your key; chain complete"


def analyse(
    parsed: Parsed,
    public_key: PublicKeyTypes,
    requested_names: Iterable[str] = (),
    *,
    extra_roots: Iterable[x509.Certificate] = (),
) -> ImportOutcome:
    key_fp = public_key_sha256(public_key)
    leaf = chains.find_leaf(parsed.certificates, public_key)
    notes = tuple(parsed.notes)
    if leaf is None:
        others = tuple(
            info(c, "other", parsed.origins.get(cert_sha256(c), "")) for c in parsed.certificates
        )
        listing = "; ".join(f"'{o.common_name}' key {o.public_key_sha256[:23]}..." for o in others)
        if all(_is_ca(c) for c in parsed.certificates):
            problem = (
                "Your server certificate is missing: these are only the CA's own certificates "
                f"({', '.join(repr(o.common_name) for o in others)}), which sign it. Add the "
                "certificate issued for your CSR (often named after your domain, e.g. "
                "star_example_com.crt) to the import, beside these."
            )
            return ImportOutcome(
                False, key_fp, (), others, False, None, None, (problem,), (), notes, None
            )
        problem = (
            "None of these certificates belongs to this renewal's private key "
            f"(key SHA-256 {key_fp[:23]}...). Found: {listing}. The certificate was issued for "
            "another CSR, probably one made elsewhere (on the device, or in another tool). Send "
            "this renewal's CSR to the CA (reissue), or import the certificate issued for it."
        )
        return ImportOutcome(
            False, key_fp, (), others, False, None, None, (problem,), (), notes, None
        )
    report = chains.build(leaf, parsed.certificates, extra_roots=extra_roots)
    return _outcome(report, parsed, key_fp, requested_names, notes)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _outcome(
    report: chains.ChainReport,
    parsed: Parsed,
    key_fp: str,
    requested_names: Iterable[str],
    notes: tuple[str, ...],
) -> ImportOutcome:
    def origin(c: x509.Certificate) -> str:
        return parsed.origins.get(cert_sha256(c)) or chains.trust_source(c)

    roles: list[CertInfo] = []
    for index, cert in enumerate(report.chain):
        if index == 0:
            role = "leaf"
        elif report.has_root and index == len(report.chain) - 1:
            role = "root"
        else:
            role = "intermediate"
        roles.append(info(cert, role, origin(cert)))
    problems = list(report.problems)
    warnings = leaf_warnings(report.leaf, report.chain[1:], requested_names)
    if report.missing_intermediate:
        bundle = "the CA's bundle file (often named *CA.crt, ca-bundle or intermediate)"
        remedy = (
            f"Download it from {report.aia_url} (Fetch missing), or add {bundle} to the import."
            if report.aia_url
            else f"Add {bundle} to the import."
        )
        problems.append(
            f"The intermediate certificate '{report.missing_issuer}' that issued your certificate "
            f"is missing. Devices need it to present a complete chain. {remedy}"
        )
    elif report.missing_top:
        fetch = f" It may be downloaded from {report.aia_url}." if report.aia_url else ""
        warnings.append(
            f"The root certificate '{report.missing_issuer}' is not in the response nor in the "
            f"trusted root bundle. Add the CA's root (e.g. TrustedRoot.crt) so devices can trust "
            f"the chain.{fetch}"
        )
    if report.root_from_trust_store:
        notes = (
            *notes,
            f"The root '{roles[-1].common_name}' was completed from the "
            f"{roles[-1].source or 'trusted root bundle'}.",
        )
    others = tuple(info(c, "other", origin(c)) for c in report.unrelated)
    if others:
        notes = (
            *notes,
            "Certificates not part of this chain were left out: "
            + ", ".join(o.common_name for o in others)
            + ".",
        )
    return ImportOutcome(
        matches_key=True,
        key_fingerprint=key_fp,
        chain=tuple(roles),
        others=others,
        complete=report.complete,
        missing_issuer=report.missing_issuer,
        aia_url=report.aia_url,
        problems=tuple(problems),
        warnings=tuple(warnings),
        notes=notes,
        report=report,
    )
