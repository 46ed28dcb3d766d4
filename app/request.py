"""What the user asks for: subject, names and key type, validated as a whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from app.errors import InputError
from app.names import (
    bare_domain,
    country_error,
    dns_name_error,
    email_error,
    is_ip,
    san_error,
    to_ascii,
)


class KeyType(StrEnum):
    RSA2048 = "rsa2048"
    RSA3072 = "rsa3072"
    RSA4096 = "rsa4096"
    EC256 = "ec256"
    EC384 = "ec384"

    @property
    def label(self) -> str:
        return _KEY_LABELS[self][0]

    @property
    def note(self) -> str:
        """What the choice means for AudioCodes devices, in one line."""
        return _KEY_LABELS[self][1]

    @property
    def is_rsa(self) -> bool:
        return self.value.startswith("rsa")

    @property
    def bits(self) -> int:
        return int(self.value[3:]) if self.is_rsa else {"ec256": 256, "ec384": 384}[self.value]


_KEY_LABELS: dict[KeyType, tuple[str, str]] = {
    KeyType.RSA2048: (
        "RSA 2048",
        "Recommended: accepted by every Mediant firmware, OVOC and all CAs.",
    ),
    KeyType.RSA3072: (
        "RSA 3072",
        "Stronger; supported by Mediant 7.2+ and OVOC. Slower handshakes.",
    ),
    KeyType.RSA4096: (
        "RSA 4096",
        "Strongest RSA; Mediant 7.2+ accepts it, but SIP-TLS handshakes cost more CPU.",
    ),
    KeyType.EC256: (
        "ECDSA P-256",
        "Modern and fast; needs Mediant 7.2+ and peers (e.g. Teams) that accept ECDSA.",
    ),
    KeyType.EC384: ("ECDSA P-384", "As P-256, stronger; check every SIP peer supports it first."),
}

# Users type "rsa:2048", "RSA-2048" or "2048" as often as our own names.
_KEY_ALIASES = {
    "rsa": KeyType.RSA2048,
    "ec": KeyType.EC256,
    "ecdsa": KeyType.EC256,
    "p256": KeyType.EC256,
    "p-256": KeyType.EC256,
    "p384": KeyType.EC384,
    "p-384": KeyType.EC384,
    "2048": KeyType.RSA2048,
    "3072": KeyType.RSA3072,
    "4096": KeyType.RSA4096,
}


def parse_key_type(text: str) -> KeyType:
    cleaned = text.strip().lower().replace(":", "").replace("-", "").replace(" ", "")
    if cleaned in {"rsa1024", "1024", "rsa512", "512"}:
        raise InputError(
            f"An RSA key of {cleaned.removeprefix('rsa')} bits is refused.",
            "Public CAs reject RSA keys below 2048 bits since 2013, and they can be broken; "
            "use rsa2048 (the default).",
        )
    try:
        return KeyType(cleaned)
    except ValueError:
        alias = _KEY_ALIASES.get(cleaned) or _KEY_ALIASES.get(text.strip().lower())
        if alias:
            return alias
    choices = ", ".join(k.value for k in KeyType)
    raise InputError(f"Unknown key type '{text}'.", f"Choose one of: {choices}.")


@dataclass(frozen=True)
class Subject:
    common_name: str
    organization: str = ""
    organizational_unit: str = ""
    locality: str = ""
    state: str = ""
    country: str = ""
    email: str = ""


@dataclass(frozen=True)
class FieldError:
    """One problem, tied to the form field it belongs to (for inline display)."""

    field: str
    message: str


@dataclass(frozen=True)
class RequestSpec:
    subject: Subject
    sans: tuple[str, ...] = ()
    key_type: KeyType = KeyType.RSA2048
    include_bare_domain: bool = True
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    def all_sans(self) -> tuple[str, ...]:
        """CN first, then a wildcard CN's bare domain (when asked), then the rest; no repeats."""
        ordered: list[str] = []
        cn = self.subject.common_name.strip()
        candidates = [cn]
        if self.include_bare_domain:
            bare = bare_domain(cn)
            if bare:
                candidates.append(bare)
        candidates.extend(s.strip() for s in self.sans)
        seen: set[str] = set()
        for name in candidates:
            key = name.lower()
            if name and key not in seen:
                seen.add(key)
                ordered.append(name)
        return tuple(ordered)


def validate(spec: RequestSpec) -> list[FieldError]:
    """Every problem in the request, each tied to its field; empty when the request is good."""
    errors: list[FieldError] = []
    s = spec.subject
    cn = s.common_name.strip()
    if not cn:
        errors.append(
            FieldError(
                "common_name",
                "The common name (CN) is empty: enter the "
                "host name the certificate is for, e.g. *.example.com.",
            )
        )
    elif is_ip(cn):
        errors.append(
            FieldError(
                "common_name",
                f"'{cn}' is an IP address; public CAs need a "
                "host name as CN. Put IP addresses in the SAN list.",
            )
        )
    else:
        problem = dns_name_error(cn)
        if problem:
            errors.append(FieldError("common_name", problem))
    for san in spec.sans:
        if san.strip():
            problem = san_error(san.strip())
            if problem:
                errors.append(FieldError("sans", problem))
    problem = country_error(s.country.strip())
    if problem:
        errors.append(FieldError("country", problem))
    problem = email_error(s.email.strip())
    if problem:
        errors.append(FieldError("email", problem))
    for name, value, limit in (
        ("organization", s.organization, 64),
        ("organizational_unit", s.organizational_unit, 64),
        ("locality", s.locality, 128),
        ("state", s.state, 128),
    ):
        if len(value) > limit:
            errors.append(FieldError(name, f"At most {limit} characters are allowed here."))
    return errors


def require_valid(spec: RequestSpec) -> RequestSpec:
    """Raise one InputError listing every problem; return a cleaned spec otherwise."""
    errors = validate(spec)
    if errors:
        if len(errors) == 1:
            raise InputError(errors[0].message, "Correct it and try again.")
        lines = " ".join(f"({n}) {e.message}" for n, e in enumerate(errors, start=1))
        raise InputError(
            f"The request has {len(errors)} problems: {lines}", "Correct them and try again."
        )
    s = spec.subject
    cleaned = Subject(
        common_name=_certificate_name(s.common_name.strip()),
        organization=s.organization.strip(),
        organizational_unit=s.organizational_unit.strip(),
        locality=s.locality.strip(),
        state=s.state.strip(),
        country=s.country.strip().upper(),
        email=s.email.strip(),
    )
    return RequestSpec(
        cleaned,
        tuple(_certificate_name(x.strip()) for x in spec.sans if x.strip()),
        spec.key_type,
        spec.include_bare_domain,
    )


def _certificate_name(name: str) -> str:
    """International names go into the CSR in their IDNA ASCII form (CAs and RFC 5280 want
    A-labels in dNSName and in the CN); IP addresses and ASCII names as typed."""
    return name if is_ip(name) else to_ascii(name)
