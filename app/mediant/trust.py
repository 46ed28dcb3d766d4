"""A TLS context's trusted root store against what a platform (Teams...) needs.

Reading changes nothing. Adding takes the INI backup first, then sends only the missing roots
one by one through `trustedRoot/incremental` (never the replacing PUT, never a duplicate),
within the store's limit, saves, and reads the store back to prove it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from app.checks import cn_of
from app.errors import DeployError
from app.fingerprints import cert_sha256, public_key_sha256
from app.mediant.client import DeviceIdentity, MediantClient
from app.mediant.errors import NoRestApi
from app.mediant.ini import TlsContextRow, looks_like_ini, parse_tls_contexts
from app.peer_text import escape_peer
from app.platforms import Platform, PlatformRoot, all_platforms
from app.redact import redact

# The trusted root store of a TLS context holds 20 certificates on firmware 7.0 [doc]; 7.4
# reportedly holds more, but 20 is the documented bound accert stays within everywhere.
TRUSTED_ROOT_LIMIT = 20

Log = Callable[[str], None]


class StoreFull(DeployError):
    """Adding the missing roots would pass the store's limit: nothing was added."""


@dataclass(frozen=True)
class RootsStatus:
    """One context against one platform: what the Deploy page and the reports show."""

    platform: str  # short name: "Teams"
    context: int
    present: int
    total: int
    added: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return self.present >= self.total

    @property
    def text(self) -> str:
        return f"{self.platform} roots {self.present}/{self.total}"

    def line(self) -> str:
        extra = ""
        if self.added:
            extra = f", {len(self.added)} added"
        if self.missing:
            extra += f"; missing: {', '.join(self.missing)}"
        return f"{self.text} (context {self.context}{extra})"

    def as_dict(self) -> dict[str, object]:
        return {
            "platform": self.platform,
            "context": self.context,
            "present": self.present,
            "total": self.total,
            "added": list(self.added),
            "missing": list(self.missing),
        }


@dataclass(frozen=True)
class StoreComparison:
    platform: Platform
    store: tuple[x509.Certificate, ...]
    present: tuple[PlatformRoot, ...]
    missing: tuple[PlatformRoot, ...]

    def status(self, context: int, added: Sequence[PlatformRoot] = ()) -> RootsStatus:
        return RootsStatus(
            self.platform.short,
            context,
            len(self.present),
            len(self.platform.roots),
            tuple(r.name for r in added),
            tuple(r.name for r in self.missing),
        )


def parse_store(pem: bytes, where: str) -> tuple[x509.Certificate, ...]:
    if not pem.strip():
        return ()
    try:
        return tuple(x509.load_pem_x509_certificates(pem))
    except ValueError as exc:
        raise DeployError(
            f"{where} sent a trusted root store that is not PEM ({len(pem)} bytes).",
            "Look at the context's Trusted Root Certificates on the device's web page.",
        ) from exc


def _holds(store: Iterable[x509.Certificate], root: PlatformRoot) -> bool:
    """The same certificate, or the same CA (subject and key) in another issue of it."""
    for cert in store:
        if cert_sha256(cert) == root.sha256:
            return True
        if cert.subject == root.cert.subject and (
            public_key_sha256(cert.public_key()) == root.spki_sha256
        ):
            return True
    return False


def compare(platform: Platform, store: Sequence[x509.Certificate]) -> StoreComparison:
    present = tuple(r for r in platform.roots if _holds(store, r))
    missing = tuple(r for r in platform.roots if not _holds(store, r))
    return StoreComparison(platform, tuple(store), present, missing)


def not_needed(
    store: Sequence[x509.Certificate], needed: Iterable[x509.Certificate] = ()
) -> tuple[x509.Certificate, ...]:
    """Certificates in the store that no platform profile lists and no given chain uses."""
    keep = {cert_sha256(c) for c in needed}
    roots = [r for p in all_platforms() for r in p.roots]
    return tuple(
        c for c in store if cert_sha256(c) not in keep and not any(_holds([c], r) for r in roots)
    )


def chain_in_store(
    device_cert_pem: bytes, store: Sequence[x509.Certificate]
) -> tuple[x509.Certificate, ...]:
    """The store's certificates on the issuer path of the context's own certificate."""
    try:
        current = x509.load_pem_x509_certificate(device_cert_pem)
    except ValueError:
        return ()
    path: list[x509.Certificate] = []
    for _ in range(len(store)):
        if current.issuer == current.subject:
            break
        issuer = next((c for c in store if c.subject == current.issuer and c not in path), None)
        if issuer is None:
            break
        path.append(issuer)
        current = issuer
    return tuple(path)


