"""`accert acme` against a real ACME CA: pebble, with challtestsrv as the DNS it asks.

Every check is what a user would look at: the exit code and its one line, the certificate the
folder now holds (verified by `openssl verify` up to pebble's root), the TXT records the hook
was asked to create and remove, and what renewal.json recorded.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes.pebble import ChallTestSrv, Pebble
from tests.pki import openssl
from tests.test_cli import accert, ok


def hook_calls(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def acme_args(pebble: Pebble, challtestsrv: ChallTestSrv, hook: str) -> list[str]:
    return [
        "--directory", pebble.directory,
        "--ca-bundle", str(pebble.ca_bundle),
        "--dns-hook", hook,
        "--dns-resolver", challtestsrv.dns,
        "--email", "pki@example.test",
    ]  # fmt: skip


def verify_chain(ws: Path, root_pem: bytes, tmp_path: Path) -> str:
    root = tmp_path / "pebble-root.pem"
    root.write_bytes(root_pem)
    return openssl(
        "verify", "-CAfile", root, "-untrusted", ws / "chain.crt", ws / "certificate.crt"
    ).decode()


def test_wildcard_and_bare_domain_rsa(
    tmp_path: Path, pebble: Pebble, challtestsrv: ChallTestSrv, pebble_hook: str
) -> None:
    ws = tmp_path / "star"
    ok(accert("request", ws, "--cn", "*.rsa.example.test", "--key", "rsa2048"))
    log = tmp_path / "hook.log"
    run = accert("acme", ws, *acme_args(pebble, challtestsrv, pebble_hook), HOOK_LOG=str(log))
    assert run.returncode == 0, run.stderr
    assert "Verdict: Matches your key" in run.stdout
    assert "Traceback" not in run.stderr
    # Both TXT values stood at the one name until both were validated, then both went.
    calls = hook_calls(log)
    name = "_acme-challenge.rsa.example.test."
    assert [c[:2] for c in calls] == [["present", name]] * 2 + [["cleanup", name]] * 2
    assert calls[0][2] != calls[1][2]
    assert {c[2] for c in calls[2:]} == {calls[0][2], calls[1][2]}
    # The certificate is ours, for both names, and chains to pebble's issuing root.
    assert verify_chain(ws, pebble.root_pem(0), tmp_path).strip().endswith("OK")
    text = openssl("x509", "-in", ws / "certificate.crt", "-noout", "-text").decode()
    assert "DNS:*.rsa.example.test" in text and "DNS:rsa.example.test" in text
    assert "Public-Key: (2048 bit)" in text
    modulus_cert = openssl("x509", "-in", ws / "certificate.crt", "-noout", "-pubkey")
    modulus_csr = openssl("req", "-in", ws / "request.csr", "-noout", "-pubkey")
    assert modulus_cert == modulus_csr
    # renewal.json says how it was issued; the folder is ready for export as after `import`.
    state = json.loads((ws / "renewal.json").read_text())
    assert state["stage"] == "issued"
    recorded = state["acme"]
    assert recorded["settings"]["directory"] == pebble.directory
    assert recorded["settings"]["dns_method"] == "hook"
    assert recorded["account_url"].startswith(f"https://127.0.0.1:{pebble.port}/")
    out = tmp_path / "out"
    ok(accert("export", ws, "--out", out))
    assert (out / "star_rsa_example_test.crt").exists() or any(out.iterdir())
