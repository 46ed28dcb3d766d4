"""The HTTPS connection to the CA: trust decided here, never by the environment.

requests reads HTTPS_PROXY, REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE (and on Windows the Internet
Settings proxy) unless told not to; a proxy would then carry the JWS-signed orders with
whatever trust it brings. So `trust_env` is off and the CA is verified against either the
--ca-bundle given (only that file) or the operating system's store (truststore).
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import josepy as jose
import requests
from acme import client, messages
from requests.adapters import HTTPAdapter

from app import __version__
from app.acme.errors import AcmeError
from app.keys import PrivateKey
from app.peer_text import peer_line

TIMEOUT = 30


class _TrustAdapter(HTTPAdapter):
    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__(max_retries=0)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **kw: Any
    ) -> None:
        kw["ssl_context"] = self._context
        super().init_poolmanager(connections, maxsize, block, **kw)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        # requests points every verified connection at certifi's bundle (conn.ca_certs), and
        # urllib3 then loads it into our context: --ca-bundle would no longer be the only trust.
        super().cert_verify(conn, url, verify, cert)  # type: ignore[no-untyped-call]
        conn.ca_certs = conn.ca_cert_dir = None

    def proxy_manager_for(self, proxy: str, **kw: Any) -> Any:  # pragma: no cover - guard
        raise AcmeError(
            "A proxy was about to carry the ACME connection.",
            "accert connects to the CA directly; allow HTTPS to the CA in the firewall.",
        )


def ssl_context(ca_bundle: str) -> ssl.SSLContext:
    if ca_bundle:
        path = Path(ca_bundle)
        try:
            ctx = ssl.create_default_context(cafile=str(path))  # only this file, no defaults
        except (OSError, ssl.SSLError) as exc:
            raise AcmeError(
                f"The CA bundle {path} cannot be read as PEM certificates "
                f"({peer_line(getattr(exc, 'strerror', None) or exc)}).",
                "Give the PEM file of the root that signed the ACME server's HTTPS certificate.",
            ) from exc
        return ctx
    import truststore

    return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class Network(client.ClientNetwork):
    """certbot's ClientNetwork with our trust, and Retry-After kept for rateLimited errors."""

    def __init__(self, key: PrivateKey | None, ca_bundle: str) -> None:
        jwk: jose.jwk.JWK | None = None
        alg: jose.jwa.JWASignature = jose.jwa.ES256
        if key is not None and _is_rsa(key):
            jwk, alg = jose.jwk.JWKRSA(key=key), jose.jwa.RS256
        elif key is not None:
            jwk = jose.jwk.JWKEC(key=key)
        super().__init__(
            key=jwk, alg=alg, verify_ssl=True, user_agent=f"accert/{__version__}", timeout=TIMEOUT
        )
        self.session.trust_env = False
        self.session.proxies = {}
        adapter = _TrustAdapter(ssl_context(ca_bundle))
        self.session.mount("https://", adapter)
        self.session.mount("http://", _Refuse())
        self.last_retry_after: str | None = None

    def _send_request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        response = super()._send_request(method, url, *args, **kwargs)
        self.last_retry_after = response.headers.get("Retry-After")
        return response


class _Refuse(HTTPAdapter):
    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        raise AcmeError(
            f"The CA pointed to a plain http:// address ({peer_line(request.url)}).",
            "ACME runs over HTTPS only; check the directory URL.",
        )


def _is_rsa(key: PrivateKey) -> bool:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return isinstance(key, rsa.RSAPrivateKey)


def directory(url: str, net: Network) -> messages.Directory:
    return client.ClientV2.get_directory(url, net)
