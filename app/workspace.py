"""A renewal is a folder: state, encrypted key, CSR, CA response, exports, backups, log.

Every write is atomic, so killing the program at any instant leaves a folder that opens,
with no key lost. The key is encrypted at rest; only an export the user asks for holds it
in the clear.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import key_passphrase
from app.atomic import append_line, atomic_write, atomic_write_text, protect_folder, temp_glob
from app.errors import ChainProblem, InputError, KeyMismatch, WorkspaceError
from app.names import file_stem
from app.paths import workspaces_root
from app.peer_text import escape_peer
from app.redact import redact_fields
from app.request import KeyType, RequestSpec, Subject, require_valid
from app.stage import Stage as Stage  # where it always was, for the engine's callers

# cryptography and the engine load when a step needs them: listing renewals (the wizard's first
# page, `accert list`) needs none of it, and `accert request` only the key and CSR part.
if TYPE_CHECKING:
    from cryptography import x509

    from app import ca_response, csr, keys
    from app.export import ExportOptions, ExportResult
    from app.material import DeployMaterial
    from app.response_check import ImportOutcome

SCHEMA_VERSION = 1

STATE_FILE = "renewal.json"
KEY_FILE = "private.key"
CSR_FILE = "request.csr"
CERT_FILE = "certificate.crt"
CHAIN_FILE = "chain.crt"  # intermediates then root, as accepted
LOG_FILE = "log.jsonl"
RESPONSE_DIR = "response"
EXPORT_DIR = "exports"
BACKUP_DIR = "backups"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RenewalState:
    id: str
    created: str
    updated: str
    stage: Stage
    request: RequestSpec
    key_origin: str = "local"  # "local" (made here), "pfx" (imported), "device" (never here)
    passphrase_source: str = ""  # "keyring" or "user"
    leaf_sha256: str = ""
    leaf_not_after: str = ""
    responses: tuple[str, ...] = ()
    exports: tuple[dict[str, Any], ...] = ()
    deployments: tuple[dict[str, Any], ...] = ()
    # How the certificate was last ordered from an ACME CA (app/acme): settings, account URL.
    acme: dict[str, Any] = field(default_factory=dict)
    # Lineage (accert renew): the folder this one renews, the folder that renewed it.
    renews: str = ""
    renewed_by: str = ""

    def to_json(self) -> str:
        data = asdict(self)
        data["schema"] = SCHEMA_VERSION
        data["stage"] = self.stage.value
        data["request"]["key_type"] = self.request.key_type.value
        data["request"].pop("extra", None)
        return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"

    @classmethod
    def from_json(cls, text: str, state_file: Path) -> RenewalState:
        origin = str(state_file)
        try:
            data = json.loads(text)
            schema = int(data.pop("schema", 0))
            if schema > SCHEMA_VERSION:
                raise WorkspaceError(
                    f"{origin} was written by a newer accert (format {schema}).",
                    "Update accert to open this renewal.",
                )
            req = data.pop("request")
            subject = Subject(**req.pop("subject"))
            request = RequestSpec(
                subject=subject,
                sans=tuple(req.get("sans", ())),
                key_type=KeyType(req.get("key_type", "rsa2048")),
                include_bare_domain=bool(req.get("include_bare_domain", True)),
            )
            return cls(
                request=request,
                stage=Stage(data.pop("stage")),
                responses=tuple(data.pop("responses", ())),
                exports=tuple(data.pop("exports", ())),
                deployments=tuple(data.pop("deployments", ())),
                acme=dict(data.pop("acme", None) or {}),
                **{k: v for k, v in data.items() if k in _SCALAR_FIELDS},
            )
        except WorkspaceError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            from app.salvage import salvage_hint

            raise WorkspaceError(
                # The exception may quote a key of the file: shown escaped.
                f"{origin} is damaged ({type(exc).__name__}: {escape_peer(exc)}).",
                salvage_hint(state_file.parent),
            ) from exc


_SCALAR_FIELDS = {
    "id",
    "created",
    "updated",
    "key_origin",
    "passphrase_source",
    "leaf_sha256",
    "leaf_not_after",
    "renews",
    "renewed_by",
}


def _has_key_block(data: bytes) -> bool:
    return b"PRIVATE KEY-----" in data


def _escaped(value: Any) -> Any:
    """A log record with every string shown safely: log lines quote peers (device answers,
    OVOC output), and a reader of the log must not get a terminal command from them."""
    if isinstance(value, str):
        return escape_peer(value, keep_newlines=True)
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_escaped(v) for v in value]
    return value


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def default_path(common_name: str, root: Path | None = None) -> Path:
    """Documents/accert/star_example_com-2026-11-22, with -2, -3 ... when taken."""
    base = (root or workspaces_root()) / f"{file_stem(common_name)}-{dt.date.today():%Y-%m-%d}"
    candidate, n = base, 2
    while candidate.exists():
        candidate = base.with_name(f"{base.name}-{n}")
        n += 1
    return candidate


@dataclass(frozen=True)
class WorkspaceSummary:
    path: Path
    common_name: str
    stage: Stage
    updated: str
    error: str = ""
    renews: str = ""
    renewed_by: str = ""
    name_from: str = ""  # a damaged renewal's name is read from this file (or the folder name)


def list_workspaces(root: Path | None = None) -> list[WorkspaceSummary]:
    """Renewals under `root`, newest first; damaged ones are listed with their error."""
    root = root or workspaces_root()
    found: list[WorkspaceSummary] = []
    if not root.is_dir():
        return found
    for state_file in root.glob(f"*/{STATE_FILE}"):
        try:
            state = RenewalState.from_json(state_file.read_text("utf-8"), state_file)
            found.append(
                WorkspaceSummary(
                    state_file.parent,
                    state.request.subject.common_name,
                    state.stage,
                    state.updated,
                    renews=state.renews,
                    renewed_by=state.renewed_by,
                )
            )
        except (WorkspaceError, OSError) as exc:
            from app.salvage import name_left  # only for damaged rows: reads their files

            name, name_from = name_left(state_file.parent)
            found.append(
                WorkspaceSummary(
                    state_file.parent, name, Stage.NEW, "", str(exc), name_from=name_from
                )
            )
    return sorted(found, key=lambda s: s.updated, reverse=True)


@dataclass
class Workspace:
    path: Path
    state: RenewalState
    _passphrase: str | None = field(default=None, repr=False)

    # --- creating and opening -------------------------------------------------------------

    @classmethod
    def create(cls, spec: RequestSpec, path: Path | None = None) -> Workspace:
        spec = require_valid(spec)
        path = Path(path) if path else default_path(spec.subject.common_name)
        if (path / STATE_FILE).exists():
            raise WorkspaceError(
                f"{path} already holds a renewal.",
                "Open it to continue, or choose another folder for a new one.",
            )
        if path.exists() and not path.is_dir():
            raise WorkspaceError(
                f"{path} is a file, not a folder.",
                "Give the name of a folder for the renewal; accert creates it.",
            )
        if path.is_dir():  # a first renewal.json cut by a kill: nothing was made yet
            for leftover in path.glob(temp_glob(STATE_FILE)):
                leftover.unlink()
        if path.exists() and any(path.iterdir()):
            raise WorkspaceError(f"{path} is not empty.", "Choose a new or empty folder.")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkspaceError(
                f"Cannot create the folder {path}: {exc.strerror or exc}.",
                "Check that its parent folder exists, is a folder, and that you may write there.",
            ) from exc
        protect_folder(path)  # when the drive cannot, said once; the key is encrypted anyway
        import uuid

        now = _now()
        state = RenewalState(
            id=uuid.uuid4().hex, created=now, updated=now, stage=Stage.NEW, request=spec
        )
        ws = cls(path, state)
        ws._save_state()
        ws.log(
            "created",
            common_name=spec.subject.common_name,
            names=list(spec.all_sans()),
            key_type=spec.key_type.value,
        )
        return ws

    @classmethod
    def open(cls, path: Path) -> Workspace:
        path = Path(path)
        state_file = path / STATE_FILE
        if not path.exists():
            raise WorkspaceError(
                f"{path} does not exist.",
                "Check the folder name; `accert list` shows your renewals and their folders.",
            )
        if not path.is_dir():
            raise WorkspaceError(
                f"{path} is a file, not a renewal folder.",
                "Give the folder accert created for the renewal (it holds renewal.json).",
            )
        if not state_file.is_file():
            raise WorkspaceError(
                f"{path} is not an accert renewal folder (no {STATE_FILE} in it).",
                "Pick the folder that accert created for the renewal.",
            )
        try:
            text = state_file.read_text("utf-8")
        except OSError as exc:
            raise WorkspaceError(f"Cannot read {state_file}: {exc.strerror}.", "") from exc
        ws = cls(path, RenewalState.from_json(text, state_file))
        ws._recover()
        return ws

    def _recover(self) -> None:
        """Bring the state in line with the files after an interrupted step."""
        if (
            self.state.stage is Stage.NEW
            and (self.path / KEY_FILE).exists()
            and (self.path / CSR_FILE).exists()
        ):
            self._update(stage=Stage.REQUESTED)
            self.log("recovered", detail="key and CSR were written before an interruption")

    # --- files -------------------------------------------------------------------------------

    @property
    def stem(self) -> str:
        return file_stem(self.state.request.subject.common_name)

    @property
    def backups_dir(self) -> Path:
        path = self.path / BACKUP_DIR
        path.mkdir(exist_ok=True)
        return path

    @property
    def exports_dir(self) -> Path:
        """The default export folder: in the renewal, unless OneDrive syncs it (an unencrypted
        key must not go to the cloud by default): then under the profile folder."""
        from app import onedrive

        if onedrive.synced_root(self.path) is not None:
            return onedrive.local_exports_root() / self.path.name
        return self.path / EXPORT_DIR

    @property
    def log_path(self) -> Path:
        return self.path / LOG_FILE

    def log(self, event: str, **fields: Any) -> None:
        """Append one line to the renewal's log. Secrets are redacted; keys never logged."""
        # Redacted by structure before encoding; then peer text escaped, then JSON.
        record = _escaped(redact_fields({"at": _now(), "event": event, **fields}))
        append_line(self.log_path, json.dumps(record, ensure_ascii=False, default=str))

    def read_log(self) -> list[dict[str, Any]]:
        if not self.log_path.exists():
            return []
        entries: list[dict[str, Any]] = []
        for line in self.log_path.read_text("utf-8").splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue  # a line cut by a crash: skip it, keep the rest
        return entries

    def _save_state(self) -> None:
        atomic_write_text(self.path / STATE_FILE, self.state.to_json())

    def _update(self, **changes: Any) -> None:
        self.state = replace(self.state, updated=_now(), **changes)
        self._save_state()

    def update_request(self, spec: RequestSpec) -> None:
        """Change the names before the key exists; after that a new renewal is needed."""
        if self.state.stage is not Stage.NEW:
            raise WorkspaceError(
                "The CSR has been made; its names can no longer change.",
                "Start a new renewal for different names.",
            )
        self._update(request=require_valid(spec))

    def record_deployment(self, record: dict[str, Any]) -> None:
        """Deployments (devices, OVOC) append what they did here."""
        self._update(
            deployments=(*self.state.deployments, {"at": _now(), **record}),
            stage=Stage.DEPLOYED if record.get("ok") else self.state.stage,
        )

    def record_acme(self, record: dict[str, Any]) -> None:
        """What `accert acme` did: the settings (never the HMAC) and the CA's account URL."""
        self._update(acme=dict(record))

    def set_lineage(self, *, renews: str | None = None, renewed_by: str | None = None) -> None:
        """`accert renew` links a renewal and its successor both ways."""
        changes = {"renews": renews, "renewed_by": renewed_by}
        self._update(**{k: v for k, v in changes.items() if v is not None})

    # --- the key ---------------------------------------------------------------------------

    def _passphrase_value(self) -> str:
        if self._passphrase is None:
            self._passphrase = key_passphrase.existing(
                self.state.id, self.state.passphrase_source, str(self.path)
            )
        return self._passphrase

    def has_key(self) -> bool:
        return (self.path / KEY_FILE).exists()

    def private_key(self) -> keys.PrivateKey:
        from app import keys

        key_file = self.path / KEY_FILE
        if not key_file.exists():
            raise WorkspaceError(
                f"{self.path} has no private key yet.", "Generate the key and CSR first."
            )
        pem = key_file.read_bytes()
        key = keys.load_at_rest(pem, self._passphrase_value(), str(key_file))
        from app.pkcs8_encryption import kdf_of

        if kdf_of(pem) != "scrypt":
            # Written by an older accert (PBKDF2, 2048 rounds): re-encrypted once with scrypt.
            try:
                atomic_write(key_file, self._encrypted(key), secret=True)
            except OSError:
                pass  # a read-only folder keeps the old protection; reading still works
            else:
                self.log("key-re-encrypted", kdf="scrypt")
        return key

    def _encrypted(self, key: keys.PrivateKey) -> bytes:
        from app import keys

        person_chosen = self.state.passphrase_source != key_passphrase.KEYRING
        return keys.encrypt_at_rest(key, self._passphrase_value(), person_chosen=person_chosen)

    def _ensure_passphrase(self) -> str:
        """The passphrase the key will be encrypted with, found or made before the key is:
        one refused (too short, no terminal to ask on) then costs nothing."""
        if self.state.passphrase_source:
            return self._passphrase_value()
        passphrase, source = key_passphrase.new(self.state.id)
        self._passphrase = passphrase
        self._update(passphrase_source=source)
        return passphrase

    def _store_key(self, key: keys.PrivateKey) -> None:
        self._ensure_passphrase()
        atomic_write(self.path / KEY_FILE, self._encrypted(key), secret=True, overwrite=False)

    def generate(self, progress: Progress | None = None) -> csr.CsrSummary:
        """Make the key (once: an existing key is reused, never replaced) and the CSR."""
        from app import csr, keys

        say = progress or (lambda _msg: None)
        if self.state.key_origin != "local":
            raise WorkspaceError("This renewal's key was not made here; no CSR can be made.", "")
        if self.has_key():
            say("Reading the existing private key")
            key = self.private_key()
        else:
            self._ensure_passphrase()
            say(f"Generating the {self.state.request.key_type.label} private key")
            key = keys.generate(self.state.request.key_type)
            say("Encrypting and saving the private key")
            self._store_key(key)
        say("Building the certificate signing request")
        request = csr.build(key, self.state.request)
        atomic_write(self.path / CSR_FILE, csr.to_pem(request))
        summary = csr.summarise(request)
        if not self.state.stage.at_least(Stage.REQUESTED):
            self._update(stage=Stage.REQUESTED)
        self.log(
            "csr-created",
            key=summary.key,
            names=list(summary.sans),
            key_sha256=summary.public_key_sha256,
        )
        return summary

    def adopt_device_csr(self, csr_pem: bytes, device: str) -> csr.CsrSummary:
        """A key that never leaves the device: keep the device's CSR as this renewal's request.

        The CA's answer is then checked against the CSR's public key, and deployments send
        only the certificate and chain.
        """
        from app import csr

        if self.state.stage is not Stage.NEW or self.has_key():
            raise WorkspaceError(
                "This renewal already has its own key and CSR.",
                "Start a new renewal for a key made on the device.",
            )
        request = csr.load(csr_pem, f"the CSR from {device}")
        if not request.is_signature_valid:
            raise WorkspaceError(
                f"The CSR from {device} has an invalid signature.", "Ask the device for a new CSR."
            )
        atomic_write(self.path / CSR_FILE, csr.to_pem(request))
        self._update(key_origin="device", stage=Stage.REQUESTED)
        summary = csr.summarise(request)
        self.log(
            "device-csr-adopted",
            device=device,
            key=summary.key,
            key_sha256=summary.public_key_sha256,
        )
        return summary

    @property
    def csr_pem(self) -> bytes:
        path = self.path / CSR_FILE
        if not path.exists():
            raise WorkspaceError(f"{self.path} has no CSR yet.", "Generate the key and CSR first.")
        return path.read_bytes()

    def csr_summary(self) -> csr.CsrSummary:
        from app import csr

        return csr.summarise(csr.load(self.csr_pem, str(self.path / CSR_FILE)))

    def _public_key(self) -> Any:
        from app import csr

        if (self.path / CSR_FILE).exists():
            return csr.load(self.csr_pem, CSR_FILE).public_key()
        return self.private_key().public_key()

    # --- the CA response -------------------------------------------------------------------

    def analyse_response(
        self,
        sources: list[ca_response.Source],
        *,
        fetch_missing: bool = False,
        fetcher: Callable[[str, float], bytes] | None = None,
        platforms: Sequence[str] = (),
    ) -> ImportOutcome:
        """Read and judge the CA's files without changing anything. The certificate is also
        judged by each calling platform named, or else those the saved devices name."""
        from app import ca_response
        from app import chain as chains
        from app.response_check import analyse

        if not self.state.stage.at_least(Stage.REQUESTED):
            raise WorkspaceError(
                "There is no CSR yet to match a certificate against.",
                "Generate the key and CSR first.",
            )
        parsed = ca_response.parse(sources)
        names = self.state.request.all_sans()
        outcome = analyse(parsed, self._public_key(), names)
        rounds = 0
        while (
            fetch_missing
            and outcome.report
            and not outcome.complete
            and outcome.aia_url
            and (rounds < 3)
        ):
            rounds += 1
            fetched = chains.fetch_issuer(outcome.aia_url, get=fetcher)
            for cert in fetched:
                parsed.add(cert, outcome.aia_url)
            outcome = analyse(parsed, self._public_key(), names)
        if outcome.matches_key:
            from app.mediant.devices import load_devices
            from app.platform_checks import with_platform_warnings

            outcome = with_platform_warnings(outcome, platforms, load_devices())
        if parsed.private_key is not None:
            # Every renewal that can import has its key here (encrypted) or on the device, so
            # a key sent with the response is never needed: it is dropped, never kept in clear.
            note = (
                "The response also holds a private key: it is not kept (this renewal uses its "
                "own key), and the response files are kept without it."
            )
            outcome = replace(outcome, notes=(*outcome.notes, note))
        return outcome

    def accept_response(self, outcome: ImportOutcome, sources: list[ca_response.Source]) -> None:
        """Keep the response files as they came and the ordered chain; move on to export."""
        from cryptography.hazmat.primitives import serialization

        from app import ca_response
        from app.fingerprints import cert_sha256

        if not outcome.matches_key:
            raise KeyMismatch(outcome.problems[0], "")
        if outcome.problems or outcome.report is None:
            raise ChainProblem(" ".join(outcome.problems), "")
        report = outcome.report
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        saved: list[str] = []
        pem = serialization.Encoding.PEM
        for index, source in enumerate(sources, start=1):
            if source.password is not None or source.name.lower().endswith((".pfx", ".p12")):
                continue  # a PFX holds a key: never copied into the folder in that form
            safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(source.name).name) or "pasted.txt"
            data = source.data
            # Only a file that may carry a key is read again (a PEM key block, a ZIP).
            maybe_key = _has_key_block(data) or data.startswith(b"PK\x03\x04")
            held = ca_response.parse([source]) if maybe_key else None
            if held is not None and (held.private_key is not None or _has_key_block(data)):
                # Only the certificates are kept: the folder is often synced (OneDrive), and a
                # key is stored encrypted or not at all.
                data = b"".join(c.public_bytes(pem) for c in held.certificates)
                safe = f"{Path(safe).stem}-certificates.pem"
            name = f"{RESPONSE_DIR}/{stamp}-{index}-{safe}"
            atomic_write(self.path / name, data)
            saved.append(name)
        atomic_write(self.path / CERT_FILE, report.leaf.public_bytes(pem))
        atomic_write(
            self.path / CHAIN_FILE, b"".join(c.public_bytes(pem) for c in report.chain[1:])
        )
        self._update(
            stage=Stage.ISSUED if not self.state.stage.at_least(Stage.ISSUED) else self.state.stage,
            leaf_sha256=cert_sha256(report.leaf),
            leaf_not_after=report.leaf.not_valid_after_utc.isoformat(),
            responses=(*self.state.responses, *saved),
        )
        self.log(
            "certificate-imported",
            sha256=cert_sha256(report.leaf),
            chain=[c.common_name for c in outcome.chain],
            complete=outcome.complete,
            warnings=list(outcome.warnings),
            files=saved,
        )

    def import_response(
        self,
        sources: list[ca_response.Source],
        *,
        fetch_missing: bool = False,
        fetcher: Callable[[str, float], bytes] | None = None,
    ) -> ImportOutcome:
        outcome = self.analyse_response(sources, fetch_missing=fetch_missing, fetcher=fetcher)
        self.accept_response(outcome, sources)
        return outcome

    # --- the certificate -------------------------------------------------------------------

    def certificate(self) -> x509.Certificate:
        from cryptography import x509

        path = self.path / CERT_FILE
        if not path.exists():
            raise WorkspaceError(
                f"{self.path} has no certificate yet.", "Import the CA's response first."
            )
        return x509.load_pem_x509_certificate(path.read_bytes())

    def ca_certificates(self) -> list[x509.Certificate]:
        from cryptography import x509

        path = self.path / CHAIN_FILE
        data = path.read_bytes() if path.exists() else b""
        return x509.load_pem_x509_certificates(data) if data.strip() else []

    def split_chain(self) -> tuple[list[x509.Certificate], x509.Certificate | None]:
        from app import chain as chains

        cas = self.ca_certificates()
        if cas and chains.is_self_signed(cas[-1]):
            return cas[:-1], cas[-1]
        return cas, None

    def export(self, folder: Path | None, options: ExportOptions) -> ExportResult:
        from app.export import export as write_exports

        folder = Path(folder) if folder else self.exports_dir
        leaf = self.certificate()
        intermediates, root = self.split_chain()
        key = self.private_key() if self.state.key_origin != "device" else None
        result = write_exports(folder, self.stem, key, leaf, intermediates, root, options)
        record = {
            "at": _now(),
            "folder": str(folder),
            "files": [f.path.name for f in result.files],
            # What `accert renew` needs to export the successor the same way (never the password).
            "artifacts": sorted(a.value for a in options.artifacts),
            "key_format": options.key_format.value,
            "with_password": options.password is not None,
        }
        stage = self.state.stage if self.state.stage.at_least(Stage.EXPORTED) else Stage.EXPORTED
        self._update(exports=(*self.state.exports, record), stage=stage)
        self.log("exported", folder=str(folder), files=record["files"], checks=list(result.checks))
        return result

    def deploy_material(self, *, with_key: bool = True) -> DeployMaterial:
        """What a deployment takes; without the key (no passphrase needed) for verifying."""
        from cryptography.hazmat.primitives import serialization

        from app import keys
        from app.fingerprints import cert_sha256
        from app.material import DeployMaterial

        leaf = self.certificate()
        intermediates, root = self.split_chain()
        pem = serialization.Encoding.PEM
        key_pem = b""
        key_description = ""
        if with_key and self.state.key_origin != "device":
            key = self.private_key()
            key_pem = keys.apache_pem(key)
            key_description = keys.describe(key)
        return DeployMaterial(
            name=self.stem,
            cert_pem=leaf.public_bytes(pem),
            intermediates_pem=tuple(c.public_bytes(pem) for c in intermediates),
            root_pem=root.public_bytes(pem) if root else None,
            leaf_sha256=cert_sha256(leaf),
            key_pem=key_pem,
            key_description=key_description,
        )


