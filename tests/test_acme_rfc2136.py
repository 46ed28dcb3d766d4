"""`accert acme --dns-rfc2136` as BIND administrators hand it over: a key file holding several
keys (--tsig-key picks one), a hidden primary whose zone must be named (--zone), and `accert
renew` finding the key's secret again once the key file is gone.

Against real servers: bind9 (tests/fakes/bind9.py) takes the updates, pebble validates by asking
it (or its public secondary), and what a user would check is checked: the exit code and its one
line, the certificate, the TXT records gone again, what renewal.json and `accert show` say, and
that the secret is nowhere it should not be.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import cli
from app.acme.dns.rfc2136 import remember_secret, remembered_secret
from app.renewal.cli import EXIT_FAILED
from app.workspace import Workspace
from tests.conftest import MemoryKeyring
from tests.fakes.bind9 import Bind9
from tests.fakes.pebble import Pebble
from tests.test_acme import verify_chain
from tests.test_cli import accert, ok

ZONE = "rfc.example.test"
ACME_ZONE = "acme-dns.example.net"  # the small zone _acme-challenge names are delegated to
DELEGATIONS = """
_acme-challenge.sbc IN CNAME sbc-acme.{zone}.
sbc-acme IN CNAME sbc.acme-dns.example.net.
_acme-challenge.loop IN CNAME _acme-challenge.loop2.{zone}.
_acme-challenge.loop2 IN CNAME _acme-challenge.loop.{zone}.
"""


@pytest.fixture(scope="module")
def bind9(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bind9]:
    """bind9 knowing two keys; only acme-update may update the zone, only other-key the zone
    _acme-challenge.sbc is delegated to by CNAME (one key per zone)."""
    server = Bind9(
        tmp_path_factory.mktemp("bind9"),
        other_keys=("other-key",),
        extra_zones=((ACME_ZONE, "other-key"),),
        records=DELEGATIONS,
        recursive=True,
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bind9_pebble(tmp_path_factory: pytest.TempPathFactory, bind9: Bind9) -> Iterator[Pebble]:
    """A pebble that asks bind9 itself: only records bind9 really holds can validate. It never
    reuses an authorization, so every order publishes its records."""
    ca = Pebble(tmp_path_factory.mktemp("pebble-bind9"), bind9.address, authz_reuse=0).start()
    yield ca
    ca.stop()


@pytest.fixture(scope="module")
def hidden_bind9(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bind9]:
    server = Bind9(tmp_path_factory.mktemp("hidden-bind9"), hidden=True).start()
    yield server
    server.stop()


def secret_of(key_file: Path) -> str:
    found = re.search(r'secret "([^"]+)"', key_file.read_text())
    assert found
    return found.group(1)


def two_key_file(bind9: Bind9, folder: Path) -> Path:
    """Both keys in one file, as an administrator concatenates them, with BIND's comments."""
    both = folder / "dns-keys.conf"
    both.write_text(
        "# Keys for the ACME clients (made with tsig-keygen)\n"
        + bind9.key_file_of("other-key").read_text()
        + "/* the one allowed to update rfc.example.test */\n"
        + bind9.key_file.read_text()
        + "// update-policy { grant acme-update zonesub TXT; };\n"
    )
    return both


def acme(ws: Path, ca: Pebble, server: str, *args: str | Path) -> list[str | Path]:
    return [
        "acme", ws, "--directory", ca.directory, "--ca-bundle", ca.ca_bundle,
        "--dns-rfc2136", server, *args,
    ]  # fmt: skip


def failed(run: subprocess.CompletedProcess[str]) -> list[str]:
    """The error lines of a command that failed as a user should see it: exit 1, no traceback."""
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    return [line for line in run.stderr.splitlines() if line.startswith("error:")]


def nothing_leaked(secrets: list[str], *places: str | Path) -> None:
    """No secret in any output given, nor in any file under the folders given."""
    for place in places:
        if isinstance(place, Path):
            for file in place.rglob("*"):
                if file.is_file():
                    data = file.read_bytes()
                    for secret in secrets:
                        assert secret.encode() not in data, f"a TSIG secret is in {file}"
        else:
            for secret in secrets:
                assert secret not in place


