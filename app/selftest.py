"""A headless self-test of the real path, for an installed or frozen program.

It makes a renewal in a temporary folder, has a throwaway CA (made here, in memory) sign the
CSR, imports the answer, exports both PFX profiles, a JKS and the PEM files, and reads every one
back with a reader other than the writer's. It also checks the data files the program ships and
that every sub-command is there. A missing hidden import or data file in a frozen build fails
here, on the build machine, instead of on an engineer's laptop.

Nothing outside the temporary folder is touched: ACCERT_HOME points into it while the test runs,
and a passphrase put in the OS credential store for the test key is removed again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from app import __version__

# DER encodings of the algorithm OIDs that tell the two PFX profiles apart.
OID_AES256_CBC = bytes.fromhex("060960864801650304012a")  # 2.16.840.1.101.3.4.1.42
OID_SHA256 = bytes.fromhex("0609608648016503040201")  # 2.16.840.1.101.3.4.2.1
OID_PBE_SHA1_3DES = bytes.fromhex("060a2a864886f70d010c0103")  # 1.2.840.113549.1.12.1.3
OID_SHA1 = bytes.fromhex("06052b0e03021a")  # 1.3.14.3.2.26

COMMON_NAME = "selftest.accert.invalid"
SANS = ("www.selftest.accert.invalid", "192.0.2.10")
CORE_COMMANDS = frozenset({"request", "import", "export", "show", "list", "open-pfx", "selftest"})

GuiProbe = Callable[[], str]


class SelfTestFailure(Exception):
    """One check found something wrong; the message says what, for the verdict line."""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float


@dataclass(frozen=True)
class SelfTestReport:
    checks: tuple[Check, ...]
    frozen: bool
    seconds: float

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def verdict(self) -> str:
        """The one line a person or a CI log reads."""
        kind = "frozen" if self.frozen else "from source"
        if self.ok:
            gui = [f"; gui: {c.detail}" for c in self.checks if c.name == "gui"]
            return (
                f"accert {__version__} self-test PASSED: {len(self.checks)} checks "
                f"({', '.join(c.name for c in self.checks)}) in {self.seconds:.1f} s, {kind}"
                + "".join(gui)
            )
        failed = [c for c in self.checks if not c.ok]
        return f"accert {__version__} self-test FAILED ({kind}): " + "; ".join(
            f"{c.name}: {c.detail}" for c in failed
        )

    def lines(self) -> list[str]:
        return [
            f"  {'ok  ' if c.ok else 'FAIL'} {c.name:<10} {c.seconds * 1000:7.0f} ms  {c.detail}"
            for c in self.checks
        ]


@dataclass
class _Run:
    folder: Path
    progress: Callable[[str], None]
    checks: list[Check] = field(default_factory=list)

    def step(self, name: str, action: Callable[[], str]) -> bool:
        self.progress(name)
        start = time.perf_counter()
        try:
            detail, ok = action(), True
        except Exception as exc:  # every failure becomes a line in the verdict, never a crash
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            detail, ok = f"{type(exc).__name__}: {message}", False
        self.checks.append(Check(name, ok, detail, time.perf_counter() - start))
        return ok

    def skip(self, name: str, reason: str) -> None:
        self.checks.append(Check(name, False, f"not run: {reason}", 0.0))


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def run(
    *,
    gui_probe: GuiProbe | None = None,
    progress: Callable[[str], None] | None = None,
    keep: Path | None = None,
    require_credential_store: bool = False,
) -> SelfTestReport:
    """Run every check. `keep`: work in this folder, and leave it there, instead of a temporary
    one. `gui_probe` opens the wizard window (see ui/selftest_probe.py) and says what it saw."""
    start = time.perf_counter()
    say = progress or (lambda _name: None)
    with (
        _work_folder(keep) as folder,
        _isolated_environment(folder, no_fallback=require_credential_store),
    ):
        state = _Run(folder, say)
        state.step("resources", _check_resources)
        state.step("commands", _check_commands)
        _crypto_path(state, require_credential_store)
        if gui_probe is not None:
            state.step("gui", gui_probe)
    return SelfTestReport(tuple(state.checks), is_frozen(), time.perf_counter() - start)


# --- the environment ---------------------------------------------------------------------------


@contextmanager
def _work_folder(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    # A file Windows still holds open must not turn a passed self-test into a crash.
    with tempfile.TemporaryDirectory(prefix="accert-selftest-", ignore_cleanup_errors=True) as tmp:
        yield Path(tmp)


@contextmanager
def _isolated_environment(folder: Path, *, no_fallback: bool = False) -> Iterator[None]:
    """Settings, pins and logs go into the test folder; the user's own are never read.
    `no_fallback`: the key's passphrase can only be kept in the credential store."""
    from app import key_passphrase, passwords

    saved = {name: os.environ.get(name) for name in ("ACCERT_HOME", key_passphrase.ENV_VAR)}
    os.environ["ACCERT_HOME"] = str(folder / "home")
    if no_fallback:
        os.environ.pop(key_passphrase.ENV_VAR, None)
    elif not passwords.keyring_available() and not saved[key_passphrase.ENV_VAR]:
        # No credential store (headless Linux, CI): the key's passphrase comes from here.
        os.environ[key_passphrase.ENV_VAR] = secrets.token_urlsafe(24)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# --- what the program ships --------------------------------------------------------------------


