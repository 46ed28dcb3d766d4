"""OVOC profiles: file names, folder, console prompts and menu texts per OVOC version family.

Profiles are data (TOML) in resources/ovoc_profiles/ that an engineer can copy and edit; a
profile may `extends = "other"` and override only what differs.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.errors import InputError
from app.paths import resources_dir

DEFAULT_PROFILE = "ovoc-8"


@dataclass(frozen=True)
class FailureRule:
    pattern: str
    hint: str


@dataclass(frozen=True)
class OvocProfile:
    name: str
    title: str
    family: str
    source: Path
    # upload
    directory: str
    directory_mode: int
    file_mode: int
    key_mode: int
    move_aside: bool
    # files
    server_certificate: str
    private_key: str
    root_certificate: str
    intermediate_certificates: tuple[str, ...]
    # console
    shell_prompt: str
    su_command: str
    su_password_prompt: str
    su_failure: str
    root_prompt: str
    manager_command: str
    menu_prompt: str
    menu_entry: str
    menu_path: tuple[str, ...]
    menu_names: tuple[str, ...]  # the same entries as words, for people
    leave_menu: str
    press_enter: str
    import_password_prompt: str
    # result
    success: str
    failures: tuple[FailureRule, ...]
    # verify
    verify_port: int
    verify_wait_seconds: float

    def remote_path(self, file_name: str) -> str:
        return f"{self.directory.rstrip('/')}/{file_name}"

    def hint_for(self, text: str) -> str:
        """The fix suggested for OVOC's failure words (first matching rule)."""
        for rule in self.failures:
            if re.search(rule.pattern, text, re.MULTILINE):
                return rule.hint
        return "Read OVOC's words above and check the files in the import folder."

    def summary(self) -> str:
        """What the wizard shows before anything is sent."""
        inter = ", ".join(self.intermediate_certificates)
        return (
            f"{self.title} (profile {self.name}, {self.source})\n"
            f"  folder: {self.directory} (mode {self.directory_mode:04o})\n"
            f"  server certificate: {self.server_certificate}\n"
            f"  private key (unencrypted PEM): {self.private_key}\n"
            f"  intermediate CA(s): {inter}\n"
            f"  root CA: {self.root_certificate}\n"
            f"  menu: {' > '.join(menu_labels(self))}\n"
            f"  success text: {self.success}\n"
            f"  typed as the SSH user: {self.su_command}\n"
            f"  typed as root: {self.manager_command}"
            + "".join(f"\n  WARNING: {w}" for w in self.command_warnings())
        )

    def command_warnings(self) -> tuple[str, ...]:
        """The root-shell commands that differ from the built-in profile, said plainly: they
        run as root on OVOC, so an edited profile must not change them unseen."""
        builtin = builtin_commands()
        out = []
        for label, value, default in (
            ("su command", self.su_command, builtin[0]),
            ("manager command (run as root)", self.manager_command, builtin[1]),
        ):
            if value != default:
                out.append(
                    f"this profile's {label} is {value!r}, not the built-in {default!r}: "
                    "check that it is what OVOC needs."
                )
        return tuple(out)


def profiles_dir() -> Path:
    return resources_dir() / "ovoc_profiles"


def available_profiles() -> list[str]:
    return sorted(p.stem for p in profiles_dir().glob("*.toml"))


def load_profile(name_or_file: str | Path = DEFAULT_PROFILE) -> OvocProfile:
    """A built-in profile by name ("ovoc-8") or a user's TOML file by path."""
    path = _resolve(str(name_or_file))
    data = _read_merged(path, seen=())
    try:
        return _build(data, path)
    except (KeyError, TypeError, ValueError, re.error) as exc:
        raise InputError(
            f"The OVOC profile {path} is incomplete or has a wrong value: {exc}.",
            f"Compare it with {profiles_dir() / (DEFAULT_PROFILE + '.toml')} and fix that entry.",
        ) from exc


def _resolve(name: str) -> Path:
    candidate = Path(name)
    if candidate.suffix.lower() == ".toml" or candidate.exists():
        if not candidate.is_file():
            raise InputError(
                f"The OVOC profile file {candidate} does not exist.", "Check the path."
            )
        return candidate
    builtin = profiles_dir() / f"{name}.toml"
    if not builtin.is_file():
        raise InputError(
            f"There is no OVOC profile named {name!r}.",
            f"Use one of {', '.join(available_profiles())} or the path of a .toml file.",
        )
    return builtin