def test_a_key_file_with_two_keys_uses_the_one_named(
    tmp_path: Path, bind9: Bind9, bind9_pebble: Pebble, isolated_home: Path
) -> None:
    both = two_key_file(bind9, tmp_path)
    secrets = [secret_of(bind9.key_file), secret_of(bind9.key_file_of("other-key"))]
    ws = tmp_path / "two"
    ok(accert("request", ws, "--cn", f"two.{ZONE}"))
    record = f"_acme-challenge.two.{ZONE}"

    # No name: which key is not said, and nothing is asked of the CA or the server.
    run = accert(*acme(ws, bind9_pebble, bind9.address, "--tsig-key-file", both))
    assert failed(run) == [
        f"error: The TSIG key file {both} holds 2 keys (other-key, acme-update): which one "
        "is not said."
    ], run.stderr
    assert "--tsig-key NAME" in run.stderr and "Placing the order" not in run.stderr

    # The key bind9 knows but does not let update this zone: refused, said clearly.
    run = accert(*acme(ws, bind9_pebble, bind9.address, "--tsig-key-file", both,
                       "--tsig-key", "other-key", "--dns-resolver", bind9.address))  # fmt: skip
    assert failed(run) == [
        f"error: The DNS server {bind9.address} refused to add TXT {record} in zone {ZONE} "
        "(REFUSED)."
    ], run.stderr
    assert "Allow updates for key other-key" in run.stderr
    assert bind9.txt(record) == []

    # A zone that holds the name but is not on this server (its parent): not authoritative.
    run = accert(*acme(ws, bind9_pebble, bind9.address, "--tsig-key-file", both,
                       "--tsig-key", "acme-update", "--zone", "example.test",
                       "--dns-resolver", bind9.address))  # fmt: skip
    assert failed(run) == [
        f"error: The DNS server {bind9.address} refused to add TXT {record} in zone "
        "example.test (NOTAUTH)."
    ], run.stderr
    assert f"{bind9.address} is not the primary of a zone example.test" in run.stderr

    # The right one (named as BIND would accept it too: any case, a final dot).
    args = acme(ws, bind9_pebble, bind9.address, "--tsig-key-file", both,
                "--tsig-key", "ACME-Update.", "--dns-resolver", bind9.address)  # fmt: skip
    run = ok(accert(*args))
    assert "Verdict: Matches your key" in run.stdout
    assert verify_chain(ws, bind9_pebble.root_pem(0), tmp_path).strip().endswith("OK")
    assert bind9.txt(record) == []  # removed again
    # Without a credential store (CI, a headless server) renew reads the file again: it says so.
    assert f"accert renew will read the TSIG key from {both} again" in run.stderr
    settings = json.loads((ws / "renewal.json").read_text())["acme"]["settings"]
    assert (settings["tsig_key_file"], settings["tsig_key_name"], settings["tsig_algorithm"]) == (
        str(both), "acme-update", "hmac-sha256")  # fmt: skip
    assert settings["rfc2136_zone"] == ""
    shown = ok(accert("show", ws)).stdout
    assert (
        f"    DNS-01:  RFC 2136 updates at {bind9.address}, TSIG key file {both}, key "
        "acme-update (hmac-sha256)\n" in shown
    )
    nothing_leaked(secrets, run.stdout, run.stderr, shown, ws, isolated_home)


def test_a_cname_delegated_challenge_is_updated_at_its_target_in_the_target_zone(
    tmp_path: Path, bind9: Bind9, bind9_pebble: Pebble, isolated_home: Path
) -> None:
    """_acme-challenge.sbc is a CNAME (through a second one) to a name in a small zone that only
    this key may update, as lego follows it: the TXT goes there, pebble finds it by the CNAME,
    and it is removed from there again."""
    key_file = bind9.key_file_of("other-key")  # may update acme-dns.example.net only
    ws = tmp_path / "sbc"
    ok(accert("request", ws, "--cn", f"sbc.{ZONE}"))
    record, target = f"_acme-challenge.sbc.{ZONE}", f"sbc.{ACME_ZONE}"
    key = ["--tsig-key-file", key_file, "--dns-resolver", bind9.address]

    # The zone given does not hold the CNAME's target: both named, before anything is ordered.
    run = accert(*acme(ws, bind9_pebble, bind9.address, *key, "--zone", ZONE))
    assert failed(run) == [
        f"error: {record} is a CNAME to {target}, which is outside the zone {ZONE}: an update "
        "to that zone cannot create it."
    ], run.stderr
    assert f"Give the zone that holds {target}" in run.stderr
    assert "Placing the order" not in run.stderr

    run = ok(accert(*acme(ws, bind9_pebble, bind9.address, *key)))
    assert f"{record} is a CNAME to {target}; updating {target} in zone {ACME_ZONE}" in run.stderr
    assert "Verdict: Matches your key" in run.stdout
    assert verify_chain(ws, bind9_pebble.root_pem(0), tmp_path).strip().endswith("OK")
    assert bind9.txt(target) == []  # removed again, where it was added
    assert bind9.txt(f"sbc-acme.{ZONE}") == [f"{target}."]  # the CNAMEs left as they were
    nothing_leaked([secret_of(key_file)], run.stdout, run.stderr, ws, isolated_home)

    # The zone named: the same, in that zone.
    run = ok(accert(*acme(ws, bind9_pebble, bind9.address, *key, "--zone", ACME_ZONE)))
    assert f"{record} is a CNAME to {target}; updating {target} in zone {ACME_ZONE}" in run.stderr
    assert bind9.txt(target) == []


