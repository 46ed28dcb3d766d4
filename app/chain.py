"""Order a CA response into leaf -> intermediates -> root and check every signature."""

from __future__ import annotations

import functools
import ssl
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import AuthorityInformationAccessOID

from app.errors import ChainProblem
from app.fingerprints import cert_sha256, same_public_key
from app.names import readable_name

MAX_DEPTH = 10


@dataclass(frozen=True)
class ChainReport:
    leaf: x509.Certificate
    chain: tuple[x509.Certificate, ...]  # leaf first; ends at the root when known
    root_from_trust_store: bool
    complete: bool  # reaches a self-signed root
    missing_issuer: str | None  # the issuer we could not find, when incomplete
    aia_url: str | None  # where the missing issuer can be fetched (caIssuers)
    problems: tuple[str, ...] = ()  # broken signatures and other blocking faults
    unrelated: tuple[x509.Certificate, ...] = field(default=())

    @property
    def intermediates(self) -> tuple[x509.Certificate, ...]:
        end = len(self.chain) - 1 if self.has_root else len(self.chain)
        return self.chain[1:end]

    @property
    def root(self) -> x509.Certificate | None:
        return self.chain[-1] if self.has_root else None

    @property
    def has_root(self) -> bool:
        return len(self.chain) > 1 and is_self_signed(self.chain[-1])

    @property
    def missing_intermediate(self) -> bool:
        """The leaf's own issuer is missing: devices cannot build the chain (blocking)."""
        return not self.complete and not self.problems and len(self.chain) == 1

    @property
    def missing_top(self) -> bool:
        """The chain stops at an intermediate: its root (or a cross-sign) is missing."""
        return not self.complete and not self.problems and len(self.chain) > 1


def is_self_signed(cert: x509.Certificate) -> bool:
    if cert.subject != cert.issuer:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except Exception:  # any failure (bad signature, odd algorithm) means "not self-signed"
        return False
    return True


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return cert.subject == cert.issuer


def find_leaf(
    certs: Iterable[x509.Certificate], public_key: PublicKeyTypes
) -> x509.Certificate | None:
    """The certificate made for our key; when several (renewals), the newest."""
    matches = [c for c in certs if same_public_key(c.public_key(), public_key)]
    if not matches:
        return None
    return max(matches, key=lambda c: c.not_valid_after_utc)


def guess_leaf(certs: Iterable[x509.Certificate]) -> x509.Certificate | None:
    """Without a key (showing a file): the end-entity nobody in the set was issued by."""
    pool = list(certs)
    ends = [c for c in pool if not is_ca(c)]
    return max(ends, key=lambda c: c.not_valid_after_utc) if ends else (pool[0] if pool else None)


SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
_from_system: set[str] = set()  # fingerprints of the roots found in Windows' ROOT store


@functools.cache
def _trust_store() -> dict[x509.Name, list[x509.Certificate]]:
    import certifi

    with warnings.catch_warnings():  # a few public roots have odd serials; harmless here
        warnings.simplefilter("ignore")
        roots = x509.load_pem_x509_certificates(Path(certifi.where()).read_bytes())
        system = system_roots()
    _from_system.update(cert_sha256(c) for c in system)
    roots += system
    index: dict[x509.Name, list[x509.Certificate]] = {}
    for root in roots:
        index.setdefault(root.subject, []).append(root)
    return index


def system_roots() -> list[x509.Certificate]:
    """Windows' ROOT store (the machine's and the user's): an internal AD CS root that Group
    Policy pushed is there and nowhere in certifi. Only roots trusted for TLS servers."""
    enum = getattr(ssl, "enum_certificates", None)  # Windows only
    if enum is None:
        return []
    try:
        entries = enum("ROOT")
    except OSError:  # the store cannot be opened: certifi alone, as elsewhere
        return []
    roots: list[x509.Certificate] = []
    for data, encoding, trust in entries:
        if encoding != "x509_asn" or not (trust is True or SERVER_AUTH in trust):
            continue
        try:
            roots.append(x509.load_der_x509_certificate(data))
        except ValueError:  # an entry cryptography cannot read: not ours to judge
            continue
    return roots


def trust_source(root: x509.Certificate) -> str:
    """Where a root completed from the trust store came from, in the user's words."""
    _trust_store()
    return "Windows root store" if cert_sha256(root) in _from_system else "trusted root bundle"


def trusted_roots_for(name: x509.Name) -> list[x509.Certificate]:
    return list(_trust_store().get(name, []))


def aia_issuer_url(cert: x509.Certificate) -> str | None:
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess)
    except x509.ExtensionNotFound:
        return None
    for desc in aia.value:
        if desc.access_method == AuthorityInformationAccessOID.CA_ISSUERS and isinstance(
            desc.access_location, x509.UniformResourceIdentifier
        ):
            url = desc.access_location.value
            if url.lower().startswith(("http://", "https://")):
                return url
    return None


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except Exception:  # wrong signature, unsupported algorithm: not the issuer
        return False
    return True


