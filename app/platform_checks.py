"""Does a certificate suit a platform (Teams Direct Routing, Google's SIP trunk...)?

Checked on import and before deploying: the SBC's FQDN among the certificate's names, a
wildcard only where the platform accepts one, the issuing root one the platform trusts, and
the Client Authentication EKU where the platform does mutual TLS. Problems stop a deployment;
warnings are explained.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from app import chain as chains
from app.checks import cn_of
from app.csr import sans_of
from app.fingerprints import cert_sha256
from app.names import is_ip, readable_name
from app.peer_text import escape_peer
from app.platforms import Platform

if TYPE_CHECKING:
    from app.mediant.devices import SavedDevice
    from app.response_check import ImportOutcome


@dataclass(frozen=True)
class PlatformFindings:
    platform: Platform
    problems: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def names_of(cert: x509.Certificate) -> tuple[str, ...]:
    """DNS names in the SAN, then the CN (Teams and Google accept the FQDN in either)."""
    names = [n.lower() for n in sans_of(cert.extensions) if not is_ip(n)]
    for attr in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
        value = str(attr.value).lower()
        if value not in names:
            names.append(value)
    return tuple(names)


def wildcard_covers(pattern: str, fqdn: str) -> bool:
    """RFC 2818 3.1 as Microsoft applies it: '*' is the whole left-most label, one label only."""
    if not pattern.startswith("*."):
        return False
    head, _, rest = fqdn.lower().partition(".")
    return bool(head) and rest == pattern[2:] and "*" not in rest


def check_certificate(
    platform: Platform,
    leaf: x509.Certificate,
    chain: Sequence[x509.Certificate] = (),
    *,
    fqdn: str = "",
    fqdn_explicit: bool = True,
) -> PlatformFindings:
    """`chain` is the issuers, leaf first or not, ending with the root when known. `fqdn` is the
    SBC's name as the platform knows it; a name guessed from the management host only warns."""
    problems: list[str] = []
    warnings: list[str] = []
    who = platform.title
    names = names_of(leaf)
    wildcards = [n for n in names if n.startswith("*")]
    if wildcards and not platform.wildcard:
        problems.append(
            f"{who} does not accept wildcard certificates, and this one carries "
            f"{', '.join(wildcards)}. Request a certificate that names the SBC's FQDN itself."
        )
    if fqdn and not is_ip(fqdn) and platform.fqdn_required:
        target = fqdn.lower().rstrip(".")
        exact = target in names
        by_wildcard = any(wildcard_covers(w, target) for w in wildcards)
        if not exact and not (by_wildcard and platform.wildcard):
            text = (
                f"The certificate's names ({', '.join(names) or 'none'}) do not cover "
                f"{target}, the SBC's FQDN for {who}: its TLS handshake will fail."
            )
            if fqdn_explicit:
                problems.append(text + " Request a certificate with that name in the SAN.")
            else:
                warnings.append(
                    text + " (This is the device's management name; if the SIP FQDN differs, "
                    'give it as "fqdn" in the device list.)'
                )
        elif any("*" in n[1:] for n in wildcards):
            warnings.append(f"A wildcard other than a whole left-most label is refused by {who}.")
    level, issuer_text = _issuer_finding(platform, leaf, chain)
    if issuer_text:
        (problems if level == "problem" else warnings).append(issuer_text)
    eku_warning = _eku_warning(platform, leaf)
    if eku_warning:
        warnings.append(eku_warning)
    return PlatformFindings(platform, tuple(problems), tuple(warnings))


def _root_of(leaf: x509.Certificate, chain: Sequence[x509.Certificate]) -> x509.Certificate | None:
    certs = [c for c in chain if c is not leaf]
    top = certs[-1] if certs else leaf
    if top.issuer == top.subject and top is not leaf:
        return top
    found = chains.trusted_roots_for(top.issuer)  # completed from the public bundle
    return found[0] if found else None


