"""Build accert for shipping: the PyInstaller folder, then (on Windows) the Inno Setup installer.

    python installer/build.py              the one-folder bundle in dist/accert/
    python installer/build.py --smoke      ... then run the frozen self-tests (CI does this) and
                                           time the frozen start-up against the same from source
    python installer/build.py --installer  ... then dist/accert-setup-<version>.exe (Windows)

Needs the `build` extra (`pip install -e .[jks,build]`); the installer needs Inno Setup 6
(ISCC.exe on PATH or in its default folder). Exits non-zero when any step fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
BUNDLE = DIST / "accert"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)
EXE = ".exe" if sys.platform == "win32" else ""
SELFTEST_TIMEOUT_S = 300


def version() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    return str(project["version"])


def say(text: str) -> None:
    print(f"[build] {text}", flush=True)


# --- the icon ------------------------------------------------------------------------------------


def find_icon() -> Path | None:
    """The wizard's icon from resources/: an .ico as it is, else one made from its PNG or SVG."""
    icons = ROOT / "resources" / "icons"
    if not icons.is_dir():
        return None
    for ico in sorted(icons.rglob("*.ico")):
        return ico
    pngs = sorted(icons.rglob("*.png"), key=lambda p: p.stat().st_size, reverse=True)
    svgs = sorted(icons.rglob("*.svg"))
    out = WORK / "accert.ico"
    out.parent.mkdir(parents=True, exist_ok=True)
    if svgs:
        png = WORK / "icon-256.png"
        _render_svg(svgs[0], png, 256)
        pngs = [png]
    if not pngs:
        return None
    from PIL import Image  # the build extra

    with Image.open(pngs[0]) as image:
        image.convert("RGBA").save(out, sizes=[(s, s) for s in ICON_SIZES])
    say(f"icon {out.relative_to(ROOT)} made from {pngs[0].name}")
    return out


def _render_svg(svg: Path, png: Path, size: int) -> None:
    # Qt renders SVG without a display; it is installed anyway (the GUI's own toolkit).
    code = (
        "import sys; from PySide6.QtGui import QGuiApplication, QImage, QPainter, QColor;"
        "from PySide6.QtSvg import QSvgRenderer; app = QGuiApplication([]);"
        f"img = QImage({size}, {size}, QImage.Format_ARGB32); img.fill(QColor(0, 0, 0, 0));"
        "p = QPainter(img); QSvgRenderer(sys.argv[1]).render(p); p.end();"
        "sys.exit(0 if img.save(sys.argv[2]) else 1)"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    subprocess.run([sys.executable, "-c", code, str(svg), str(png)], check=True, env=env)


# --- the bundle ----------------------------------------------------------------------------------


def build_bundle() -> float:
    icon = find_icon()
    if icon is None:
        say("no icon in resources/icons yet: building without one")
    env = dict(os.environ, ACCERT_ICON=str(icon) if icon else "")
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            str(DIST),
            "--workpath",
            str(WORK),
            str(ROOT / "installer" / "accert.spec"),
        ],
        check=True,
        env=env,
        cwd=ROOT,
    )
    seconds = time.perf_counter() - start
    say(f"bundle {BUNDLE.relative_to(ROOT)} built in {seconds:.0f} s, {size_mb(BUNDLE):.0f} MB")
    return seconds


def size_mb(folder: Path) -> float:
    # Symbolic links (Qt's libraries on Linux) would count the same file twice.
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    return sum(p.stat().st_size for p in files) / 1e6


# --- the frozen self-test ------------------------------------------------------------------------


