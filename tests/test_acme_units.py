"""The small parts of app/acme on their own: settings, problem documents, hook command lines,
TSIG key files, the account store."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import re
import sys
from pathlib import Path

import dns.tsig
import pytest
from acme import messages

from app.acme import account
from app.acme.dns import TxtRecord
from app.acme.dns.hook import argv, secret_arguments, secret_warning
from app.acme.dns.rfc2136 import (
    Rfc2136Publisher,
    bind_algorithm,
    named_key,
    read_key_file,
    remember_secret,
)
from app.acme.errors import DnsError, from_problem
from app.acme.settings import AcmeSettings
from app.errors import InputError
from tests.conftest import MemoryKeyring

RECORD = TxtRecord("_acme-challenge.example.com", "-Ab_c", "*.example.com")


def test_settings_round_trip_through_renewal_json() -> None:
    s = AcmeSettings(
        directory="https://acme.example/dir",
        eab_kid="kid1",
        email="pki@example.com",
        dns_method="rfc2136",
        rfc2136_server="192.0.2.53:53",
        tsig_key_file="/etc/acme.key",
        resolvers=("192.0.2.1", "192.0.2.2:5353"),
        propagation_timeout=120,
        ca_bundle="/etc/ca.pem",
        preferred_chain="ISRG Root X1",
    )
    data = s.to_dict()
    assert data["resolvers"] == ["192.0.2.1", "192.0.2.2:5353"]
    assert AcmeSettings.from_dict({**data, "unknown_later_field": 1}) == s
    assert not any("hmac" in key for key in data)


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"directory": "http://acme.example/dir"}, "must be an https:// URL"),
        ({"dns_hook": " "}, "hook command is empty"),
        ({"dns_method": "rfc2136", "rfc2136_server": ""}, "need the DNS server that takes"),
        ({"propagation_timeout": 0}, "between 1 and 86400"),
    ],
)
def test_settings_refuse_what_cannot_work(changes: dict[str, object], says: str) -> None:
    base = {"directory": "https://acme.example/dir", "dns_hook": "hook.sh"}
    with pytest.raises(InputError, match=says):
        AcmeSettings(**{**base, **changes})  # type: ignore[arg-type]


def test_hook_command_lines_follow_lego_and_windows_conventions() -> None:
    assert argv("C:/dns/set-txt.ps1 -Zone example.com", "present", RECORD) == [
        "powershell", "-NoProfile", "-ExecutionPolicy", "Bypass", "-File",
        "C:/dns/set-txt.ps1", "-Zone", "example.com",
        "present", "_acme-challenge.example.com.", "-Ab_c",
    ]  # fmt: skip
    assert argv("dns.CMD", "cleanup", RECORD)[:3] == ["cmd", "/c", "dns.CMD"]
    # A path with spaces, quoted as that system's shell would quote it.
    if sys.platform == "win32":
        program = r"C:\Program Files\dns hooks\dns.exe"
        quoted = f'"{program}" --ttl 60'
    else:
        quoted, program = "'/opt/my hooks/dns' --ttl 60", "/opt/my hooks/dns"
    assert argv(quoted, "present", RECORD) == [
        program, "--ttl", "60", "present", "_acme-challenge.example.com.", "-Ab_c",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("command", "names"),
    [
        ("/opt/dns/hook.sh --token=Zq9-secret --zone example.com", ["--token"]),
        ("/opt/dns/hook.sh --token Zq9-secret", ["--token"]),
        ("C:/dns/set-txt.ps1 -ApiKey Zq9-secret -Zone example.com", ["-ApiKey"]),
        ("env CF_API_TOKEN=Zq9-secret /opt/dns/hook.sh", ["CF_API_TOKEN"]),
        ("/opt/dns/hook.sh password=Zq9-secret --secret=x2", ["password", "--secret"]),
        ('sh -c "TOKEN=Zq9-secret /opt/dns/hook.sh" hook', ["TOKEN"]),
        ('curl -H "Authorization: Bearer Zq9-secret"', ["Authorization"]),
        # Where a secret is kept, or what sits beside it, is no secret.
        ("/opt/dns/hook.sh --token-file /etc/dns.token --password-env DNS_PW", []),
        ("/opt/dns/hook.sh --api https://127.0.0.1:8055 --api-key-id 42 --ttl 60", []),
        ("/opt/dns/hook.sh --token --zone example.com", []),  # no value after it
    ],
)
def test_secrets_on_a_hook_command_line_are_found_by_their_names(
    command: str, names: list[str]
) -> None:
    assert secret_arguments(command) == names
    warning = secret_warning(command)
    if not names:
        assert warning is None
        return
    assert warning is not None and "\n" not in warning
    assert f"holds a secret ({', '.join(names)})" in warning
    assert "renewal.json" in warning and "`accert show`" in warning
    assert "environment variable" in warning and "Zq9-secret" not in warning


def test_problem_documents_become_one_line_with_a_hint() -> None:
    caa = messages.Error(
        typ="urn:ietf:params:acme:error:caa",
        detail="CAA record for example.com prevents issuance\x1b[2J",
    )
    error = from_problem(caa, "validate example.com")
    assert str(error.message) == (
        "The CA refused to validate example.com: CAA record for example.com prevents "
        "issuance\\x1b[2J (caa)."
    )
    assert "Add a CAA record that allows it" in error.hint
    limited = messages.Error(
        typ="urn:ietf:params:acme:error:rateLimited", detail="too many certificates"
    )
    error = from_problem(limited, "accept the order", "3600")
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    assert "(rateLimited)" in error.message
    assert f"Retry after {soon:%Y-%m-%d %H}" in error.hint and "(in 60 minutes)" in error.hint
    unknown = messages.Error(typ="urn:example:weird", detail="strange")
    assert (
        "Run the same command again once the cause is fixed" in from_problem(unknown, "answer").hint
    )


def test_ca_problem_document_cannot_forge_a_line_or_hide_text() -> None:
    # A problem document as a CA sends it (RFC 8555 section 6.7): a forged second line and a
    # terminal escape in its detail, a bell in a subproblem's name, and a zero-width space and a
    # right-to-left override in the subproblem's detail. Each is shown as an escape.
    problem = messages.Error.from_json(
        {
            "type": "urn:ietf:params:acme:error:compound",
            "detail": "Some names were rejected\n  SHA-256  AB:AB\x1b[8m",
            "subproblems": [
                {
                    "type": "urn:ietf:params:acme:error:rejectedIdentifier",
                    "detail": "not allowed\u200b\u202eevil",
                    "identifier": {"type": "dns", "value": "bad\x07.example.com"},
                }
            ],
        }
    )
    error = from_problem(problem, "accept the order")
    assert str(error.message) == (
        "The CA refused to accept the order: Some names were rejected\\x0a  SHA-256  "
        "AB:AB\\x1b[8m; bad\\x07.example.com: not allowed\\u200b\\u202eevil (compound)."
    )
    assert "\n" not in error.message and error.message.isprintable()
    flood = messages.Error(typ="urn:ietf:params:acme:error:malformed", detail="x" * 5000)
    message = from_problem(flood, "create the account").message
    assert "x" * 397 + "... (malformed)." in message and len(message) < 460


def test_tsig_key_file_as_bind_writes_it(tmp_path: Path) -> None:
    good = tmp_path / "k.key"
    good.write_text('key "acme" {\n\talgorithm hmac-sha256;\n\tsecret "c2VjcmV0c2VjcmV0";\n};\n')
    name, algorithm, secret = read_key_file(good)
    assert name.to_text() == "acme." and "hmac-sha256" in algorithm and secret == b"secretsecret"
    bad = tmp_path / "bad.key"
    bad.write_text("not a key")
    with pytest.raises(DnsError, match="is not a TSIG key file"):
        read_key_file(bad)
    with pytest.raises(DnsError, match="Cannot read the TSIG key file"):
        read_key_file(tmp_path / "missing.key")


# What BIND 9.18's `ddns-confgen -k ddns-key.example.com -z example.com` prints (the secret is
# another 32 random bytes each time): the key, then advice, commented or not.
DDNS_CONFGEN = """# To activate this key, place the following in named.conf, and
# in a separate keyfile on the system or systems from which nsupdate
# will be run:
key "ddns-key.example.com" {
\talgorithm hmac-sha256;
\tsecret "W9gpnKgjQgPGg+f7JYoI5Cn0yj7GeO45+LL2V5oCNuw=";
};

