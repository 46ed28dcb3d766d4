"""Java KeyStore (JKS) output: pyjks where it is installed, else Java's own keytool."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from app.errors import ExportError
from app.keys import PrivateKey

# keytool is a console program: from the windowed wizard on Windows, no console flashes up.
_NO_WINDOW = getattr(subprocess, "CREATE_NO_WINDOW", 0)


def find_keytool() -> str | None:
    """Java's keytool: %JAVA_HOME%\\bin first, then the PATH's absolute folders. Never the
    current folder, which Windows' own search (and shutil.which there) tries first: a
    keytool.exe lying beside the user's files would receive the keystore password."""
    folders: list[Path] = []
    java_home = os.environ.get("JAVA_HOME", "").strip().strip('"')
    if java_home and os.path.isabs(java_home):
        folders.append(Path(java_home) / "bin")
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        entry = entry.strip().strip('"')
        if entry and os.path.isabs(entry):  # "" and "." mean the current folder
            folders.append(Path(entry))
    names = ("keytool.exe",) if sys.platform == "win32" else ("keytool",)
    for folder in folders:
        for name in names:
            candidate = folder / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    return None


def _temporary_folder() -> tempfile.TemporaryDirectory[str]:
    # An antivirus scanning the keystore must not turn a finished export into an error.
    return tempfile.TemporaryDirectory(prefix="accert-jks-", ignore_cleanup_errors=True)


def jks_bytes(key: PrivateKey, chain: list[x509.Certificate], password: str, alias: str) -> bytes:
    """A JKS holding one private-key entry (key + leaf + chain) under `alias`."""
    try:
        import jks  # pyjks: optional, see README (no Windows wheel for its twofish dependency)
    except Exception:  # ImportError, or twofish failing to load on Python 3.12+
        return _jks_with_keytool(key, chain, password, alias)
    pkcs8 = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    ders = [c.public_bytes(serialization.Encoding.DER) for c in chain]
    entry = jks.PrivateKeyEntry.new(alias, ders, pkcs8, "pkcs8")
    store = jks.KeyStore.new("jks", [entry])
    data: bytes = store.saves(password)
    return data


def _jks_with_keytool(
    key: PrivateKey, chain: list[x509.Certificate], password: str, alias: str
) -> bytes:
    keytool = find_keytool()
    if keytool is None:
        raise ExportError(
            "JKS export needs the pyjks package or Java's keytool, and neither is available.",
            "Install Java (keytool) or the accert[jks] extra, or export a PFX instead: "
            "Java 9 and later read PFX directly.",
        )
    from cryptography.hazmat.primitives.serialization import pkcs12

    # The passwords reach keytool through its environment, never its command line.
    pfx = pkcs12.serialize_key_and_certificates(
        alias.encode(),
        key,
        chain[0],
        chain[1:],
        serialization.BestAvailableEncryption(password.encode("utf-8")),
    )
    with _temporary_folder() as tmp:
        os.chmod(tmp, 0o700)
        src, dest = Path(tmp) / "in.p12", Path(tmp) / "out.jks"
        src.write_bytes(pfx)
        env = dict(os.environ, ACCERT_KS_PASS=password)
        proc = subprocess.run(
            [
                keytool,
                "-importkeystore",
                "-noprompt",
                "-srckeystore",
                str(src),
                "-srcstoretype",
                "PKCS12",
                "-srcstorepass:env",
                "ACCERT_KS_PASS",
                "-destkeystore",
                str(dest),
                "-deststoretype",
                "JKS",
                "-deststorepass:env",
                "ACCERT_KS_PASS",
                "-destkeypass:env",
                "ACCERT_KS_PASS",
            ],
            capture_output=True,
            env=env,
            check=False,
            timeout=120,
            creationflags=_NO_WINDOW,
        )
        if proc.returncode != 0 or not dest.exists():
            raise ExportError(
                "keytool could not write the JKS file: "
                + proc.stderr.decode(errors="replace").strip()[:300],
                "Export a PFX instead, or install the accert[jks] extra.",
            )
        return dest.read_bytes()


def read_jks_chain_length(data: bytes, password: str) -> int:
    """How many certificates the key entry holds (for the export self-check)."""
    try:
        import jks
    except Exception:
        return _keytool_chain_length(data, password)
    store = jks.KeyStore.loads(data, password)
    entries = list(store.private_keys.values())
    if len(entries) != 1:
        raise ExportError("The JKS file written does not hold exactly one key entry.", "")
    return len(entries[0].cert_chain)


def _keytool_chain_length(data: bytes, password: str) -> int:
    keytool = find_keytool()
    if keytool is None:
        return -1  # cannot check without either tool; the caller reports it
    with _temporary_folder() as tmp:
        path = Path(tmp) / "check.jks"
        path.write_bytes(data)
        # -rfc lists each entry's chain as PEM: counted the same in every display language
        # (the "Certificate chain length:" line is translated).
        proc = subprocess.run(
            [keytool, "-list", "-rfc", "-keystore", str(path), "-storepass:env", "ACCERT_KS_PASS"],
            capture_output=True,
            env=dict(os.environ, ACCERT_KS_PASS=password),
            check=False,
            timeout=120,
            creationflags=_NO_WINDOW,
        )
    count = proc.stdout.count(b"-----BEGIN CERTIFICATE-----")
    if proc.returncode != 0 or count == 0:
        raise ExportError("keytool cannot read the JKS file just written.", "")
    return count
