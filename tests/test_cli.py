"""The `accert` command as a user runs it: a real process, real files, one-line errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import TEST_PASSPHRASE
from tests.helpers import keytool, other_csr
from tests.pki import TestCA, openssl

PFX_PASSWORD = "Export-Pass-2026!"


def accert(
    *args: str | Path, stdin: bytes | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ, **env)
    return subprocess.run(
        [sys.executable, "-m", "app", *map(str, args)],
        input=stdin.decode() if stdin is not None else "",
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )


def ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, proc.stderr
    return proc


def test_wildcard_renewal_end_to_end(tmp_path: Path, test_ca: TestCA) -> None:
    ws = tmp_path / "star"
    made = ok(accert("request", ws, "--cn", "*.example.com", "--org", "Example Ltd",
                     "--ou", "Voice", "--locality", "London", "--country", "GB"))  # fmt: skip
    assert made.stdout.startswith("-----BEGIN CERTIFICATE REQUEST-----")
    assert "paste this CSR into your CA's order form" in made.stderr
    (tmp_path / "r.csr").write_text(made.stdout)
    text = openssl("req", "-in", tmp_path / "r.csr", "-noout", "-text", "-verify").decode()
    assert "DNS:*.example.com, DNS:example.com" in text
    leaf = test_ca.sign((ws / "request.csr").read_bytes(), tmp_path / "star_example_com.crt")
    # The CA's ZIP, as DigiCert sends it.
    zip_path = tmp_path / "star_example_com.zip"
    with zipfile.ZipFile(zip_path, "w") as z:
        z.write(leaf, "star_example_com.crt")
        z.writestr("DigiCertCA.crt", test_ca.inter_pem)
        z.writestr("TrustedRoot.crt", test_ca.root_pem)
    imported = ok(accert("import", ws, zip_path))
    assert "Verdict: Matches your key; chain complete" in imported.stdout
    out = tmp_path / "out"
    exported = ok(accert("export", ws, "--out", out, "--preset", "everything",
                         "--pfx-password-env", "PFX_PW", PFX_PW=PFX_PASSWORD))  # fmt: skip
    assert "star_example_com-legacy.pfx" in exported.stdout
    assert PFX_PASSWORD not in exported.stdout + exported.stderr
    verify = openssl("verify", "-CAfile", out / "star_example_com-root.crt", "-untrusted",
                     out / "star_example_com-chain.crt", out / "star_example_com.crt")  # fmt: skip
    assert verify.strip().endswith(b"OK")
    assert "Certificate chain length: 3" in keytool(
        "-list", "-v", "-keystore", out / "star_example_com.jks", password=PFX_PASSWORD
    )
    shown = ok(accert("show", ws))
    assert "Stage:    Files exported" in shown.stdout
    assert "Chain:    complete" in shown.stdout
    listed = ok(accert("list", "--root", tmp_path))
    assert "*.example.com" in listed.stdout


def test_pasted_text_on_stdin(tmp_path: Path, test_ca: TestCA) -> None:
    ws = tmp_path / "w"
    ok(accert("request", ws, "--cn", "sbc1.example.com", "--key", "ec256"))
    leaf = test_ca.sign((ws / "request.csr").read_bytes(), tmp_path / "l.crt")
    pasted = b"Here is your certificate:\r\n" + leaf.read_bytes() + test_ca.inter_pem
    imported = ok(accert("import", ws, "-", stdin=pasted))
    assert "Matches your key" in imported.stdout


def test_wrong_key_is_refused_with_one_clear_message(tmp_path: Path, test_ca: TestCA) -> None:
    ws = tmp_path / "w"
    ok(accert("request", ws, "--cn", "*.example.com"))
    foreign = test_ca.sign(other_csr(tmp_path), tmp_path / "foreign.crt")
    proc = accert("import", ws, foreign)
    assert proc.returncode == 1
    assert "None of these certificates belongs to this renewal's private key" in proc.stdout
    assert "nothing was imported" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"garbage", "is not a certificate file"),
        (b"-----BEGIN CERTIFICATE-----\nMIIC", "cut off"),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path: Path, content: bytes, message: str) -> None:
    ws = tmp_path / "w"
    ok(accert("request", ws, "--cn", "sbc.example.com"))
    bad = tmp_path / "bad.crt"
    bad.write_bytes(content)
    proc = accert("import", ws, bad)
    assert proc.returncode == 1
    first = proc.stderr.splitlines()[0]
    assert first.startswith("error: bad.crt") and message in first
    assert "Traceback" not in proc.stderr


def test_invalid_request_values(tmp_path: Path) -> None:
    proc = accert("request", tmp_path / "w", "--cn", "*.example.com", "--country", "UK")
    assert proc.returncode == 1
    assert "'UK' is not an ISO 3166 code; use GB." in proc.stderr
    assert not (tmp_path / "w").exists()
    proc = accert("request", tmp_path / "w", "--cn", "x.example.com", "--key", "rsa1024")
    assert proc.returncode == 1 and "refused" in proc.stderr


def test_missing_password_variable(tmp_path: Path, test_ca: TestCA) -> None:
    ws = tmp_path / "w"
    ok(accert("request", ws, "--cn", "sbc.example.com"))
    leaf = test_ca.sign((ws / "request.csr").read_bytes(), tmp_path / "l.crt")
    ok(accert("import", ws, leaf, "-", stdin=test_ca.inter_pem))
    proc = accert("export", ws, "--out", tmp_path / "o", "--jks", "--pfx-password-env", "NOPE")
    assert proc.returncode == 1
    assert "The environment variable NOPE is not set" in proc.stderr
    # Without any password option and no terminal, it says how to give one.
    proc = accert("export", ws, "--out", tmp_path / "o", "--jks")
    assert proc.returncode == 1 and "no terminal" in proc.stderr


def test_passphrase_missing_in_ci(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ACCERT_PASSPHRASE"}
    proc = subprocess.run(
        [sys.executable, "-m", "app", "request", str(tmp_path / "w"), "--cn", "a.example.com"],
        capture_output=True, text=True, env=env, input="", check=False, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "No credential store is available" in proc.stderr
    assert "ACCERT_PASSPHRASE" in proc.stderr


def test_show_a_file(tmp_path: Path, test_ca: TestCA) -> None:
    bundle = tmp_path / "bundle.p7b"
    chain = tmp_path / "chain.pem"
    chain.write_bytes(test_ca.root_pem + test_ca.inter_pem)
    bundle.write_bytes(openssl("crl2pkcs7", "-nocrl", "-certfile", chain))
    proc = ok(accert("show", bundle))
    assert "Test TLS RSA CA G2" in proc.stdout and "Chain: complete" in proc.stdout


def test_secrets_never_reach_the_folder_logs_or_output(tmp_path: Path, test_ca: TestCA) -> None:
    """After a full run with known passwords, only the exports may hold a key or a password."""
    ws = tmp_path / "w"
    outputs = [ok(accert("request", ws, "--cn", "*.example.com")).stderr]
    leaf = test_ca.sign((ws / "request.csr").read_bytes(), tmp_path / "l.crt")
    outputs.append(ok(accert("import", ws, leaf, "-", stdin=test_ca.inter_pem)).stdout)
    proc = ok(accert("export", ws, "--out", ws / "exports", "--preset", "everything",
                     "--pfx-password-env", "PW", PW=PFX_PASSWORD))  # fmt: skip
    outputs += [proc.stdout, proc.stderr]
    # A failing run that echoes the password back would be caught too.
    bad = accert("import", ws, tmp_path / "missing.pfx", "--password-env", "PW", PW=PFX_PASSWORD)
    outputs += [bad.stdout, bad.stderr]
    home = Path(os.environ["ACCERT_HOME"])
    scanned = 0
    for path in [*ws.rglob("*"), *home.rglob("*")]:
        if (
            not path.is_file()
            or "exports" in path.relative_to(ws if path.is_relative_to(ws) else home).parts
        ):
            continue
        data = path.read_bytes()
        scanned += 1
        assert PFX_PASSWORD.encode() not in data, path
        assert TEST_PASSPHRASE.encode() not in data, path
        assert not re.search(rb"-----BEGIN (RSA |EC )?PRIVATE KEY-----", data), path
    assert scanned >= 5
    for text in outputs:
        assert PFX_PASSWORD not in text and TEST_PASSPHRASE not in text
        assert "PRIVATE KEY-----" not in text
