"""The per-device plan: check, identify, back up, upload key/cert/chain, save, reset, verify.

Nothing is uploaded before the INI backup is safely on disk, and every failure names the
step, what the device said, what state the device is left in and where the backup is.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.atomic import atomic_write
from app.errors import AccertError, DeployError
from app.fingerprints import cert_sha256, same_public_key
from app.material import DeployMaterial
from app.mediant import pins
from app.mediant.client import DeviceIdentity, MediantClient, Timing
from app.mediant.errors import DeviceUntrusted, NoRestApi
from app.mediant.ini import TlsContextRow, looks_like_ini, parse_tls_contexts
from app.mediant.trust import (
    TRUSTED_ROOT_LIMIT,
    RootsStatus,
    add_roots,
    chain_in_store,
    compare,
    full_store_error,
    not_needed,
    parse_store,
)
from app.mediant.verify import Verification, verify_served
from app.names import is_ip
from app.platforms import PlatformRoot
from app.redact import redact

STEPS = (
    "check",
    "identify",
    "backup",
    "key",
    "certificate",
    "trusted-roots",
    "check-key",
    "save",
    "reset",
    "verify",
)

Progress = Callable[[str, str], None]  # (step, status: running|done|skipped|failed)
Log = Callable[[str], None]


@dataclass(frozen=True)
class DeviceTarget:
    """Where to deploy and how; the password is never written anywhere."""

    host: str
    port: int = 443
    user: str = "Admin"
    password: str = field(default="", repr=False)
    contexts: tuple[int, ...] = (0,)
    verify_ports: tuple[int, ...] = ()
    reset: bool = False
    fingerprint: str | None = None  # SHA-256 the user accepted for the device's HTTPS cert
    trust_system: bool = False
    name: str = ""
    platforms: tuple[tuple[int, str], ...] = ()  # (context, platform key): roots and rules
    add_platform_roots: bool = False  # add the platform's missing roots (else only report)
    fqdn: str = ""  # the SBC's SIP FQDN for the platform checks; default: host
    # The user confirmed that `fingerprint` replaces a different stored pin (a new certificate).
    replace_fingerprint: bool = False

    @property
    def label(self) -> str:
        return self.name or f"{self.host}:{self.port}"

    def ports_to_verify(self) -> tuple[int, ...]:
        # The web server uses context 0: its HTTPS port proves that context by default.
        if self.verify_ports:
            return self.verify_ports
        return (self.port,) if 0 in self.contexts else ()


def client_for(
    target: DeviceTarget, timing: Timing | None = None, *, also_accept: tuple[str, ...] = ()
) -> MediantClient:
    """A client for `target`, trusting what the target says (pin, system store)."""
    return MediantClient(
        target.host,
        target.port,
        user=target.user,
        password=target.password,
        fingerprint=target.fingerprint,
        replace_pin=target.replace_fingerprint,
        trust_system=target.trust_system,
        also_accept=also_accept,
        timing=timing,
    )


@dataclass(frozen=True)
class DeviceResult:
    label: str
    host: str
    port: int
    ok: bool
    step: str  # the failed step, or "done"
    message: str
    hint: str = ""
    backup_path: str = ""
    identity: DeviceIdentity | None = None
    contexts: tuple[str, ...] = ()
    verifications: tuple[Verification, ...] = ()
    warnings: tuple[str, ...] = ()
    elapsed: float = 0.0
    error_kind: str = ""  # e.g. "NoRestApi", "DeviceUntrusted", "DeviceBusy", "DeviceAuthError"
    manual_steps: tuple[str, ...] = ()  # for firmware the REST API cannot drive
    roots: tuple[RootsStatus, ...] = ()  # per context with a platform: "Teams roots 7/7"

    @property
    def roots_text(self) -> str:
        return "; ".join(r.text for r in self.roots)

    @property
    def needs_manual_steps(self) -> bool:
        return self.error_kind == "NoRestApi"

    @property
    def served_sha256(self) -> str:
        return self.verifications[0].served_sha256 if self.verifications else ""

    def as_dict(self) -> dict[str, object]:
        ident = self.identity
        return {
            "device": self.label,
            "host": self.host,
            "port": self.port,
            "ok": self.ok,
            "step": self.step,
            "message": self.message,
            "hint": self.hint,
            "backup": self.backup_path,
            "product": ident.product if ident else "",
            "firmware": ident.firmware if ident else "",
            "serial": ident.serial if ident else "",
            "ha": ident.ha if ident else "",
            "contexts": list(self.contexts),
            "verifications": [v.as_dict() for v in self.verifications],
            "served_sha256": self.served_sha256,
            "warnings": list(self.warnings),
            "elapsed_s": round(self.elapsed, 3),
            "error_kind": self.error_kind,
            "manual_steps": list(self.manual_steps),
            "platform_roots": [r.as_dict() for r in self.roots],
        }


class StepFailed(DeployError):
    """A DeployError that knows its step, for the progress row and the summary."""

    def __init__(self, step: str, message: str, hint: str, kind: str = "") -> None:
        super().__init__(message, hint)
        self.step = step
        self.kind = kind  # the underlying error's class name, e.g. "NoRestApi"


def apache_key_pem(material: DeployMaterial) -> bytes:
    """The key as the device wants it: unencrypted PEM, PKCS#1 for RSA; checked against the cert."""
    return _apache_key_pem(material.name, material.key_pem, material.cert_pem)