def _check_resources() -> str:
    from app.names import country_error
    from app.ovoc.profile import available_profiles, load_profile
    from app.paths import resources_dir

    countries = json.loads((resources_dir() / "countries.json").read_text("utf-8"))
    if "GB" not in countries or country_error("GB"):
        raise SelfTestFailure(f"countries.json in {resources_dir()} lacks GB")
    profiles = available_profiles()
    if not profiles:
        raise SelfTestFailure(f"no OVOC profiles in {resources_dir() / 'ovoc_profiles'}")
    for name in profiles:
        load_profile(name)
    import certifi

    if not Path(certifi.where()).is_file():
        raise SelfTestFailure(f"the CA bundle {certifi.where()} is missing")
    return f"{len(countries)} countries, OVOC profiles {', '.join(profiles)}, CA bundle"


def _check_commands() -> str:
    import argparse

    from app.cli import build_parser

    parser = build_parser()
    names: set[str] = set()
    for action in parser._actions:  # argparse keeps sub-commands here and nowhere public
        if isinstance(action, argparse._SubParsersAction):
            names |= set(action.choices)
    missing = CORE_COMMANDS - names
    if missing:
        raise SelfTestFailure(f"sub-commands missing: {', '.join(sorted(missing))}")
    return f"{len(names)} sub-commands: {' '.join(sorted(names))}"


# --- request, sign, import, export, read back --------------------------------------------------


@dataclass
class _Material:
    workspace: object = None
    leaf: x509.Certificate | None = None
    cas: list[x509.Certificate] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16), repr=False)


def _crypto_path(state: _Run, require_credential_store: bool = False) -> None:
    from app import key_passphrase
    from app.workspace import Workspace

    m = _Material()
    steps: list[tuple[str, Callable[[], str]]] = [
        ("request", lambda: _request(state.folder, m)),
        *(
            [("credential-store", lambda: _in_credential_store(m))]
            if require_credential_store
            else []
        ),
        ("sign", lambda: _sign(m)),
        ("import", lambda: _import(m)),
        ("export", lambda: _export(state.folder, m)),
        ("read-back", lambda: _read_back(m)),
    ]
    try:
        for index, (name, action) in enumerate(steps):
            if not state.step(name, action):
                for later, _ in steps[index + 1 :]:
                    state.skip(later, f"{name} failed")
                return
    finally:
        ws = m.workspace
        if isinstance(ws, Workspace) and ws.state.passphrase_source == key_passphrase.KEYRING:
            key_passphrase.forget(ws.state.id)  # leave the credential store as it was


