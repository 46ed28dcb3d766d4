"""Many devices at once: a bounded pool, one progress row per device, one summary report."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from app.atomic import atomic_write
from app.material import DeployMaterial
from app.mediant.client import Timing
from app.mediant.deploy import DeviceResult, DeviceTarget, Log, deploy_device

# Devices mostly wait on the network, so threads are cheap; the bound protects a laptop
# and the estate's management network from an unbounded burst.
DEFAULT_PARALLEL = 50
MAX_PARALLEL = 100


@dataclass(frozen=True)
class DeviceProgress:
    """One progress row: which device, which step, its status, seconds since it started."""

    label: str
    step: str
    status: str  # running | done | skipped | failed | finished
    elapsed: float


FleetProgress = Callable[[DeviceProgress], None]


@dataclass(frozen=True)
class FleetReport:
    name: str
    leaf_sha256: str
    started: str
    elapsed: float
    results: tuple[DeviceResult, ...]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failed(self) -> tuple[DeviceResult, ...]:
        return tuple(r for r in self.results if not r.ok)

    def as_dict(self) -> dict[str, object]:
        return {
            "certificate": self.name,
            "leaf_sha256": self.leaf_sha256,
            "started": self.started,
            "elapsed_s": round(self.elapsed, 3),
            "ok": self.ok,
            "devices": [r.as_dict() for r in self.results],
        }

    def text(self) -> str:
        good = sum(r.ok for r in self.results)
        lines = [
            f"Deployment of {self.name} (SHA-256 {self.leaf_sha256})",
            f"Started {self.started}, {self.elapsed:.1f} s, {good} of {len(self.results)} "
            "device(s) done.",
            "",
        ]
        for r in self.results:
            lines.append(f"[{'OK' if r.ok else 'FAILED'}] {r.label}  ({r.elapsed:.1f} s)")
            if r.identity:
                lines.append(f"    {r.identity.product}, firmware {r.identity.firmware}")
            if r.contexts:
                lines.append(f"    context: {', '.join(r.contexts)}")
            if r.backup_path:
                lines.append(f"    backup: {r.backup_path}")
            lines.extend(f"    {status.line()}" for status in r.roots)
            for v in r.verifications:
                lines.append(
                    f"    port {v.port}: {v.served_sha256 or '-'}  {'ok' if v.ok else v.message}"
                )
            if not r.ok:
                lines.append(f"    failed at {r.step}: {r.message}")
                if r.hint:
                    lines.append(f"    {r.hint}")
            lines.extend(f"    warning: {w}" for w in r.warnings)
            lines.extend(f"    manual step {n}: {s}" for n, s in enumerate(r.manual_steps, 1))
        return "\n".join(lines) + "\n"

    def save(self, folder: Path) -> tuple[Path, Path]:
        """deploy-<timestamp>.json and .txt in `folder`; no secret is in them."""
        stamp = self.started.replace(":", "").replace("-", "")[:15]
        base = Path(folder) / f"deploy-{stamp}"
        json_path, text_path = base.with_suffix(".json"), base.with_suffix(".txt")
        atomic_write(json_path, json.dumps(self.as_dict(), indent=2).encode("utf-8"))
        atomic_write(text_path, self.text().encode("utf-8"))
        return json_path, text_path


def deploy_fleet(
    targets: Sequence[DeviceTarget],
    material: DeployMaterial,
    backups_dir: Path,
    *,
    parallel: int = DEFAULT_PARALLEL,
    progress: FleetProgress | None = None,
    log: Log | None = None,
    timing: Timing | None = None,
) -> FleetReport:
    """Deploy to every target; one failing device never stops the others."""
    started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    t0 = time.monotonic()
    lock = threading.Lock()  # the callbacks are called from the pool's threads

    def locked_log(line: str) -> None:
        if log is not None:
            with lock:
                log(line)

    def one(target: DeviceTarget) -> DeviceResult:
        start = time.monotonic()

        def report(step: str, status: str) -> None:
            if progress is not None:
                with lock:
                    progress(DeviceProgress(target.label, step, status, time.monotonic() - start))

        result = deploy_device(
            target, material, backups_dir, log=locked_log, progress=report, timing=timing
        )
        report(result.step, "finished" if result.ok else "failed")
        return result

    workers = max(1, min(parallel, MAX_PARALLEL, len(targets) or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mediant") as pool:
        results = tuple(pool.map(one, targets))  # keeps the user's order
    return FleetReport(material.name, material.leaf_sha256, started, time.monotonic() - t0, results)
