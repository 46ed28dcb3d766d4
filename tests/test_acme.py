"""`accert acme` against a real ACME CA: pebble, with challtestsrv as the DNS it asks.

Every check is what a user would look at: the exit code and its one line, the certificate the
folder now holds (verified by `openssl verify` up to pebble's root), the TXT records the hook
was asked to create and remove, and what renewal.json recorded.
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
from cryptography import x509
from cryptography.x509.oid import NameOID

from tests.fakes.bind9 import Bind9
from tests.fakes.pebble import ChallTestSrv, Pebble, hook_command, new_eab_key
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


def cn_of(pem: bytes) -> str:
    cert = x509.load_pem_x509_certificate(pem)
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


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


def test_ecdsa_key(
    tmp_path: Path, pebble: Pebble, challtestsrv: ChallTestSrv, pebble_hook: str
) -> None:
    ws = tmp_path / "ec"
    ok(accert("request", ws, "--cn", "sbc.ec.example.test", "--key", "ec256"))
    ok(accert("acme", ws, *acme_args(pebble, challtestsrv, pebble_hook)))
    text = openssl("x509", "-in", ws / "certificate.crt", "-noout", "-text").decode()
    assert "id-ecPublicKey" in text and "prime256v1" in text
    assert "DNS:sbc.ec.example.test" in text
    assert verify_chain(ws, pebble.root_pem(0), tmp_path).strip().endswith("OK")


def test_authorizations_the_ca_holds_are_not_answered_again(
    tmp_path: Path, pebble: Pebble, challtestsrv: ChallTestSrv, pebble_hook: str
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for ws in (first, second):
        ok(accert("request", ws, "--cn", "*.reuse.example.test"))
    log = tmp_path / "hook.log"
    ok(accert("acme", first, *acme_args(pebble, challtestsrv, pebble_hook), HOOK_LOG=str(log)))
    assert len(hook_calls(log)) == 4
    again = ok(
        accert("acme", second, *acme_args(pebble, challtestsrv, pebble_hook), HOOK_LOG=str(log))
    )
    assert "Using the ACME account registered on" in again.stderr  # no new account
    assert "*.reuse.example.test: already validated for this account" in again.stderr
    assert "reuse.example.test: already validated for this account" in again.stderr
    assert len(hook_calls(log)) == 4  # the hook was not run again
    assert verify_chain(second, pebble.root_pem(0), tmp_path).strip().endswith("OK")


def test_hook_that_publishes_nothing_times_out_naming_the_record(
    tmp_path: Path, pebble: Pebble, challtestsrv: ChallTestSrv
) -> None:
    ws = tmp_path / "ws"
    ok(accert("request", ws, "--cn", "quiet.example.test"))
    before = (ws / "renewal.json").read_text()
    log = tmp_path / "hook.log"
    hook = hook_command(challtestsrv, publish=False)
    args = acme_args(pebble, challtestsrv, hook)
    run = accert("acme", ws, *args, "--propagation-timeout", "3", HOOK_LOG=str(log))
    assert run.returncode == 1
    value = hook_calls(log)[0][2]
    assert (
        f'error: The TXT record _acme-challenge.quiet.example.test = "{value}" was not visible '
        f"at {challtestsrv.dns} within 3 s." in run.stderr
    )
    assert "--propagation-timeout" in run.stderr and "Traceback" not in run.stderr
    # The record was still cleaned up, and the renewal is as it was: CSR kept, no certificate.
    assert [c[0] for c in hook_calls(log)] == ["present", "cleanup"]
    assert not (ws / "certificate.crt").exists()
    state = json.loads((ws / "renewal.json").read_text())
    assert state["stage"] == "requested" and state["acme"] == {}
    assert json.loads(before)["request"] == state["request"]


def test_a_secret_on_the_hook_command_line_is_warned_about_once_by_name(
    tmp_path: Path, pebble: Pebble, challtestsrv: ChallTestSrv, pebble_hook: str
) -> None:
    secret = "Zq9-dns-api-token-4711"
    ws = tmp_path / "ws"
    ok(accert("request", ws, "--cn", "token.example.test"))
    run = accert("acme", ws, *acme_args(pebble, challtestsrv, f"{pebble_hook} --token={secret}"))
    assert run.returncode == 0, run.stderr
    warned = [line for line in run.stdout.splitlines() if "holds a secret" in line]
    assert warned == [
        "WARNING: The DNS hook command holds a secret (--token): renewal.json records the "
        "command and `accert show` prints it. Let the hook read the secret from an environment "
        "variable instead (it inherits accert's environment)."
    ]
    # What it warns of is so: recorded as typed, so that `accert renew` runs the same hook.
    assert secret in json.loads((ws / "renewal.json").read_text())["acme"]["settings"]["dns_hook"]
    assert secret in ok(accert("show", ws)).stdout
    log = (ws / "log.jsonl").read_text()
    assert '"event": "acme-hook-secret"' in log and secret not in log
    # A hook command with no secret on it: no warning.
    quiet = tmp_path / "quiet"
    ok(accert("request", quiet, "--cn", "quiet.example.test"))
    run = accert("acme", quiet, *acme_args(pebble, challtestsrv, pebble_hook))
    assert run.returncode == 0, run.stderr
    assert "holds a secret" not in run.stdout + run.stderr


def test_failing_hook_reports_exit_code_and_stderr(
    tmp_path: Path, pebble: Pebble, challtestsrv: ChallTestSrv
) -> None:
    ws = tmp_path / "ws"
    ok(accert("request", ws, "--cn", "fail.example.test"))
    hook = hook_command(challtestsrv) + " --fail"
    run = accert("acme", ws, *acme_args(pebble, challtestsrv, hook))
    assert run.returncode == 1
    assert (
        "error: The DNS hook failed to publish TXT _acme-challenge.fail.example.test. "
        "('present', exit code 3): zone example.test: permission denied for this API token"
        in run.stderr
    )
    assert not (ws / "certificate.crt").exists()


def test_a_failing_cleanup_does_not_cost_the_certificate(
    tmp_path: Path, pebble: Pebble, challtestsrv: ChallTestSrv
) -> None:
    ws = tmp_path / "ws"
    ok(accert("request", ws, "--cn", "cleanup.example.test"))
    hook = hook_command(challtestsrv) + " --fail-cleanup"
    run = ok(accert("acme", ws, *acme_args(pebble, challtestsrv, hook)))
    assert (
        "Could not remove TXT _acme-challenge.cleanup.example.test. (remove it by hand): The DNS "
        "hook failed to remove TXT" in run.stderr
    )
    assert "Verdict: Matches your key" in run.stdout
    challtestsrv.clear_txt("_acme-challenge.cleanup.example.test")


def test_ca_answer_without_the_root_then_the_root_added(
    tmp_path: Path, pebble: Pebble, challtestsrv: ChallTestSrv, pebble_hook: str
) -> None:
    ws = tmp_path / "ws"
    ok(accert("request", ws, "--cn", "noroot.example.test"))
    run = ok(accert("acme", ws, *acme_args(pebble, challtestsrv, pebble_hook)))
    root_pem = pebble.root_pem(0)
    root_cn = cn_of(root_pem)
    # As `accert import` handles a private root: imported, with the root named as missing.
    assert "Verdict: Matches your key; root not included" in run.stdout
    assert f"The root certificate 'CN={root_cn}' is not in the response" in run.stdout
    shown = ok(accert("show", ws))
    assert "root not known" in shown.stdout
    root = tmp_path / "pebble-root.pem"
    root.write_bytes(root_pem)
    completed = ok(accert("import", ws, ws / "certificate.crt", ws / "chain.crt", root))
    assert "Verdict: Matches your key; chain complete" in completed.stdout
    out = tmp_path / "out"
    ok(accert("export", ws, "--out", out))
    assert any(root_cn in p.read_text() or p.name.endswith("root.crt") for p in out.iterdir())


def test_preferred_chain_takes_the_alternate(
    tmp_path: Path, pebble: Pebble, challtestsrv: ChallTestSrv, pebble_hook: str
) -> None:
    alternate_root = pebble.root_pem(1)
    cn = cn_of(alternate_root)
    ws = tmp_path / "ws"
    ok(accert("request", ws, "--cn", "chain.example.test"))
    args = acme_args(pebble, challtestsrv, pebble_hook)
    run = ok(accert("acme", ws, *args, "--preferred-chain", cn))
    assert f"Chain up to '{cn}' chosen" in run.stderr
    assert verify_chain(ws, alternate_root, tmp_path).strip().endswith("OK")
    unknown = tmp_path / "ws2"
    ok(accert("request", unknown, "--cn", "chain2.example.test"))
    run = ok(accert("acme", unknown, *args, "--preferred-chain", "No Such Root"))
    assert "The CA offers no chain up to 'No Such Root'" in run.stderr
    assert verify_chain(unknown, pebble.root_pem(0), tmp_path).strip().endswith("OK")


def test_rejected_name_is_one_line_with_a_hint(
    tmp_path: Path, eab_pebble: Pebble, challtestsrv: ChallTestSrv, pebble_hook: str
) -> None:
    ws = tmp_path / "ws"
    ok(accert("request", ws, "--cn", "blocked.example.test"))
    kid, hmac = next(iter(eab_pebble.eab_keys.items()))
    (tmp_path / "hmac").write_text(hmac + "\n")
    args = acme_args(eab_pebble, challtestsrv, pebble_hook)
    run = accert("acme", ws, *args, "--eab-kid", kid, "--eab-hmac-file", tmp_path / "hmac")
    assert run.returncode == 1, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1
    assert "The CA refused to accept the order" in lines[0]
    assert "(rejectedIdentifier)" in lines[0]
    assert "Make a new request without it" in run.stderr
    assert "Traceback" not in run.stderr


# --- External Account Binding -----------------------------------------------------------------


@pytest.fixture(scope="module")
def eab_pebble(
    tmp_path_factory: pytest.TempPathFactory, challtestsrv: ChallTestSrv
) -> Iterator[Pebble]:
    """A pebble that, like DigiCert, Sectigo or ZeroSSL, takes new accounts only with EAB."""
    kid, hmac = new_eab_key()
    ca = Pebble(
        tmp_path_factory.mktemp("eab-pebble"),
        challtestsrv.dns,
        eab_keys={kid: hmac},
        eab_required=True,
        blocklist=("blocked.example.test",),
    ).start()
    yield ca
    ca.stop()


def test_eab_required_then_bound_then_reused_without_the_hmac(
    tmp_path: Path, eab_pebble: Pebble, challtestsrv: ChallTestSrv, pebble_hook: str
) -> None:
    kid, hmac = next(iter(eab_pebble.eab_keys.items()))
    args = acme_args(eab_pebble, challtestsrv, pebble_hook)
    ws = tmp_path / "ws"
    ok(accert("request", ws, "--cn", "*.eab.example.test"))
    refused = accert("acme", ws, *args)
    assert refused.returncode == 1
    assert "requires External Account Binding" in refused.stderr
    assert "--eab-kid" in refused.stderr
    bound = ok(accert("acme", ws, *args, "--eab-kid", kid, "--eab-hmac-env", "EAB", EAB=hmac))
    assert f"Creating the ACME account bound to EAB key id {kid}" in bound.stderr
    assert hmac not in bound.stderr + bound.stdout
    state_text = (ws / "renewal.json").read_text()
    assert hmac not in state_text and json.loads(state_text)["acme"]["settings"]["eab_kid"] == kid
    for path in Path(os.environ["ACCERT_HOME"]).rglob("*"):
        if path.is_file():
            assert hmac.encode() not in path.read_bytes(), path
    # accert show says where and how it was ordered; never the HMAC.
    shown = ok(accert("show", ws)).stdout
    account = json.loads(state_text)["acme"]["account_url"]
    assert f"  ACME:     {eab_pebble.directory}, issued " in shown
    assert f"    Account: {account} (EAB key id {kid})\n" in shown
    assert f"    DNS-01:  a hook: {pebble_hook}\n" in shown
    assert hmac not in shown
    # The account key is kept encrypted and reused: the next order needs the key id only.
    keys = list(Path(os.environ["ACCERT_HOME"]).rglob("account.key"))
    assert len(keys) == 1 and b"ENCRYPTED PRIVATE KEY" in keys[0].read_bytes()
    again = tmp_path / "again"
    ok(accert("request", again, "--cn", "*.eab.example.test"))
    reused = ok(accert("acme", again, *args, "--eab-kid", kid))
    assert "Using the ACME account registered on" in reused.stderr


def test_wrong_eab_hmac_is_one_line_with_a_hint(
    tmp_path: Path, eab_pebble: Pebble, challtestsrv: ChallTestSrv, pebble_hook: str
) -> None:
    kid, _hmac = next(iter(eab_pebble.eab_keys.items()))
    _other_kid, wrong = new_eab_key()
    ws = tmp_path / "ws"
    ok(accert("request", ws, "--cn", "wrong.example.test"))
    args = acme_args(eab_pebble, challtestsrv, pebble_hook)
    run = accert("acme", ws, *args, "--eab-kid", kid, "--eab-hmac-env", "EAB", EAB=wrong)
    assert run.returncode == 1
    lines = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "The CA refused to create the ACME account" in lines[0]
    assert "key id and HMAC" in run.stderr
    assert wrong not in run.stderr and "Traceback" not in run.stderr
    assert not list(Path(os.environ["ACCERT_HOME"]).rglob("account.key"))  # nothing kept


# --- DNS: manual, RFC 2136 --------------------------------------------------------------------


def test_manual_mode_prints_the_records_and_waits_for_them(
    tmp_path: Path, pebble: Pebble, challtestsrv: ChallTestSrv
) -> None:
    ws = tmp_path / "ws"
    ok(accert("request", ws, "--cn", "*.manual.example.test"))
    args = [
        "--directory", pebble.directory, "--ca-bundle", str(pebble.ca_bundle),
        "--dns-manual", "--dns-resolver", challtestsrv.dns,
    ]  # fmt: skip
    out_file = tmp_path / "stdout.txt"
    with out_file.open("w") as out_sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "acme", str(ws), *args],
            stdin=subprocess.DEVNULL,
            stdout=out_sink,
            stderr=subprocess.PIPE,
            text=True,
        )
    assert proc.stderr is not None
    shown: list[str] = []
    record = re.compile(r'^\s+(_acme-challenge\.manual\.example\.test\.)\s+TXT\s+"([^"]+)"')
    # Every line is read here, to the end: communicate() after a partial read of this pipe
    # loses what that read had buffered (later lines that arrived in the same chunk).
    with proc.stderr:
        for line in proc.stderr:
            shown.append(line)
            match = record.match(line)
            if match:
                # The person creates each record as shown; accert is waiting, checking.
                challtestsrv.set_txt(match.group(1), match.group(2))
    proc.wait(timeout=120)
    err, out = "".join(shown), out_file.read_text()
    assert proc.returncode == 0, err
    assert sum(1 for line in shown if record.match(line)) == 2
    assert any("TXT records visible at" in line for line in shown)
    assert "You may now remove the _acme-challenge TXT records" in err
    assert "Verdict: Matches your key" in out
    challtestsrv.clear_txt("_acme-challenge.manual.example.test")


@pytest.fixture(scope="module")
def bind9(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bind9]:
    server = Bind9(tmp_path_factory.mktemp("bind9")).start()
    yield server
    server.stop()


def test_rfc2136_dynamic_update_with_tsig_on_bind9(tmp_path: Path, bind9: Bind9) -> None:
    # This pebble asks bind9 itself, so only records bind9 really holds can validate.
    ca = Pebble(tmp_path / "pebble", bind9.address).start()
    try:
        ws = tmp_path / "ws"
        ok(accert("request", ws, "--cn", f"*.{bind9.zone}"))
        run = ok(accert(
            "acme", ws, "--directory", ca.directory, "--ca-bundle", ca.ca_bundle,
            "--dns-rfc2136", bind9.address, "--tsig-key-file", bind9.key_file,
            "--dns-resolver", bind9.address,
        ))  # fmt: skip
        assert "Verdict: Matches your key" in run.stdout
        assert verify_chain(ws, ca.root_pem(0), tmp_path).strip().endswith("OK")
        # Both records were removed again from the zone.
        assert bind9.txt(f"_acme-challenge.{bind9.zone}") == []
        state = json.loads((ws / "renewal.json").read_text())["acme"]["settings"]
        assert state["dns_method"] == "rfc2136" and state["rfc2136_server"] == bind9.address
        shown = ok(accert("show", ws)).stdout
        assert (
            f"    DNS-01:  RFC 2136 updates at {bind9.address}, TSIG key file {bind9.key_file}, "
            "key acme-update (hmac-sha256)\n" in shown
        )
    finally:
        ca.stop()


def test_rfc2136_wrong_tsig_key_is_refused_clearly(
    tmp_path: Path, bind9: Bind9, pebble: Pebble
) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text(
        'key "acme-update" {\n\talgorithm hmac-sha256;\n\tsecret "'
        + base64.b64encode(b"0" * 32).decode()
        + '";\n};\n'
    )
    ws = tmp_path / "ws"
    ok(accert("request", ws, "--cn", f"bad.{bind9.zone}"))
    run = accert(
        "acme", ws, "--directory", pebble.directory, "--ca-bundle", pebble.ca_bundle,
        "--dns-rfc2136", bind9.address, "--tsig-key-file", bad,
        "--dns-resolver", bind9.address,
    )  # fmt: skip
    assert run.returncode == 1
    assert (
        f"error: The DNS server {bind9.address} rejected the TSIG key acme-update "
        "(PeerBadSignature)." in run.stderr
    )
    assert "Check the key name, algorithm and secret" in run.stderr
    assert "Traceback" not in run.stderr


def test_bad_nonce_after_the_retry_is_one_line(
    tmp_path: Path, challtestsrv: ChallTestSrv, pebble_hook: str
) -> None:
    ca = Pebble(tmp_path / "pebble", challtestsrv.dns, nonce_reject=100).start()
    try:
        ws = tmp_path / "ws"
        ok(accert("request", ws, "--cn", "nonce.example.test"))
        run = accert("acme", ws, *acme_args(ca, challtestsrv, pebble_hook))
        assert run.returncode == 1
        lines = [line for line in run.stderr.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and "(badNonce)" in lines[0], run.stderr
        assert "anti-replay nonce twice" in run.stderr and "Traceback" not in run.stderr
    finally:
        ca.stop()


def test_environment_proxy_and_ca_bundle_do_not_change_trust(
    tmp_path: Path, pebble: Pebble, challtestsrv: ChallTestSrv, pebble_hook: str
) -> None:
    ws = tmp_path / "ws"
    ok(accert("request", ws, "--cn", "env.example.test"))
    args = acme_args(pebble, challtestsrv, pebble_hook)
    no_bundle = [a for a in args if a not in ("--ca-bundle", str(pebble.ca_bundle))]
    # requests would trust REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE; accert trusts the system store
    # only (Windows' store; on Linux OpenSSL's, which SSL_CERT_FILE configures system-wide).
    bundle = str(pebble.ca_bundle)
    run = accert("acme", ws, *no_bundle, REQUESTS_CA_BUNDLE=bundle, CURL_CA_BUNDLE=bundle)
    assert run.returncode == 1
    assert "error: The HTTPS certificate of 127.0.0.1 is not trusted" in run.stderr
    assert "--ca-bundle" in run.stderr
    # A proxy in the environment is not used: the order goes straight to the CA.
    dead_proxy = "http://127.0.0.1:9"
    ok(accert("acme", ws, *args, HTTPS_PROXY=dead_proxy, https_proxy=dead_proxy,
              ALL_PROXY=dead_proxy, NO_PROXY=""))  # fmt: skip


def test_authoritative_servers_and_cname_delegation_found_through_dns(
    bind9: Bind9, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --dns-resolver the zone's NS are asked; a delegated name is followed."""
    import dns.resolver

    from app.acme.dns.propagation import Server, authoritative_servers, cname_target

    # The system resolver, as this PC's would be, here pointed at the test's bind9.
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = bind9.port
    monkeypatch.setattr(dns.resolver, "default_resolver", resolver)
    zone = bind9.zone
    assert authoritative_servers(f"_acme-challenge.www.{zone}") == [
        Server("127.0.0.1", 53, f"ns1.{zone}")
    ]
    assert cname_target(f"_acme-challenge.delegated.{zone}") == f"_acme-challenge.acme-zone.{zone}"
    assert cname_target(f"_acme-challenge.www.{zone}") is None


def test_ca_bundle_is_the_only_trust_not_certifi_beside_it(
    tmp_path: Path, pebble: Pebble, monkeypatch: pytest.MonkeyPatch
) -> None:
    # requests points every verified connection at certifi's bundle and urllib3 loads it into
    # the context: with pebble's HTTPS root standing in for a certifi root, a --ca-bundle of
    # another CA must still refuse the server.
    import requests
    from requests.exceptions import SSLError

    from app.acme.network import Network, directory
    from tests.pki import self_signed

    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(self_signed("Some other CA")[0])
    monkeypatch.setattr(requests.adapters, "DEFAULT_CA_BUNDLE_PATH", str(pebble.ca_bundle))
    with pytest.raises(SSLError):
        directory(pebble.directory, Network(None, str(other_ca)))
    # The bundle that does hold pebble's root still works on the same code path.
    assert directory(pebble.directory, Network(None, str(pebble.ca_bundle))).newOrder
