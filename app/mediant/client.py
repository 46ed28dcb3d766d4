"""REST client for one Mediant device: HTTPS verified by pin or system store, Basic then Digest.

Credentials are never sent before the device's certificate is trusted: on first contact the
certificate is read by a bare handshake and DeviceUntrusted carries its subject and fingerprint.
"""

from __future__ import annotations

import base64
import re
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase, HTTPDigestAuth

from app.errors import DeployError
from app.mediant import pins
from app.mediant.errors import (
    DeviceAuthError,
    DeviceBusy,
    DeviceUntrusted,
    NoRestApi,
    PinMismatch,
)
from app.names import readable_name
from app.peer_text import escape_peer
from app.redact import redact, register_secret
from app.tls_probe import ProbeError, fetch_served_chain

API = "/api/v1"


@dataclass(frozen=True)
class Timing:
    """Timeouts and back-offs; tests pass short ones, real devices get the defaults."""

    timeout: float = 30.0  # per HTTP call
    busy_retries: int = 6  # 409 answers retried before DeviceBusy
    backoff: float = 2.0  # first wait after a 409; doubles each time
    backoff_cap: float = 30.0
    drop_retries: int = 2  # dropped connections retried (idempotent calls only)
    reset_grace: float = 15.0  # wait before polling a resetting device
    reset_timeout: float = 600.0  # how long a reset may take
    poll_interval: float = 5.0
    verify_attempts: int = 3  # handshakes tried per port before reporting what is served
    verify_interval: float = 5.0


@dataclass(frozen=True)
class DeviceIdentity:
    product: str
    firmware: str
    serial: str
    ha: str
    state: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def firmware_version(self) -> tuple[int, int]:
        return parse_firmware(self.firmware)

    @property
    def has_rest_api(self) -> bool:
        return self.firmware_version >= (7, 20)


def parse_firmware(version_id: str) -> tuple[int, int]:
    """'7.40A.250.003' -> (7, 40); '6.60A...' -> (6, 60); unknown -> (0, 0)."""
    m = re.match(r"\s*(\d+)\.(\d+)", version_id)
    if not m:
        return (0, 0)
    minor = m.group(2)
    return (int(m.group(1)), int((minor + "0")[:2]))


class _DeviceAdapter(HTTPAdapter):
    """Our TLS settings on every connection manager requests may build: the direct pool and
    any proxy's (requests gives a proxy manager only its own kwargs, so a proxy tunnel would
    otherwise run with neither the pin nor the trust store)."""

    def _tls(self) -> dict[str, Any]:
        raise NotImplementedError

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **kw: Any
    ) -> None:
        super().init_poolmanager(connections, maxsize, block, **kw, **self._tls())

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        return super().proxy_manager_for(proxy, **proxy_kwargs, **self._tls())


class _PinnedAdapter(_DeviceAdapter):
    """TLS accepted only when the peer's certificate has the pinned SHA-256 fingerprint."""

    def __init__(self, fingerprint: str) -> None:
        self._fingerprint = fingerprint.replace(":", "").lower()
        super().__init__()

    def _tls(self) -> dict[str, Any]:
        # The pin replaces CA and name checks: devices present self-signed ACL_<serial> certs.
        # No CA bundle is loaded: it would cost time per device and decide nothing.
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return {"ssl_context": ctx, "assert_fingerprint": self._fingerprint}


class _SystemTrustAdapter(_DeviceAdapter):
    """TLS verified against the operating system's trust store (truststore)."""

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        # requests would add certifi's bundle (conn.ca_certs) to the system store's context.
        super().cert_verify(conn, url, verify, cert)  # type: ignore[no-untyped-call]
        conn.ca_certs = conn.ca_cert_dir = None

    def _tls(self) -> dict[str, Any]:
        import truststore

        return {"ssl_context": truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)}


def device_session() -> requests.Session:
    """A session whose trust is ours alone: no proxy, CA bundle or .netrc from the
    environment or (on Windows) Internet Settings; no redirect is ever followed."""
    session = requests.Session()
    session.trust_env = False
    session.proxies = {}
    session.max_redirects = 0
    return session


