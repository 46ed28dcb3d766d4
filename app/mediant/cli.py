"""`accert deploy-sbc` and `accert verify`: the device deployment from the command line."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.errors import DeployError, InputError
from app.mediant.client import Timing
from app.mediant.deploy import DeviceTarget
from app.mediant.device_login import (
    add_device_login_options,
    ask_trust_on_first_contact,
    login_target,
    password_for,
)
from app.mediant.devices import (
    SavedDevice,
    load_devices,
    parse_host_port,
    remember_device,
    store_device_password,
)
from app.mediant.fleet import DEFAULT_PARALLEL, DeviceProgress
from app.mediant.verify import verify_served


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "deploy-sbc",
        help="deploy the renewal to AudioCodes SBCs/gateways over their REST API",
        description="Back up the INI, upload key, certificate and chain into a TLS context, "
        "save, optionally reset, and prove the new certificate by a TLS handshake.",
    )
    p.add_argument("workspace", type=Path, help="the renewal folder")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--host", help="HOST[:PORT] of one device (port 443 by default)")
    where.add_argument(
        "--devices", type=Path, metavar="FILE", help='JSON device file: {"devices": [...]}'
    )
    p.add_argument("--user", default=None, help="device user (Administrator level)")
    add_device_login_options(p)
    p.add_argument(
        "--context", type=int, action="append", metavar="N", help="TLS context index (repeatable)"
    )
    p.add_argument(
        "--verify-port",
        type=int,
        action="append",
        metavar="PORT",
        help="port to prove (repeatable)",
    )
    p.add_argument("--reset", action="store_true", help="reset (with save) and wait for the device")
    p.add_argument(
        "--platform",
        metavar="NAME",
        help="the calling platform behind these contexts (e.g. teams): its roots are checked in "
        "the trusted-roots step and its rules on the certificate before anything is sent",
    )
    p.add_argument(
        "--add-platform-roots",
        action="store_true",
        help="add the platform's missing roots to the context's trusted root store",
    )
    p.add_argument("--parallel", type=int, default=DEFAULT_PARALLEL, help="devices at once")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per device call")
    p.add_argument(
        "--save-password", action="store_true", help="keep the password in the credential store"
    )
    p.set_defaults(handler=cmd_deploy_sbc)

    c = subparsers.add_parser(
        "device-csr",
        help="let a device make the key and CSR (the key never leaves it)",
        description="Create a renewal whose key is made on the device: the device generates "
        "key and CSR in a TLS context (always SHA-256); the CSR is saved and printed. Later, "
        "`accert import` checks the CA's answer against it and `accert deploy-sbc` to the same "
        "device and context uploads only the certificate and chain. For a wildcard shared by "
        "several devices or OVOC, use `accert request` instead.",
    )
    c.add_argument("workspace", type=Path, help="renewal folder to create")
    c.add_argument("--cn", required=True, help="common name, e.g. sbc1.example.com")
    c.add_argument("--org", default="", help="organisation (O)")
    c.add_argument("--ou", default="", help="organisational unit (OU)")
    c.add_argument("--locality", default="", help="city (L)")
    c.add_argument("--state", default="", help="state or county (ST)")
    c.add_argument("--country", default="", help="two-letter ISO country code (C), e.g. GB")
    c.add_argument("--host", required=True, help="HOST[:PORT] of the device (port 443 by default)")
    c.add_argument("--user", default=None, help="device user (Administrator level)")
    add_device_login_options(c)
    c.add_argument("--context", type=int, required=True, metavar="N", help="TLS context index")
    c.add_argument("--timeout", type=float, default=30.0, help="seconds per device call")
    c.set_defaults(handler=cmd_device_csr)

    x = subparsers.add_parser(
        "sbc-contexts", help="list a device's TLS contexts (index and name), changing nothing"
    )
    x.add_argument("--host", required=True, help="HOST[:PORT] of the device (port 443 by default)")
    x.add_argument("--user", default="Admin", help="device user (default Admin)")
    add_device_login_options(x)
    x.add_argument("--timeout", type=float, default=30.0, help="seconds per device call")
    x.set_defaults(handler=cmd_contexts)

    v = subparsers.add_parser("verify", help="show the certificate a TLS port serves")
    v.add_argument("target", help="HOST:PORT")
    v.add_argument("--expect", type=Path, metavar="WORKSPACE", help="must serve this renewal")
    v.add_argument("--timeout", type=float, default=10.0)
    v.set_defaults(handler=cmd_verify)


def _progress(row: DeviceProgress) -> None:
    if row.status in ("running", "skipped"):
        return  # one line per finished step keeps parallel output readable
    print(f"  {row.label:<28} {row.step:<14} {row.status:<8} {row.elapsed:6.1f} s", file=sys.stderr)


def _devices(args: argparse.Namespace) -> list[SavedDevice]:
    if args.devices:
        devices = load_devices(args.devices)
        if not devices:
            raise InputError(f"{args.devices} lists no device.", "Add at least one.")
        overrides: dict[str, Any] = {}
        if args.context:
            overrides["contexts"] = tuple(args.context)
        if args.verify_port:
            overrides["verify_ports"] = tuple(args.verify_port)
        if args.reset:
            overrides["reset"] = True
        if args.user:
            overrides["user"] = args.user
        if args.add_platform_roots:
            overrides["add_platform_roots"] = True
        devices = [replace(d, **overrides) for d in devices]
        if args.platform:
            devices = [replace(d, platforms=_platform_pairs(args, d.contexts)) for d in devices]
        return devices
    host, port = parse_host_port(args.host)
    if args.context is None:
        raise InputError("Which TLS context?", "Give --context N (0 is the web server's).")
    return [
        SavedDevice(
            host=host,
            port=port,
            user=args.user or "Admin",
            contexts=tuple(args.context),
            verify_ports=tuple(args.verify_port or ()),
            reset=args.reset,
            platforms=_platform_pairs(args, tuple(args.context)),
            add_platform_roots=args.add_platform_roots,
        )
    ]


def _platform_pairs(
    args: argparse.Namespace, contexts: tuple[int, ...]
) -> tuple[tuple[int, str], ...]:
    if not args.platform:
        return ()
    from app.platforms import load_platform

    key = load_platform(args.platform).key  # an unknown name fails before any device is touched
    return tuple((c, key) for c in contexts)


def cmd_deploy_sbc(args: argparse.Namespace) -> int:
    from app.mediant.glue import deploy_to_device, deploy_to_devices
    from app.workspace import Workspace

    devices = _devices(args)
    if args.fingerprint and len(devices) > 1:
        raise InputError(
            "--fingerprint names one device's certificate.",
            'Put a "fingerprint" per device in the device file instead.',
        )
    targets: list[DeviceTarget] = []
    for d in devices:
        password = password_for(d, args)
        if args.save_password:
            store_device_password(d, password)
        targets.append(login_target(d, args, password))
    if len(targets) == 1 and not args.devices:
        targets[0] = ask_trust_on_first_contact(targets[0])
    ws = Workspace.open(args.workspace)
    timing = Timing(timeout=args.timeout)
    if len(targets) == 1 and not args.devices:
        start = time.monotonic()
        label = targets[0].label

        def step_line(step: str, status: str) -> None:
            _progress(DeviceProgress(label, step, status, time.monotonic() - start))

        result = deploy_to_device(ws, targets[0], progress=step_line, timing=timing)
        if not result.ok:
            for n, step in enumerate(result.manual_steps, 1):
                print(f"  manual step {n}: {step}", file=sys.stderr)
            raise DeployError(result.message, result.hint)
        remember_device(devices[0])
        print(result.message)
        for status in result.roots:
            print(f"  {status.line()}")
        for w in result.warnings:
            print(f"warning: {w}", file=sys.stderr)
        return 0
    report, json_path, text_path = deploy_to_devices(
        ws, targets, parallel=args.parallel, progress=_progress, timing=timing
    )
    print(report.text(), end="")
    print(f"Summary saved in {text_path} and {json_path}", file=sys.stderr)
    return 0 if report.ok else 1


def cmd_device_csr(args: argparse.Namespace) -> int:
    from app.mediant.glue import adopt_csr_from_device
    from app.request import RequestSpec, Subject
    from app.workspace import STATE_FILE, Stage, Workspace

    # The device's CSR carries the CN only (no SAN field), so no bare domain is promised.
    spec = RequestSpec(
        Subject(args.cn, args.org, args.ou, args.locality, args.state, args.country),
        include_bare_domain=False,
    )
    host, port = parse_host_port(args.host)
    device = SavedDevice(host=host, port=port, user=args.user or "Admin", contexts=(args.context,))
    path = Path(args.workspace)
    if (path / STATE_FILE).exists():
        # A folder left by an earlier attempt that the device refused may be reused.
        ws = Workspace.open(path)
        if ws.state.stage is not Stage.NEW or ws.has_key():
            raise InputError(
                f"{path} already has a CSR.",
                "Use a new folder for a new request; this one is kept as it is.",
            )
        ws.update_request(spec)
    else:
        ws = Workspace.create(spec, path)
    target = login_target(device, args)
    target = ask_trust_on_first_contact(target)
    summary, device_csr = adopt_csr_from_device(
        ws, target, args.context, timing=Timing(timeout=args.timeout)
    )
    remember_device(device)
    print(f"Request saved in {ws.path / 'request.csr'}", file=sys.stderr)
    print(f"  Subject: {summary.subject}", file=sys.stderr)
    print(
        f"  Key:     {summary.key}, made by {target.label} in TLS context {args.context} "
        f"(it never leaves the device), signed {summary.signature}",
        file=sys.stderr,
    )
    for warning in device_csr.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(
        f"Next: paste this CSR into your CA's order form, then run `accert import {ws.path} "
        f"<files the CA sends>` and `accert deploy-sbc {ws.path} --host {args.host} --context "
        f"{args.context}`. Do not request another CSR in that context meanwhile: it would "
        "replace the key.",
        file=sys.stderr,
    )
    sys.stdout.write(ws.csr_pem.decode("ascii"))
    return 0


def cmd_contexts(args: argparse.Namespace) -> int:
    from app.mediant.contexts import read_tls_contexts

    host, port = parse_host_port(args.host)
    device = SavedDevice(host=host, port=port, user=args.user)
    target = login_target(device, args)
    target = ask_trust_on_first_contact(target)
    identity, rows = read_tls_contexts(target, timing=Timing(timeout=args.timeout))
    print(f"{target.label}: {identity.product}, firmware {identity.firmware}", file=sys.stderr)
    for row in rows:
        print(f"{row.index}\t{row.name}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    host, port = parse_host_port(args.target)
    material = None
    if args.expect:
        from app.mediant.glue import expected_material
        from app.workspace import Workspace

        material = expected_material(Workspace.open(args.expect))
    result = verify_served(host, port, material, timeout=args.timeout)
    if not result.ok and not result.served_sha256:
        # nothing served: one error line (stderr) with its fix, not the same text twice
        raise DeployError(
            result.message, result.hint or "Check the host, the port and the firewall."
        )
    print(result.message)
    return 0 if result.ok else 1