def full_store_error(
    where: str,
    context: int,
    store: Sequence[x509.Certificate],
    wanted: int,
    removable: Sequence[x509.Certificate],
    limit: int = TRUSTED_ROOT_LIMIT,
) -> StoreFull:
    free = max(limit - len(store), 0)
    if removable:
        names = "; ".join(
            f"'{escape_peer(cn_of(c))}' (SHA-256 {cert_sha256(c)[:23]}...)" for c in removable
        )
        hint = (
            f"No platform profile nor the context's own chain needs: {names}. Remove "
            f"{wanted - free} of them on the device (SETUP > IP NETWORK > SECURITY > TLS "
            "Contexts > Trusted Root Certificates) and run this again."
        )
    else:
        hint = (
            "Every certificate in the store is needed by a platform or the context's chain: "
            "use another TLS context for this platform."
        )
    return StoreFull(
        f"{where}: TLS context {context} holds {len(store)} of {limit} trusted certificates; "
        f"{wanted} more do not fit. Nothing was added.",
        hint,
    )


def add_roots(
    client: MediantClient,
    context: int,
    roots: Sequence[PlatformRoot],
    log: Log,
) -> None:
    """Each root through `trustedRoot/incremental`, one file each (never the replacing PUT)."""
    for root in roots:
        client.put_pem(
            f"/files/tls/{context}/trustedRoot/incremental",
            root.pem,
            root.file.rsplit("/", 1)[-1],
        )
        log(f"{client.where}: context {context}: added {root.name}")


def read_store(client: MediantClient, context: int) -> tuple[x509.Certificate, ...]:
    pem = client.trusted_roots(context)
    if pem is None:
        raise DeployError(
            f"{client.where} does not list the trusted root store of TLS context {context} "
            "(GET trustedRoot is not available on this firmware).",
            "Check the context's Trusted Root Certificates on the device's web page "
            "(SETUP > IP NETWORK > SECURITY > TLS Contexts); firmware 7.2 or later lists it.",
        )
    return parse_store(pem, client.where)


@dataclass(frozen=True)
class TrustReport:
    """What `accert sbc-trust` prints for one device and context."""

    label: str
    identity: DeviceIdentity
    context: TlsContextRow
    comparison: StoreComparison
    store_size: int
    added: tuple[PlatformRoot, ...] = ()
    backup_path: str = ""
    saved: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def status(self) -> RootsStatus:
        return self.comparison.status(self.context.index, self.added)

    @property
    def complete(self) -> bool:
        return not self.comparison.missing


def _identify(client: MediantClient, label: str) -> DeviceIdentity:
    identity = client.identify()
    if not identity.has_rest_api:
        raise NoRestApi(
            f"{label} runs firmware {identity.firmware}, which has no usable REST API.",
            "Check the context's Trusted Root Certificates on its web page.",
        )
    return identity


def _context_row(ini: bytes, context: int, label: str) -> TlsContextRow:
    if not looks_like_ini(ini):
        raise DeployError(
            f"{label} sent a configuration that does not look like an INI file.",
            "Download it from the web UI (Actions > Configuration File > Save INI File).",
        )
    rows = parse_tls_contexts(ini.decode("utf-8", errors="replace"))
    for row in rows:
        if row.index == context:
            return row
    listing = ", ".join(r.label() for r in rows) or "none"
    raise DeployError(
        f"{label} has no TLS context {context} (it has: {listing}).",
        "Pick one of the listed contexts (accert sbc-contexts lists them).",
    )


def check_store(client: MediantClient, label: str, context: int, platform: Platform) -> TrustReport:
    """Identify, find the context, read its store. Changes nothing; the INI is not kept."""
    identity = _identify(client, label)
    row = _context_row(client.get_ini(), context, label)
    store = read_store(client, context)
    return TrustReport(label, identity, row, compare(platform, store), len(store))


def fix_store(
    client: MediantClient,
    label: str,
    context: int,
    platform: Platform,
    write_backup: Callable[[bytes], Path],
    *,
    log: Log | None = None,
    limit: int = TRUSTED_ROOT_LIMIT,
) -> TrustReport:
    """Backup first, then only the missing roots, save, and read the store back."""
    say = log or (lambda _line: None)
    identity = _identify(client, label)
    ini = client.get_ini()
    row = _context_row(ini, context, label)
    backup = write_backup(ini)
    say(f"{label}: configuration backed up to {backup}")
    store = read_store(client, context)
    before = compare(platform, store)
    if not before.missing:
        return TrustReport(label, identity, row, before, len(store), (), str(backup))
    if len(store) + len(before.missing) > limit:
        needed = chain_in_store(client.certificate(context), store)
        raise full_store_error(
            label, context, store, len(before.missing), not_needed(store, needed), limit
        )
    try:
        add_roots(client, context, before.missing, say)
    except DeployError as exc:
        raise DeployError(
            redact(exc.message),
            (exc.hint.rstrip(".") + ". " if exc.hint else "")
            + "Roots added before this error are in the running configuration, not saved; "
            f"the configuration backup is at {backup}.",
        ) from exc
    client.save_configuration()
    say(f"{label}: configuration saved")
    after_store = read_store(client, context)
    after = compare(platform, after_store)
    if after.missing:
        raise DeployError(
            f"{label}: after adding and saving, context {context} still lacks "
            f"{', '.join(r.name for r in after.missing)}.",
            f"Check the context's Trusted Root Certificates on the device; the backup is at "
            f"{backup}.",
        )
    return TrustReport(
        label, identity, row, after, len(after_store), before.missing, str(backup), True
    )


def pem_of(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)