def _issuer_finding(
    platform: Platform, leaf: x509.Certificate, chain: Sequence[x509.Certificate]
) -> tuple[str, str]:
    """("problem" | "warning", text), or ("", "") when the root is one the platform trusts.

    A named vendor list is the platform's own words: a root outside it is a problem. "public"
    stands for a program accert cannot list exactly (Microsoft's): outside the public roots
    accert knows is a warning, since Microsoft's program may hold a CA Mozilla's does not.
    """
    root = _root_of(leaf, chain)
    who = platform.title
    strict = platform.issuer == "organizations"
    if root is None:
        top = chain[-1] if chain else leaf
        issuer = escape_peer(readable_name(top.issuer))
        return ("problem" if strict else "warning"), (
            f"The root of this certificate ('{issuer}') is unknown: "
            f"{who} trusts only {platform.issuer_note}. Import the CA's root, or use a public CA."
        )
    name = escape_peer(cn_of(root))
    if strict:
        orgs = [
            str(a.value) for a in root.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        ]
        text = " ".join([*orgs, name]).lower()
        if not any(o.lower() in text for o in platform.issuer_organizations):
            return "problem", (
                f"The certificate chains to '{name}', which is not {platform.issuer_note}: "
                f"{who} refuses it. Order the certificate from one of them."
            )
        return "", ""
    public = {cert_sha256(c) for c in chains.trusted_roots_for(root.subject)}
    platform_roots = {r.sha256 for r in platform.roots}
    if cert_sha256(root) not in public | platform_roots:
        return "warning", (
            f"The certificate chains to '{name}', which is not among the public roots accert "
            f"knows (a private or internal CA?): {who} trusts only {platform.issuer_note}, "
            "and refuses the SBC otherwise. Check the CA, or order from a public CA."
        )
    return "", ""


def _eku_warning(platform: Platform, leaf: x509.Certificate) -> str:
    if not platform.mutual_tls:
        return ""
    try:
        eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return ""  # no EKU: any usage
    if ExtendedKeyUsageOID.CLIENT_AUTH in eku or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in eku:
        return ""
    return (
        f"The certificate has Server Authentication but not Client Authentication in its "
        f"extended key usage. {platform.title} uses mutual TLS: the SBC also presents this "
        "certificate as a client when it opens the connection. Public CAs issue Server "
        "Authentication only under the 2026 root program rules; a peer on this context that "
        "insists on Client Authentication will refuse the SBC's outgoing connections. Test a "
        "call after deploying, and ask the peer whether it checks the EKU."
    )


def renewal_findings(
    leaf: x509.Certificate,
    chain: Sequence[x509.Certificate],
    platforms: Iterable[str],
    devices: Iterable[SavedDevice] = (),
) -> list[PlatformFindings]:
    """The checks for each platform named, or else each platform a saved device names, with
    the FQDN of every such device (its SIP FQDN, else its host name)."""
    from app.platforms import load_platform

    devices = list(devices)
    keys = list(dict.fromkeys(p.lower() for p in platforms)) or list(
        dict.fromkeys(p for d in devices for _, p in d.platforms)
    )
    out: list[PlatformFindings] = []
    for key in keys:
        platform = load_platform(key)
        names = {
            (d.fqdn or d.host): bool(d.fqdn)
            for d in devices
            if key in (p for _, p in d.platforms) and not is_ip(d.fqdn or d.host)
        }
        problems: list[str] = []
        warnings: list[str] = []
        for fqdn, explicit in (names or {"": True}).items():
            found = check_certificate(platform, leaf, chain, fqdn=fqdn, fqdn_explicit=explicit)
            problems += [p for p in found.problems if p not in problems]
            warnings += [w for w in found.warnings if w not in warnings]
        out.append(PlatformFindings(platform, tuple(problems), tuple(warnings)))
    return out


def with_platform_warnings(
    outcome: ImportOutcome, platforms: Iterable[str] = (), devices: Iterable[SavedDevice] = ()
) -> ImportOutcome:
    """The import's verdict plus each platform's: the CA's answer is kept either way (it is
    what the CA issued), the deployment to that platform's contexts stops on a problem."""
    if outcome.report is None:
        return outcome
    report = outcome.report
    extra: list[str] = []
    for found in renewal_findings(report.leaf, report.chain[1:], platforms, devices):
        name = found.platform.short
        extra += [f"{name}: {p} Deploying to its contexts stops on this." for p in found.problems]
        extra += [f"{name}: {w}" for w in found.warnings]
    return replace(outcome, warnings=(*outcome.warnings, *extra)) if extra else outcome