def _in_credential_store(m: _Material) -> str:
    """The key's passphrase was kept in the OS credential store, as on a user's PC."""
    from app import key_passphrase, passwords
    from app.workspace import Workspace

    ws = m.workspace
    assert isinstance(ws, Workspace)
    if ws.state.passphrase_source != key_passphrase.KEYRING:
        raise SelfTestFailure(
            f"the key's passphrase is kept by '{ws.state.passphrase_source}', not the credential "
            f"store (available: {passwords.keyring_available()})"
        )
    return "the key's passphrase is in the credential store"


def _request(folder: Path, m: _Material) -> str:
    from app.request import KeyType, RequestSpec, Subject
    from app.workspace import Workspace

    spec = RequestSpec(
        Subject(COMMON_NAME, "accert self-test", "", "London", "", "GB", ""),
        SANS,
        KeyType.RSA2048,
    )
    ws = Workspace.create(spec, folder / "renewal")
    m.workspace = ws
    summary = ws.generate()
    return f"RSA 2048 key and CSR for {', '.join(summary.sans)} ({ws.state.passphrase_source})"


def _ca_name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "accert self-test CA"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _sign(m: _Material) -> str:
    """A root and an intermediate made now, in memory, sign the CSR as a public CA would."""
    from app.workspace import Workspace

    ws = m.workspace
    assert isinstance(ws, Workspace)
    request = x509.load_pem_x509_csr(ws.csr_pem)
    if not request.is_signature_valid:
        raise SelfTestFailure("the CSR's own signature does not verify")
    now = dt.datetime.now(dt.UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    inter_key = ec.generate_private_key(ec.SECP256R1())

    def ca(
        name: str,
        key: ec.EllipticCurvePrivateKey,
        issuer: x509.Name,
        signer: ec.EllipticCurvePrivateKey,
        path_length: int | None,
    ) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(_ca_name(name))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
            .add_extension(_ca_usage(), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(signer, hashes.SHA256())
        )

    root = ca("accert self-test root", root_key, _ca_name("accert self-test root"), root_key, None)
    inter = ca("accert self-test intermediate", inter_key, root.subject, root_key, 0)
    san = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    leaf = (
        x509.CertificateBuilder()
        .subject_name(request.subject)
        .issuer_name(inter.subject)
        .public_key(request.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, True, False, False, False, False, False, False), True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(san, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(inter_key.public_key()), False
        )
        .sign(inter_key, hashes.SHA256())
    )
    m.leaf, m.cas = leaf, [inter, root]
    return f"leaf for {len(san)} names by a throwaway root and intermediate"


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(False, False, False, False, False, True, True, False, False)


def _import(m: _Material) -> str:
    from app.ca_response import Source
    from app.workspace import Workspace

    ws = m.workspace
    assert isinstance(ws, Workspace) and m.leaf is not None
    pem = serialization.Encoding.PEM
    # As a CA's mail often has it: root first, leaf last, with text around the blocks.
    bundle = b"Your certificate is attached.\n" + b"".join(
        c.public_bytes(pem) for c in [*reversed(m.cas), m.leaf]
    )
    outcome = ws.import_response([Source("response.pem", bundle, None)])
    if not outcome.complete:
        raise SelfTestFailure(f"import says: {outcome.verdict()}")
    reopened = Workspace.open(ws.path)
    if reopened.certificate() != m.leaf:
        raise SelfTestFailure("the reopened renewal holds another certificate")
    m.workspace = reopened
    return f"{outcome.verdict()}, chain of {len(outcome.chain)}"


def _export(folder: Path, m: _Material) -> str:
    from app.export import Artifact, ExportOptions
    from app.workspace import Workspace

    ws = m.workspace
    assert isinstance(ws, Workspace)
    result = ws.export(folder / "out", ExportOptions(frozenset(Artifact), m.password))
    m.files = {f.artifact.value: f.path for f in result.files}
    return f"{len(result.files)} files, {len(result.checks)} checks by the exporter"


def _read_back(m: _Material) -> str:
    """Read each file with another reader than the one that wrote it."""
    from app.workspace import Workspace

    ws = m.workspace
    assert isinstance(ws, Workspace) and m.leaf is not None
    leaf_der = m.leaf.public_bytes(serialization.Encoding.DER)
    pub = m.leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    password = m.password.encode()

    def same_key(private: object, where: str) -> None:
        public = getattr(private, "public_key", None)
        if (
            public is None
            or public().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            != pub
        ):
            raise SelfTestFailure(f"{where} holds a key that does not match the certificate")

    for artifact, must, must_not in (
        ("pfx", (OID_AES256_CBC, OID_SHA256), (OID_PBE_SHA1_3DES,)),
        ("pfx-legacy", (OID_PBE_SHA1_3DES, OID_SHA1), (OID_AES256_CBC,)),
    ):
        data = m.files[artifact].read_bytes()
        key, cert, extra = pkcs12.load_key_and_certificates(data, password)
        same_key(key, m.files[artifact].name)
        if cert is None or cert != m.leaf or len(extra) != len(m.cas):
            raise SelfTestFailure(f"{m.files[artifact].name} does not hold the leaf and chain")
        if not all(oid in data for oid in must) or any(oid in data for oid in must_not):
            raise SelfTestFailure(f"{m.files[artifact].name} is not in the {artifact} profile")

    jks_detail = _read_jks(m.files["jks"], m.password, leaf_der, len(m.cas), same_key)

    key_pem = m.files["key"].read_bytes()
    if not key_pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----"):
        raise SelfTestFailure(f"{m.files['key'].name} is not an Apache (PKCS#1) PEM key")
    same_key(serialization.load_pem_private_key(key_pem, None), m.files["key"].name)
    fullchain = x509.load_pem_x509_certificates(m.files["fullchain"].read_bytes())
    if fullchain != [m.leaf, m.cas[0]]:
        raise SelfTestFailure(f"{m.files['fullchain'].name} is not leaf + intermediate")
    material = ws.deploy_material()
    if material.leaf_sha256 == "" or not material.key_pem.startswith(b"-----BEGIN RSA"):
        raise SelfTestFailure("the deployment material lacks the PKCS#1 key")
    return f"PFX modern (AES-256/SHA-256) and legacy (3DES/SHA-1), {jks_detail}, PEM key"


def _read_jks(
    path: Path,
    password: str,
    leaf_der: bytes,
    chain_extra: int,
    same_key: Callable[[object, str], None],
) -> str:
    try:
        import jks
    except Exception as exc:  # ImportError, or twofish failing to load
        if is_frozen():
            raise SelfTestFailure(f"pyjks is not in this build ({exc})") from exc
        from app.jks_export import read_jks_chain_length

        length = read_jks_chain_length(path.read_bytes(), password)
        if length not in (-1, 1 + chain_extra):
            raise SelfTestFailure(f"{path.name} holds a chain of {length}") from exc
        return "JKS via keytool"
    store = jks.KeyStore.loads(path.read_bytes(), password)
    entries = list(store.private_keys.values())
    if len(entries) != 1:
        raise SelfTestFailure(f"{path.name} holds {len(entries)} key entries, not 1")
    entry = entries[0]
    same_key(serialization.load_der_private_key(entry.pkey_pkcs8, None), path.name)
    chain = [der for _kind, der in entry.cert_chain]
    if len(chain) != 1 + chain_extra or chain[0] != leaf_der:
        raise SelfTestFailure(f"{path.name} does not hold the leaf and its chain")
    return f"JKS via pyjks (chain of {len(chain)})"
