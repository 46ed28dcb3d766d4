"""Is a certificate due for renewal? At most N days left, or the CA's window (RFC 9773) open.

ACME Renewal Information (ARI, RFC 9773) lets the CA move the renewal earlier (a revocation
coming, a mass re-issue) or spread renewals out. certbot's `acme` library fetches the window
and picks a time in it (`ClientV2.renewal_time`); a CA without ARI leaves the days rule alone,
and a CA whose ARI cannot be reached never blocks the days rule either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from app.names import readable_name

DEFAULT_DAYS = 30

# directory URL, CA bundle ("" = system store), certificate -> (renew at, or None without ARI)
AriLookup = Callable[[str, str, x509.Certificate], "dt.datetime | None"]


@dataclass(frozen=True)
class Due:
    due: bool
    reason: str  # one sentence for the engineer
    not_after: dt.datetime
    days_left: float
    ari_renew_at: dt.datetime | None = None
    ari_note: str = ""  # e.g. the CA does not offer ARI, or it could not be reached


def check_due(
    cert: x509.Certificate,
    *,
    days: int = DEFAULT_DAYS,
    directory: str = "",
    ca_bundle: str = "",
    ari: AriLookup | None = None,
    now: dt.datetime | None = None,
) -> Due:
    now = now or dt.datetime.now(dt.UTC)
    not_after = cert.not_valid_after_utc
    left = (not_after - now).total_seconds() / 86400
    subject = readable_name(cert.subject)
    until = f"{not_after:%Y-%m-%d %H:%M} UTC"
    if left <= days:
        what = "has expired" if left <= 0 else f"has {left:.1f} day(s) left"
        return Due(
            True, f"{subject} {what} (until {until}; renew at {days} days).", not_after, left
        )
    renew_at, note = None, ""
    if directory and ari is not None:
        try:
            renew_at = ari(directory, ca_bundle, cert)
        except Exception as exc:  # ARI is advice: an outage must not stop the days rule
            note = f"The CA's renewal information could not be read ({type(exc).__name__})."
        else:
            if renew_at is None:
                note = "The CA offers no renewal information (RFC 9773); the days rule applies."
    if renew_at is not None and renew_at <= now:
        return Due(
            True,
            f"The CA asks to renew {subject} now (its RFC 9773 window opened by "
            f"{renew_at:%Y-%m-%d %H:%M} UTC), {left:.1f} day(s) before it expires.",
            not_after,
            left,
            renew_at,
        )
    when = f"; the CA suggests renewing from {renew_at:%Y-%m-%d %H:%M} UTC" if renew_at else ""
    return Due(
        False,
        f"{subject} is not due: {left:.1f} day(s) left until {until}, renewal at {days}{when}.",
        not_after,
        left,
        renew_at,
        note,
    )


def acme_renewal_time(directory: str, ca_bundle: str, cert: x509.Certificate) -> dt.datetime | None:
    """The time certbot's acme library picks in the CA's ARI window; None when there is none.

    The connection is app.acme's: trust from the CA bundle or the system store, never from the
    environment (no proxy variables), as for the orders themselves.
    """
    from acme import client

    from app.acme.network import Network
    from app.acme.network import directory as get_directory

    net = Network(None, ca_bundle)
    try:
        acme_client = client.ClientV2(get_directory(directory, net), net)
        renew_at, _ask_again = acme_client.renewal_time(
            cert.public_bytes(serialization.Encoding.PEM)
        )
    finally:
        net.session.close()
    if renew_at is None:
        return None
    return renew_at if renew_at.tzinfo else renew_at.replace(tzinfo=dt.UTC)