class MediantClient:
    """One device. Not shared between threads: the fleet makes one client per device."""

    def __init__(
        self,
        host: str,
        port: int = 443,
        *,
        user: str,
        password: str,
        fingerprint: str | None = None,
        replace_pin: bool = False,
        trust_system: bool = False,
        also_accept: tuple[str, ...] = (),
        timing: Timing | None = None,
    ) -> None:
        self.host, self.port, self.user = host, port, user
        self._password = password
        register_secret(password)
        self.timing = timing or Timing()
        self.trust_system = trust_system
        self._explicit_pin = pins.normalize_fingerprint(fingerprint) if fingerprint else None
        self._replace_pin = replace_pin
        # Certificates we may see after our own deployment (the new leaf on the web port).
        self._also_accept = {pins.normalize_fingerprint(f) for f in also_accept}
        self._pin: str | None = None
        self._session: requests.Session | None = None
        self._auth: AuthBase = _Utf8BasicAuth(user, password)
        self.digest = False

    @property
    def base(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}{API}"

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def accept_also(self, fingerprint: str) -> None:
        self._also_accept.add(pins.normalize_fingerprint(fingerprint))

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    # --- trust ---

    def _served(self) -> tuple[str, str]:
        return presented_certificate(self.host, self.port, timeout=self.timing.timeout)

    def _open(self) -> requests.Session:
        if self._session is not None:
            return self._session
        session = device_session()
        session.auth = self._auth
        if self.trust_system:
            session.mount("https://", _SystemTrustAdapter())
        else:
            stored = pins.get_pin(self.host, self.port)
            explicit = self._explicit_pin
            if explicit and stored and explicit != stored and not self._replace_pin:
                raise PinMismatch(
                    f"{self.where}: the fingerprint given, {explicit}, is not the one trusted "
                    f"before, {stored}. Nothing was sent.",
                    "If the device's certificate was replaced on purpose, add "
                    "--replace-fingerprint (the new pin is kept only if the device presents "
                    "exactly that certificate); otherwise leave --fingerprint out.",
                )
            pin = self._pin or explicit or stored
            if pin is None:
                subject, fp = self._served()
                raise DeviceUntrusted(self.host, self.port, subject, fp, changed=False)
            self._pin = pin
            session.mount("https://", _PinnedAdapter(pin))
        self._session = session
        return session

    def _on_tls_failure(self, exc: Exception) -> None:
        """Decide after a TLS failure: a changed certificate we may accept, or the user's call."""
        self.close()
        subject, fp = self._served()
        if self.trust_system:
            raise DeviceUntrusted(self.host, self.port, subject, fp, changed=False) from exc
        if fp == self._pin:
            raise DeployError(
                f"TLS with {self.where} failed: {exc}.", "Check the device's TLS settings."
            ) from exc
        if fp in self._also_accept:
            pins.set_pin(self.host, self.port, fp)  # our own new certificate: pin it
            self._pin = fp
            return
        if self._explicit_pin is not None and self._pin == self._explicit_pin:
            # A pin the user gave that the peer does not match is refused, whatever is stored.
            raise PinMismatch(
                f"{self.where} presents SHA-256 {fp}, not the fingerprint given, "
                f"{self._explicit_pin}. Nothing was sent.",
                "Check that you connect to the right device and that the fingerprint was "
                "copied whole.",
            ) from exc
        raise DeviceUntrusted(self.host, self.port, subject, fp, changed=True) from exc

    # --- HTTP ---

    def request(
        self,
        method: str,
        path: str,
        *,
        files: dict[str, Any] | None = None,
        json: Any = None,
        data: bytes | None = None,
        retry_drops: bool = True,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """One call with bounded retries on 409 and dropped connections; no status check."""
        busy = drops = tls_switches = 0
        while True:
            session = self._open()
            try:
                response = session.request(
                    method,
                    self.base + path,
                    files=files,
                    json=json,
                    data=data,
                    headers=headers,
                    timeout=self.timing.timeout,
                    allow_redirects=False,
                    verify=self.trust_system,
                    proxies={},
                )
            except requests.exceptions.SSLError as exc:
                if tls_switches >= 1:
                    raise DeployError(f"TLS with {self.where} keeps failing: {exc}.") from exc
                tls_switches += 1
                self._on_tls_failure(exc)
                continue
            except (requests.ConnectionError, requests.Timeout) as exc:
                self.close()
                if retry_drops and drops < self.timing.drop_retries:
                    drops += 1
                    time.sleep(min(self.timing.backoff, self.timing.backoff_cap))
                    continue
                kind = (
                    "timed out" if isinstance(exc, requests.Timeout) else "dropped the connection"
                )
                raise DeployError(
                    f"{self.where} {kind} on {method} {API}{path} "
                    f"(tried {drops + 1} time{'s' if drops else ''}).",
                    "Check that the device is up and reachable; a device under load may need "
                    "a longer timeout.",
                ) from exc
            if response.status_code == 401 and not self.digest and _asks_digest(response):
                # The device is set to Digest: follow its challenge from now on.
                self.digest = True
                self._auth = HTTPDigestAuth(self.user, self._password)
                session.auth = self._auth
                continue
            if response.status_code == 409 and busy < self.timing.busy_retries:
                time.sleep(min(self.timing.backoff * (2**busy), self.timing.backoff_cap))
                busy += 1
                continue
            if response.status_code == 409:
                response.busy_tries = busy + 1  # type: ignore[attr-defined]
            if self._explicit_pin and self._pin == self._explicit_pin:
                pins.set_pin(self.host, self.port, self._explicit_pin)  # trusted by the user
                self._explicit_pin = None
            return response

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        """Like request(), but any answer other than 2xx becomes a clear DeployError."""
        response = self.request(method, path, **kw)
        if 200 <= response.status_code < 300:
            return response
        raise self.error_for(response, method, path)

    def error_for(self, response: requests.Response, method: str, path: str) -> DeployError:
        said = describe(response)
        code = response.status_code
        what = f"{method} {API}{path}"
        if code == 401:
            hint = "Check the user name and password (they are case-sensitive)."
            if not (self.user + self._password).isascii():
                hint += (
                    " They hold characters outside ASCII, sent as UTF-8: if they are right, "
                    "this device compares them in another encoding; use an ASCII password."
                )
            return DeviceAuthError(
                f"{self.where} refused the user {self.user!r} (401: {said}).", hint
            )
        if code in (403, 405) and path.startswith(("/files", "/actions")):
            return DeviceAuthError(
                f"{self.where}: the user {self.user!r} may not {what} ({code}: {said}).",
                "Use a user with the Administrator (or Security Administrator) level.",
            )
        if code == 404 and path == "/status":
            return NoRestApi(
                f"{self.where} has no REST API (404 on {API}/status).",
                "Firmware before 7.2 cannot be driven: follow the manual steps (accert shows "
                "them with the files to upload), or upgrade the firmware.",
            )
        if code == 409:
            tries = getattr(response, "busy_tries", 1)
            return DeviceBusy(
                f"{self.where} stayed busy (409: {said}) on {what} after {tries} tries.",
                "An HA pair answers 409 while it synchronizes: wait until the sync ends and "
                "run the deployment again.",
            )
        return DeployError(
            f"{self.where} answered {code} to {what}: {said}.",
            "Check the device's alarms and event log.",
        )

    # --- the documented calls ---

    def identify(self) -> DeviceIdentity:
        data = self.call("GET", "/status").json()
        if not isinstance(data, dict):
            raise DeployError(f"{self.where}: /status did not answer a JSON object.")
        return DeviceIdentity(
            product=str(data.get("productType", "")),
            firmware=str(data.get("versionID", "")),
            serial=str(data.get("serialNumber", "")),
            ha=str(data.get("highAvailability", "")),
            state=str(data.get("operationalState", "")),
            raw=data,
        )

    def get_ini(self) -> bytes:
        return self.call("GET", "/files/ini").content

    def put_pem(self, path: str, pem: bytes, filename: str) -> str:
        files = {"file": (filename, pem, "application/x-pem-file")}
        return describe(self.call("PUT", path, files=files))

    def key_status(self, context: int) -> tuple[int, bool]:
        data = self.call("GET", f"/files/tls/{context}/privateKey").json()
        return int(data.get("size", 0)), bool(data.get("valid", False))

    def certificate(self, context: int) -> bytes:
        return self.call("GET", f"/files/tls/{context}/certificate").content

    def trusted_roots(self, context: int) -> bytes | None:
        """The context's trust store as PEM, or None when the firmware does not list it."""
        response = self.request("GET", f"/files/tls/{context}/trustedRoot")
        if response.status_code in (404, 405):
            return None
        if not 200 <= response.status_code < 300:
            raise self.error_for(response, "GET", f"/files/tls/{context}/trustedRoot")
        return response.content

    def save_configuration(self) -> None:
        self.call("POST", "/actions/saveConfiguration", data=b"", headers={"Content-Length": "0"})

    def reset(self, graceful_timeout: int = 0) -> None:
        self.call(
            "POST",
            "/actions/reset",
            json={"saveConfiguration": True, "gracefulTimeout": graceful_timeout},
            retry_drops=False,  # never reset twice
        )


def presented_certificate(host: str, port: int, *, timeout: float = 10.0) -> tuple[str, str]:
    """(subject, SHA-256) of the certificate host:port presents: what the user is asked to trust."""
    try:
        served = fetch_served_chain(host, port, timeout=timeout)
    except ProbeError as exc:
        raise DeployError(
            f"Cannot reach {host}:{port} over HTTPS: {exc.message}", exc.hint
        ) from exc
    return readable_name(served.leaf.subject) or "(empty)", served.leaf_sha256


class _Utf8BasicAuth(AuthBase):
    """Basic credentials encoded as UTF-8 (RFC 7617's charset), which is what the device's web
    server decodes; requests' HTTPBasicAuth encodes Latin-1 and crashes on other characters."""

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user, password

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode("ascii")
        r.headers["Authorization"] = f"Basic {token}"
        return r


def _asks_digest(response: requests.Response) -> bool:
    return "digest" in response.headers.get("WWW-Authenticate", "").lower()


def describe(response: requests.Response) -> str:
    """The device's own words: JSON `description`, else the start of the body."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("description"):
        return escape_peer(redact(str(data["description"])))
    text = response.text.strip()
    if "<" in text[:1]:
        text = re.sub(r"<[^>]+>", " ", text)
    return escape_peer(redact(" ".join(text.split())[:200])) or f"HTTP {response.status_code}"