# Then, in the "zone" definition statement for "example.com",
# place an "update-policy" statement like this one, adjusted as\x20
# needed for your preferred permissions:
update-policy {
\t  grant ddns-key.example.com zonesub ANY;
};

# After the keyfile has been placed, the following command will
# execute nsupdate using this key:
nsupdate -k <keyfile>
"""


def test_tsig_key_files_as_bind_admins_write_them(tmp_path: Path) -> None:
    """ddns-confgen's output (comments, an update-policy), several keys, unquoted names, a
    secret holding "//" (base64 may), HMAC-MD5 as BIND names it."""
    made = tmp_path / "ddns.key"
    made.write_text(DDNS_CONFGEN)
    name, algorithm, secret = read_key_file(made)
    assert name.to_text() == "ddns-key.example.com." and bind_algorithm(algorithm) == "hmac-sha256"
    assert len(secret) == 32

    slashes = base64.b64encode(bytes([0xFF, 0xFF, 0xFF]) * 11).decode()
    assert "//" in slashes
    several = tmp_path / "keys.conf"
    several.write_text(
        '/* key "commented" { algorithm hmac-sha1; secret "AAAA"; }; */\n'
        f'key plain {{ algorithm HMAC-SHA512; secret "{slashes}"; }}; // the second\n'
        'key "old" { secret "c2VjcmV0c2VjcmV0"; algorithm hmac-md5; };  # secret first\n'
        '# key "hash" { algorithm hmac-sha256; secret "AAAA"; };\n'
    )
    with pytest.raises(DnsError, match=r"holds 2 keys \(plain, old\): which one is not said"):
        read_key_file(several)
    name, algorithm, secret = read_key_file(several, "PLAIN.")
    assert name.to_text() == "plain." and secret == bytes([0xFF, 0xFF, 0xFF]) * 11
    assert bind_algorithm(algorithm) == "hmac-sha512"
    name, algorithm, _ = read_key_file(several, "old")
    assert algorithm == str(dns.tsig.HMAC_MD5) and bind_algorithm(algorithm) == "hmac-md5"
    with pytest.raises(DnsError, match=r"holds no key named commented \(it holds plain, old\)"):
        read_key_file(several, "commented")


def test_a_zone_given_must_hold_every_record(monkeypatch: pytest.MonkeyPatch) -> None:
    import dns.resolver

    # A PC without DNS: no _acme-challenge is a CNAME (the network is not asked).
    offline = dns.resolver.Resolver(configure=False)
    offline.nameservers = []
    monkeypatch.setattr(dns.resolver, "default_resolver", offline)
    key = named_key("k", "hmac-sha256", "c2VjcmV0c2VjcmV0")
    publisher = Rfc2136Publisher("192.0.2.53", key, "Example.COM.")
    publisher.check_names(["*.example.com", "example.com", "sbc.voice.example.com"])
    assert publisher.zone_of("_acme-challenge.sbc.example.com").to_text() == "Example.COM."
    outside = "The TXT record _acme-challenge.example.org is outside the zone Example.COM"
    with pytest.raises(DnsError, match=re.escape(outside)):
        publisher.check_names(["example.com", "*.example.org"])
    with pytest.raises(DnsError, match=re.escape("_acme-challenge.notexample.com is outside")):
        publisher.zone_of("_acme-challenge.notexample.com")
    Rfc2136Publisher("192.0.2.53", key).check_names(["example.org"])  # no zone: the SOA says


def test_a_named_tsig_key_takes_its_secret_from_the_credential_store(
    memory_keyring: MemoryKeyring,
) -> None:
    """The wizard's RFC 2136: settings name the key; `accert renew` finds the secret again."""
    s = AcmeSettings(
        directory="https://acme.example/dir",
        dns_method="rfc2136",
        rfc2136_server="192.0.2.53:53",
        tsig_key_name="acme-update",
        tsig_algorithm="hmac-sha256",
        rfc2136_zone="example.com",
    )
    assert "c2VjcmV0c2VjcmV0" not in str(s.to_dict())
    missing = r"secret of TSIG key acme-update for 192\.0\.2\.53:53 is not"
    with pytest.raises(DnsError, match=missing):
        Rfc2136Publisher.for_settings(s, None)
    assert remember_secret("192.0.2.53:53", "acme-update", "c2VjcmV0c2VjcmV0")
    publisher = Rfc2136Publisher.for_settings(s, None)
    assert publisher.keyring[publisher.key_name].secret == b"secretsecret"
    assert publisher.zone_of("_acme-challenge.sbc.example.com").to_text() == "example.com."
    with pytest.raises(DnsError, match="The TSIG secret of key acme-update is not base64"):
        Rfc2136Publisher.for_settings(s, "not base64!")
    long_label = dataclasses.replace(s, rfc2136_zone="a" * 70 + ".example.com")
    with pytest.raises(DnsError, match="is not a DNS zone name"):
        Rfc2136Publisher.for_settings(long_label, None)
    with pytest.raises(InputError, match="RFC 2136 updates need a TSIG key"):
        AcmeSettings(
            directory="https://acme.example/dir", dns_method="rfc2136", rfc2136_server="ns1"
        )
    with pytest.raises(InputError, match="Unknown TSIG algorithm 'hmac-md4'"):
        AcmeSettings(
            directory="https://acme.example/dir",
            dns_method="rfc2136",
            rfc2136_server="ns1",
            tsig_key_name="k",
            tsig_algorithm="hmac-md4",
        )


