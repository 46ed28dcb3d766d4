"""One unattended renewal: find the newest of the lineage, decide, then request, order, export,
deploy and report, each step recorded so that a run killed anywhere resumes where it stopped.

The successor's folder holds `renew-run.json`: why it was made, the plan copied from its
predecessor and each step's outcome. A step already done is not done again; a failed device is
tried again on the next run; a finished run whose every step succeeded is left alone, and then
the question is again only whether its certificate is due.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from app.atomic import atomic_write_text
from app.errors import AccertError, WorkspaceError
from app.export import Artifact, ExportOptions, KeyFormat
from app.renewal import credentials
from app.renewal.due import DEFAULT_DAYS, AriLookup, Due, acme_renewal_time, check_due
from app.renewal.lineage import newest, same_folder
from app.renewal.plan import OvocPlan, RenewalPlan, SbcPlan, plan_for
from app.workspace import STATE_FILE, Stage, Workspace, default_path

RUN_FILE = "renew-run.json"
RESUMED = "resumed after an interruption"

Say = Callable[[str], None]
# (successor workspace, the predecessor's recorded ACME settings, progress) -> None; raises
Issuer = Callable[[Workspace, dict[str, Any], Say], None]


@dataclass(frozen=True)
class RenewOptions:
    days: int = DEFAULT_DAYS
    force: bool = False
    dry_run: bool = False
    passwords: credentials.PasswordSources = field(default_factory=credentials.PasswordSources)


@dataclass(frozen=True)
class StepResult:
    key: str  # "request", "issue", "export", "sbc:host:port", "ovoc:host:port"
    kind: str  # request | issue | export | sbc | ovoc
    target: str  # what a person calls it
    ok: bool
    message: str
    hint: str = ""
    old_sha256: str = ""
    new_sha256: str = ""
    served_sha256: str = ""  # what the device serves now (a real handshake)
    backup: str = ""
    elapsed_s: float = 0.0
    nothing_sent: bool = False  # skipped before anything reached the device
    at: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepResult:
        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class RenewOutcome:
    source: Path  # the renewal named on the command line
    status: str  # not-due | renewed | failed | dry-run
    message: str
    renewal: Path | None = None  # the newest renewal checked, or the successor made
    predecessor: Path | None = None
    due: Due | None = None
    steps: tuple[StepResult, ...] = ()
    plan: RenewalPlan | None = None
    report_json: Path | None = None
    report_html: Path | None = None
    started: str = ""
    finished: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def acme_settings(ws: Workspace) -> dict[str, Any] | None:
    """How `ws`'s certificate was ordered (recorded by `accert acme`), or None."""
    recorded = getattr(ws.state, "acme", None)
    settings = recorded.get("settings") if isinstance(recorded, dict) else None
    return dict(settings) if isinstance(settings, dict) and settings else None


# --- the run record -----------------------------------------------------------------------------


