"""ACME directories of the CAs the wizard offers by name, each as the CA's own documentation
gives it (checked there; the page is named so it can be checked again). A CA whose URL could not
be confirmed in its own documentation is not listed: its users paste the URL from their portal.
GlobalSign Atlas is such a case (its directory is per region and account; see its ACME guide).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    name: str
    directory: str
    eab: bool  # the CA binds new accounts with External Account Binding (key id + HMAC)
    source: str  # the CA's documentation page that gives this URL


PRESETS: tuple[Preset, ...] = (
    Preset(
        "DigiCert CertCentral (US)",
        "https://one.us.digicert.com/mpki/api/v1/acme/v2/directory",
        True,
        "https://docs.digicert.com/en/certcentral/automate-certificate-lifecycle/"
        "set-up-managed-automation/set-up-acme-in-certcentral/confirm-regional-directory-url.html",
    ),
    Preset(
        "DigiCert CertCentral (EU)",
        "https://one.nl.digicert.com/mpki/api/v1/acme/v2/directory",
        True,
        "https://docs.digicert.com/en/certcentral/automate-certificate-lifecycle/"
        "set-up-managed-automation/set-up-acme-in-certcentral/confirm-regional-directory-url.html",
    ),
    Preset(
        "DigiCert CertCentral (Japan)",
        "https://one.digicert.co.jp/mpki/api/v1/acme/v2/directory",
        True,
        "https://docs.digicert.com/en/certcentral/automate-certificate-lifecycle/"
        "set-up-managed-automation/set-up-acme-in-certcentral/confirm-regional-directory-url.html",
    ),
    Preset(
        "Sectigo (DV)",
        "https://acme.sectigo.com/v2/DV",
        True,
        "https://docs.sectigo.com/caas/caas-api-guide/quick-start-api.html",
    ),
    Preset(
        "ZeroSSL",
        "https://acme.zerossl.com/v2/DV90",
        True,
        "https://zerossl.com/documentation/acme/",
    ),
    Preset(
        "Let's Encrypt",
        "https://acme-v02.api.letsencrypt.org/directory",
        False,
        "https://letsencrypt.org/docs/acme-protocol-updates/",
    ),
    Preset(
        "Let's Encrypt (staging, untrusted test certificates)",
        "https://acme-staging-v02.api.letsencrypt.org/directory",
        False,
        "https://letsencrypt.org/docs/staging-environment/",
    ),
)


def by_directory(url: str) -> Preset | None:
    return next((p for p in PRESETS if p.directory == url), None)
