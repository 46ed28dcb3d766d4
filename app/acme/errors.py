"""ACME and DNS failures as our own errors: one line for the engineer, and what to do about it.

RFC 8555 problem documents (section 6.7) are mapped by their type; the CA's own detail is
kept, with control characters escaped (it is peer text: app.peer_text.peer_line).
"""

from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime
from typing import Any

from app.errors import AccertError
from app.peer_text import peer_line


class AcmeError(AccertError):
    """The CA refused, failed or could not be reached. The renewal stays as it was."""

    def __init__(self, message: str, hint: str = "", *, code: str = "") -> None:
        super().__init__(message, hint)
        self.code = code


class AcmeCancelled(AcmeError):
    """The user stopped the order; DNS records were cleaned up, nothing was imported."""


class DnsError(AccertError):
    """A TXT record could not be published, removed or seen where the CA will look."""


RETRY_RUN = "Nothing was imported; the CSR is kept. Run the same command again"

_HINTS: dict[str, str] = {
    "externalAccountRequired": (
        "This CA binds ACME accounts to your account with it: pass the EAB key id and HMAC "
        "key from the CA's portal (--eab-kid with --eab-hmac-env or --eab-hmac-file)."
    ),
    "unauthorized": (
        "The CA does not allow this account to order these names. Check that the names are "
        "validated or allowed in the CA's portal (commercial CAs), and that the EAB key belongs "
        "to that account."
    ),
    "rejectedIdentifier": (
        "The CA will not issue for one of the names (internal names, IP addresses and blocked "
        "domains are refused by public CAs). Make a new request without it."
    ),
    "unsupportedIdentifier": (
        "The CA does not issue for this kind of name over ACME. Make a new request with DNS "
        "names only."
    ),
    "caa": (
        "A CAA record in DNS forbids this CA for the domain. Add a CAA record that allows it "
        '(e.g. 0 issue "letsencrypt.org"; 0 issuewild for wildcards), or remove the CAA record.'
    ),
    "rateLimited": "The CA's rate limit was reached. Wait, then run the same command again.",
    "badNonce": (
        "The CA rejected the request's anti-replay nonce twice in a row. Run again; if it "
        "persists, a proxy or load balancer between here and the CA may be caching answers."
    ),
    "accountDoesNotExist": (
        "The CA no longer knows the account this PC registered. Run again with the EAB key id "
        "and HMAC (for CAs that need them) to register a new account."
    ),
    "badCSR": (
        "The CA refused the CSR (e.g. a key size or type it does not accept). Make a new request "
        "with a 2048-bit RSA or P-256 key."
    ),
    "badPublicKey": "The CA does not accept this key. Make a new request with an RSA 2048 key.",
    "badSignatureAlgorithm": (
        "The CA does not accept the signature algorithm. Make a new request with an RSA 2048 key."
    ),
    "dns": (
        "The CA could not look up the TXT record. Check that the domain's DNS servers answer "
        "from the internet and that the hook publishes into the right zone."
    ),
    "incorrectResponse": (
        "The CA saw a TXT record with another value. Check that the hook writes into the zone the "
        "public DNS serves, and that old _acme-challenge records are removed."
    ),
    "unauthorizedChallenge": "",
    "userActionRequired": (
        "The CA needs you to act in its web portal first (e.g. accept new terms)."
    ),
    "serverInternal": f"The CA had an internal error. {RETRY_RUN} later.",
    "orderNotReady": f"The order was not ready to finalise. {RETRY_RUN}.",
    "malformed": (
        "The CA could not accept the request. If an EAB key was given, check that the key id "
        "and HMAC are the pair the CA's portal shows, copied whole."
    ),
    "connection": "The CA could not connect to validate.",
    "compound": "",
}


def retry_after_text(value: str | None) -> str:
    """'Retry after 2026-11-30 05:10 UTC (in 12 minutes)' from a Retry-After header."""
    if not value:
        return ""
    now = dt.datetime.now(dt.UTC)
    try:
        when = now + dt.timedelta(seconds=int(value.strip()))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return ""
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
    minutes = max(0, round((when - now).total_seconds() / 60))
    return f"Retry after {when:%Y-%m-%d %H:%M} UTC (in {minutes} minute{'s' * (minutes != 1)})."


EAB_HINT = (
    "Check that the EAB key id and HMAC key are the pair the CA's portal shows, copied whole, and "
    "not yet used or revoked (most CAs let each pair register one account)."
)


def from_problem(
    problem: Any, action: str, retry_after: str | None = None, *, with_eab: bool = False
) -> AcmeError:
    """An RFC 8555 problem (acme.messages.Error) as one line: what failed, the CA's words.

    `with_eab`: the request carried an External Account Binding, the usual cause of an
    'unauthorized' or 'malformed' answer to a new account."""
    code = str(getattr(problem, "code", "") or "")
    typ = str(getattr(problem, "typ", "") or "")
    detail = peer_line(getattr(problem, "detail", "") or getattr(problem, "title", "") or typ)
    subs = getattr(problem, "subproblems", None) or ()
    for sub in subs[:3]:
        ident = getattr(getattr(sub, "identifier", None), "value", "")
        detail += f"; {peer_line(ident)}: {peer_line(getattr(sub, 'detail', '') or '')}"
    hint = _HINTS.get(code, "")
    if with_eab and code in ("unauthorized", "malformed", "badSignatureAlgorithm"):
        hint = EAB_HINT
    if code == "rateLimited":
        hint = " ".join(x for x in (hint, retry_after_text(retry_after)) if x)
    if not hint:
        hint = f"{RETRY_RUN} once the cause is fixed."
    label = code or typ or "error"
    return AcmeError(f"The CA refused to {action}: {detail} ({label}).", hint, code=code)