@dataclass
class RunRecord:
    renews: str
    started: str
    reason: str
    plan: RenewalPlan
    steps: dict[str, StepResult] = field(default_factory=dict)
    finished: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.finished) and all(s.ok for s in self.steps.values())

    def done(self, key: str) -> bool:
        step = self.steps.get(key)
        return step is not None and step.ok

    def to_json(self) -> str:
        data = {
            "renews": self.renews,
            "started": self.started,
            "reason": self.reason,
            "plan": self.plan.to_dict(),
            "steps": {k: asdict(v) for k, v in self.steps.items()},
            "finished": self.finished,
            "ok": self.ok,
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def load(cls, folder: Path) -> RunRecord | None:
        path = folder / RUN_FILE
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text("utf-8"))
            return cls(
                renews=str(data["renews"]),
                started=str(data["started"]),
                reason=str(data.get("reason", "")),
                plan=RenewalPlan.from_dict(data.get("plan", {})),
                steps={k: StepResult.from_dict(v) for k, v in data.get("steps", {}).items()},
                finished=str(data.get("finished", "")),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise WorkspaceError(
                f"{path} is damaged ({type(exc).__name__}).",
                f"Delete {path}; the next run starts its steps again (done steps are found "
                "in renewal.json).",
            ) from exc

    def save(self, folder: Path) -> None:
        atomic_write_text(folder / RUN_FILE, self.to_json())


# --- deciding -----------------------------------------------------------------------------------


def _unfinished_run(head: Workspace, previous: Workspace | None) -> RunRecord | None:
    """A successor whose run has not finished, or finished with a failure: to resume."""
    if not head.state.renews and previous is None:
        return None
    record = RunRecord.load(head.path)
    if record is None:
        # Killed between making the folder and writing its record: start the record now.
        parent = Workspace.open(Path(head.state.renews)) if head.state.renews else previous
        assert parent is not None
        return RunRecord(str(parent.path), _now(), RESUMED, plan_for(parent))
    return None if record.ok else record


def renew(
    path: Path,
    options: RenewOptions,
    *,
    issuer: Issuer | None = None,
    ari: AriLookup | None = acme_renewal_time,
    say: Say = lambda _m: None,
) -> RenewOutcome:
    """Renew the lineage of the renewal at `path` if due (or forced). Raises AccertError only
    for what stops before anything happens (no such renewal, not an ACME one, bad settings)."""
    started = _now()
    source = Path(path)
    head = newest(Workspace.open(source))
    if head.pending is not None:
        # A kill after the predecessor named its successor and before the folder existed.
        return _run(head.workspace, head.pending, None, options, issuer, say, started, source)
    current = head.workspace
    if not same_folder(current.path, source):
        say(f"{source} was renewed; its newest renewal is {current.path}")
    record = _unfinished_run(current, head.previous)
    if record is not None:
        parent = Workspace.open(Path(record.renews))
        return _run(parent, current.path, record, options, issuer, say, started, source)
    settings = acme_settings(current)
    if settings is None:
        raise WorkspaceError(
            f"The certificate of {current.path} did not come by ACME, so accert cannot order "
            "its successor.",
            f"Get it once with accert acme {current.path} ...; renew then repeats that order.",
        )
    if not current.state.stage.at_least(Stage.ISSUED):
        raise WorkspaceError(
            f"{current.path} has no certificate yet ({current.state.stage.label}).",
            f"Finish it first: accert acme {current.path} ...",
        )
    due = check_due(
        current.certificate(),
        days=options.days,
        directory=str(settings.get("directory", "")),
        ca_bundle=str(settings.get("ca_bundle", "")),
        ari=ari,
    )
    if not due.due and not options.force:
        return RenewOutcome(source, "not-due", due.reason, current.path, None, due, started=started)
    reason = due.reason if due.due else f"forced (--force): {due.reason}"
    plan = plan_for(current)
    if options.dry_run:
        return _dry_run(source, current, plan, reason, due, options, started)
    target = default_path(current.state.request.subject.common_name, current.path.parent)
    record = RunRecord(str(current.path), started, reason, plan)
    return _run(current, target, record, options, issuer, say, started, source, due)


def _dry_run(
    source: Path,
    ws: Workspace,
    plan: RenewalPlan,
    reason: str,
    due: Due,
    options: RenewOptions,
    started: str,
) -> RenewOutcome:
    steps = [
        StepResult("request", "request", "new key and CSR", True,
                   f"would make a new {ws.state.request.key_type.label} key and CSR for "
                   f"{', '.join(ws.state.request.all_sans())} in a new folder beside {ws.path}"),
        StepResult("issue", "issue", "ACME order", True,
                   f"would order from {(acme_settings(ws) or {}).get('directory', '?')} with the "
                   "stored ACME account"),
    ]  # fmt: skip
    missing = _missing_passwords(plan, options.passwords)
    if plan.export:
        steps.append(
            StepResult("export", "export", plan.export.folder, "export" not in missing,
                       f"would export {plan.export.describe()}", missing.get("export", ""))
        )  # fmt: skip
    targets: list[SbcPlan | OvocPlan] = [*plan.sbcs, *plan.ovocs]
    for t in targets:
        steps.append(
            StepResult(t.key, "sbc" if isinstance(t, SbcPlan) else "ovoc", t.label,
                       t.key not in missing, f"would deploy to {t.describe()}",
                       missing.get(t.key, ""), old_sha256=ws.state.leaf_sha256)
        )  # fmt: skip
    return RenewOutcome(
        source, "dry-run", f"Would renew: {reason}", ws.path, None, due, tuple(steps), plan,
        started=started, finished=_now(),
    )  # fmt: skip


def _missing_passwords(plan: RenewalPlan, sources: credentials.PasswordSources) -> dict[str, str]:
    """What a run would lack, found without sending anything."""
    missing: dict[str, str] = {}

    def check(key: str, get: Callable[[], str]) -> None:
        try:
            get()
        except AccertError as exc:
            missing[key] = f"{exc.message} {exc.hint}".strip()

    if plan.export and plan.export.needs_password:
        export = plan.export
        check("export", lambda: credentials.export_password(export.folder, sources))
    for s in plan.sbcs:
        check(s.key, lambda s=s: credentials.device_password(s.host, s.port, s.user, sources))  # type: ignore[misc]
    for o in plan.ovocs:
        if not o.key_file:
            check(o.key, lambda o=o: credentials.ovoc_password(o.host, o.port, o.user, sources))  # type: ignore[misc]
        if o.key not in missing:
            check(o.key, lambda o=o: credentials.ovoc_root_password(o.host, o.port, sources))  # type: ignore[misc]
    return missing


# --- doing --------------------------------------------------------------------------------------


def _successor(parent: Workspace, target: Path) -> Workspace:
    """Open or make the successor at `target`, linked both ways (each link written once)."""
    if not parent.state.renewed_by:
        parent.set_lineage(renewed_by=str(target))  # first: a kill after it still finds target
    if (target / STATE_FILE).exists():
        ws = Workspace.open(target)
    else:  # also where a kill cut its first renewal.json: create() clears that
        ws = Workspace.create(parent.state.request, target)
    if not ws.state.renews:
        ws.set_lineage(renews=str(parent.path))
    return ws


def _run(
    parent: Workspace,
    target: Path,
    record: RunRecord | None,
    options: RenewOptions,
    issuer: Issuer | None,
    say: Say,
    started: str,
    source: Path,
    due: Due | None = None,
) -> RenewOutcome:
    if record is None:
        record = RunRecord(str(parent.path), started, RESUMED, plan_for(parent))
    if options.dry_run:
        return RenewOutcome(
            source, "dry-run",
            f"Would resume the unfinished renewal {target} ({record.reason})",
            target, parent.path, due, tuple(record.steps.values()), record.plan, started=started,
        )  # fmt: skip
    say(f"Renewing {parent.path}: {record.reason}")
    ws = _successor(parent, target)
    record.finished = ""
    record.save(ws.path)
    old_sha = parent.state.leaf_sha256

    def step(key: str, kind: str, label: str, action: Callable[[], StepResult | str]) -> bool:
        if record.done(key):
            return True
        say(f"{label}...")
        start = time.monotonic()
        try:
            outcome = action()
        except AccertError as exc:
            sent = kind not in ("sbc", "ovoc")
            result = StepResult(
                key, kind, label, False, exc.message, exc.hint, old_sha, nothing_sent=not sent
            )
        else:
            result = (
                outcome
                if isinstance(outcome, StepResult)
                else StepResult(key, kind, label, True, outcome, old_sha256=old_sha)
            )
        result = replace(result, elapsed_s=round(time.monotonic() - start, 3), at=_now())
        record.steps[key] = result
        record.save(ws.path)
        say(f"  {'done' if result.ok else 'FAILED'}: {result.message}")
        return result.ok

    def request() -> str:
        summary = ws.generate(progress=lambda m: say(f"  {m}"))
        return f"new {summary.key} key and CSR for {', '.join(summary.sans)}"

    def issue() -> str:
        if ws.state.stage.at_least(Stage.ISSUED):
            return f"certificate {ws.state.leaf_sha256} already imported"
        settings = acme_settings(parent)
        if settings is None:
            raise WorkspaceError(f"{parent.path} records no ACME settings.", "")
        (issuer or _default_issuer)(ws, settings, say)
        fresh = Workspace.open(ws.path)
        if not fresh.state.stage.at_least(Stage.ISSUED):
            raise WorkspaceError("The ACME order ended without a certificate.", "Run again.")
        completed = _complete_chain(fresh, parent)
        return (
            f"certificate {fresh.state.leaf_sha256} issued and imported (checks passed){completed}"
        )

    ok = step("request", "request", "new key and CSR", request)
    ok = ok and step("issue", "issue", "ACME order", issue)
    if ok:
        ws = Workspace.open(ws.path)  # the issuer wrote through its own handle
        new_sha = ws.state.leaf_sha256
        plan = record.plan
        if plan.export:
            export = plan.export
            step(
                "export",
                "export",
                f"export to {export.folder}",
                lambda: _export(ws, export, options),
            )
        for sbc in plan.sbcs:
            step(sbc.key, "sbc", sbc.label,
                 lambda sbc=sbc: _deploy_sbc(ws, sbc, options, old_sha, new_sha))  # type: ignore[misc]  # fmt: skip
        for ovoc in plan.ovocs:
            step(ovoc.key, "ovoc", ovoc.label,
                 lambda ovoc=ovoc: _deploy_ovoc(ws, ovoc, options, old_sha, new_sha))  # type: ignore[misc]  # fmt: skip
    record.finished = _now()
    record.save(ws.path)
    ws.log("renew", renews=str(parent.path), ok=record.ok,
           failed=[k for k, s in record.steps.items() if not s.ok])  # fmt: skip
    failed = [s for s in record.steps.values() if not s.ok]
    if not failed:
        message = f"{ws.path} replaces {parent.path}."
    elif record.done("issue"):
        message = (f"Renewed with {len(failed)} failure(s): the new certificate is ready in "
                   f"{ws.path}; see each failure.")  # fmt: skip
    else:
        message = f"Renewal of {parent.path} failed: {failed[0].message}"
    return RenewOutcome(
        source, "renewed" if not failed else "failed", message, ws.path, parent.path, due,
        tuple(record.steps.values()), record.plan, started=record.started, finished=record.finished,
    )  # fmt: skip


def _complete_chain(ws: Workspace, parent: Workspace) -> str:
    """ACME CAs send the chain without its root (Let's Encrypt, pebble), and OVOC's import
    needs the root. The root accepted for the predecessor completes the successor's chain when
    it signed the chain's top; the result passes `accert import`'s checks again, or stays as
    the CA sent it."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.serialization import Encoding

    from app.ca_response import Source

    intermediates, root = ws.split_chain()
    _, parent_root = parent.split_chain()
    if root is not None or parent_root is None:
        return ""
    leaf = ws.certificate()
    top = intermediates[-1] if intermediates else leaf
    try:
        top.verify_directly_issued_by(parent_root)
    except (ValueError, TypeError, InvalidSignature):
        return ""  # another root now: the chain stays as the CA sent it
    pem = b"".join(c.public_bytes(Encoding.PEM) for c in (leaf, *intermediates, parent_root))
    try:
        ws.import_response([Source("chain-with-known-root.pem", pem)])
    except AccertError:
        return ""
    return f"; chain completed with the root accepted for {parent.path.name}"


def _default_issuer(ws: Workspace, settings: dict[str, Any], say: Say) -> None:
    from app.acme.issue import issue
    from app.acme.settings import AcmeSettings

    # The stored account is used: no EAB secret is needed for a later order.
    acme = AcmeSettings.from_dict(settings)
    issue(ws, acme, progress=say)
    if acme.dns_method == "rfc2136":
        from app.acme.dns.rfc2136 import keep_secret

        try:  # the key file's secret, changed or not, is there for when the file is gone
            keep_secret(acme)
        except AccertError as exc:
            say(f"  The TSIG key's secret could not be kept in the credential store: {exc.message}")


def _export(ws: Workspace, plan_export: Any, options: RenewOptions) -> str:
    password = None
    if plan_export.needs_password:
        password = credentials.export_password(plan_export.folder, options.passwords)
    result = ws.export(
        Path(plan_export.folder),
        ExportOptions(
            frozenset(Artifact(a) for a in plan_export.artifacts),
            password,
            KeyFormat(plan_export.key_format),
            overwrite=True,  # the successor's files replace its predecessor's, as planned
        ),
    )
    names = ", ".join(f.path.name for f in result.files)
    return f"{len(result.files)} file(s) to {result.folder} ({names}), read back and checked"


def _deploy_sbc(
    ws: Workspace, plan: SbcPlan, options: RenewOptions, old_sha: str, new_sha: str
) -> StepResult:
    from app.mediant.deploy import DeviceTarget
    from app.mediant.glue import deploy_to_device

    password = credentials.device_password(plan.host, plan.port, plan.user, options.passwords)
    target = DeviceTarget(
        host=plan.host, port=plan.port, user=plan.user, password=password,
        contexts=plan.contexts, verify_ports=plan.verify_ports, reset=plan.reset,
        fingerprint=None,  # the pin recorded by the last deployment, never a new trust
        trust_system=plan.trust_system, name=plan.name,
        platforms=plan.platforms, add_platform_roots=plan.add_platform_roots, fqdn=plan.fqdn,
    )  # fmt: skip
    result = deploy_to_device(ws, target)
    untrusted = result.error_kind == "DeviceUntrusted"
    hint = result.hint
    if untrusted:
        hint = (
            "Nothing was sent: the device no longer presents the certificate trusted for it. "
            "If it was replaced on purpose, check the fingerprint on the device and deploy once "
            f"with accert deploy-sbc {ws.path} --host {plan.host}:{plan.port} --fingerprint ..."
        )
    return StepResult(
        plan.key, "sbc", plan.label, result.ok, result.message, hint,
        old_sha256=old_sha, new_sha256=new_sha, served_sha256=result.served_sha256,
        backup=result.backup_path, nothing_sent=untrusted or not result.backup_path,
    )  # fmt: skip


def _deploy_ovoc(
    ws: Workspace, plan: OvocPlan, options: RenewOptions, old_sha: str, new_sha: str
) -> StepResult:
    from app.ovoc.deploy import OvocTarget
    from app.ovoc.glue import deploy_workspace_to_ovoc
    from app.ovoc.profile import load_profile
    from app.ovoc.ssh import SshTarget

    sources = options.passwords
    password = None
    if not plan.key_file:
        password = credentials.ovoc_password(plan.host, plan.port, plan.user, sources)
    root = credentials.ovoc_root_password(plan.host, plan.port, sources)
    source = plan.profile_source
    profile = load_profile(source if source and Path(source).is_file() else plan.profile)
    ssh = SshTarget(
        host=plan.host, port=plan.port, user=plan.user, password=password,
        key_file=Path(plan.key_file) if plan.key_file else None,
        host_key_pin=None,  # accert's known-hosts decides; a changed key is refused
    )  # fmt: skip
    target = OvocTarget(
        ssh, root_password=root, verify_host=plan.verify_host or None,
        verify_port=plan.verify_port, verify_wait=plan.verify_wait,
        directory_mode=plan.directory_mode, force_scp=plan.force_scp,
    )  # fmt: skip
    result = deploy_workspace_to_ovoc(ws, target, profile)
    moved = result.transfer.moved_aside_to
    return StepResult(
        plan.key, "ovoc", plan.label, True,
        f"{result.success_line}; {result.served.host}:{result.served.port} serves the new "
        "certificate",
        old_sha256=old_sha, new_sha256=new_sha, served_sha256=result.served.leaf_sha256,
        backup=f"{plan.host}:{moved}" if moved else "",
    )  # fmt: skip
