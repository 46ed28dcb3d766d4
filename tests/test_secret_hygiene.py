"""After a whole renewal with known passwords, no password and no unencrypted key is left
anywhere but in the exports the user asked for: not in the renewal folder, the logs, the
settings, a crash report, the output, nor the command line of any process accert starts.

Every step runs as a real `accert` process under a small wrapper whose audit hook records the
argv of every process it starts (Java's keytool among them, with pyjks kept out), so what
`ps` would show to another user of the PC is checked too.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from app.atomic import temp_glob
from app.fingerprints import public_key_sha256
from app.redact import MASK
from app.tls_probe import fetch_served_chain
from app.workspace import Workspace
from tests.conftest import TEST_PASSPHRASE
from tests.fakes.mediant_sim import MediantSim
from tests.helpers import KEYTOOL
from tests.owner_only import assert_owner_only
from tests.pki import TestCA

PFX_PASSWORD = "Pfx-Export-Secret-7731"
DEVICE_PASSWORD = "Sbc-Admin-Secret-5519"
WRONG_PASSWORD = "Typo-Pfx-Secret-0042"
PASSWORDS = (PFX_PASSWORD, DEVICE_PASSWORD, WRONG_PASSWORD, TEST_PASSPHRASE)
REPO = Path(__file__).resolve().parent.parent

# Runs accert with an audit hook recording every process it starts (argv as `ps` shows it).
# FAULT_ON makes the n-th open() of a matching path fail with a message holding a password,
# as a bug report from a library might: the crash report must still not hold it.
WRAPPER = r"""
import fnmatch, json, os, runpy, sys
record = open(os.environ["SPAWN_LOG"], "a", encoding="utf-8")
fault = os.environ.get("FAULT_ON")

def hook(event, args):
    if event in ("subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn", "os.system"):
        argv = args[1] if event != "os.system" else args[0]
        record.write(json.dumps([event, [os.fsdecode(a) if isinstance(a, (str, bytes)) else
                                         str(a) for a in (argv if isinstance(argv, (list, tuple))
                                         else [argv])]]) + "\n")
        record.flush()
    if fault and event == "open" and isinstance(args[0], str) and fnmatch.fnmatch(
        os.path.basename(args[0]), fault
    ) and ("w" in str(args[1]) or int(args[2] or 0) & os.O_CREAT):  # open() or os.open()
        raise RuntimeError("simulated disk fault, password was " + os.environ["PFX_PW"])

sys.addaudithook(hook)
if os.environ.get("NO_PYJKS"):
    sys.modules["jks"] = None  # import jks fails: the JKS is made by Java's keytool
