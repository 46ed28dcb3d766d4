"""Killed at any instant (SIGKILL, or TerminateProcess on Windows: no cleanup, no except, no
finally), a renewal still opens, its key is never lost or damaged, and the interrupted step can
be done again.

A real `python -m app` child is killed after a delay (start-up), once a file it writes
appears, or, in the middle of an atomic write, at the rename that would end it: a temporary
file lives for microseconds where fsync costs nothing (tmpfs), too briefly to be seen from
outside, so there the child is stopped by Python's audit hook (tests/fakes/kill_at_rename.py).
No hook in the engine.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from app.atomic import temp_glob
from app.fingerprints import public_key_sha256
from app.tls_probe import fetch_served_chain
from app.workspace import CSR_FILE, KEY_FILE, STATE_FILE, Stage, Workspace
from tests.conftest import TEST_PASSPHRASE
from tests.fakes.mediant_sim import MediantSim
from tests.fakes.pebble import ChallTestSrv, Pebble, hook_command
from tests.pki import TestCA

REPO = Path(__file__).resolve().parent.parent
KILL_AT_RENAME = Path(__file__).with_name("fakes") / "kill_at_rename.py"
# What a killed child returns: -SIGKILL on POSIX; TerminateProcess(handle, SIGTERM) on Windows.
KILLED = -signal.SIGKILL if hasattr(signal, "SIGKILL") else signal.SIGTERM


def _command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "app", *map(str, args)]


def _run(args: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, env=env, cwd=REPO, timeout=60, check=False
    )


def _kill_after(args: Sequence[str], env: dict[str, str], delay: float) -> bool:
    """Start the command and SIGKILL it after `delay` s; True when it was still running."""
    child = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=REPO
    )
    try:
        child.wait(timeout=delay)
        return False  # it finished first: a run that was not interrupted
    except subprocess.TimeoutExpired:
        child.kill()  # SIGKILL (TerminateProcess on Windows)
        child.wait(timeout=10)
        return True


def _kill_when(args: Sequence[str], env: dict[str, str], folder: Path, pattern: str) -> bool:
    """Start the command and SIGKILL it as soon as `folder` holds a new match of `pattern`."""
    before = set(folder.glob(pattern)) if folder.exists() else set()
    return _kill_once(
        args, env, lambda: folder.exists() and bool(set(folder.glob(pattern)) - before)
    )


def _kill_once(args: Sequence[str], env: dict[str, str], seen: Callable[[], bool]) -> bool:
    """Start the command and SIGKILL it the moment `seen()` is true; False if it ended first."""
    child = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=REPO
    )
    deadline = time.monotonic() + 60
    try:
        while child.poll() is None and time.monotonic() < deadline:
            if seen():
                child.kill()  # SIGKILL (TerminateProcess on Windows)
                child.wait(timeout=10)
                return True
            time.sleep(0.0002)
        return False
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)


def _kill_at_rename(args: Sequence[str], env: dict[str, str], pattern: Path) -> bool:
    """Run the `python -m app` command and kill it as it renames a file matching `pattern`
    into place; False if it ended without doing so."""
    assert list(args[1:3]) == ["-m", "app"], args
    child = subprocess.run(
        [args[0], str(KILL_AT_RENAME), str(pattern), *args[3:]],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=REPO, timeout=60,
        check=False,
    )  # fmt: skip
    return child.returncode == KILLED


def _interrupt(args: Sequence[str], env: dict[str, str], folder: Path, point: str) -> bool:
    """Kill the step at `point`: "start-up" (a delay), a glob of a file it writes, or of a
    temporary file (a name starting with "."): in the middle of that atomic write."""
    if point == "start-up":
        return _kill_after(args, env, 0.15)
    if Path(point).name.startswith("."):
        return _kill_at_rename(args, env, folder / point)
    return _kill_when(args, env, folder, point)


def _assert_key_matches_csr(path: Path) -> str:
    """The key decrypts and belongs to the CSR: what a user needs to go on. Returns its id."""
    ws = Workspace.open(path)
    key = ws.private_key()
    csr = x509.load_pem_x509_csr((path / CSR_FILE).read_bytes())
    assert csr.is_signature_valid
    assert public_key_sha256(key.public_key()) == public_key_sha256(csr.public_key())
    return public_key_sha256(key.public_key())


@pytest.fixture
def env(isolated_home: Path) -> dict[str, str]:
    return dict(os.environ)


# Every kill point runs with ACCERT_CRASH_ALL=1; CI runs a subset that still lands before,
# inside and after each atomic write, to stay fast.
ALL_POINTS = os.environ.get("ACCERT_CRASH_ALL") == "1"


def _points(every: list[Any], ci: list[Any]) -> list[Any]:
    return every if ALL_POINTS else ci


# In the order the step writes them; temp_glob(NAME) is NAME in the middle of its atomic write,
# "DIR/.*" any file in DIR in the middle of its.
REQUEST_POINTS = ["start-up", "renewal.json", temp_glob("private.key"), "private.key",
                  temp_glob("request.csr"), "request.csr", "log.jsonl"]  # fmt: skip


@pytest.mark.parametrize(
    "point",
    _points(REQUEST_POINTS, ["start-up", temp_glob("private.key"), "private.key", "request.csr"]),
)
def test_killed_during_request(tmp_path: Path, env: dict[str, str], point: str) -> None:
    ws = tmp_path / "ws"
    request = _command("request", ws, "--cn", "*.example.com", "--san", "sbc1.example.com")
    for _attempt in range(3):  # a file that lives a few microseconds may be missed once
        shutil.rmtree(ws, ignore_errors=True)
        if _interrupt(request, env, ws, point):
            break
    else:
        pytest.fail(f"the request always finished before {point} was seen")
    key_before = (ws / KEY_FILE).read_bytes() if (ws / KEY_FILE).exists() else None
    if (ws / STATE_FILE).exists():
        assert Workspace.open(ws).state.stage in (Stage.NEW, Stage.REQUESTED)  # always opens
    else:
        assert key_before is None, "a key without its renewal file would be lost"
    # The user runs the same command again: it completes, keeping a key already made.
    again = _run(request, env)
    assert again.returncode == 0, again.stderr
    _assert_key_matches_csr(ws)
    if key_before is not None:
        assert (ws / KEY_FILE).read_bytes() == key_before, "the key was replaced"
    assert Workspace.open(ws).state.stage is Stage.REQUESTED


@pytest.fixture(scope="module")
def templates(
    tmp_path_factory: pytest.TempPathFactory, test_ca: TestCA
) -> tuple[Path, Path, Path, Path]:
    """Made once: a renewal waiting for the CA, the same imported, the CA's leaf and bundle.

    Each test works on a copy; the key's passphrase comes from the environment, which every
    test shares, so a copy opens anywhere.
    """
    tmp = tmp_path_factory.mktemp("crash")
    env = dict(os.environ, ACCERT_HOME=str(tmp / "home"), ACCERT_PASSPHRASE=TEST_PASSPHRASE,
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")  # fmt: skip
    requested = tmp / "requested"
    made = _run(_command("request", requested, "--cn", "*.example.com"), env)
    assert made.returncode == 0, made.stderr
    leaf = test_ca.sign((requested / CSR_FILE).read_bytes(), tmp / "star_example_com.crt")
    bundle = tmp / "DigiCertCA.crt"
    bundle.write_bytes(test_ca.inter_pem + test_ca.root_pem)
    issued = tmp / "issued"
    shutil.copytree(requested, issued)
    imported = _run(_command("import", issued, leaf, bundle), env)
    assert imported.returncode == 0, imported.stderr
    return requested, issued, leaf, bundle


IMPORT_POINTS = ["start-up", "response", "response/.*", temp_glob("certificate.crt"),
                 "certificate.crt", "chain.crt", temp_glob("renewal.json")]  # fmt: skip


def _interrupt_copy(
    template: Path, target: Path, command: list[str], env: dict[str, str], point: str
) -> None:
    for _attempt in range(3):
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(template, target)
        if _interrupt(command, env, target, point):
            return
    pytest.fail(f"the step always finished before {point} was seen")


@pytest.mark.parametrize(
    "point", _points(IMPORT_POINTS, ["response/.*", "certificate.crt", temp_glob("renewal.json")])
)
def test_killed_during_import(
    tmp_path: Path, env: dict[str, str], templates: tuple[Path, Path, Path, Path], point: str
) -> None:
    template, _, leaf, bundle = templates
    key_id = _assert_key_matches_csr(template)
    ws = tmp_path / "ws"
    _interrupt_copy(template, ws, _command("import", ws, leaf, bundle), env, point)
    assert Workspace.open(ws).state.stage in (Stage.REQUESTED, Stage.ISSUED)
    assert _assert_key_matches_csr(ws) == key_id
    again = _run(_command("import", ws, leaf, bundle), env)
    assert again.returncode == 0, again.stderr
    done = Workspace.open(ws)
    assert done.state.stage is Stage.ISSUED
    assert done.certificate().public_bytes(serialization.Encoding.PEM) == leaf.read_bytes()
    assert len(done.ca_certificates()) == 2


EXPORT_POINTS = ["start-up", "out", "out/.*", "out/*.key", "out/*.pfx", "out/*.jks",
                 temp_glob("renewal.json")]  # fmt: skip


@pytest.mark.parametrize(
    "point", _points(EXPORT_POINTS, ["out/.*", "out/*.pfx", temp_glob("renewal.json")])
)
def test_killed_during_export(
    tmp_path: Path, env: dict[str, str], templates: tuple[Path, Path, Path, Path], point: str
) -> None:
    _, template, _, _ = templates
    key_id = _assert_key_matches_csr(template)
    env = dict(env, PFX_PW="Crash-Test-Pfx-1")
    ws = tmp_path / "ws"

    def export(*extra: str) -> list[str]:
        return _command("export", ws, "--out", ws / "out", "--preset", "everything",
                        "--pfx-password-env", "PFX_PW", *extra)  # fmt: skip

    _interrupt_copy(template, ws, export(), env, point)
    assert Workspace.open(ws).state.stage in (Stage.ISSUED, Stage.EXPORTED)
    assert _assert_key_matches_csr(ws) == key_id
    # No half-written deliverable: every file under its final name is complete.
    for written in (ws / "out").glob("*") if (ws / "out").exists() else []:
        if written.name.endswith(".pfx"):
            pkcs12.load_pkcs12(written.read_bytes(), b"Crash-Test-Pfx-1")
        elif written.suffix in (".crt", ".pem", ".key"):
            assert written.read_bytes().rstrip().endswith(b"-----"), written
    # Done again: files the killed run left are replaced only when asked (--overwrite).
    again = _run(export("--overwrite"), env)
    assert again.returncode == 0, again.stderr
    assert Workspace.open(ws).state.stage is Stage.EXPORTED
    pfx = next((ws / "out").glob("*.pfx"))
    loaded = pkcs12.load_pkcs12(pfx.read_bytes(), b"Crash-Test-Pfx-1")
    assert loaded.key is not None and public_key_sha256(loaded.key.public_key()) == key_id


# A full deployment to one device makes 9 REST calls; kill after the k-th reached the device.
DEPLOY_POINTS = [1, 2, 3, 4, 5, 7, 8, 9]


@pytest.mark.parametrize("calls", _points(DEPLOY_POINTS, [2, 4, 8]))
def test_killed_during_deployment(
    tmp_path: Path, env: dict[str, str], templates: tuple[Path, Path, Path, Path], calls: int
) -> None:
    """Killed while talking to a device: the renewal opens, and deploying again completes."""
    _, template, _, _ = templates
    key_id = _assert_key_matches_csr(template)
    ws = tmp_path / "ws"
    shutil.copytree(template, ws)
    material = Workspace.open(ws).deploy_material()
    with MediantSim() as sim:
        env = dict(env, SBC_PW=sim.password)
        fingerprint = fetch_served_chain("127.0.0.1", sim.port).leaf_sha256
        deploy = _command("deploy-sbc", ws, "--host", sim.host_port, "--user", sim.user,
                          "--password-env", "SBC_PW", "--context", "1",
                          "--fingerprint", f"SHA256:{fingerprint}",
                          "--verify-port", str(sim.context_port(1)))  # fmt: skip
        assert _kill_once(deploy, env, lambda: len(sim.calls) >= calls), "it ended first"
        assert Workspace.open(ws).state.stage in (Stage.ISSUED, Stage.DEPLOYED)
        assert _assert_key_matches_csr(ws) == key_id
        # The device holds the old or the new certificate, each with its own key.
        assert sim.saved[1].key_matches_cert()
        again = _run(deploy, env)
        assert again.returncode == 0, again.stderr
        assert sim.saved[1].cert_pem == material.cert_pem and sim.saved[1].key_matches_cert()
        served = fetch_served_chain("127.0.0.1", sim.context_port(1)).leaf_sha256
        assert served == material.leaf_sha256
        record = Workspace.open(ws).state.deployments[-1]
        assert record["ok"] is True


# --- accert renew: killed anywhere in the unattended cycle ---------------------------------------


@pytest.fixture(scope="module")
def renew_sim() -> Iterator[MediantSim]:
    with MediantSim() as sim:
        yield sim


@pytest.fixture(scope="module")
def renew_template(
    tmp_path_factory: pytest.TempPathFactory,
    pebble: Pebble,
    challtestsrv: ChallTestSrv,
    renew_sim: MediantSim,
) -> Path:
    """A renewal issued by pebble and deployed once to the simulated device."""
    tmp = tmp_path_factory.mktemp("renew-crash")
    env = dict(os.environ, ACCERT_HOME=str(tmp / "home"), ACCERT_PASSPHRASE=TEST_PASSPHRASE,
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
               SBC_PW=renew_sim.password)  # fmt: skip
    ws = tmp / "renewals" / "star_crash_example_test"
    for step in (
        ("request", ws, "--cn", "*.crash.example.test", "--key", "ec256"),
        ("acme", ws, "--directory", pebble.directory, "--ca-bundle", pebble.ca_bundle,
         "--dns-hook", hook_command(challtestsrv), "--dns-resolver", challtestsrv.dns),
        ("deploy-sbc", ws, "--host", renew_sim.host_port, "--user", renew_sim.user,
         "--password-env", "SBC_PW", "--context", "1", "--fingerprint",
         fetch_served_chain("127.0.0.1", renew_sim.port).leaf_sha256,
         "--verify-port", str(renew_sim.context_port(1))),
    ):  # fmt: skip
        done = _run(_command(*step), env)
        assert done.returncode == 0, done.stderr
    return ws


# In the order the run writes them, in the successor's folder unless said otherwise.
RENEW_POINTS = ["start-up", "successor-folder", "renewal.json", "private.key", "request.csr",
                "certificate.crt", "renew-run.json", "backups/*.ini"]  # fmt: skip


@pytest.mark.parametrize(
    "point",
    _points(RENEW_POINTS, ["successor-folder", "private.key", "certificate.crt", "backups/*.ini"]),
)
def test_killed_during_renew(
    tmp_path: Path,
    env: dict[str, str],
    renew_template: Path,
    renew_sim: MediantSim,
    point: str,
) -> None:
    """Killed at any step of `accert renew`: the next scheduled run (not forced) finishes the
    same successor: one new folder, the device serves its certificate, the lineage is whole."""
    from app.mediant import pins
    from app.workspace import default_path

    renewals = tmp_path / "renewals"
    ws = renewals / renew_template.name
    env = dict(env, SBC_PW=renew_sim.password)
    pins.set_pin(
        "127.0.0.1", renew_sim.port, fetch_served_chain("127.0.0.1", renew_sim.port).leaf_sha256
    )
    old_sha = Workspace.open(renew_template).state.leaf_sha256
    renew = _command("renew", ws, "--force", "--password-env", "SBC_PW")
    for _attempt in range(3):
        shutil.rmtree(renewals, ignore_errors=True)
        shutil.copytree(renew_template.parent, renewals)
        successor = default_path("*.crash.example.test", renewals)
        if point == "start-up":
            killed = _kill_after(renew, env, 0.15)
        elif point == "successor-folder":
            killed = _kill_once(renew, env, successor.exists)
        else:
            killed = _kill_when(renew, env, successor, point)
        if killed:
            break
    else:
        pytest.fail(f"renew always finished before {point} was seen")
    # The renewal and whatever the killed run left still open.
    Workspace.open(ws)
    # The next daily run: no --force; an unfinished successor is resumed, whatever is due.
    again = _run(_command("renew", ws, "--password-env", "SBC_PW"), env)
    assert again.returncode == 0, again.stdout + again.stderr
    if not Workspace.open(ws).state.renewed_by:
        assert point == "start-up" and "is not due" in again.stdout  # nothing had started
        assert not successor.exists()
        again = _run(renew, env)
        assert again.returncode == 0, again.stdout + again.stderr
    folders = sorted(p.name for p in renewals.iterdir() if p.is_dir())
    assert folders == sorted([ws.name, successor.name]), folders  # exactly one successor
    new = Workspace.open(successor)
    assert Workspace.open(ws).state.renewed_by == str(successor)
    assert new.state.renews == str(ws)
    assert new.state.leaf_sha256 not in ("", old_sha)
    _assert_key_matches_csr(successor)
    served = fetch_served_chain("127.0.0.1", renew_sim.context_port(1)).leaf_sha256
    assert served == new.state.leaf_sha256
    assert list((successor / "backups").glob("127.0.0.1_*.ini"))


def test_a_successor_cut_while_its_renewal_file_was_written_is_resumed(
    tmp_path: Path, env: dict[str, str], renew_template: Path, renew_sim: MediantSim
) -> None:
    """What a kill inside the successor's first atomic write leaves: the predecessor names the
    folder, which holds only the temporary file. The next run finishes that successor (it said
    "is not empty" when the leftover was looked for as *.tmp, a name atomic_write stopped using)."""
    from app.mediant import pins
    from app.workspace import default_path

    renewals = tmp_path / "renewals"
    shutil.copytree(renew_template.parent, renewals)
    ws = renewals / renew_template.name
    successor = default_path("*.crash.example.test", renewals)
    Workspace.open(ws).set_lineage(renewed_by=str(successor))
    successor.mkdir()
    cut = successor / temp_glob(STATE_FILE).replace("?", "x")
    cut.write_text('{"id": "3f2a', encoding="utf-8")
    pins.set_pin(
        "127.0.0.1", renew_sim.port, fetch_served_chain("127.0.0.1", renew_sim.port).leaf_sha256
    )
    env = dict(env, SBC_PW=renew_sim.password)
    again = _run(_command("renew", ws, "--password-env", "SBC_PW"), env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert not cut.exists()
    new = Workspace.open(successor)
    assert new.state.renews == str(ws)
    _assert_key_matches_csr(successor)
    served = fetch_served_chain("127.0.0.1", renew_sim.context_port(1)).leaf_sha256
    assert served == new.state.leaf_sha256


def test_a_request_cut_while_its_renewal_file_was_written_runs_again(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """The user runs the same `accert request` again after a kill inside the first atomic
    write: the folder holds only renewal.json's temporary file, and the request completes."""
    ws = tmp_path / "ws"
    ws.mkdir()
    cut = ws / temp_glob(STATE_FILE).replace("?", "x")
    cut.write_text('{"id": "3f2a', encoding="utf-8")
    again = _run(_command("request", ws, "--cn", "*.example.com"), env)
    assert again.returncode == 0, again.stderr
    assert not cut.exists()
    _assert_key_matches_csr(ws)
    # Anything else in the folder is still the user's: refused, and left as it was.
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine", encoding="utf-8")
    refused = _run(_command("request", other, "--cn", "*.example.com"), env)
    assert refused.returncode != 0 and "is not empty" in refused.stderr
    assert [p.name for p in other.iterdir()] == ["notes.txt"]
