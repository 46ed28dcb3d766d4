"""`accert deploy-ovoc`: the OVOC deployment from the command line."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from app.errors import DeployError, InputError
from app.ovoc.deploy import OvocTarget
from app.ovoc.profile import DEFAULT_PROFILE, available_profiles, load_profile
from app.ovoc.ssh import HostKeyUnknown, SshTarget, normalize_pin
from app.passwords import read_password


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "deploy-ovoc",
        help="copy the certificate files to OVOC over SSH and run its certificate import",
        description="Copies the server certificate, the unencrypted PEM key and the CA "
        "certificates into OVOC's server_certs folder (names from the OVOC profile), runs "
        "EmsServerManager's 'Import Server Certificates from Certificate Authority (CA)' and "
        "checks that OVOC's HTTPS port serves the new certificate. --manual prints the steps "
        "instead.",
    )
    p.add_argument("workspace", type=Path, help="the renewal folder")
    p.add_argument("--host", required=True, help="OVOC server address")
    p.add_argument("--port", type=int, default=22, help="SSH port (default 22)")
    p.add_argument("--user", default="acems", help="SSH user (default acems)")
    login = p.add_mutually_exclusive_group()
    login.add_argument("--password-env", metavar="VAR", help="SSH password from this variable")
    login.add_argument("--password-file", metavar="FILE", type=Path, help="SSH password file")
    login.add_argument("--key-file", metavar="FILE", type=Path, help="SSH private key file")
    p.add_argument("--key-passphrase-env", metavar="VAR", help="passphrase of --key-file")
    root = p.add_mutually_exclusive_group()
    root.add_argument("--root-password-env", metavar="VAR", help="root password (for su -)")
    root.add_argument("--root-password-file", metavar="FILE", type=Path, help="root password file")
    p.add_argument(
        "--import-password-env",
        metavar="VAR",
        help="what to type at the import's password prompt (default: just Enter, the key "
        "being unencrypted)",
    )
    p.add_argument(
        "--host-key", metavar="SHA256:...", help="accept this SSH host key on first contact"
    )
    p.add_argument(
        "--replace-host-key",
        action="store_true",
        help="OVOC was reinstalled: replace the recorded host key by the one given with "
        "--host-key (refused unless the server shows exactly that key)",
    )
    p.add_argument(
        "--profile",
        default=DEFAULT_PROFILE,
        metavar="NAME|FILE",
        help=f"OVOC profile: {', '.join(available_profiles())} or a .toml file "
        f"(default {DEFAULT_PROFILE})",
    )
    p.add_argument("--verify-port", type=int, default=None, help="OVOC's HTTPS port (443)")
    p.add_argument(
        "--verify-wait", type=float, default=None, help="seconds to wait for the new certificate"
    )
    p.add_argument(
        "--dir-mode",
        default=None,
        metavar="OCTAL",
        help="mode of a server_certs folder that has to be created (default from the profile, "
        "e.g. 750)",
    )
    p.add_argument(
        "--manual",
        nargs="?",
        const="",
        metavar="FOLDER",
        help="send nothing: write the files under the profile's names (default "
        "WORKSPACE/ovoc-manual) and print the WinSCP/PuTTY steps",
    )
    p.add_argument(
        "--save-password",
        action="store_true",
        help="keep the SSH and root passwords in the credential store (for accert renew)",
    )
    p.set_defaults(handler=cmd_deploy_ovoc)


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def cmd_deploy_ovoc(args: argparse.Namespace) -> int:
    from app.ovoc.glue import deploy_workspace_to_ovoc, prepare_manual
    from app.workspace import Workspace

    # Every argument is checked before any secret is asked for or read: a slip in the host or
    # a mode must not cost the user typing two passwords first.
    options = _checked_options(args)
    profile = load_profile(args.profile)
    ws = Workspace.open(args.workspace)
    _err("OVOC profile:")
    _err(profile.summary())
    if args.manual is not None:
        folder = Path(args.manual) if args.manual else None
        files, steps = prepare_manual(
            ws, profile, folder, host=options.host, user=args.user, port=options.port
        )
        print(f"Files for OVOC written to {files[0].path.parent}:")
        for f in files:
            print(f"  {f.path.name:<16} {f.role}")
        for n, step in enumerate(steps, 1):
            print(f"{n:>2}. {step}")
        return 0
    ws.certificate()  # a renewal still waiting for its CA stops here, before any password
    target = _target(args, options)
    try:
        result = deploy_workspace_to_ovoc(ws, target, profile, progress=lambda m: _err(f"  {m}"))
    except HostKeyUnknown as exc:
        if not (sys.stdin and sys.stdin.isatty()):
            raise
        _err(f"{exc.host}:{exc.port} is not known yet; its {exc.key_type} host key is")
        _err(f"  {exc.fingerprint}")
        _err("Compare it with the fingerprint of the OVOC server (ask its administrator).")
        if input("Accept this host key? [y/N] ").strip().lower() not in ("y", "yes"):
            raise
        target = replace(target, ssh=replace(target.ssh, host_key_pin=exc.fingerprint))
        result = deploy_workspace_to_ovoc(ws, target, profile, progress=lambda m: _err(f"  {m}"))
    if args.save_password:
        from app.renewal.credentials import save_ovoc_passwords

        ssh = target.ssh
        save_ovoc_passwords(ssh.host, ssh.port, ssh.user, ssh.password, target.root_password)
        print("SSH and root passwords kept in the credential store for accert renew.")
    t = result.transfer
    print(f"Files placed on {result.host} ({t.method}):")
    for path in t.placed:
        print(f"  {path}")
    if t.moved_aside_to:
        print(f"Previous files kept in {t.moved_aside_to}: {', '.join(t.moved_aside)}")
    print(f"OVOC: {result.success_line}")
    print(
        f"Verified: {result.served.host}:{result.served.port} serves the new certificate "
        f"{result.served.leaf_sha256}"
    )
    _offer_cleanup(target, profile)
    return 0


def _offer_cleanup(target: OvocTarget, profile: Any) -> None:
    """The uploaded key and old keys' folders stay on OVOC unencrypted: offer to remove them
    (asked, default keep; without a terminal they are only named)."""
    from app.ovoc.cleanup import find_leftovers, remove_leftovers

    try:
        leftovers = find_leftovers(target.ssh, profile)
    except DeployError as exc:
        _err(f"note: {exc.message}")
        return
    if leftovers.empty:
        return
    _err(f"Unencrypted keys left on {target.ssh.host}: {leftovers.describe()}")
    if not (sys.stdin and sys.stdin.isatty()):
        _err("  Kept. Remove them there once the new certificate is confirmed.")
        return
    if input("Remove them now (OVOC keeps its own copy)? [y/N] ").strip().lower() in ("y", "yes"):
        remove_leftovers(target.ssh, leftovers)
        print(f"Removed from {target.ssh.host}: {leftovers.describe()}")
    else:
        _err("  Kept.")


@dataclass(frozen=True)
class _Options:
    host: str
    port: int
    directory_mode: int | None
    host_key_pin: str | None


def _checked_options(args: argparse.Namespace) -> _Options:
    """The arguments that need no secret, each checked with its own message."""
    from app.mediant.devices import parse_host_port

    if args.replace_host_key and not args.host_key:
        raise InputError(
            "--replace-host-key needs the new fingerprint with --host-key SHA256:...",
            "Ask OVOC's administrator for it (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub).",
        )
    if args.key_passphrase_env is not None and args.key_file is None:
        raise InputError(
            "--key-passphrase-env is the passphrase of an SSH key, but no --key-file was given.",
            "Add --key-file FILE, or leave --key-passphrase-env out to log in by password.",
        )
    if not 0 < args.port < 65536:
        raise InputError(f"--port {args.port} is out of range.", "Use 1-65535 (SSH: 22).")
    host, port = parse_host_port(args.host, args.port, example="ovoc.example.com")
    if "://" in args.host:  # OVOC's web address pasted: its host; a port there is the web's
        port = args.port
    directory_mode = None
    if args.dir_mode is not None:
        try:
            directory_mode = int(args.dir_mode, 8)
        except ValueError:
            directory_mode = -1
        if not 0 <= directory_mode <= 0o777:
            raise InputError(f"--dir-mode {args.dir_mode} is not an octal mode.", "E.g. 750.")
    pin = normalize_pin(args.host_key) if args.host_key else None
    return _Options(host, port, directory_mode, pin)


def _target(args: argparse.Namespace, options: _Options) -> OvocTarget:
    password = None
    key_passphrase = None
    if args.key_file is not None:
        if args.key_passphrase_env is not None:
            key_passphrase = read_password(
                "SSH key passphrase", env=args.key_passphrase_env, option="--key-passphrase-env"
            )
    else:
        password = read_password(
            f"SSH password of {args.user}@{options.host}",
            env=args.password_env,
            file=args.password_file,
            option="--password-env",
        )
    root_password = read_password(
        f"root password of {options.host}",
        env=args.root_password_env,
        file=args.root_password_file,
        option="--root-password-env",
    )
    import_password = ""
    if args.import_password_env is not None:
        import_password = read_password(
            "import password", env=args.import_password_env, option="--import-password-env"
        )
    ssh = SshTarget(
        host=options.host,
        port=options.port,
        user=args.user,
        password=password,
        key_file=args.key_file,
        key_passphrase=key_passphrase,
        host_key_pin=options.host_key_pin,
        replace_host_key=args.replace_host_key,
    )
    return OvocTarget(
        ssh,
        root_password=root_password,
        import_password=import_password,
        verify_port=args.verify_port,
        verify_wait=args.verify_wait,
        directory_mode=options.directory_mode,
    )