def test_account_key_is_kept_encrypted_per_directory_and_key_id() -> None:
    key = account.new_key()
    info = account.save("https://a.example/dir", "kid1", "https://a.example/acct/1", "", key)
    assert info.passphrase_source == "user"  # ACCERT_PASSPHRASE in the tests
    loaded = account.load("https://a.example/dir", "kid1")
    assert loaded is not None and loaded[0].url == "https://a.example/acct/1"
    assert loaded[1].private_numbers() == key.private_numbers()  # type: ignore[union-attr]
    assert account.load("https://a.example/dir", "kid2") is None
    assert account.load("https://b.example/dir", "kid1") is None
    raw = (account.folder("https://a.example/dir", "kid1") / account.KEY_FILE).read_bytes()
    assert raw.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    account.forget("https://a.example/dir", "kid1")
    assert account.load("https://a.example/dir", "kid1") is None


def test_account_passphrase_goes_to_the_credential_store(memory_keyring: object) -> None:
    account.save("https://a.example/dir", "", "https://a.example/acct/2", "", account.new_key())
    loaded = account.load("https://a.example/dir", "")
    assert loaded is not None and loaded[0].passphrase_source == "keyring"
    store = memory_keyring.store
    assert any(user.startswith("workspace-key:acme-account-") for _, user in store)


