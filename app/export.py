"""Write the renewal in the formats devices, OVOC, Windows and Java want, then check each file."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from app import keys
from app.atomic import atomic_write, unprotected_notice
from app.errors import ExportError, InputError
from app.fingerprints import same_public_key

PFX_KDF_ROUNDS = 200_000  # PBKDF2 rounds for the modern profile (OpenSSL 3 uses 2048 by default)


class Artifact(StrEnum):
    KEY = "key"
    CERT = "cert"
    CHAIN = "chain"
    FULLCHAIN = "fullchain"
    ROOT = "root"
    PFX = "pfx"  # modern: AES-256-CBC, PBKDF2-SHA256, SHA-256 MAC
    PFX_LEGACY = "pfx-legacy"  # 3DES, SHA-1 MAC: Windows Server 2016, Java 8, old appliances
    JKS = "jks"


class KeyFormat(StrEnum):
    APACHE = "apache"  # PKCS#1 / SEC1, unencrypted: what OVOC and the devices accept
    APACHE_ENCRYPTED = "apache-encrypted"
    PKCS8 = "pkcs8"
    PKCS8_ENCRYPTED = "pkcs8-encrypted"


@dataclass(frozen=True)
class Preset:
    name: str
    label: str
    description: str
    artifacts: frozenset[Artifact]


_PEM_SET = frozenset(
    {Artifact.KEY, Artifact.CERT, Artifact.CHAIN, Artifact.FULLCHAIN, Artifact.ROOT}
)
PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "audiocodes",
            "AudioCodes SBC / gateway (PEM)",
            "Private key (PKCS#1 PEM), certificate, intermediates and root as separate PEM "
            "files, as the Mediant TLS Context page and REST API take them.",
            _PEM_SET,
        ),
        Preset(
            "ovoc",
            "OVOC (Apache PEM key + certificates)",
            "Unencrypted Apache-format key, server certificate and CA certificates for "
            "EmsServerManager's 'Import Server Certificates from CA'.",
            frozenset({Artifact.KEY, Artifact.CERT, Artifact.CHAIN, Artifact.ROOT}),
        ),
        Preset(
            "windows",
            "Windows / IIS (PFX)",
            "One password-protected .pfx with key, certificate and chain for the Windows "
            "certificate store, IIS, Teams/Skype edge servers.",
            frozenset({Artifact.PFX}),
        ),
        Preset(
            "java",
            "Java (JKS)",
            "A Java KeyStore with the key entry and its chain.",
            frozenset({Artifact.JKS}),
        ),
        Preset(
            "everything",
            "Everything",
            "All of the above, with both PFX profiles.",
            frozenset(Artifact),
        ),
    )
}

NEEDS_PASSWORD = frozenset({Artifact.PFX, Artifact.PFX_LEGACY, Artifact.JKS})
NEEDS_KEY = frozenset({Artifact.KEY, Artifact.PFX, Artifact.PFX_LEGACY, Artifact.JKS})


@dataclass(frozen=True)
class ExportOptions:
    artifacts: frozenset[Artifact]
    password: str | None = field(default=None, repr=False)  # for PFX/JKS, an encrypted key
    key_format: KeyFormat = KeyFormat.APACHE
    overwrite: bool = False
    allow_onedrive: bool = False  # an unencrypted key into a folder OneDrive syncs, when asked


@dataclass(frozen=True)
class ExportedFile:
    artifact: Artifact
    path: Path
    description: str
    secret: bool


@dataclass(frozen=True)
class ExportResult:
    folder: Path
    files: tuple[ExportedFile, ...]
    checks: tuple[str, ...]  # what was verified after writing


def file_names(stem: str, options: ExportOptions) -> dict[Artifact, str]:
    both_pfx = {Artifact.PFX, Artifact.PFX_LEGACY} <= options.artifacts
    names = {
        Artifact.KEY: f"{stem}.key",
        Artifact.CERT: f"{stem}.crt",
        Artifact.CHAIN: f"{stem}-chain.crt",
        Artifact.FULLCHAIN: f"{stem}-fullchain.crt",
        Artifact.ROOT: f"{stem}-root.crt",
        Artifact.PFX: f"{stem}.pfx",
        Artifact.PFX_LEGACY: f"{stem}-legacy.pfx" if both_pfx else f"{stem}.pfx",
        Artifact.JKS: f"{stem}.jks",
    }
    return {a: n for a, n in names.items() if a in options.artifacts}


def _pem(certs: list[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def pfx_bytes(
    key: keys.PrivateKey,
    leaf: x509.Certificate,
    cas: list[x509.Certificate],
    password: str,
    friendly_name: str,
    *,
    legacy: bool,
) -> bytes:
    builder = serialization.PrivateFormat.PKCS12.encryption_builder()
    if legacy:
        builder = builder.key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC).hmac_hash(
            hashes.SHA1()
        )
    else:
        builder = (
            builder.kdf_rounds(PFX_KDF_ROUNDS)
            .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
            .hmac_hash(hashes.SHA256())
        )
    return pkcs12.serialize_key_and_certificates(
        friendly_name.encode("utf-8"), key, leaf, cas or None, builder.build(password.encode())
    )


def export(
    folder: Path,
    stem: str,
    key: keys.PrivateKey | None,
    leaf: x509.Certificate,
    intermediates: list[x509.Certificate],
    root: x509.Certificate | None,
    options: ExportOptions,
) -> ExportResult:
    """Write every requested file into `folder`, then re-read and check each one."""
    arts = options.artifacts
    if not arts:
        raise InputError("Nothing to export.", "Pick at least one format.")
    if arts & NEEDS_KEY and key is None:
        raise ExportError(
            "This renewal has no private key here (it was made on the device), so no key, "
            "PFX or JKS can be exported.",
            "Export the certificates only.",
        )
    if arts & NEEDS_PASSWORD and not options.password:
        raise InputError("PFX and JKS files need a password.", "Enter one (twice).")
    if options.key_format in (KeyFormat.APACHE_ENCRYPTED, KeyFormat.PKCS8_ENCRYPTED) and not (
        options.password
    ):
        raise InputError("An encrypted key file needs a password.", "Enter one.")
    if Artifact.ROOT in arts and root is None:
        arts = arts - {Artifact.ROOT}  # nothing to write; said in the checks
    plaintext_key = Artifact.KEY in arts and not options.key_format.value.endswith("encrypted")
    if plaintext_key and not options.allow_onedrive:
        _refuse_onedrive(folder)
    names = file_names(stem, ExportOptions(arts))
    existing = [n for n in names.values() if (folder / n).exists()]
    if existing and not options.overwrite:
        raise ExportError(
            f"{folder} already holds {', '.join(existing)}.",
            "Pick an empty folder, or allow overwriting (--overwrite).",
        )
    password = options.password or ""
    cas = [*intermediates, *([root] if root else [])]
    contents: dict[Artifact, tuple[bytes, str, bool]] = {}
    for artifact in names:
        if artifact is Artifact.KEY:
            assert key is not None
            contents[artifact] = (
                _key_bytes(key, options.key_format, password),
                _KEY_DESCRIPTIONS[options.key_format],
                True,
            )
        elif artifact is Artifact.CERT:
            contents[artifact] = (_pem([leaf]), "Server certificate (PEM)", False)
        elif artifact is Artifact.CHAIN:
            contents[artifact] = (
                _pem(intermediates),
                "Intermediate CA certificate(s) (PEM)",
                False,
            )
        elif artifact is Artifact.FULLCHAIN:
            contents[artifact] = (
                _pem([leaf, *intermediates]),
                "Certificate + intermediates (PEM)",
                False,
            )
        elif artifact is Artifact.ROOT:
            assert root is not None
            contents[artifact] = (_pem([root]), "Root CA certificate (PEM)", False)
        elif artifact in (Artifact.PFX, Artifact.PFX_LEGACY):
            assert key is not None
            legacy = artifact is Artifact.PFX_LEGACY
            contents[artifact] = (
                pfx_bytes(key, leaf, cas, password, stem, legacy=legacy),
                "PFX, legacy profile (3DES, SHA-1 MAC)"
                if legacy
                else "PFX, modern profile (AES-256, SHA-256)",
                True,
            )
        elif artifact is Artifact.JKS:
            from app.jks_export import jks_bytes

            assert key is not None
            contents[artifact] = (
                jks_bytes(key, [leaf, *cas], password, stem),
                "Java KeyStore (JKS)",
                True,
            )
    folder.mkdir(parents=True, exist_ok=True)
    files: list[ExportedFile] = []
    # The unencrypted key first: where it cannot be made private, nothing at all is written.
    for artifact in sorted(contents, key=lambda a: a is not Artifact.KEY):
        data, description, secret = contents[artifact]
        path = folder / names[artifact]
        atomic_write(
            path, data, secret=secret, plaintext=artifact is Artifact.KEY and plaintext_key
        )
        files.append(ExportedFile(artifact, path, description, secret))
    checks = _check(files, key, leaf, cas, password, options.key_format)
    notice = unprotected_notice(folder)
    if notice and any(f.secret for f in files):
        checks.append(notice)
    if Artifact.ROOT in options.artifacts and root is None:
        checks.append("No root certificate was exported: the CA's root is not known.")
    return ExportResult(folder, tuple(files), tuple(checks))


def _refuse_onedrive(folder: Path) -> None:
    from app import onedrive

    root = onedrive.synced_root(folder)
    if root is not None:
        raise ExportError(
            f"{folder} is in OneDrive ({root}), which would copy the unencrypted key to the "
            "cloud and to your other PCs.",
            f"Export into a folder outside OneDrive (e.g. {onedrive.local_exports_root()}), or "
            "export only a PFX or an encrypted key there; to keep the unencrypted key in "
            "OneDrive anyway, use --allow-onedrive.",
        )


_KEY_DESCRIPTIONS = {
    KeyFormat.APACHE: "Private key, Apache-compatible PEM, unencrypted — keep it safe",
    KeyFormat.APACHE_ENCRYPTED: "Private key, Apache-compatible PEM, encrypted (weak MD5 "
    "passphrase derivation of that format: prefer the encrypted PKCS#8 where it is read)",
    KeyFormat.PKCS8: "Private key, PKCS#8 PEM, unencrypted — keep it safe",
    KeyFormat.PKCS8_ENCRYPTED: "Private key, PKCS#8 PEM, encrypted (PBKDF2-SHA256, 600 000 rounds)",
}


def _key_bytes(key: keys.PrivateKey, fmt: KeyFormat, password: str) -> bytes:
    if fmt is KeyFormat.APACHE:
        return keys.apache_pem(key)
    if fmt is KeyFormat.APACHE_ENCRYPTED:
        return keys.encrypted_traditional_pem(key, password)
    if fmt is KeyFormat.PKCS8:
        return keys.pkcs8_pem(key)
    return keys.pkcs8_pem(key, password)


def _check(
    files: list[ExportedFile],
    key: keys.PrivateKey | None,
    leaf: x509.Certificate,
    cas: list[x509.Certificate],
    password: str,
    key_format: KeyFormat,
) -> list[str]:
    """Re-read what was written: a file that fails here is reported, never called done."""
    checks: list[str] = []
    for f in files:
        data = f.path.read_bytes()
        try:
            if f.artifact is Artifact.KEY:
                secret = password.encode() if key_format.value.endswith("encrypted") else None
                loaded = serialization.load_pem_private_key(data, secret)
                if not same_public_key(loaded.public_key(), leaf.public_key()):
                    raise ExportError(f"{f.path.name} does not match the certificate.", "")
                checks.append(f"{f.path.name}: key matches the certificate")
            elif f.artifact in (Artifact.PFX, Artifact.PFX_LEGACY):
                k, c, extra = pkcs12.load_key_and_certificates(data, password.encode())
                if k is None or c is None or not same_public_key(k.public_key(), c.public_key()):
                    raise ExportError(f"{f.path.name} does not hold a matching key.", "")
                checks.append(
                    f"{f.path.name}: opens with the password, key matches, "
                    f"{1 + len(extra)} certificate(s)"
                )
            elif f.artifact is Artifact.JKS:
                from app.jks_export import read_jks_chain_length

                length = read_jks_chain_length(data, password)
                if length != -1 and length != 1 + len(cas):
                    raise ExportError(
                        f"{f.path.name} holds a chain of {length}, expected {1 + len(cas)}.", ""
                    )
                checks.append(f"{f.path.name}: key entry with a chain of {length}")
            else:
                certs = x509.load_pem_x509_certificates(data) if data else []
                checks.append(f"{f.path.name}: {len(certs)} certificate(s)")
        except ExportError:
            raise
        except (ValueError, TypeError) as exc:
            raise ExportError(
                f"The file just written, {f.path}, cannot be read back: {exc}.",
                "Try the export again into another folder.",
            ) from exc
    return checks