sys.argv = ["accert", *sys.argv[1:]]
runpy.run_module("app", run_name="__main__", alter_sys=True)
"""


class Runner:
    def __init__(self, tmp: Path) -> None:
        self.wrapper = tmp / "wrapper.py"
        self.wrapper.write_text(WRAPPER)
        self.spawn_log = tmp / "spawned.jsonl"
        self.outputs: list[str] = []

    def __call__(
        self, *args: str | Path, expect: int = 0, stdin: str = "", **env: str
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, str(self.wrapper), *map(str, args)],
            input=stdin, capture_output=True, text=True, cwd=REPO, timeout=120, check=False,
            env=dict(os.environ, SPAWN_LOG=str(self.spawn_log), PFX_PW=PFX_PASSWORD,
                     SBC_PW=DEVICE_PASSWORD, BAD_PW=WRONG_PASSWORD, **env),
        )  # fmt: skip
        self.outputs += [proc.stdout, proc.stderr]
        assert proc.returncode == expect, (args, proc.returncode, proc.stderr)
        return proc

    def spawned(self) -> list[list[str]]:
        if not self.spawn_log.exists():
            return []
        return [json.loads(line)[1] for line in self.spawn_log.read_text().splitlines()]


def _key_forms(ws: Path) -> list[bytes]:
    """The private key unencrypted, in every form it could leak: DER and base64 of them."""
    key = Workspace.open(ws).private_key()
    forms = []
    for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
        der = key.private_bytes(serialization.Encoding.DER, fmt, serialization.NoEncryption())
        forms += [der, base64.b64encode(der)[8:72]]  # a slice: line breaks do not hide it
    return forms


def _files(root: Path, *, skip: tuple[str, ...] = ()) -> Iterator[Path]:
    for path in root.rglob("*"):
        if path.is_file() and not set(path.relative_to(root).parts) & set(skip):
            yield path


def _assert_clean(data: bytes, where: object, key_forms: list[bytes]) -> None:
    flat = re.sub(rb"\s+", b"", data)
    for secret in PASSWORDS:
        assert secret.encode() not in data, f"a password in {where}"
    assert not re.search(rb"-----BEGIN (RSA |EC )?PRIVATE KEY-----", data), f"a key in {where}"
    for form in key_forms:
        assert form not in data and form not in flat, f"the unencrypted key in {where}"


@pytest.fixture
def run(tmp_path: Path) -> Runner:
    return Runner(tmp_path)


def test_full_run_leaves_no_secret_behind(tmp_path: Path, run: Runner, test_ca: TestCA) -> None:
    home = Path(os.environ["ACCERT_HOME"])
    ws = tmp_path / "renewal"
    run("request", ws, "--cn", "*.example.com", "--san", "sbc1.example.com", "--org", "Example")
    leaf = test_ca.sign((ws / "request.csr").read_bytes(), tmp_path / "star_example_com.crt")
    # Pasted intermediate, and a wrong PFX password on the way (its error must not echo it).
    run("import", ws, leaf, "-", stdin=test_ca.inter_pem.decode() + test_ca.root_pem.decode())
    out = ws / "exports" / "everything"
    run("export", ws, "--out", out, "--preset", "everything", "--jks",
        "--pfx-password-env", "PFX_PW", NO_PYJKS="1")  # fmt: skip
    pfx = next(out.glob("*.pfx"))
    run("open-pfx", pfx, tmp_path / "from-pfx", "--password-env", "BAD_PW", expect=1)
    pw_file = tmp_path / "pfx-password.txt"
    pw_file.write_text(PFX_PASSWORD + "\n")
    run("open-pfx", pfx, tmp_path / "from-pfx", "--password-file", pw_file)
    with MediantSim(password=DEVICE_PASSWORD) as sim:
        fingerprint = fetch_served_chain("127.0.0.1", sim.port).leaf_sha256
        run("deploy-sbc", ws, "--host", sim.host_port, "--user", sim.user,
            "--password-env", "SBC_PW", "--context", "1", "--fingerprint",
            f"SHA256:{fingerprint}", "--verify-port", str(sim.context_port(1)))  # fmt: skip
    # A bug with a password in its message, while exporting: the crash report is redacted.
    # (the temporary files of star_example_com.pfx, .key and .crt share one short name)
    run("export", ws, "--out", tmp_path / "crashed", "--pfx-password-env", "PFX_PW",
        FAULT_ON=temp_glob("star_example_com.pfx"), expect=70)  # fmt: skip
    crash = home / "logs" / "crash.log"
    assert crash.exists() and "simulated disk fault" in crash.read_text()

    key_forms = _key_forms(ws)
    scanned = []
    for root, skip in [(ws, ("exports",)), (tmp_path / "from-pfx", ("exports",)), (home, ())]:
        for path in _files(root, skip=skip):
            _assert_clean(path.read_bytes(), path, key_forms)
            scanned.append(path.relative_to(tmp_path).as_posix())
    assert any(p.endswith("crash.log") for p in scanned)
    assert any(p.endswith("log.jsonl") for p in scanned)
    assert any("backups" in p for p in scanned), "the device's backup was scanned"
    for text in run.outputs:
        _assert_clean(text.encode(), "the output", key_forms)

    # What another user's `ps` sees: no password, no key, in any process accert started.
    spawned = run.spawned()
    assert KEYTOOL, "Java's keytool is missing: scripts/install-test-deps.sh installs it"
    assert any("keytool" in Path(argv[0]).name for argv in spawned), spawned
    for argv in spawned:
        _assert_clean(" ".join(argv).encode(), f"the command line {argv}", key_forms)

    # The scan is not blind: it finds the key in the export and the password in its file.
    exported_key = next(out.glob("*.key"))
    with pytest.raises(AssertionError, match="key"):
        _assert_clean(exported_key.read_bytes(), exported_key, key_forms)
    with pytest.raises(AssertionError, match="password"):
        _assert_clean(pw_file.read_bytes(), pw_file, key_forms)
    with pytest.raises(AssertionError, match="unencrypted key"):
        _assert_clean(base64.encodebytes(key_forms[0]), "a PEM body without its lines", key_forms)
    assert "[private key removed]" in crash.read_text() or MASK in crash.read_text()
    loaded = serialization.load_pem_private_key(exported_key.read_bytes(), None)
    assert (
        public_key_sha256(loaded.public_key()) == Workspace.open(ws).csr_summary().public_key_sha256
    )


def test_secret_files_are_owner_only(tmp_path: Path, run: Runner, test_ca: TestCA) -> None:
    old_umask = os.umask(0o022)  # a usual, permissive default: nothing secret may inherit it
    try:
        ws = tmp_path / "renewal"
        run("request", ws, "--cn", "sbc1.example.com")
        leaf = test_ca.sign((ws / "request.csr").read_bytes(), tmp_path / "sbc1.crt")
        run("import", ws, leaf, "-", stdin=test_ca.inter_pem.decode())
        out = tmp_path / "out"
        run("export", ws, "--out", out, "--preset", "everything", "--jks",
            "--pfx-password-env", "PFX_PW")  # fmt: skip
    finally:
        os.umask(old_umask)
    assert_owner_only(ws / "private.key", 0o600)
    assert_owner_only(ws)
    secrets = [p for p in out.iterdir() if p.suffix in (".key", ".pfx", ".p12", ".jks")]
    assert {p.suffix for p in secrets} >= {".key", ".pfx", ".jks"}
    for path in secrets:
        assert_owner_only(path, 0o600)
    # The key inside the renewal is encrypted at rest.
    assert (ws / "private.key").read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
