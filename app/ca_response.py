"""Read whatever a CA sends: PEM (any number, any order, text around), DER, PKCS#7, ZIP, PFX."""

from __future__ import annotations

import base64
import binascii
import io
import lzma
import re
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12

from app.errors import ImportProblem, PassphraseError
from app.fingerprints import cert_sha256
from app.keys import PrivateKey, check_supported

MAX_INPUT_BYTES = 20 * 1024 * 1024  # no CA response is near this; guards memory
MAX_CERTIFICATES = 5000
MAX_ZIP_MEMBERS = 200
MAX_ZIP_DEPTH = 2

_PEM_BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")
_PEM_MARKER = re.compile(rb"-----(BEGIN|END) ([A-Z0-9 ]+)-----")
_CERT_LABELS = {b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE"}
_PKCS7_LABELS = {b"PKCS7", b"PKCS #7 SIGNED DATA", b"CMS"}
_CSR_LABELS = {b"CERTIFICATE REQUEST", b"NEW CERTIFICATE REQUEST"}
_KEY_LABELS = {b"PRIVATE KEY", b"RSA PRIVATE KEY", b"EC PRIVATE KEY", b"ENCRYPTED PRIVATE KEY"}
_PFX_SUFFIXES = (".pfx", ".p12")
# Files a CA puts in a ZIP beside the certificates.
_IGNORED_ZIP_SUFFIXES = (".txt", ".html", ".htm", ".pdf", ".md", ".url", ".csr", ".xml")


class PasswordNeeded(PassphraseError):
    """A PFX/PKCS#12 needs its password (or the one given is wrong)."""


@dataclass(frozen=True)
class Source:
    """One input: a file's bytes (name = its file name) or pasted text (name = 'pasted text')."""

    name: str
    data: bytes
    password: str | None = field(default=None, repr=False)


@dataclass
class Parsed:
    certificates: list[x509.Certificate] = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)  # cert sha256 -> where it came from
    private_key: PrivateKey | None = None
    notes: list[str] = field(default_factory=list)

    def add(self, cert: x509.Certificate, origin: str) -> None:
        fp = cert_sha256(cert)
        if fp in self.origins:
            return  # the same certificate sent twice (e.g. in a bundle and alone)
        _require_readable(cert, origin)
        if len(self.certificates) >= MAX_CERTIFICATES:
            raise ImportProblem(
                f"{origin} holds more than {MAX_CERTIFICATES} certificates.",
                "That is not a CA response; pick the files the CA sent for this order.",
            )
        self.origins[fp] = origin
        self.certificates.append(cert)


def _require_readable(cert: x509.Certificate, origin: str) -> None:
    """Read now what cryptography reads lazily (names, extensions, key, signature algorithm).

    A damaged extension or an unknown algorithm otherwise surfaced later, deep in the chain
    checks, as a bare ValueError/UnsupportedAlgorithm (found by fuzzing the importer).
    """
    try:
        _ = cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(), cert.extensions
        _ = cert.public_key(), cert.signature_hash_algorithm, cert.not_valid_after_utc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ImportProblem(
            f"{origin} is damaged: a certificate in it cannot be read ({exc}).",
            "Download the certificate again from the CA.",
        ) from exc


def parse(sources: list[Source]) -> Parsed:
    """All certificates (deduplicated) and any private key in the sources.

    Raises ImportProblem (or PasswordNeeded) with a message naming the source when one
    cannot be read at all; a ZIP member that is not a certificate only adds a note.
    """
    result = Parsed()
    if not sources:
        raise ImportProblem("Nothing to import.", "Pick the files the CA sent, or paste them.")
    for source in sources:
        _parse_one(source.data, source.name, source.password, result, depth=0)
    if not result.certificates:
        names = ", ".join(s.name for s in sources)
        raise ImportProblem(
            f"No certificate was found in {names}.",
            "Pick the certificate files the CA sent (.crt, .cer, .pem, .p7b, .zip or .pfx).",
        )
    return result