@lru_cache(maxsize=4)  # a fleet checks the same key once, not once per device
def _apache_key_pem(name: str, key_pem: bytes, cert_pem: bytes) -> bytes:
    try:
        key = serialization.load_pem_private_key(key_pem, None)
    except (ValueError, TypeError) as exc:
        raise DeployError(
            f"The private key of {name} cannot be read as an unencrypted PEM key.",
            "Re-open the renewal: the deployment needs the decrypted key in memory.",
        ) from exc
    cert = x509.load_pem_x509_certificate(cert_pem)
    if not same_public_key(key.public_key(), cert.public_key()):
        raise DeployError(
            f"The certificate of {name} does not belong to its private key.",
            "Import the CA response that was issued for this renewal's CSR.",
        )
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # PKCS#1 for RSA, SEC1 for EC
        serialization.NoEncryption(),
    )


def backup_name(host: str, port: int, when: dt.datetime | None = None) -> str:
    stamp = (when or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", host)
    return f"{safe}_{port}_{stamp}.ini"


def write_backup(backups_dir: Path, host: str, port: int, data: bytes) -> Path:
    """Keep a device's INI in backups_dir, owner-only, never over an earlier backup."""
    path = backups_dir / backup_name(host, port)
    n = 1
    while path.exists():  # two deployments in the same second keep both backups
        path = backups_dir / f"{path.stem.rsplit('~', 1)[0]}~{n}.ini"
        n += 1
    atomic_write(path, data, secret=True, overwrite=False)  # the INI holds password hashes
    return path


class _Plan:
    def __init__(
        self,
        target: DeviceTarget,
        material: DeployMaterial,
        backups_dir: Path,
        log: Log,
        progress: Progress,
        timing: Timing,
    ) -> None:
        self.t, self.m, self.backups_dir = target, material, Path(backups_dir)
        self.log, self.progress, self.timing = log, progress, timing
        self.backup: Path | None = None
        self.uploaded = False
        self.saved = False
        self.identity: DeviceIdentity | None = None
        self.contexts: list[TlsContextRow] = []
        self.verifications: list[Verification] = []
        self.warnings: list[str] = []
        self.roots: list[RootsStatus] = []
        self.client = client_for(target, timing, also_accept=(material.leaf_sha256,))

    def step(self, name: str, action: Callable[[], None]) -> None:
        self.progress(name, "running")
        self.log(f"{self.t.label}: {name} started")
        try:
            action()
        except AccertError as exc:
            self.progress(name, "failed")
            self.log(redact(f"{self.t.label}: {name} failed: {exc.message}"))
            message = f"{self.t.label}: {name} failed: {exc.message}"
            raise StepFailed(name, message, self._state(exc), type(exc).__name__) from exc
        self.progress(name, "done")
        self.log(f"{self.t.label}: {name} done")

    def _state(self, exc: AccertError) -> str:
        hint = exc.hint.rstrip(".") + ". " if exc.hint else ""
        if self.backup is None:
            return hint + "Nothing was changed on the device."
        where = f"The configuration backup is at {self.backup}."
        if self.saved:
            return hint + f"The new certificate is saved on the device. {where}"
        if self.uploaded:
            return hint + (
                "Uploads reached the running configuration but were not saved: a reset without "
                f"saving returns the device to its saved configuration. {where}"
            )
        return hint + f"Nothing was uploaded. {where}"

    # --- steps ---

    def check(self) -> None:
        self.key_pem = apache_key_pem(self.m) if self.m.key_pem else b""
        cert = x509.load_pem_x509_certificate(self.m.cert_pem)
        if cert_sha256(cert) != self.m.leaf_sha256:
            raise DeployError(f"{self.m.name}: leaf fingerprint does not match the certificate.")
        pub = cert.public_key()
        self.key_size = pub.key_size if isinstance(pub, rsa.RSAPublicKey) else 0
        self.check_platforms(cert)

    def check_platforms(self, cert: x509.Certificate) -> None:
        """The platform's rules on the certificate, before anything reaches the device."""
        from app.platform_checks import check_certificate
        from app.platforms import load_platform

        chain = [x509.load_pem_x509_certificate(p) for p in self.m.ca_pems]
        fqdn = self.t.fqdn or ("" if is_ip(self.t.host) else self.t.host)
        problems: list[str] = []
        for key in dict.fromkeys(p for _, p in self.t.platforms):
            found = check_certificate(
                load_platform(key), cert, chain, fqdn=fqdn, fqdn_explicit=bool(self.t.fqdn)
            )
            problems += found.problems
            self.warnings += [w for w in found.warnings if w not in self.warnings]
        if problems:
            raise DeployError(" ".join(problems), "Nothing was sent to the device.")

    def identify(self) -> None:
        ident = self.client.identify()
        self.identity = ident
        self.log(
            f"{self.t.label}: {ident.product} firmware {ident.firmware} serial {ident.serial} "
            f"HA {ident.ha or '-'}"
        )
        if not ident.has_rest_api:
            raise NoRestApi(
                f"{self.t.label} runs firmware {ident.firmware}, which has no usable REST API.",
                "Follow the manual steps for this firmware (accert prints them with the files).",
            )

    def do_backup(self) -> None:
        data = self.client.get_ini()
        if not looks_like_ini(data):
            raise DeployError(
                f"{self.t.label} sent a configuration that does not look like an INI file "
                f"({len(data)} bytes).",
                "Download it from the web UI (Actions > Configuration File > Save INI File).",
            )
        self.backup = write_backup(self.backups_dir, self.t.host, self.t.port, data)
        rows = parse_tls_contexts(data.decode("utf-8", errors="replace"))
        known = {r.index: r for r in rows}
        missing = [c for c in self.t.contexts if c not in known]
        if missing:
            listing = ", ".join(r.label() for r in rows)
            raise DeployError(
                f"{self.t.label} has no TLS context {', '.join(map(str, missing))} "
                f"(it has: {listing}).",
                "Pick one of the listed contexts.",
            )
        self.contexts = [known[c] for c in self.t.contexts]

    def upload_key(self, ctx: int) -> None:
        self.uploaded = True
        self.client.put_pem(f"/files/tls/{ctx}/privateKey", self.key_pem, f"{self.m.name}.key")

    def upload_cert(self, ctx: int) -> None:
        self.uploaded = True
        try:
            self.client.put_pem(
                f"/files/tls/{ctx}/certificate", self.m.cert_pem, f"{self.m.name}.crt"
            )
        except DeployError as exc:
            if self.key_pem or "match" not in exc.message.lower():
                raise
            # No key to send: the certificate fits only the device context that made the CSR.
            raise DeployError(
                exc.message,
                "This renewal's key was made on a device (accert device-csr): deploy it to that "
                "device and TLS context only",
            ) from exc

    def upload_roots(self, ctx: int) -> None:
        store = self.client.trusted_roots(ctx)
        certs = parse_store(store, self.t.label) if store else ()
        present = {cert_sha256(c) for c in certs}
        ours = [x509.load_pem_x509_certificate(p) for p in self.m.ca_pems]
        new = [c for c in ours if cert_sha256(c) not in present]
        platform = dict(self.t.platforms).get(ctx)
        comparison = None
        if platform:
            from app.platforms import load_platform

            if store is None:
                self.warnings.append(
                    f"Context {ctx}: this firmware does not list its trusted roots, so the "
                    f"{platform} roots were not checked."
                )
            else:
                comparison = compare(load_platform(platform), certs)
                wanted = len(new) + (len(comparison.missing) if self.t.add_platform_roots else 0)
                if len(certs) + wanted > TRUSTED_ROOT_LIMIT:
                    # Full: stop before the certificate's chain is half in (the step says why).
                    raise full_store_error(
                        self.t.label,
                        ctx,
                        certs,
                        wanted,
                        not_needed(certs, [*ours, *chain_in_store(self.m.cert_pem, certs)]),
                    )
        for n, pem in enumerate(self.m.ca_pems):
            fp = cert_sha256(x509.load_pem_x509_certificate(pem))
            if fp in present:
                self.log(f"{self.t.label}: context {ctx} already trusts CA #{n + 1}, skipped")
                continue
            self.uploaded = True
            path = f"/files/tls/{ctx}/trustedRoot/incremental"
            self.client.put_pem(path, pem, f"{self.m.name}-ca{n + 1}.crt")
            present.add(fp)
        if comparison is None:
            return
        added: tuple[PlatformRoot, ...] = ()
        if self.t.add_platform_roots and comparison.missing:
            self.uploaded = True
            add_roots(self.client, ctx, comparison.missing, self.log)
            added = comparison.missing
            comparison = compare(comparison.platform, [*certs, *(r.cert for r in added)])
        status = comparison.status(ctx, added)
        self.roots.append(status)
        self.log(f"{self.t.label}: {status.line()}")
        if not status.complete:
            self.warnings.append(
                f"Context {ctx} lacks {len(status.missing)} {status.platform} root(s): "
                f"{', '.join(status.missing)}. Calls through {status.platform} will fail the "
                f"TLS handshake; add them with accert sbc-trust --platform "
                f"{comparison.platform.key} --add, or deploy with the platform's roots added."
            )

    def check_key(self, ctx: int) -> None:
        size, valid = self.client.key_status(ctx)
        if not valid:
            raise DeployError(
                f"{self.t.label} reports the private key of context {ctx} as not valid.",
                "The certificate and key on the device do not match: deploy again.",
            )
        if self.key_size and size != self.key_size:
            raise DeployError(
                f"{self.t.label} reports a {size}-bit key in context {ctx}; the certificate "
                f"has {self.key_size} bits.",
                "Deploy again; if it persists, check the context on the device.",
            )

    def save(self) -> None:
        self.client.save_configuration()
        self.saved = True

    def reset_and_wait(self) -> None:
        self.client.reset()
        time.sleep(self.timing.reset_grace)
        deadline = time.monotonic() + self.timing.reset_timeout
        last: AccertError | None = None
        while time.monotonic() < deadline:
            try:
                self.client.identify()
                return
            except (NoRestApi, DeviceUntrusted):
                raise  # an answer, not an absence: waiting longer will not change it
            except DeployError as exc:
                last = exc
                time.sleep(self.timing.poll_interval)
        raise DeployError(
            f"{self.t.label} did not come back within {self.timing.reset_timeout:.0f} s after "
            f"the reset ({last.message if last else 'no answer'}).",
            "Check the device's console; the configuration was saved before the reset.",
        )

    def verify(self) -> None:
        ports = self.t.ports_to_verify()
        if not ports:
            self.warnings.append("No port to verify was named: the served certificate is unproven.")
            return
        for port in ports:
            result = verify_served(
                self.t.host,
                port,
                self.m,
                timeout=self.timing.timeout,
                attempts=self.timing.verify_attempts,
                interval=self.timing.verify_interval,
            )
            self.verifications.append(result)
            self.log(f"{self.t.label}: verify {port}: {result.message}")
            if result.ok and port == self.t.port and not self.t.trust_system:
                pins.set_pin(self.t.host, port, result.served_sha256)  # our cert on the web port
        bad = [v for v in self.verifications if not v.ok]
        if bad:
            hint = (
                "The listener may serve the new certificate only after a restart: "
                "deploy again with reset"
                if not self.t.reset
                else "Check which TLS context this port uses on the device"
            )
            raise DeployError(" ".join(v.message for v in bad), hint)

    def run(self) -> None:
        self.step("check", self.check)
        self.step("identify", self.identify)
        self.step("backup", self.do_backup)
        for row in self.contexts:
            if self.key_pem:
                self.step("key", partial(self.upload_key, row.index))
            else:
                self.progress("key", "skipped")  # the key was made on the device
            self.step("certificate", partial(self.upload_cert, row.index))
            self.step("trusted-roots", partial(self.upload_roots, row.index))
            self.step("check-key", partial(self.check_key, row.index))
        self.step("save", self.save)
        if self.t.reset:
            self.step("reset", self.reset_and_wait)
        else:
            self.progress("reset", "skipped")
        self.step("verify", self.verify)


def deploy_device(
    target: DeviceTarget,
    material: DeployMaterial,
    backups_dir: Path,
    *,
    log: Log | None = None,
    progress: Progress | None = None,
    timing: Timing | None = None,
) -> DeviceResult:
    """Run the whole plan on one device. Never raises an AccertError: the result says it all."""
    start = time.monotonic()
    plan = _Plan(
        target,
        material,
        backups_dir,
        log or (lambda _line: None),
        progress or (lambda _step, _status: None),
        timing or Timing(),
    )
    try:
        plan.run()
        ok, step, message, hint, kind = True, "done", _success(plan), "", ""
    except StepFailed as exc:
        ok, step, message, hint, kind = False, exc.step, exc.message, exc.hint, exc.kind
    finally:
        plan.client.close()
    return DeviceResult(
        label=target.label,
        host=target.host,
        port=target.port,
        ok=ok,
        step=step,
        message=message,
        hint=hint,
        backup_path=str(plan.backup or ""),
        identity=plan.identity,
        contexts=tuple(r.label() for r in plan.contexts),
        verifications=tuple(plan.verifications),
        warnings=tuple(plan.warnings),
        elapsed=time.monotonic() - start,
        error_kind=kind,
        roots=tuple(plan.roots),
    )


def _success(plan: _Plan) -> str:
    ctx = ", ".join(r.label() for r in plan.contexts)
    proven = "; ".join(f"port {v.port} serves it" for v in plan.verifications if v.ok)
    return f"{plan.t.label}: certificate installed in context {ctx} and saved" + (
        f"; {proven}." if proven else "."
    )


def raise_for_result(result: DeviceResult) -> None:
    """For callers that deploy one device and want an exception on failure (the CLI)."""
    if not result.ok:
        raise DeployError(result.message, result.hint)