def test_a_cname_loop_is_one_clear_error_before_the_order(
    tmp_path: Path, bind9: Bind9, bind9_pebble: Pebble
) -> None:
    ws = tmp_path / "loop"
    ok(accert("request", ws, "--cn", f"loop.{ZONE}"))
    run = accert(*acme(ws, bind9_pebble, bind9.address, "--tsig-key-file", bind9.key_file,
                       "--dns-resolver", bind9.address))  # fmt: skip
    record, other = f"_acme-challenge.loop.{ZONE}", f"_acme-challenge.loop2.{ZONE}"
    assert failed(run) == [f"error: The CNAME {record} loops: {record} -> {other} -> {record}."], (
        run.stderr
    )
    assert "Point the CNAME at the name that is to hold the TXT record" in run.stderr
    assert "Placing the order" not in run.stderr


def test_a_hidden_primary_is_updated_in_the_zone_given(tmp_path: Path, hidden_bind9: Bind9) -> None:
    """The primary answers only signed queries (its public secondary serves the world): the SOA
    lookup cannot find the zone; --zone names it."""
    server = hidden_bind9
    ca = Pebble(tmp_path / "pebble", server.public_address).start()
    try:
        ws = tmp_path / "hidden"
        ok(accert("request", ws, "--cn", f"hidden.{ZONE}"))
        record = f"_acme-challenge.hidden.{ZONE}"
        key = ["--tsig-key-file", server.key_file, "--dns-resolver", server.public_address]

        run = accert(*acme(ws, ca, server.address, *key))
        assert failed(run) == [
            f"error: The DNS server {server.address} did not say which zone holds {record} "
            "(REFUSED)."
        ], run.stderr
        assert "--zone ZONE" in run.stderr

        # A zone that cannot hold the record: said before anything is ordered.
        run = accert(*acme(ws, ca, server.address, *key, "--zone", "other.example.test"))
        assert failed(run) == [
            f"error: The TXT record {record} is outside the zone other.example.test: an update "
            "to that zone cannot create it."
        ], run.stderr
        assert f"Give the zone that holds hidden.{ZONE}" in run.stderr
        assert "Placing the order" not in run.stderr

        run = ok(accert(*acme(ws, ca, server.address, *key, "--zone", ZONE)))
        assert "Verdict: Matches your key" in run.stdout
        assert verify_chain(ws, ca.root_pem(0), tmp_path).strip().endswith("OK")
        # Removed again, as the world sees the zone once the secondary has the change.
        deadline = time.monotonic() + 20
        while server.txt(record) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.txt(record) == []
        settings = json.loads((ws / "renewal.json").read_text())["acme"]["settings"]
        assert settings["rfc2136_zone"] == ZONE
        shown = ok(accert("show", ws)).stdout
        assert f"RFC 2136 updates at {server.address} to zone {ZONE}, TSIG key file" in shown
    finally:
        ca.stop()