def _parse_one(data: bytes, name: str, password: str | None, out: Parsed, depth: int) -> None:
    if len(data) > MAX_INPUT_BYTES:
        raise ImportProblem(
            f"{name} is {len(data) // (1024 * 1024)} MB, far larger than any CA response.",
            "Check that you picked the right file.",
        )
    stripped = data.strip()
    if not stripped:
        raise ImportProblem(f"{name} is empty.", "Download the certificate from the CA again.")
    if data[:4] == b"PK\x03\x04" or (data[:4] == b"PK\x05\x06"):
        _parse_zip(data, name, password, out, depth)
        return
    has_pem = _PEM_BEGIN.search(data) is not None
    # DER first, on the bytes exactly as they are: a signature may end in a byte that looks
    # like whitespace (0x09-0x0d, 0x20), and a subject may even hold a PEM marker.
    if data[:1] == b"\x30" and _parse_der(data, name, password, out, strict=has_pem):
        return
    if has_pem:
        _parse_pem(data, name, password, out)
        return
    if stripped[:1] == b"\x30":
        # Only now, as a second chance: DER with a line end added by a mail or web gateway.
        _parse_der(stripped, name, password, out, strict=False)
        return
    decoded = _bare_base64(stripped)
    if decoded is not None:
        _parse_der(decoded, name, password, out, strict=False)
        return
    raise ImportProblem(
        f"{name} is not a certificate file: it is neither PEM, DER, PKCS#7, ZIP nor PFX.",
        "Download the certificate again from the CA, in 'X.509 PEM' or 'PKCS#7' format.",
    )


def _parse_pem(data: bytes, name: str, password: str | None, out: Parsed) -> None:
    text = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    blocks, begins = _pem_blocks(text)
    if begins > len(blocks):
        raise ImportProblem(
            f"{name} has a PEM block that is cut off (a BEGIN line without its END line).",
            "Copy the whole text, from -----BEGIN to -----END----- included, or download again.",
        )
    found_cert = False
    for index, (label, raw_body, whole) in enumerate(blocks, start=1):
        where = name if len(blocks) == 1 else f"{name} (block {index})"
        body = _pem_body(raw_body, where)
        if label in _CERT_LABELS:
            out.add(_load_der_cert(body, where), name)
            found_cert = True
        elif label in _PKCS7_LABELS:
            for cert in _load_pkcs7_der(body, where):
                out.add(cert, name)
            found_cert = True
        elif label in _CSR_LABELS:
            out.notes.append(f"{where} is a certificate request (CSR); it was skipped.")
        elif label in _KEY_LABELS:
            out.private_key = _load_pem_key(whole, where, password)
        else:
            out.notes.append(f"{where}: a '{label.decode()}' block was skipped.")
    if not found_cert and not out.certificates:
        kinds = {label for label, _body, _whole in blocks}
        if kinds & _CSR_LABELS and not kinds & _KEY_LABELS:
            raise ImportProblem(
                f"{name} is a certificate signing request (CSR), not a certificate.",
                "Send the CSR to the CA; import the certificate the CA sends back.",
            )


def _pem_blocks(text: bytes) -> tuple[list[tuple[bytes, bytes, bytes]], int]:
    """(label, body, whole block) of each BEGIN..END pair, and how many BEGIN lines there are.

    One pass over the markers: a regex with a lazy body and a back-reference rescanned the
    rest of the text for every unclosed BEGIN, so a pasted file of BEGIN lines took minutes.
    A BEGIN before the previous one's END leaves that previous one cut off.
    """
    blocks: list[tuple[bytes, bytes, bytes]] = []
    begins = 0
    opened: re.Match[bytes] | None = None
    for marker in _PEM_MARKER.finditer(text):
        if marker.group(1) == b"BEGIN":
            begins += 1
            opened = marker
        elif opened is not None and marker.group(2) == opened.group(2):
            blocks.append(
                (
                    opened.group(2),
                    text[opened.end() : marker.start()],
                    text[opened.start() : marker.end()],
                )
            )
            opened = None
    return blocks, begins


