"""The inventory file an engineer edits and shares, and the CSV a spreadsheet gives."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from app.errors import InputError
from app.estate import inventory as inv
from app.estate.inventory import Inventory, Kind, Target


def sample() -> Inventory:
    return Inventory(
        (
            Target("sbc1.example.com", name='SBC "London"', contexts=(0, 2), user="Admin"),
            Target("10.0.0.9", ports=(443, 5061, 5067), server_name="sbc2.example.com"),
            Target("fe80::1", kind=Kind.OVOC, name="OVOC", site="Paris", notes="DR site\nrack 3"),
        )
    )


@pytest.mark.parametrize("name", ["estate.toml", "estate.json"])
def test_round_trip_keeps_every_field(tmp_path: Path, name: str) -> None:
    path = inv.save(sample(), tmp_path / name)
    assert inv.load(path) == sample()
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if name.endswith(".json") else tomllib.loads(text)
    assert data["targets"][0]["name"] == 'SBC "London"'
    assert "password" not in text.lower().replace("never put passwords here", "")


def test_toml_is_readable_and_hand_edits_load(tmp_path: Path) -> None:
    text = inv.dumps_toml(sample())
    assert '[[targets]]\nname = "SBC \\"London\\""\nhost = "sbc1.example.com"' in text
    path = tmp_path / "hand.toml"
    path.write_text(
        '[[targets]]\nhost = "https://sbc3.example.com:8443/"\nkind = "Gateway"\n'
        '[[targets]]\nhost = "[2001:db8::5]:5061"\nports = "443 5061"\n',
        encoding="utf-8",
    )
    a, b = inv.load(path).targets
    assert (a.host, a.kind, a.scan_ports) == ("sbc3.example.com", Kind.SBC, (8443,))
    assert (b.host, b.scan_ports) == ("2001:db8::5", (443, 5061))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[targets]]\nhost = "sbc1"\npassword = "x"\n', "never holds passwords"),
        ('[[targets]]\nname = "no host"\n', "needs a host"),
        ('[[targets]]\nhost = "sbc1"\nports = [70000]\n', "out of range"),
        ('[[targets]]\nhost = "sbc1"\nports = "443, web"\n', "'web' is not a number"),
        ('[[targets]]\nhost = "sbc1"\nkind = "printer"\n', "kind 'printer' is not known"),
        ('[[targets]]\nhost = "sbc 1"\n', "not a host name"),
        ("[[targets]\n", "not valid TOML"),
    ],
)
def test_mistakes_name_the_file_and_target(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InputError, match=message) as err:
        inv.load(path)
    assert str(path) in err.value.message


def test_missing_default_is_empty_but_missing_named_file_is_an_error(tmp_path: Path) -> None:
    assert inv.load() == Inventory()
    with pytest.raises(InputError, match="does not exist"):
        inv.load(tmp_path / "nope.toml")


def test_csv_with_aliases_tabs_and_duplicates() -> None:
    text = "IP Address\tDevice Name\tRole\tPorts\n10.1.1.1\tA\tsbc\t443\n10.1.1.1\tA\tsbc\t5061\n"
    (t,) = inv.parse_csv(text, "sheet.csv")
    assert (t.host, t.name, t.scan_ports) == ("10.1.1.1", "A", (5061,))  # the later row wins


def test_csv_without_host_column_or_with_passwords_is_refused() -> None:
    with pytest.raises(InputError, match="no host column"):
        inv.parse_csv("name,port\nA,443\n", "x.csv")
    with pytest.raises(InputError, match=r"x\.csv line 2: has a 'password' field"):
        inv.parse_csv("host,password\nsbc1,hunter2\n", "x.csv")


def test_csv_from_excel_in_windows_1252(tmp_path: Path) -> None:
    path = tmp_path / "legacy.csv"
    path.write_bytes("host;name\r\nsbc1;Gerät Köln\r\n".encode("cp1252"))
    assert [t.name for t in inv.read_csv(path)] == ["Gerät Köln"]


def test_merge_replaces_by_name_and_keeps_the_rest() -> None:
    merged = sample().merged([Target("sbc1-new.example.com", name='SBC "London"')])
    hosts = sorted(t.host for t in merged.targets)
    assert hosts == ["10.0.0.9", "fe80::1", "sbc1-new.example.com"]


def test_renew_these_gives_the_deployment_its_device_entry() -> None:
    device = sample().targets[0].saved_device()
    assert (device.host, device.port, device.contexts, device.verify_ports) == (
        "sbc1.example.com",
        443,
        (0, 2),
        (5061,),
    )
    assert device.account == "mediant:Admin@sbc1.example.com:443"  # its stored password
    with pytest.raises(InputError, match="OVOC server"):
        sample().targets[2].saved_device()


def test_saved_devices_become_targets(tmp_path: Path) -> None:
    from app.mediant.devices import SavedDevice

    (t,) = inv.from_saved_devices([SavedDevice("sbc9", verify_ports=(5061,), name="Nine")])
    assert (t.host, t.name, t.scan_ports, t.kind) == ("sbc9", "Nine", (443, 5061), Kind.SBC)


def test_plain_strings_are_accepted_for_kind_and_lists_for_ports() -> None:
    t = Target("ovoc1", kind="ovoc", ports=[443])  # type: ignore[arg-type]
    assert t.kind is Kind.OVOC and t.ports == (443,)


def test_the_platform_behind_an_sbc_reaches_its_device_entry(tmp_path: Path) -> None:
    rows = inv.parse_csv(
        "Host,Contexts,Platform\nsbc1.example.com,0;2,Teams\nsbc2.example.com,0,\n", "estate.csv"
    )
    assert [t.platform for t in rows] == ["teams", ""]
    # The SIP context, not the web server's context 0.
    assert rows[0].saved_device().platforms == ((2, "teams"),)
    assert rows[1].saved_device().platforms == ()
    path = inv.save(Inventory(tuple(rows)), tmp_path / "estate.toml")
    assert 'platform = "teams"' in path.read_text() and inv.load(path).targets == tuple(rows)
    (back,) = inv.from_saved_devices([rows[0].saved_device()])
    assert back.platform == "teams"
    with pytest.raises(InputError, match=r"estate\.csv.*platform 'skype' is not known"):
        inv.parse_csv("Host,Platform\nsbc3,skype\n", "estate.csv")