def new_request(
    spec: RequestSpec, path: Path | None = None, progress: Progress | None = None
) -> tuple[Workspace, csr.CsrSummary]:
    """A new renewal with its key and CSR, all or nothing: when making them fails (a refused
    passphrase, an interruption) no half-made folder is left behind (a folder the user gave
    empty is emptied again)."""
    existed = path is not None and Path(path).exists()
    ws = Workspace.create(spec, path)
    try:
        return ws, ws.generate(progress)
    except BaseException:
        _undo_create(ws, existed)
        raise


def _undo_create(ws: Workspace, keep_folder: bool) -> None:
    import shutil

    if ws.state.passphrase_source == key_passphrase.KEYRING:
        key_passphrase.forget(ws.state.id)
    if not keep_folder:
        shutil.rmtree(ws.path, ignore_errors=True)
        return
    for child in ws.path.iterdir():  # it was empty when Workspace.create checked: all ours
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def create_from_pfx(source: ca_response.Source, path: Path | None = None) -> Workspace:
    """A renewal done elsewhere: take the key and chain from its PFX, to re-export or deploy."""
    from app import ca_response, csr
    from app import chain as chains

    parsed = ca_response.parse([source])
    if parsed.private_key is None:
        raise InputError(
            f"{source.name} holds no private key.", "Use a PFX exported *with* the private key."
        )
    key = parsed.private_key
    leaf = chains.find_leaf(parsed.certificates, key.public_key())
    if leaf is None:
        raise KeyMismatch(f"The key in {source.name} matches none of its certificates.", "")
    from app.checks import cn_of

    names = csr.sans_of(leaf.extensions)
    cn = cn_of(leaf)
    spec = RequestSpec(
        Subject(common_name=cn),
        tuple(n for n in names if n != cn),
        _key_type_of(key),
        include_bare_domain=False,
    )
    ws = Workspace.create(spec, path)
    ws._update(key_origin="pfx")
    ws._store_key(key)
    ws._update(stage=Stage.REQUESTED)
    ws.log("pfx-opened", file=source.name)
    pfx_free = ca_response.Source(source.name, source.data, source.password)
    ws.import_response([pfx_free])
    return ws


def _key_type_of(key: keys.PrivateKey) -> KeyType:
    from cryptography.hazmat.primitives.asymmetric import rsa

    if isinstance(key, rsa.RSAPrivateKey):
        return {3072: KeyType.RSA3072, 4096: KeyType.RSA4096}.get(key.key_size, KeyType.RSA2048)
    return KeyType.EC384 if key.curve.key_size >= 384 else KeyType.EC256