def _pem_body(raw: bytes, where: str) -> bytes:
    # Headers such as "Proc-Type:" only occur in keys; certificates are pure base64.
    lines = [ln.strip() for ln in raw.strip().split(b"\n") if ln.strip() and b":" not in ln]
    try:
        return base64.b64decode(b"".join(lines), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImportProblem(
            f"{where} is damaged: its base64 text is not valid.",
            "Copy the text again without changes, or download the file again.",
        ) from exc


def _load_der_cert(der: bytes, where: str) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(der)
    except (ValueError, x509.InvalidVersion) as exc:  # InvalidVersion: found by fuzzing
        raise ImportProblem(
            f"{where} is damaged: it is not a readable X.509 certificate.",
            "Download the certificate again from the CA.",
        ) from exc


def _load_pkcs7_der(der: bytes, where: str) -> list[x509.Certificate]:
    try:
        return _pkcs7_certificates(der)
    except ValueError as exc:
        raise ImportProblem(
            f"{where} is a damaged PKCS#7 (.p7b) file.", "Download it again from the CA."
        ) from exc


def _pkcs7_certificates(der: bytes) -> list[x509.Certificate]:
    # openssl crl2pkcs7 and many CAs write an unsorted SET; cryptography then warns and
    # falls back to BER, which reads it correctly. The warning means nothing to a user.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            return list(pkcs7.load_der_pkcs7_certificates(der))
        except UnsupportedAlgorithm as exc:  # not signedData (found by fuzzing): unreadable
            raise ValueError(str(exc)) from exc


def _load_pem_key(pem: bytes, where: str, password: str | None) -> PrivateKey:
    secret = password.encode("utf-8") if password else None
    try:
        key = serialization.load_pem_private_key(pem, secret)
    except UnsupportedAlgorithm as exc:
        raise ImportProblem(
            f"The private key in {where} is of a kind accert cannot use ({exc}).",
            "Use an RSA or ECDSA (P-256/P-384) key.",
        ) from exc
    except TypeError as exc:  # encrypted but no password, or a password for a plain key
        if secret is None:
            raise PasswordNeeded(
                f"The private key in {where} is encrypted.", "Enter its password."
            ) from exc
        key = serialization.load_pem_private_key(pem, None)
    except ValueError as exc:
        raise PasswordNeeded(
            f"The private key in {where} cannot be opened: the password is wrong or the key "
            "is damaged.",
            "Check the password.",
        ) from exc
    return check_supported(key, where)


def _parse_der(der: bytes, name: str, password: str | None, out: Parsed, *, strict: bool) -> bool:
    """Read `der` as a certificate, a PKCS#7 bundle or a PFX. True when it was one of them;
    otherwise False when `strict` (the caller has another reading to try), else ImportProblem."""
    try:
        out.add(x509.load_der_x509_certificate(der), name)
        return True
    except (ValueError, x509.InvalidVersion):  # not a certificate: maybe PKCS#7 or PFX
        pass
    try:
        certs = _pkcs7_certificates(der)
    except ValueError:
        certs = None
    if certs:
        for cert in certs:
            out.add(cert, name)
        return True
    if strict:
        return False
    if _looks_like_pkcs12(der, name):
        _parse_pkcs12(der, name, password, out)
        return True
    # A line end added after the DER (a mail or web gateway): drop one trailing whitespace
    # byte at a time, never all at once, since the signature itself may end in such bytes.
    extra = len(der) - len(der.rstrip())
    for cut in range(1, min(extra, 4) + 1):
        if _parse_der(der[:-cut], name, password, out, strict=True):
            return True
    raise ImportProblem(
        f"{name} is binary data but not a certificate, a PKCS#7 bundle or a PFX.",
        "The file may be cut off or of another kind; download it again from the CA.",
    )


def _looks_like_pkcs12(der: bytes, name: str) -> bool:
    if name.lower().endswith(_PFX_SUFFIXES):
        return True
    # PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo, ... }: the version is the
    # outer SEQUENCE's first element. Not anywhere in the first bytes: a certificate whose
    # serial number is 3 has INTEGER 3 and a SEQUENCE there too (inside its TBSCertificate).
    if len(der) < 2 or der[0] != 0x30:
        return False
    length_octets = der[1] & 0x7F if der[1] & 0x80 else 0  # 0x80: BER's indefinite length
    first = 2 + length_octets
    return der[first : first + 4] == b"\x02\x01\x03\x30"


def _parse_pkcs12(der: bytes, name: str, password: str | None, out: Parsed) -> None:
    if password and "\x00" in password:
        # No PFX password can hold NUL (PKCS#12 ends it there), and cryptography panics
        # on one (a BaseException that no handler catches): found by fuzzing.
        raise PasswordNeeded(
            f"The password for {name} contains a NUL character, so it cannot be right.",
            "Type the password again, without pasting control characters.",
        )
    attempts = [password.encode("utf-8")] if password else [None, b""]
    last: Exception | None = None
    for secret in attempts:
        try:
            key, cert, extra, ber = _load_pkcs12(der, secret)
        except UnsupportedAlgorithm as exc:
            raise ImportProblem(
                f"{name} is protected with an encryption accert cannot read ({exc}).",
                "Export the PFX again with AES-256 encryption (the default of current tools).",
            ) from exc
        except ValueError as exc:
            last = exc
            continue
        if ber:
            out.notes.append(
                f"{name} is not in the strict (DER) form of PKCS#12 that current tools write; "
                "it was read all the same. If a device refuses it, export a new PFX from accert."
            )
        if cert is not None:
            out.add(cert, name)
        for extra_cert in extra:
            out.add(extra_cert, name)
        if key is not None:
            out.private_key = check_supported(key, name)
        return
    if password:
        raise PasswordNeeded(
            f"The password for {name} is wrong (or the file is damaged).",
            "Type the password the PFX was exported with; it is case-sensitive.",
        ) from last
    raise PasswordNeeded(
        f"{name} is a PFX/PKCS#12 file protected by a password.", "Enter its password."
    ) from last


def _load_pkcs12(
    der: bytes, secret: bytes | None
) -> tuple[Any, x509.Certificate | None, list[x509.Certificate], bool]:
    """pkcs12.load_key_and_certificates, with its "falling back to parsing as BER"
    UserWarning (printed on stderr, in cryptography's words) turned into a flag we explain."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        key, cert, extra = pkcs12.load_key_and_certificates(der, secret)
    ber = any("BER" in str(w.message) for w in caught)
    return key, cert, extra, ber


def _parse_zip(data: bytes, name: str, password: str | None, out: Parsed, depth: int) -> None:
    if depth >= MAX_ZIP_DEPTH:
        out.notes.append(f"{name}: a ZIP nested too deep was skipped.")
        return
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        # NotImplementedError: a "zip file version" byte out of range (found by fuzzing).
        raise ImportProblem(
            f"{name} is a damaged ZIP file.", "Download the ZIP from the CA again."
        ) from exc
    if len(members) > MAX_ZIP_MEMBERS:
        raise ImportProblem(
            f"{name} holds {len(members)} files; a CA's certificate ZIP holds a few.",
            "Pick the ZIP the CA sent for this order.",
        )
    total = 0
    before = len(out.certificates)
    with archive:
        for member in members:
            label = f"{name}/{member.filename}"
            lower = member.filename.lower()
            base = lower.rsplit("/", 1)[-1]
            if base.startswith(".") or "__macosx" in lower:
                continue
            if lower.endswith(_IGNORED_ZIP_SUFFIXES):
                out.notes.append(f"{label} was skipped (not a certificate).")
                continue
            total += member.file_size
            if member.file_size > MAX_INPUT_BYTES or total > MAX_INPUT_BYTES:
                raise ImportProblem(
                    f"{name} unpacks to more than {MAX_INPUT_BYTES // (1024 * 1024)} MB.",
                    "That is not a CA response; pick the ZIP the CA sent.",
                )
            try:
                content = archive.read(member)
            except (
                zipfile.BadZipFile,
                OSError,
                ValueError,
                EOFError,
                NotImplementedError,
                RuntimeError,
                zlib.error,  # a damaged deflate stream (not an OSError, found by fuzzing)
                lzma.LZMAError,
            ) as exc:
                raise ImportProblem(
                    f"{label} cannot be unpacked ({type(exc).__name__}).",
                    "The ZIP may be damaged or encrypted; download it again from the CA.",
                ) from exc
            try:
                _parse_one(content, label, password, out, depth + 1)
            except PasswordNeeded:
                raise
            except ImportProblem as exc:
                out.notes.append(f"{label} was skipped: {exc.message}")
    if len(out.certificates) == before:
        raise ImportProblem(
            f"{name} contains no certificate.", "Pick the ZIP the CA sent for this order."
        )


def _bare_base64(text: bytes) -> bytes | None:
    """Some portals show the certificate as base64 without BEGIN/END lines."""
    compact = b"".join(text.split())
    if len(compact) < 64 or not re.fullmatch(rb"[A-Za-z0-9+/=]+", compact):
        return None
    try:
        decoded = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded if decoded[:1] == b"\x30" else None
