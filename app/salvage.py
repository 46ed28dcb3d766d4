"""What is left of a renewal whose renewal.json cannot be read, and what to do about it.

The hint looks at the folder instead of promising a key: a renewal whose key was made on the
device, or a folder someone tidied, has no private.key, and telling that user to rely on it
would send them the wrong way at the worst moment.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from app.peer_text import escape_peer
from app.workspace import CERT_FILE, CSR_FILE, EXPORT_DIR, KEY_FILE

if TYPE_CHECKING:
    from cryptography import x509

_PFX = (".pfx", ".p12")
_READ_AT_MOST = 64 * 1024  # a CSR or a leaf certificate is a few KiB; a chain's first is enough
_NAME_AT_MOST = 100  # a forged CN may be any length; a list row is not the place to read it
FOLDER_NAME = "the folder name"
DAMAGED = "Damaged: cannot be opened"  # a damaged renewal's step, in every list
_RESTORE = "restore renewal.json from a backup of the folder"


def _holds_key(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return b"PRIVATE KEY-----" in f.read(64 * 1024)
    except OSError:
        return False


def _pfx_exports(folder: Path) -> list[str]:
    """PFX files in the renewal's own exports folder, as paths relative to the renewal."""
    try:
        found = [
            p for p in (folder / EXPORT_DIR).rglob("*") if p.suffix.lower() in _PFX and p.is_file()
        ]
    except OSError:
        return []
    return sorted(escape_peer(str(p.relative_to(folder))) for p in found)


def salvage_hint(folder: Path) -> str:
    """The hint under "renewal.json is damaged": what the folder still holds that is worth
    having, and the way back."""
    if _holds_key(folder / KEY_FILE):
        return (
            f"The private key ({KEY_FILE}) is still in the folder: {_RESTORE} and "
            "the renewal opens again with its key."
        )
    missing = (
        f"{KEY_FILE} holds no private key"
        if (folder / KEY_FILE).exists()
        else f"There is no {KEY_FILE} in the folder"
    )
    pfx = _pfx_exports(folder)
    if pfx:
        more = f" (and {len(pfx) - 1} more)" if len(pfx) > 1 else ""
        return (
            f"{missing}, but the export {pfx[0]}{more} holds the key with its certificate: "
            "open that PFX as a new renewal (Start page: Open a PFX, or `accert open-pfx "
            f"FILE`), or {_RESTORE}."
        )
    left = [name for name in (CERT_FILE, CSR_FILE) if (folder / name).is_file()]
    if left:
        return (
            f"{missing}, only {' and '.join(left)} (a key made on a device stays on the "
            f"device): {_RESTORE}, or start a new renewal."
        )
    return (
        f"Nothing usable is in the folder (no private key, certificate or PFX export): "
        f"{_RESTORE}, or start a new renewal."
    )


def _names_in(pem_or_der: bytes, is_csr: bool) -> str:
    """The CN of a CSR or certificate, else its first DNS or IP SAN; "" when it has neither."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    pem = pem_or_der.lstrip().startswith(b"-----")
    loaded: x509.CertificateSigningRequest | x509.Certificate
    if is_csr:
        loaded = (x509.load_pem_x509_csr if pem else x509.load_der_x509_csr)(pem_or_der)
    else:
        load = x509.load_pem_x509_certificate if pem else x509.load_der_x509_certificate
        loaded = load(pem_or_der)
    for attribute in loaded.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
        if str(attribute.value).strip():
            return str(attribute.value)
    san = loaded.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return next((str(n.value) for n in san if _is_host(n)), "")


def _is_host(name: x509.GeneralName) -> bool:
    from cryptography import x509

    return isinstance(name, x509.DNSName | x509.IPAddress)


def _name_in_file(path: Path, is_csr: bool) -> str:
    # is_file first: a FIFO or a folder named request.csr would block or fail the read.
    try:
        if not path.is_file():
            return ""
        with path.open("rb") as f:
            return _names_in(f.read(_READ_AT_MOST), is_csr)
    except Exception:
        # Anything a damaged or forged file makes cryptography raise (ValueError, a missing or
        # duplicate extension, an unsupported name type...) only means: try the next source.
        return ""


def name_left(folder: Path) -> tuple[str, str]:
    """The name a renewal whose renewal.json is damaged was for, and where it was read:
    request.csr's CN (or first SAN), else certificate.crt's, else the folder's own name.

    Never raises. The name is a file's word, unchecked: callers show it escaped, with its
    source."""
    for file, is_csr in ((CSR_FILE, True), (CERT_FILE, False)):
        name = _name_in_file(folder / file, is_csr)
        if name:
            return _cut(name), file
    return _cut(folder.name), FOLDER_NAME


def _cut(name: str) -> str:
    return name if len(name) <= _NAME_AT_MOST else name[: _NAME_AT_MOST - 1] + "…"


def listed_name(name: str, read_from: str) -> str:
    """A renewal's name as lists show it (`accert list`, the Start page): escaped, both forms
    of an international name, and for a damaged renewal where the name was read."""
    from app.names import shown

    return f"{shown(name)} (from {read_from})" if read_from else shown(name)
