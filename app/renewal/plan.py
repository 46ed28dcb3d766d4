"""What a successor must do, read from what its predecessor recorded.

"Exported as WS was last exported" and "deployed to every device WS was successfully deployed
to" come from renewal.json: the last export's folder and options, and the settings of each
successful deployment. Records that say too little (made before accert recorded settings, a
manual deployment, a device-made key) are listed as `skipped`, with what to do.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from app.errors import WorkspaceError
from app.export import Artifact, KeyFormat
from app.workspace import Workspace

NEEDS_PASSWORD = frozenset({Artifact.PFX, Artifact.PFX_LEGACY, Artifact.JKS})


@dataclass(frozen=True)
class ExportPlan:
    folder: str
    artifacts: tuple[str, ...]
    key_format: str = KeyFormat.APACHE.value

    @property
    def needs_password(self) -> bool:
        return bool({Artifact(a) for a in self.artifacts} & NEEDS_PASSWORD) or (
            self.key_format.endswith("encrypted")
        )

    def describe(self) -> str:
        return f"{', '.join(self.artifacts)} to {self.folder}"


@dataclass(frozen=True)
class SbcPlan:
    host: str
    port: int = 443
    user: str = "Admin"
    contexts: tuple[int, ...] = (0,)
    verify_ports: tuple[int, ...] = ()
    reset: bool = False
    trust_system: bool = False
    name: str = ""
    platforms: tuple[tuple[int, str], ...] = ()  # (context, platform): rules and roots
    add_platform_roots: bool = False
    fqdn: str = ""

    @property
    def key(self) -> str:
        return f"sbc:{self.host.lower()}:{self.port}"

    @property
    def label(self) -> str:
        return self.name or f"{self.host}:{self.port}"

    def describe(self) -> str:
        ctx = ", ".join(map(str, self.contexts))
        return f"SBC {self.label} as {self.user}, TLS context {ctx}"


@dataclass(frozen=True)
class OvocPlan:
    host: str
    port: int = 22
    user: str = "acems"
    key_file: str = ""
    profile: str = "ovoc-8"
    profile_source: str = ""
    verify_host: str = ""
    verify_port: int | None = None
    verify_wait: float | None = None
    directory_mode: int | None = None
    force_scp: bool = False

    @property
    def key(self) -> str:
        return f"ovoc:{self.host.lower()}:{self.port}"

    @property
    def label(self) -> str:
        return f"OVOC {self.host}" + ("" if self.port == 22 else f":{self.port}")

    def describe(self) -> str:
        return f"{self.label} as {self.user} (profile {self.profile})"


@dataclass(frozen=True)
class RenewalPlan:
    export: ExportPlan | None = None
    sbcs: tuple[SbcPlan, ...] = ()
    ovocs: tuple[OvocPlan, ...] = ()
    skipped: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RenewalPlan:
        export = data.get("export")
        return cls(
            export=ExportPlan(
                str(export["folder"]), tuple(export["artifacts"]), str(export["key_format"])
            )
            if export
            else None,
            sbcs=tuple(_sbc(s) for s in data.get("sbcs", ())),
            ovocs=tuple(_ovoc(o) for o in data.get("ovocs", ())),
            skipped=tuple(data.get("skipped", ())),
        )

    def lines(self) -> list[str]:
        out = [f"export {self.export.describe()}"] if self.export else ["no export to repeat"]
        targets: list[SbcPlan | OvocPlan] = [*self.sbcs, *self.ovocs]
        out += [f"deploy to {t.describe()}" for t in targets]
        out += [f"not repeated: {s}" for s in self.skipped]
        return out


def _sbc(s: dict[str, Any]) -> SbcPlan:
    return SbcPlan(
        host=str(s["host"]),
        port=int(s.get("port", 443)),
        user=str(s.get("user", "Admin")),
        contexts=tuple(int(c) for c in s.get("contexts", (0,))),
        verify_ports=tuple(int(p) for p in s.get("verify_ports", ())),
        reset=bool(s.get("reset", False)),
        trust_system=bool(s.get("trust_system", False)),
        name=str(s.get("name", "")),
        platforms=_platforms(s.get("platforms")),
        add_platform_roots=bool(s.get("add_platform_roots", False)),
        fqdn=str(s.get("fqdn") or ""),
    )


def _platforms(value: Any) -> tuple[tuple[int, str], ...]:
    """{"1": "teams"} as target_settings records it, or [[1, "teams"]] as the plan keeps it."""
    if isinstance(value, dict):
        return tuple(sorted((int(c), str(p)) for c, p in value.items()))
    if isinstance(value, list | tuple):
        return tuple((int(c), str(p)) for c, p in value)
    return ()


def _ovoc(o: dict[str, Any]) -> OvocPlan:
    def opt_int(v: Any) -> int | None:
        return None if v is None else int(v)

    return OvocPlan(
        host=str(o["host"]),
        port=int(o.get("port", 22)),
        user=str(o.get("user", "acems")),
        key_file=str(o.get("key_file") or ""),
        profile=str(o.get("profile") or "ovoc-8"),
        profile_source=str(o.get("profile_source") or ""),
        verify_host=str(o.get("verify_host") or ""),
        verify_port=opt_int(o.get("verify_port")),
        verify_wait=None if o.get("verify_wait") is None else float(o["verify_wait"]),
        directory_mode=opt_int(o.get("directory_mode")),
        force_scp=bool(o.get("force_scp", False)),
    )


def plan_for(ws: Workspace) -> RenewalPlan:
    """The successor of `ws` does what `ws` last did: its last export, its good deployments."""
    state = ws.state
    if state.key_origin == "device":
        raise WorkspaceError(
            f"The key of {ws.path} was made on a device and never left it; accert cannot renew "
            "it unattended.",
            "Start a renewal with a key made by accert (accert request), then accert acme.",
        )
    skipped: list[str] = []
    export = None
    if state.exports:
        last = state.exports[-1]
        if "artifacts" in last:
            export = ExportPlan(
                str(last["folder"]),
                tuple(last["artifacts"]),
                str(last.get("key_format", KeyFormat.APACHE.value)),
            )
        else:
            skipped.append(
                f"the export to {last.get('folder')} (made before accert recorded export "
                "options: export the new renewal once by hand, later renewals repeat it)"
            )
    sbcs: dict[str, SbcPlan] = {}
    ovocs: dict[str, OvocPlan] = {}
    for record in state.deployments:
        for entry in _device_entries(record):
            settings = entry.get("settings")
            where = entry.get("device") or entry.get("target") or "?"
            if not entry.get("ok"):
                continue
            if not isinstance(settings, dict):
                skipped.append(
                    f"the deployment to {where} on {str(record.get('at', ''))[:10]} (made before "
                    "accert recorded how: deploy the new renewal there once by hand)"
                )
                continue
            if record.get("kind") == "ovoc":
                o = _ovoc(settings)
                ovocs[o.key] = o
            else:
                s = _sbc(settings)
                sbcs[s.key] = s
    # A device deployed successfully later with settings is not "skipped" any more.
    known = {s.label for s in sbcs.values()} | {o.label for o in ovocs.values()}
    skipped = [s for s in skipped if not any(f" {k} " in s for k in known)]
    return RenewalPlan(export, tuple(sbcs.values()), tuple(ovocs.values()), tuple(skipped))


def _device_entries(record: dict[str, Any]) -> list[dict[str, Any]]:
    if record.get("kind") == "mediant-fleet":
        return [d for d in record.get("devices", ()) if isinstance(d, dict)]
    if record.get("kind") in ("mediant", "ovoc"):
        return [record]
    return []