def run_timed(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float | None]:
    """One run: the wall time the user waits, and the CPU time (user + system) the process used,
    which a busy machine disturbs far less (None where it cannot be read)."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors,
            env=env, cwd=cwd,
        )  # fmt: skip
        cpu: float | None = None
        if hasattr(os, "wait4"):  # POSIX: the kernel's accounting for this very process
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            cpu = usage.ru_utime + usage.ru_stime
        else:
            proc.wait(timeout=120)
            cpu = _windows_cpu(proc)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            errors.seek(0)
            detail = errors.read().decode("utf-8", "replace").strip()
            raise SystemExit(f"[build] {' '.join(args)} failed ({proc.returncode}): {detail}")
    return wall, cpu


def _windows_cpu(proc: subprocess.Popen[bytes]) -> float | None:
    """User + kernel time of a finished child (GetProcessTimes on its handle). None in a venv:
    its python.exe is a launcher that runs the real interpreter as a second process, whose time
    the launcher's handle does not include."""
    if sys.prefix != sys.base_prefix:
        return None
    import ctypes
    from ctypes import wintypes

    times = [wintypes.FILETIME() for _ in range(4)]  # creation, exit, kernel, user
    try:
        handle = wintypes.HANDLE(int(proc._handle))  # type: ignore[attr-defined]
        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        if not kernel32.GetProcessTimes(handle, *(ctypes.byref(t) for t in times)):
            return None
    except (AttributeError, OSError):  # the timing then says n/a; the build goes on
        return None
    ticks = sum((t.dwHighDateTime << 32) | t.dwLowDateTime for t in times[2:])
    return float(ticks) / 1e7  # FILETIME counts 100 ns


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if len(known) == len(values) else None


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.1f} ms"


def _ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or not b else f"{a / b:.2f}"


