"""Logging in to a device from the command line: the options every device command takes
(deploy-sbc, device-csr, sbc-contexts, sbc-trust), the password they lead to, and the question
asked on first contact with a device whose HTTPS certificate is not trusted yet."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from app.errors import DeployError, InputError
from app.mediant import pins
from app.mediant.client import presented_certificate
from app.mediant.deploy import DeviceTarget
from app.mediant.devices import SavedDevice, load_device_password
from app.passwords import from_env, read_password
from app.peer_text import escape_peer


def add_device_login_options(p: argparse.ArgumentParser) -> None:
    """The password and the trust in the device's HTTPS certificate: the same options on every
    command that talks to a device (deploy-sbc, device-csr, sbc-contexts, sbc-trust)."""
    pw = p.add_mutually_exclusive_group()
    pw.add_argument("--password-env", metavar="VAR", help="read the password from this variable")
    pw.add_argument("--password-file", metavar="FILE", type=Path, help="read it from this file")
    p.add_argument(
        "--fingerprint", metavar="SHA256:..", help="trust this device HTTPS certificate (pinned)"
    )
    p.add_argument(
        "--replace-fingerprint",
        action="store_true",
        help="the device's certificate was replaced on purpose: the --fingerprint given replaces "
        "the one trusted before (only if the device presents exactly that certificate)",
    )
    p.add_argument(
        "--trust-system", action="store_true", help="verify the device against the system store"
    )


def password_for(device: SavedDevice, args: argparse.Namespace) -> str:
    """The device's password: its "password_env", then the options, then the credential store,
    then (for one --host) a prompt."""
    if device.password_env is not None:
        return from_env(device.password_env, '"password_env"')
    if args.password_env is not None or args.password_file is not None:
        return read_password(
            "Password", env=args.password_env, file=args.password_file, option="--password-env"
        )
    stored = load_device_password(device)
    if stored:
        return stored
    if args.host:
        return read_password(f"Password for {device.user}@{device.host}")
    raise InputError(
        f"No password for {device.user}@{device.host}:{device.port}.",
        'Give --password-env, a "password_env" in the device file, or save it once with '
        "--save-password.",
    )


def login_target(
    device: SavedDevice, args: argparse.Namespace, password: str | None = None
) -> DeviceTarget:
    """The device with its password and the certificate trust the options ask for."""
    return device.target(
        password_for(device, args) if password is None else password,
        fingerprint=args.fingerprint,
        trust_system=args.trust_system,
        replace_fingerprint=args.replace_fingerprint,
    )


def ask_trust_on_first_contact(target: DeviceTarget) -> DeviceTarget:
    """On a terminal, show an unknown device's certificate and ask; elsewhere the deployment
    stops with DeviceUntrusted, whose hint gives the --fingerprint to pass."""
    if target.fingerprint or target.trust_system or pins.get_pin(target.host, target.port):
        return target
    if not (sys.stdin and sys.stdin.isatty()):
        return target
    subject, fp = presented_certificate(target.host, target.port)
    print(f"{target.label} presents a certificate not trusted yet:", file=sys.stderr)
    # The fingerprint first, on its own line; the subject is the peer's text, escaped.
    print(f"  SHA-256  {fp}\n  subject  {escape_peer(subject)}", file=sys.stderr)
    print("Compare it with the device's web page or console.", file=sys.stderr)
    if input("Trust this certificate for this device? [y/N] ").strip().lower() not in ("y", "yes"):
        raise DeployError(f"{target.label} was not trusted.", "Nothing was sent to the device.")
    return replace(target, fingerprint=fp)