def build(
    leaf: x509.Certificate,
    pool: Iterable[x509.Certificate],
    *,
    use_trust_store: bool = True,
    extra_roots: Iterable[x509.Certificate] = (),
) -> ChainReport:
    """Walk from the leaf to a root through `pool`, checking each signature on the way."""
    candidates = [c for c in pool if cert_sha256(c) != cert_sha256(leaf)]
    extra = list(extra_roots)
    chain = [leaf]
    problems: list[str] = []
    root_from_store = False
    current = leaf
    for _ in range(MAX_DEPTH):
        if is_self_signed(current):
            break
        issuer = next((c for c in candidates if _issued_by(current, c)), None)
        if issuer is None:
            named = [c for c in candidates if c.subject == current.issuer]
            if named:
                problems.append(
                    f"The certificate '{readable_name(named[0].subject)}' has the right name "
                    f"but did not sign '{readable_name(current.subject)}': it is another "
                    "generation of that CA. Download the chain that belongs to this certificate."
                )
                break
            stored = [
                r
                for r in [*extra, *(trusted_roots_for(current.issuer) if use_trust_store else [])]
                if _issued_by(current, r)
            ]
            if stored:
                chain.append(stored[0])
                root_from_store = is_self_signed(stored[0])
                current = stored[0]
                if root_from_store:
                    break
                continue
            break
        chain.append(issuer)
        candidates.remove(issuer)
        current = issuer
    else:
        problems.append("The chain is longer than 10 certificates or loops; it is not valid.")
    complete = is_self_signed(chain[-1]) and not problems
    last = chain[-1]
    missing = None if complete or problems else readable_name(last.issuer)
    aia = None if complete else aia_issuer_url(last)
    in_chain = {cert_sha256(c) for c in chain}
    unrelated = tuple(c for c in pool if cert_sha256(c) not in in_chain)
    return ChainReport(
        leaf=leaf,
        chain=tuple(chain),
        root_from_trust_store=root_from_store,
        complete=complete,
        missing_issuer=missing,
        aia_url=aia,
        problems=tuple(problems),
        unrelated=unrelated,
    )


def fetch_issuer(
    url: str, *, timeout: float = 10.0, get: Callable[[str, float], bytes] | None = None
) -> list[x509.Certificate]:
    """Download a missing issuer from the AIA caIssuers URL (DER, PEM or PKCS#7)."""
    from app.ca_response import Source, parse
    from app.errors import ImportProblem

    fetch = get or _http_get
    try:
        body = fetch(url, timeout)
    except OSError as exc:
        raise ChainProblem(
            f"Could not download the missing certificate from {url}: {exc}.",
            "Download it from your CA's website and add it to the import.",
        ) from exc
    try:
        return parse([Source(url.rsplit("/", 1)[-1] or url, body)]).certificates
    except ImportProblem as exc:
        raise ChainProblem(
            f"{url} did not return a certificate ({exc.message}).",
            "Download the intermediate from your CA's website and add it to the import.",
        ) from exc


AIA_MAX_BYTES = 1024 * 1024  # an issuer certificate (or a small PKCS#7) is a few KB
AIA_MAX_REDIRECTS = 3


def _http_get(url: str, timeout: float) -> bytes:
    """GET `url` with limits: http/https only (every hop), at most 3 redirects, a timeout per
    read and for the whole download, and at most 1 MB, streamed (never read whole first).

    Private addresses stay allowed: internal CAs (AD CS) publish on them. Proxies and CA
    bundles from the environment are used here, unlike for devices: what is downloaded is
    trusted only if its signature makes the chain (chain.build checks every signature up to
    a trusted root), so the transport confers no trust, and a corporate network often
    reaches public CAs only through its proxy.
    """
    import time
    from urllib.parse import urljoin, urlsplit

    import requests

    deadline = time.monotonic() + timeout
    with requests.Session() as session:
        for _hop in range(AIA_MAX_REDIRECTS + 1):
            if urlsplit(url).scheme.lower() not in ("http", "https"):
                raise OSError(f"{url} is not an http or https address")
            left = deadline - time.monotonic()
            if left <= 0:
                raise OSError(f"no answer within {timeout:g} s")
            try:
                response = session.get(url, timeout=left, stream=True, allow_redirects=False)
            except requests.RequestException as exc:
                raise OSError(str(exc)) from exc
            with response:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("Location", ""))
                    continue
                if response.status_code != 200:
                    raise OSError(f"the server answered {response.status_code}")
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > AIA_MAX_BYTES:
                    raise OSError(f"the answer is larger than {AIA_MAX_BYTES // 1024} KB")
                return _read_capped(response, deadline, timeout)
        raise OSError(f"more than {AIA_MAX_REDIRECTS} redirects")


def _read_capped(response: Any, deadline: float, timeout: float) -> bytes:
    import time

    import urllib3

    body = bytearray()
    try:
        while True:
            # read1: whatever has arrived (up to 64 KB), so a trickle meets the deadline too.
            chunk = response.raw.read1(64 * 1024, decode_content=True)
            if not chunk:
                break
            body += chunk
            if len(body) > AIA_MAX_BYTES:
                raise OSError(f"the answer is larger than {AIA_MAX_BYTES // 1024} KB")
            if time.monotonic() > deadline:
                raise OSError(f"the download took more than {timeout:g} s")
    except urllib3.exceptions.HTTPError as exc:
        raise OSError(str(exc)) from exc
    return bytes(body)