def compare_start(cli: Path, pairs: int) -> None:
    """The frozen `accert` against the same commands from source (`python -m app`), `pairs` runs
    of each, alternating which goes first so that a busy moment falls on both sides; medians.

    Both sides get the same environment: no credential store (the passphrase from
    ACCERT_PASSPHRASE, as on a headless server), a throwaway ACCERT_HOME, and bytecode caching on
    (an installed accert has its .pyc files; PYTHONDONTWRITEBYTECODE would make the source side
    compile our modules at every run)."""
    with tempfile.TemporaryDirectory(prefix="accert-start-") as tmp:
        env = dict(os.environ, ACCERT_HOME=str(Path(tmp) / "home"),
                   ACCERT_PASSPHRASE="start-up timing passphrase",
                   PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")  # fmt: skip
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        frozen, source = [str(cli)], [sys.executable, "-m", "app"]
        commands = {
            "accert --version": ["--version"],
            "accert --help": ["--help"],
            "accert request (ECDSA P-256)": ["request", "{ws}", "--cn", "start.example.com",
                                             "--key", "ec256"],
        }  # fmt: skip
        say(
            f"start-up, frozen vs from source ({sys.executable} -m app): medians of {pairs} "
            "alternating runs; wall = the wait, CPU = user + system time of the process"
        )
        for label, args in commands.items():
            runs: dict[str, list[tuple[float, float | None]]] = {"frozen": [], "source": []}
            sides = {"frozen": frozen, "source": source}
            for n in range(-1, pairs):  # run -1 warms both sides' caches (.pyc, files); not kept
                order = ("frozen", "source") if n % 2 == 0 else ("source", "frozen")
                for side in order:
                    folder = Path(tmp) / f"{side}-{label.split()[1]}-{n + 1}"
                    command = [*sides[side], *(str(folder) if a == "{ws}" else a for a in args)]
                    result = run_timed(command, env, ROOT)
                    if n >= 0:
                        runs[side].append(result)
            wall = [statistics.median(w for w, _ in runs[side]) for side in sides]
            cpu = [_median([c for _, c in runs[side]]) for side in sides]
            say(
                f"  {label:30} wall {_ms(wall[0])} frozen / {_ms(wall[1])} source = "
                f"{_ratio(*wall)};  CPU {_ms(cpu[0])} / {_ms(cpu[1])} = {_ratio(*cpu)}"
            )


def run_selftest(args: list[str], report: Path | None = None) -> bool:
    """One frozen self-test; its verdict is printed (from the report for the windowed one)."""
    say(f"frozen: {Path(args[0]).name} {' '.join(args[1:])}")
    if report is not None:
        report.unlink(missing_ok=True)
        args = [*args, "--report", str(report)]
    try:
        proc = subprocess.run(
            args,
            stdin=subprocess.DEVNULL,
            # A windowed .exe has no console: its verdict is read from the report instead.
            stdout=subprocess.DEVNULL if report is not None else None,
            timeout=SELFTEST_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        say(f"FAILED: no answer within {SELFTEST_TIMEOUT_S} s")
        return False
    if report is not None:
        text = report.read_text("utf-8") if report.exists() else "(no report written)\n"
        sys.stdout.write(text)
    if proc.returncode != 0:
        say(f"FAILED: exit code {proc.returncode}")
    return proc.returncode == 0


def smoke(bundle: Path, pairs: int = 21) -> bool:
    """The frozen programs, as a user gets them, run their self-tests headless; then the frozen
    command line's start-up is timed against the same from source (`pairs` runs each, 0: not)."""
    cli, wizard = bundle / f"accert{EXE}", bundle / f"accert-wizard{EXE}"
    results = [
        run_selftest([str(cli), "selftest", "--verbose"]),
        run_selftest([str(wizard), "--selftest"], report=WORK / "wizard-selftest.txt"),
    ]
    if all(results) and pairs > 0:
        compare_start(cli, pairs)
    say(f"bundle {bundle.relative_to(ROOT)}: {size_mb(bundle):.0f} MB")
    passed = sum(results)
    print(f"frozen-selftest: {passed} passed, {len(results) - passed} failed", flush=True)
    return passed == len(results)


# --- the installer -------------------------------------------------------------------------------


def find_iscc() -> Path:
    found = shutil.which("ISCC") or shutil.which("iscc")
    if found:
        return Path(found)
    for base in (os.environ.get("PROGRAMFILES(X86)"), os.environ.get("PROGRAMFILES")):
        for candidate in sorted(Path(base).glob("Inno Setup */ISCC.exe")) if base else []:
            return candidate
    raise SystemExit("[build] Inno Setup (ISCC.exe) not found: install it, or add it to PATH.")


def iscc_defines(icon: Path | None, package_version: str | None = None) -> list[str]:
    """What installer/accert.iss is compiled with; a version such as 0.2.0rc1 gets its four
    numbers (0.2.0.0) for VersionInfoVersion, as packaging parses it."""
    sys.path.insert(0, str(ROOT / "installer"))
    from versions import windows_version  # installer/versions.py

    text = package_version or version()
    defines = [
        f"/DAppVersion={text}",
        f"/DAppVersionNumbers={windows_version(text)}",
        f"/DBundleDir={BUNDLE}",
        f"/DOutputDir={DIST}",
    ]
    return [*defines, f"/DIconFile={icon}"] if icon else defines


def build_installer() -> Path:
    if sys.platform != "win32":
        raise SystemExit("[build] The installer is built on Windows (Inno Setup).")
    defines = iscc_defines(find_icon())
    subprocess.run([str(find_iscc()), *defines, str(ROOT / "installer" / "accert.iss")], check=True)
    setup = DIST / f"accert-setup-{version()}.exe"
    say(f"installer {setup} ({setup.stat().st_size / 1e6:.0f} MB)")
    return setup


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="run the frozen self-tests")
    parser.add_argument("--installer", action="store_true", help="build the Windows installer")
    parser.add_argument(
        "--skip-build", action="store_true", help="use the bundle already in dist/accert"
    )
    parser.add_argument(
        "--pairs", type=int, default=21, metavar="N",
        help="with --smoke: time the frozen start-up against the source over N runs each "
        "(default 21; 0 skips the timing)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if not args.skip_build:
        build_bundle()
    elif not BUNDLE.is_dir():
        raise SystemExit(f"[build] {BUNDLE} does not exist: build it first.")
    if args.smoke and not smoke(BUNDLE, args.pairs):
        return 1
    if args.installer:
        build_installer()
    return 0


if __name__ == "__main__":
    sys.exit(main())
