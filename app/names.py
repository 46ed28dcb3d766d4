"""Checks on the names that go into a request, with messages an engineer understands."""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from typing import TYPE_CHECKING

from app.paths import resources_dir
from app.peer_text import escape_peer

if TYPE_CHECKING:  # cryptography loads only where a certificate is read (see app/workspace.py)
    from cryptography import x509

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# Frequent slips, with the code the user meant.
_COUNTRY_SLIPS = {"UK": "GB", "EL": "GR"}


@functools.cache
def countries() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code -> English short name."""
    data: dict[str, str] = json.loads((resources_dir() / "countries.json").read_text("utf-8"))
    return data


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def dns_name_error(name: str) -> str | None:
    """None when `name` is a valid DNS name for a certificate, else why not."""
    if not name:
        return "The name is empty."
    if name != name.strip() or " " in name:
        return f"'{name}' contains spaces; a host name cannot."
    if "://" in name or "/" in name:
        return f"'{name}' looks like a URL; enter only the host name, e.g. sbc.example.com."
    if name.endswith("."):
        return f"'{name}' ends with a dot; leave the trailing dot out."
    try:
        ascii_name = to_ascii(name)
    except ValueError as exc:
        return f"'{escape_peer(name)}' is not a valid international domain name: {exc}."
    if len(ascii_name) > 253:
        return f"'{name}' is longer than the 253 characters a DNS name may have."
    labels = ascii_name.split(".")
    for index, label in enumerate(labels):
        if label == "*":
            if index != 0:
                return (
                    f"'{name}': a wildcard '*' is only allowed as the whole left-most label, "
                    "e.g. *.example.com."
                )
            continue
        if "*" in label:
            return (
                f"'{name}': a wildcard must be the whole left-most label (*.example.com), "
                "not part of a label."
            )
        if not label:
            return f"'{name}' has an empty label (two dots in a row)."
        if not _LABEL.match(label):
            return (
                f"'{name}': the part '{label}' may contain only letters, digits and hyphens, "
                "and may not start or end with a hyphen."
            )
    if labels[0] == "*" and len(labels) < 3:
        return f"'{name}': a wildcard needs a domain under it with at least two labels."
    if len(labels) < 2 and not is_ip(name):
        return f"'{name}' is not fully qualified; public CAs need a name like sbc.example.com."
    return None


def to_ascii(name: str) -> str:
    """The form a certificate holds: each non-ASCII label as its IDNA A-label (`bücher` ->
    `xn--bcher-kva`, IDNA 2008 with the UTS #46 mapping browsers use); ASCII labels as typed.

    Raises ValueError saying why when a label cannot be an international domain name, and for
    an `xn--` label that is not a valid A-label.
    """
    import idna  # only needed for the rare international name

    labels = name.split(".")
    out: list[str] = []
    for label in labels:
        if label.isascii() and not label.lower().startswith("xn--"):
            out.append(label)
            continue
        try:
            if label.isascii():
                idna.decode(label)  # an A-label typed as such must be a real one
                out.append(label.lower())
            else:
                out.append(idna.encode(label, uts46=True).decode("ascii"))
        except (idna.IDNAError, UnicodeError) as exc:
            reason = str(exc).split(" at position", 1)[0].split(" in '", 1)[0]
            raise ValueError(
                f"the part '{escape_peer(label)}' cannot be one ({escape_peer(reason)})"
            ) from exc
    return ".".join(out)


def to_unicode(name: str) -> str | None:
    """`xn--bcher-kva.example.com` -> `bücher.example.com`; None when there is no A-label
    (or it does not decode): then the ASCII form is all there is to show."""
    if "xn--" not in name.lower():
        return None
    import idna

    try:
        return ".".join(
            idna.decode(label) if label.lower().startswith("xn--") else label
            for label in name.split(".")
        )
    except (idna.IDNAError, UnicodeError):
        return None


def shown(name: str) -> str:
    """A name as screens print it: an international one in both forms, the one the
    certificate holds first: `xn--bcher-kva.example.com (bücher.example.com)`. Both escaped:
    the name may be a peer's (a certificate's SAN)."""
    unicode_form = to_unicode(name)
    safe = escape_peer(name)
    return f"{safe} ({escape_peer(unicode_form)})" if unicode_form else safe


def san_error(value: str) -> str | None:
    """A SAN is a DNS name or an IP address."""
    return None if is_ip(value) else dns_name_error(value)


def country_error(code: str) -> str | None:
    if not code:
        return None  # optional; CAs that need it say so
    upper = code.upper()
    if upper in _COUNTRY_SLIPS:
        return f"'{code}' is not an ISO 3166 code; use {_COUNTRY_SLIPS[upper]}."
    if len(code) != 2 or not code.isalpha():
        return f"'{code}' is not a two-letter ISO 3166 country code (e.g. GB, US, DE)."
    if upper not in countries():
        return f"'{code}' is not an ISO 3166 country code."
    return None


def email_error(email: str) -> str | None:
    if email and not _EMAIL.match(email):
        return f"'{email}' is not an e-mail address."
    return None


def bare_domain(wildcard: str) -> str | None:
    """`*.example.com` -> `example.com`; None for names that are not wildcards."""
    return wildcard[2:] if wildcard.startswith("*.") else None


def file_stem(common_name: str) -> str:
    """The file name DigiCert users know: `*.example.com` -> `star_example_com`."""
    stem = common_name.strip().lower().replace("*", "star")
    stem = re.sub(r"[^a-z0-9]+", "_", stem).strip("_")
    return stem or "certificate"


def readable_name(name: x509.Name) -> str:
    """A distinguished name as engineers read it: "E=pki@example.com,CN=..." (RFC 4514 would
    print the e-mail attribute as its OID, 1.2.840.113549.1.9.1)."""
    from cryptography.x509.oid import NameOID

    return escape_peer(name.rfc4514_string({NameOID.EMAIL_ADDRESS: "E"}))