def test_hook_gets_the_values_in_its_environment_too(tmp_path: Path) -> None:
    """A PowerShell hook reads $env:ACCERT_VALUE: a value that begins with '-' is safe there."""
    from app.acme.dns.hook import HookPublisher

    out = tmp_path / "seen.txt"
    script = tmp_path / "hook.py"
    script.write_text(
        "import os, sys\n"
        f"open({str(out)!r}, 'a').write(' '.join(sys.argv[1:]) + '|' + "
        "os.environ['ACCERT_ACTION'] + ' ' + os.environ['ACCERT_FQDN'] + ' ' + "
        "os.environ['ACCERT_VALUE'] + '\\n')\n"
    )
    hook = HookPublisher(f'"{sys.executable}" "{script}"')  # quoted as a user quotes them
    hook.present(RECORD)
    hook.cleanup(RECORD)
    assert out.read_text().splitlines() == [
        "present _acme-challenge.example.com. -Ab_c|present _acme-challenge.example.com. -Ab_c",
        "cleanup _acme-challenge.example.com. -Ab_c|cleanup _acme-challenge.example.com. -Ab_c",
    ]


def test_hook_that_is_missing_is_named(tmp_path: Path) -> None:
    from app.acme.dns.hook import HookPublisher

    missing = tmp_path / "nope.sh"
    with pytest.raises(DnsError) as caught:
        HookPublisher(str(missing)).present(RECORD)
    assert caught.value.message == f"The DNS hook {missing} was not found."