def test_renew_finds_the_secret_in_the_credential_store_once_the_key_file_is_gone(
    tmp_path: Path,
    bind9: Bind9,
    bind9_pebble: Pebble,
    memory_keyring: MemoryKeyring,
    capsys: pytest.CaptureFixture[str],
    isolated_home: Path,
) -> None:
    both = two_key_file(bind9, tmp_path)
    ws = tmp_path / "renewals" / "kept"
    assert cli.main(["request", str(ws), "--cn", f"kept.{ZONE}"]) == 0
    args = acme(ws, bind9_pebble, bind9.address, "--tsig-key-file", both,
                "--tsig-key", "acme-update", "--dns-resolver", bind9.address)  # fmt: skip
    assert cli.main([str(a) for a in args]) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "TSIG key acme-update: its secret is kept in the credential store" in err
    # Where the wizard keeps a TSIG secret: by server and key name.
    assert remembered_secret(bind9.address, "acme-update") == secret_of(bind9.key_file)
    seen = {Workspace.open(ws).state.leaf_sha256}

    def renewed() -> Path:
        """The newest renewal, with a new certificate the CA issued after bind9 held its TXT."""
        assert cli.main(["renew", str(ws), "--force"]) == 0, capsys.readouterr()
        assert f"Publishing TXT _acme-challenge.kept.{ZONE}." in capsys.readouterr().err
        newest = ws
        while Workspace.open(newest).state.renewed_by:  # the lineage, as accert renew follows it
            newest = Path(Workspace.open(newest).state.renewed_by)
        sha = Workspace.open(newest).state.leaf_sha256
        assert sha and sha not in seen
        seen.add(sha)
        assert verify_chain(newest, bind9_pebble.root_pem(0), tmp_path).strip().endswith("OK")
        assert bind9.txt(f"_acme-challenge.kept.{ZONE}") == []
        return newest

    # While the file is there it is read (the administrator's current key), not an older secret
    # the store kept; the store then keeps the file's.
    stale = base64.b64encode(b"0" * 32).decode()
    remember_secret(bind9.address, "acme-update", stale)
    renewed()
    assert remembered_secret(bind9.address, "acme-update") == secret_of(bind9.key_file)

    both.unlink()  # handed over on a USB stick, deleted after the first run
    newest = renewed()  # the wizard's way: the secret from the credential store

    # Neither the file nor the store: the one line says which file and key, and what to do.
    memory_keyring.store.clear()
    assert cli.main(["renew", str(newest), "--force"]) == EXIT_FAILED
    out = capsys.readouterr().out
    assert (
        f"  FAILED ACME order: The TSIG key file {both} is gone, and the credential store has no "
        f"secret of key acme-update for {bind9.address}.\n" in out
    )
    assert "what to do: Give the key file again: accert acme ... --tsig-key-file FILE " in out
    # Not in any renewal.json, log or report of the lineage, nor in accert's own files.
    nothing_leaked([secret_of(bind9.key_file), stale], ws.parent, isolated_home)


KEY = 'key "{name}" {{\n\talgorithm {alg};\n\tsecret "{secret}";\n}};\n'
GOOD = base64.b64encode(b"s" * 32).decode()


@pytest.mark.parametrize(
    ("text", "extra", "message"),
    [
        (
            KEY.format(name="acme-update", alg="hmac-sha256", secret="not/base64!secret"),
            [],
            "The secret of the TSIG key acme-update in {file} is not base64.",
        ),
        (
            KEY.format(name="acme-update", alg="hmac-sha3", secret=GOOD),
            [],
            "The TSIG key acme-update in {file} uses an algorithm accert does not know "
            "(hmac-sha3).",
        ),
        (
            KEY.format(name="a", alg="hmac-sha256", secret=GOOD)
            + KEY.format(name="b", alg="hmac-sha512", secret=GOOD),
            ["--tsig-key", "c"],
            "The TSIG key file {file} holds no key named c (it holds a, b).",
        ),
        (
            'key "acme-update" {\n\tsecret "' + GOOD + '";\n};\n',
            [],
            "The TSIG key acme-update in {file} has no algorithm.",
        ),
        ("options { };\n", [], "{file} is not a TSIG key file."),
    ],
    ids=["bad-base64", "unknown-algorithm", "no-such-key", "no-algorithm", "no-key"],
)
def test_key_file_errors_are_one_line_naming_file_and_key(
    tmp_path: Path, text: str, extra: list[str], message: str, isolated_home: Path
) -> None:
    ws = tmp_path / "ws"
    ok(accert("request", ws, "--cn", f"err.{ZONE}"))
    key_file = tmp_path / "acme.key"
    key_file.write_text(text)
    # Nothing is contacted: the key file is read before anything is asked of the CA.
    run = accert("acme", ws, "--directory", "https://127.0.0.1:9/directory", "--dns-rfc2136",
                 "127.0.0.1:9", "--tsig-key-file", key_file, *extra)  # fmt: skip
    assert failed(run) == ["error: " + message.format(file=key_file)], run.stderr
    nothing_leaked(["not/base64!secret", GOOD], run.stdout, run.stderr, ws, isolated_home)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dns-manual", "--zone", ZONE], "--zone goes with --dns-rfc2136."),
        (["--dns-rfc2136", "ns1", "--tsig-key", "k"], "--tsig-key names a key in --tsig-key-file."),
        (["--dns-rfc2136", "ns1", "--tsig-key-file", "K", "--zone", "a..b"],
         "'a..b' is not a DNS zone."),
    ],
    ids=["zone-without-rfc2136", "key-without-file", "bad-zone"],
)  # fmt: skip
def test_option_mistakes_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    ws = tmp_path / "ws"
    ok(accert("request", ws, "--cn", f"opt.{ZONE}"))
    key_file = tmp_path / "K"
    key_file.write_text(KEY.format(name="k", alg="hmac-sha256", secret=GOOD))
    args = [str(key_file) if a == "K" else a for a in args]
    run = accert("acme", ws, "--directory", "https://127.0.0.1:9/directory", *args)
    assert failed(run) == [f"error: {message}"], run.stderr