def _read_merged(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    if path in seen:
        raise InputError(f"The OVOC profile {path} extends itself.", "Fix its `extends` line.")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(
            f"Cannot read the OVOC profile {path}: {exc}.", "Fix the TOML syntax or the path."
        ) from exc
    parent = data.pop("extends", None)
    if parent is None:
        return data
    base = Path(str(parent))
    # A relative file is looked for beside the profile that names it.
    base_path = path.parent / base if base.suffix == ".toml" and not base.is_absolute() else base
    resolved = _resolve(str(base_path) if base.suffix == ".toml" else str(parent))
    return _merge(_read_merged(resolved, (*seen, path)), data)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _mode(text: object) -> int:
    value = int(str(text), 8)
    if not 0 <= value <= 0o777:
        raise ValueError(f"mode {text!r} is not between 0000 and 0777")
    return value


def _regex(text: object) -> str:
    pattern = str(text)
    re.compile(pattern)  # a broken pattern must fail when loading, not mid-menu
    return pattern


def _build(d: dict[str, Any], path: Path) -> OvocProfile:
    up, files, con, res = d["upload"], d["files"], d["console"], d["result"]
    verify = d.get("verify", {})
    failures = tuple(FailureRule(_regex(f["pattern"]), str(f["hint"])) for f in res["failures"])
    for name in (files["server_certificate"], files["private_key"], files["root_certificate"]):
        _check_file_name(name)
    inters = tuple(str(n) for n in files["intermediate_certificates"])
    for name in inters:
        _check_file_name(name)
    return OvocProfile(
        name=str(d["name"]),
        title=str(d.get("title", d["name"])),
        family=str(d.get("family", "")),
        source=path,
        directory=str(up["directory"]),
        directory_mode=_mode(up.get("directory_mode", "0750")),
        file_mode=_mode(up.get("file_mode", "0644")),
        key_mode=_mode(up.get("key_mode", "0600")),
        move_aside=bool(up.get("move_aside", True)),
        server_certificate=str(files["server_certificate"]),
        private_key=str(files["private_key"]),
        root_certificate=str(files["root_certificate"]),
        intermediate_certificates=inters,
        shell_prompt=_regex(con["shell_prompt"]),
        su_command=_command(con.get("su_command", SU_COMMAND), "su_command"),
        su_password_prompt=_regex(con["su_password_prompt"]),
        su_failure=_regex(con["su_failure"]),
        root_prompt=_regex(con["root_prompt"]),
        manager_command=_command(con.get("manager_command", MANAGER_COMMAND), "manager_command"),
        menu_prompt=_regex(con["menu_prompt"]),
        menu_entry=_regex(con["menu_entry"]),
        menu_path=tuple(_regex(p) for p in con["menu_path"]),
        menu_names=tuple(str(n) for n in con.get("menu_names", ())),
        leave_menu=_regex(con["leave_menu"]),
        press_enter=_regex(con["press_enter"]),
        import_password_prompt=_regex(con["import_password_prompt"]),
        success=str(res["success"]),
        failures=failures,
        verify_port=int(verify.get("port", 443)),
        verify_wait_seconds=float(verify.get("wait_seconds", 300)),
    )


# su by its absolute path: whatever an alias or a PATH entry of the SSH account resolves
# `su` to would receive the root password.
SU_COMMAND = "/bin/su -"
MANAGER_COMMAND = "EmsServerManager"
# A plain command name (or absolute path) and plain arguments: no shell syntax at all, since
# the line is typed into a root shell (no ; | & $ ` < > ( ) quotes, globs or new lines).
_PLAIN_COMMAND = re.compile(r"[A-Za-z0-9_./-]+(?: [A-Za-z0-9_./:=,+@%-]+)*")


def _command(text: object, field_name: str) -> str:
    command = str(text)
    if not _PLAIN_COMMAND.fullmatch(command):
        raise ValueError(
            f"{field_name} {command!r} must be a plain command and arguments, without shell "
            "syntax (; | & $ ` < > quotes, globs or new lines)"
        )
    return command


@functools.cache
def builtin_commands() -> tuple[str, str]:
    """(su_command, manager_command) of the built-in default profile."""
    data = tomllib.loads((profiles_dir() / f"{DEFAULT_PROFILE}.toml").read_text("utf-8"))
    con = data.get("console", {})
    return str(con.get("su_command", SU_COMMAND)), str(con.get("manager_command", MANAGER_COMMAND))


def _check_file_name(name: str) -> None:
    if not name or "/" in name or "\\" in name or name in {".", ".."}:
        raise ValueError(f"file name {name!r} must be a plain name without folders")


def menu_labels(profile: OvocProfile) -> tuple[str, ...]:
    """The menu path as the words an engineer looks for on the screen."""
    if len(profile.menu_names) == len(profile.menu_path):
        return profile.menu_names
    return tuple(_label(p) for p in profile.menu_path)


def _label(pattern: str) -> str:
    """A menu regex as the words an engineer looks for (for summaries and manual steps)."""
    text = pattern.strip("^$")
    text = re.sub(r"\\(.)", r"\1", text)
    text = re.sub(r"(\w)\?", r"\1", text)  # "Certificates?" -> "Certificates"
    return text
