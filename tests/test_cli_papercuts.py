"""What a hurried first-hour user meets on the command line (issue 16), checked through the real
`accert` program: exit code, the one-line message and its hint, and the files left behind."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.ca_response import Source
from app.workspace import STATE_FILE, Workspace
from tests.conftest import TEST_PASSPHRASE
from tests.helpers import DAMAGED_ROWS, console_script, damaged_renewals, issued
from tests.pki import TestCA, openssl

ACCERT = console_script()


def accert(
    *args: str | Path, cwd: Path | None = None, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    """The installed console program, as a user types it (no terminal: stdin is a pipe)."""
    assert ACCERT.exists(), f"{ACCERT} is missing: pip install -e . makes it"
    return subprocess.run(
        [str(ACCERT), *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=dict(os.environ, **env),
        timeout=120,
        check=False,
    )


def one_error(proc: subprocess.CompletedProcess[str], message: str, hint: str = "") -> None:
    """Exit 1, the message on stderr's first line, the hint on the second, no bug report."""
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr  # one error line (what came before is progress)
    assert message in lines[errors[0]], proc.stderr
    if hint:
        assert hint in lines[errors[0] + 1], proc.stderr
    assert "Traceback" not in proc.stderr and "This is a bug" not in proc.stderr


@pytest.fixture
def imported(tmp_path: Path, test_ca: TestCA) -> Workspace:
    ws, leaf = issued(tmp_path, test_ca)
    ws.import_response([Source(leaf.name, leaf.read_bytes()), Source("ca.crt", test_ca.inter_pem)])
    return ws


# --- closed pipes: a normal end ---------------------------------------------------------------


def test_show_into_a_closed_pipe_exits_quietly(imported: Workspace, tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before accert writes a byte: EPIPE for sure
    proc = subprocess.run(
        [str(ACCERT), "show", str(imported.path)],
        stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60, check=False,
    )  # fmt: skip
    os.close(write_end)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_show_piped_into_head_like_a_user(imported: Workspace) -> None:
    proc = subprocess.run(
        ["bash", "-c", f'"{ACCERT}" show "{imported.path}" | head -1; exit ${{PIPESTATUS[0]}}'],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"Renewal: {imported.path}\n"
    assert proc.stderr == ""


def test_import_into_a_closed_pipe_still_imports(tmp_path: Path, test_ca: TestCA) -> None:
    ws, leaf = issued(tmp_path, test_ca)
    bundle = leaf.read_bytes() + test_ca.inter_pem + test_ca.root_pem
    read_end, write_end = os.pipe()
    os.close(read_end)
    proc = subprocess.run(
        [str(ACCERT), "import", str(ws.path), "-"],
        input=bundle, stdout=write_end, stderr=subprocess.PIPE, timeout=60, check=False,
    )  # fmt: skip
    os.close(write_end)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    assert Workspace.open(ws.path).state.stage.value == "issued"  # nobody read it, still done


# --- file system slips, one rule for every command ----------------------------------------------


def test_export_into_an_existing_file(
    imported: Workspace, tmp_path: Path, isolated_home: Path
) -> None:
    target = tmp_path / "out.txt"
    target.write_text("mine")
    proc = accert("export", imported.path, "--out", target)
    one_error(proc, f"{target} is a file, where accert needs to create a folder", "Give a folder")
    assert target.read_text() == "mine"
    assert not (isolated_home / "logs" / "crash.log").exists()


def test_export_under_a_file(imported: Workspace, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    proc = accert("export", imported.path, "--out", tmp_path / "f" / "out")
    one_error(proc, "a part of this path is a file, not a folder")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["export", "{ws}", "--out", ""], "accert export: error: --out is empty ('')"),
        (["show", ""], "accert show: error: an argument is empty ('')"),
        (["request", "", "--cn", "sbc.example.com"], "accert request: error: an argument is empty"),
        (["request", "{tmp}/r", "--cn", ""], "accert request: error: --cn is empty ('')"),
    ],
)
def test_empty_arguments_are_refused_not_taken_as_the_current_folder(
    imported: Workspace, tmp_path: Path, args: list[str], expected: str
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    words = [a.replace("{ws}", str(imported.path)).replace("{tmp}", str(tmp_path)) for a in args]
    proc = accert(*words, cwd=cwd)
    assert proc.returncode == 2, proc.stderr
    assert expected in proc.stderr
    assert list(cwd.iterdir()) == []  # nothing written into the current folder


def test_empty_organisation_is_fine(tmp_path: Path) -> None:
    proc = accert("request", tmp_path / "r", "--cn", "sbc.example.com", "--org", "")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("where", ["file", "under-file"])
def test_request_into_a_file(tmp_path: Path, where: str) -> None:
    (tmp_path / "f").write_text("x")
    folder = tmp_path / "f" if where == "file" else tmp_path / "f" / "sub"
    proc = accert("request", folder, "--cn", "sbc.example.com")
    one_error(
        proc,
        f"{folder} is a file, not a folder" if where == "file" else "Cannot create the folder",
    )
    assert (tmp_path / "f").read_text() == "x"


@pytest.mark.parametrize("command", [["import", "{ws}", "x.pem"], ["export", "{ws}", "--out", "o"],
                                     ["reminder", "{ws}"], ["show", "{ws}"]])  # fmt: skip
def test_a_missing_renewal_folder_is_said_to_be_missing(tmp_path: Path, command: list[str]) -> None:
    ws = tmp_path / "renewals" / "star_exmaple_com"  # a typo
    words = [w.replace("{ws}", str(ws)) for w in command]
    proc = accert(*words)
    assert proc.returncode == 1
    assert "not an accert renewal folder" not in proc.stderr
    assert f"{ws}" in proc.stderr and ("does not exist" in proc.stderr)


# --- secrets where a variable name belongs ------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["export", "{ws}", "--out", "{tmp}/o", "--pfx-password-env", "{secret}"],
        ["show", "{tmp}/x.pfx", "--password-env", "{secret}"],
        ["import", "{ws}", "{tmp}/x.pfx", "--password-env", "{secret}"],
        ["deploy-sbc", "{ws}", "--host", "127.0.0.1", "--context", "0",
         "--password-env", "{secret}"],
        ["deploy-ovoc", "{ws}", "--host", "127.0.0.1", "--password-env", "{secret}",
         "--root-password-env", "ROOTPW"],
        ["deploy-ovoc", "{ws}", "--host", "127.0.0.1", "--password-env", "OVOCPW",
         "--root-password-env", "{secret}"],
        ["acme", "{ws}", "--directory", "https://127.0.0.1:9/dir", "--dns-manual",
         "--eab-kid", "kid", "--eab-hmac-env", "{secret}"],
    ],
)  # fmt: skip
def test_a_password_given_as_the_variable_name_is_never_echoed(
    imported: Workspace, tmp_path: Path, command: list[str], isolated_home: Path
) -> None:
    secret = "S3cret!Pass word"
    (tmp_path / "x.pfx").write_bytes(b"\x30\x03\x02\x01\x03")
    words = [
        w.replace("{ws}", str(imported.path))
        .replace("{tmp}", str(tmp_path))
        .replace("{secret}", secret)
        for w in command
    ]
    proc = accert(*words, OVOCPW="x", ROOTPW="y")
    assert secret not in proc.stdout + proc.stderr
    option = next(
        w for w in command if w.endswith("-env") and command[command.index(w) + 1] == "{secret}"
    )
    one_error(proc, f"What was given to {option} is not a variable name", "Pass the NAME")
    assert "PowerShell" not in proc.stderr  # Linux: the POSIX form
    assert "export " in proc.stderr
    for log in isolated_home.rglob("*"):
        if log.is_file():
            assert secret not in log.read_text(errors="replace")


def test_an_unset_variable_is_named_with_the_posix_hint(
    imported: Workspace, tmp_path: Path
) -> None:
    proc = accert("export", imported.path, "--out", tmp_path / "o", "--pfx-password-env", "NOPE")
    one_error(proc, "The environment variable NOPE is not set or empty", "export NOPE='...'")


def test_an_empty_variable_name(imported: Workspace, tmp_path: Path) -> None:
    proc = accert("export", imported.path, "--out", tmp_path / "o", "--pfx-password-env=")
    assert proc.returncode in (1, 2)
    assert "--pfx-password-env" in proc.stderr and "empty" in proc.stderr
    assert not (tmp_path / "o").exists()


def test_weak_pfx_password_is_warned_like_the_wizard(imported: Workspace, tmp_path: Path) -> None:
    proc = accert("export", imported.path, "--out", tmp_path / "o", "--preset", "windows",
                  "--pfx-password-env", "PFXPW", PFXPW="abc")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "WARNING: the PFX/JKS password is weak. Too short" in proc.stderr
    strong = accert("export", imported.path, "--out", tmp_path / "o2", "--preset", "windows",
                    "--pfx-password-env", "PFXPW", PFXPW="Long-Export-Pass-2026!")  # fmt: skip
    assert strong.returncode == 0 and "weak" not in strong.stderr


def test_show_pfx_without_a_terminal_says_how_to_pass_the_password(
    imported: Workspace, tmp_path: Path
) -> None:
    ok = accert("export", imported.path, "--out", tmp_path / "o", "--preset", "windows",
                "--pfx-password-env", "PFXPW", PFXPW="Long-Export-Pass-2026!")  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    pfx = next((tmp_path / "o").glob("*.pfx"))
    for command in (["show", pfx], ["import", imported.path, pfx]):
        proc = accert(*command)
        one_error(proc, "protected by a password", "--password-env VAR or --password-file FILE")
        assert "Enter its password" not in proc.stderr


# --- half-made state ------------------------------------------------------------------------


def test_short_passphrase_is_refused_before_any_work_and_leaves_no_folder(tmp_path: Path) -> None:
    folder = tmp_path / "renewals" / "sbc1"
    proc = accert("request", folder, "--cn", "sbc.example.com", ACCERT_PASSPHRASE="short")
    one_error(proc, "ACCERT_PASSPHRASE is shorter than 12 characters")
    assert "Generating" not in proc.stderr  # refused before the key was made
    assert not folder.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = accert("request", empty, "--cn", "sbc.example.com", ACCERT_PASSPHRASE="short")
    assert proc.returncode == 1
    assert empty.is_dir() and list(empty.iterdir()) == []  # the user's folder, as it was
    again = accert("request", folder, "--cn", "sbc.example.com", ACCERT_PASSPHRASE=TEST_PASSPHRASE)
    assert again.returncode == 0, again.stderr  # and the same command then simply works


def test_rerun_with_another_organisation_says_what_differs(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    first = accert("request", folder, "--cn", "sbc.example.com", "--org", "Example Ltd")
    assert first.returncode == 0, first.stderr
    same = accert("request", folder, "--cn", "sbc.example.com", "--org", "Example Ltd")
    assert same.returncode == 0 and same.stdout == first.stdout  # the same CSR printed again
    proc = accert("request", folder, "--cn", "sbc.example.com", "--org", "Example GmbH")
    one_error(
        proc,
        "already has a CSR for these names with other details: --org 'Example Ltd' there, "
        "'Example GmbH' now",
        "use a new folder",
    )
    assert "other names" not in proc.stderr
    names = accert("request", folder, "--cn", "sbc2.example.com", "--org", "Example Ltd")
    one_error(names, "already has a CSR for other names (sbc.example.com)")


# --- names broader than ASCII ---------------------------------------------------------------------


def test_international_names_through_accert(tmp_path: Path) -> None:
    proc = accert("request", tmp_path / "r", "--cn", "bücher.example.com", "--san", "straße.de",
                  "--org", "Müller & Söhne GmbH", "--locality", "Zürich")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (
        "Names:   xn--bcher-kva.example.com (bücher.example.com), xn--strae-oqa.de (straße.de)"
        in proc.stderr
    )
    (tmp_path / "r.csr").write_text(proc.stdout)
    text = openssl("req", "-in", tmp_path / "r.csr", "-noout", "-text", "-nameopt", "utf8")
    assert "DNS:xn--bcher-kva.example.com, DNS:xn--strae-oqa.de" in text.decode()
    assert "Müller & Söhne GmbH" in text.decode()
    bad = accert("request", tmp_path / "bad", "--cn", "x\u202ey.example.com")
    one_error(bad, "'x\\u202ey.example.com' is not a valid international domain name")
    assert "\u202e" not in bad.stderr
    assert not (tmp_path / "bad").exists()


def test_show_lists_a_renewals_international_names_in_both_forms(tmp_path: Path) -> None:
    made = accert("request", tmp_path / "r", "--cn", "*.bücher.example", "--san", "münchen.example")
    assert made.returncode == 0, made.stderr
    proc = accert("show", tmp_path / "r")
    assert proc.returncode == 0, proc.stderr
    assert "Subject:  *.xn--bcher-kva.example (*.bücher.example)" in proc.stdout
    assert (
        "Names:    *.xn--bcher-kva.example (*.bücher.example), "
        "xn--bcher-kva.example (bücher.example), xn--mnchen-3ya.example (münchen.example)"
    ) in proc.stdout


def test_list_gives_an_international_name_in_both_forms_escaped(tmp_path: Path) -> None:
    made = accert("request", tmp_path / "r", "--cn", "sbc.münchen.example")
    assert made.returncode == 0, made.stderr
    proc = accert("list", "--root", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "sbc.xn--mnchen-3ya.example (sbc.münchen.example)" in proc.stdout
    # A name from someone else's PFX may carry terminal controls: shown, never obeyed.
    state = json.loads((tmp_path / "r" / STATE_FILE).read_text("utf-8"))
    state["request"]["subject"]["common_name"] = "sbc.xn--mnchen-3ya.example\x1b[2J\u202e"
    (tmp_path / "r" / STATE_FILE).write_text(json.dumps(state), "utf-8")
    proc = accert("list", "--root", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (
        "sbc.xn--mnchen-3ya.example\\x1b[2J\\u202e (sbc.münchen.example\\x1b[2J\\u202e)"
        in proc.stdout
    )
    assert "\x1b" not in proc.stdout and "\u202e" not in proc.stdout


# --- a damaged renewal.json: the hint says what the folder still holds ----------------------------


def _damage(folder: Path) -> None:
    (folder / STATE_FILE).write_text('{"stage": "requested", "request": ', "utf-8")


def test_a_damaged_renewal_with_its_key_says_the_key_is_there(tmp_path: Path) -> None:
    made = accert("request", tmp_path / "r", "--cn", "sbc.example.com")
    assert made.returncode == 0, made.stderr
    _damage(tmp_path / "r")
    key_there = "The private key (private.key) is still in the folder: restore renewal.json"
    damaged = f"{tmp_path / 'r' / STATE_FILE} is damaged"
    one_error(accert("show", tmp_path / "r"), damaged, key_there)
    listed = accert("list", "--root", tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "is damaged" in listed.stdout and key_there in listed.stdout
    assert " sbc.example.com (from request.csr) " in listed.stdout


def test_a_damaged_renewal_without_a_key_never_promises_one(tmp_path: Path) -> None:
    """The key was made on the device, or the folder was tidied: no private.key to speak of."""
    made = accert("request", tmp_path / "r", "--cn", "sbc.example.com")
    assert made.returncode == 0, made.stderr
    (tmp_path / "r" / "private.key").unlink()
    _damage(tmp_path / "r")
    hint = "There is no private.key in the folder, only request.csr"
    one_error(accert("show", tmp_path / "r"), "is damaged", hint)
    listed = accert("list", "--root", tmp_path)
    assert hint in listed.stdout
    for said in (accert("show", tmp_path / "r").stderr, listed.stdout):
        assert "untouched" not in said and "still usable" not in said
        assert "private key (private.key) is still" not in said


def test_a_damaged_renewal_is_listed_by_the_name_left_in_its_folder(tmp_path: Path) -> None:
    """Not "?": the CSR's CN or first SAN, else the certificate's, else the folder name, each
    escaped and marked as read from that file; a malformed CSR falls back quietly."""
    damaged_renewals(tmp_path)
    listed = accert("list", "--root", tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert listed.stderr == "" and "Traceback" not in listed.stdout
    rows = [line for line in listed.stdout.splitlines() if "Damaged: cannot be opened" in line]
    assert len(rows) == len(DAMAGED_ROWS)
    for folder, name in DAMAGED_ROWS.items():
        (row,) = [r for r in rows if r.rstrip().endswith(str(tmp_path / folder))]
        assert f" {name} " in row, row
    assert "\x1b" not in listed.stdout and "\u202e" not in listed.stdout


# --- the CA response: messages that said the wrong thing ------------------------------------------


def test_only_the_ca_certificates_says_the_server_certificate_is_missing(
    tmp_path: Path, test_ca: TestCA
) -> None:
    ws, _leaf = issued(tmp_path, test_ca)
    (tmp_path / "DigiCertCA.crt").write_bytes(test_ca.inter_pem)
    (tmp_path / "TrustedRoot.crt").write_bytes(test_ca.root_pem)
    proc = accert("import", ws.path, tmp_path / "DigiCertCA.crt", tmp_path / "TrustedRoot.crt")
    assert proc.returncode == 1
    assert "PROBLEM: Your server certificate is missing: these are only the CA's own" in proc.stdout
    assert "issued for another CSR" not in proc.stdout


def test_missing_intermediate_hint_has_no_stray_or(tmp_path: Path, test_ca: TestCA) -> None:
    ws, leaf = issued(tmp_path, test_ca)
    proc = accert("import", ws.path, leaf)
    problem = next(line for line in proc.stdout.splitlines() if line.startswith("PROBLEM:"))
    assert " Or " not in problem and ". Or" not in problem
    assert "add the CA's bundle file" in problem


# --- verify: ports that do not speak TLS, host:port slips ---------------------------------------


@pytest.fixture
def plain_http() -> Iterator[int]:
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_verify_against_plain_http_says_it_is_not_tls(plain_http: int) -> None:
    proc = accert("verify", f"127.0.0.1:{plain_http}", "--timeout", "5")
    one_error(proc, "does not speak TLS", "HTTPS is usually 443, SIP-TLS 5061")
    assert "SSL routines" not in proc.stderr and "[(" not in proc.stderr
    assert proc.stdout == ""  # said once, on stderr


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("sbc1.example.com:https", "'https' in 'sbc1.example.com:https' is not a port number"),
        ("sbc1.example.com:", "ends with ':' but no port"),
        ("sbc1.example.com:99999", "Port 99999 in 'sbc1.example.com:99999' is out of range"),
        ("http://sbc1.example.com/", "is a plain-HTTP address"),
        ("sbc 1.example.com", "contains spaces"),
        ("renewals/sbc1", "looks like a file path, not a host"),
    ],
)
def test_verify_host_port_slips(target: str, expected: str) -> None:
    one_error(accert("verify", target, "--timeout", "1"), expected)


def test_verify_takes_a_url_from_the_address_bar() -> None:
    proc = accert("verify", "https://127.0.0.1:9/ui/", "--timeout", "2")
    one_error(proc, "Cannot connect to 127.0.0.1:9")


# --- counts ----------------------------------------------------------------------------------


def test_one_target_is_not_one_targets(tmp_path: Path) -> None:
    sheet = tmp_path / "devices.csv"
    sheet.write_text("name,host,type,ports\nSBC 1,sbc1.example.com,sbc,443\n")
    proc = accert("inventory", "import-csv", sheet, "--to", tmp_path / "estate.toml")
    assert proc.returncode == 0, proc.stderr
    assert "1 target read from" in proc.stderr
    shown = accert("inventory", "show", tmp_path / "estate.toml")
    assert "1 target in" in shown.stderr and "1 targets" not in shown.stderr


def test_accert_is_on_the_path_of_the_venv() -> None:
    """The README's "after set-up" line: the console script exists beside the venv's python."""
    assert ACCERT.exists() and shutil.which("accert", path=str(ACCERT.parent)) == str(ACCERT)


def _words(text: str) -> str:
    return " ".join(text.split())


def test_readme_and_help_give_the_same_csv_columns() -> None:
    from app.estate.inventory import CSV_COLUMNS_HELP

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert f"Columns: {CSV_COLUMNS_HELP}." in _words(readme)
    shown = accert("inventory", "import-csv", "--help")
    assert f"Columns: {CSV_COLUMNS_HELP}." in _words(shown.stdout)
    assert "separated by spaces, e.g. 443 5061" in CSV_COLUMNS_HELP


def test_readme_says_how_to_run_accert_and_where_list_looks() -> None:
    readme = _words((Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8"))
    assert "`.venv/bin/accert --help`" in readme and "`source .venv/bin/activate`" in readme
    assert "`.venv\\Scripts\\accert.exe --help`" in readme
    assert "accert list --root renewals" in readme
    help_text = accert("list", "--help").stdout
    assert "--root" in help_text and "Documents/accert" in help_text


# --- more hurried input, found by going through every command --------------------------------


def test_list_root_that_is_missing_or_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    one_error(accert("list", "--root", tmp_path / "f"), f"{tmp_path / 'f'} is a file, not a folder")
    one_error(accert("list", "--root", tmp_path / "nope"), f"{tmp_path / 'nope'} does not exist")
    empty = accert("list", "--root", tmp_path)
    assert empty.returncode == 0 and empty.stdout == f"No renewals in {tmp_path}.\n"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "is a folder"),
        ("-----BEGIN CERTIFICATE-----\n", "is not valid JSON (line 1, column 1"),
    ],
)
def test_deploy_sbc_device_file_slips(
    imported: Workspace, tmp_path: Path, content: str | None, expected: str
) -> None:
    devices = tmp_path / "devices.json"
    if content is None:
        devices.mkdir()
    else:
        devices.write_text(content)
    proc = accert("deploy-sbc", imported.path, "--devices", devices, "--context", "0",
                  "--password-env", "SBCPW", SBCPW="x")  # fmt: skip
    one_error(proc, expected, 'e.g. {"devices": [{"host": "sbc1.example.com"}]}')


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--host", "ovoc example.com"], "'ovoc example.com' contains spaces"),
        (["--host", "ovoc.example.com:ssh"], "'ssh' in 'ovoc.example.com:ssh' is not a port"),
        (["--host", "ovoc.example.com", "--port", "0"], "--port 0 is out of range"),
        (["--host", "ovoc.example.com", "--dir-mode", "999"], "--dir-mode 999 is not an octal"),
        (["--host", "ovoc.example.com", "--host-key", "SHA256:abc"],
         "'SHA256:abc' is not an SSH host key fingerprint"),
        (["--host", "ovoc.example.com", "--key-passphrase-env", "KEYPW"],
         "--key-passphrase-env is the passphrase of an SSH key, but no --key-file was given"),
        (["--host", "ovoc.example.com", "--waiting"], "has no certificate yet"),
    ],
)  # fmt: skip
def test_deploy_ovoc_checks_its_arguments_before_reading_any_secret(
    imported: Workspace, tmp_path: Path, extra: list[str], expected: str
) -> None:
    """The password variables are not set: had accert read a secret first, it would have
    stopped on that (or asked on a terminal) instead of naming the real slip."""
    folder = imported.path
    if "--waiting" in extra:  # a renewal whose CA has not answered yet
        extra.remove("--waiting")
        folder = accert_request(tmp_path / "waiting")
    secrets = ["--password-env", "OVOC_SSH_PW", "--root-password-env", "OVOC_ROOT_PW"]
    proc = accert("deploy-ovoc", folder, *extra, *secrets)
    one_error(proc, expected)
    assert "OVOC_SSH_PW" not in proc.stderr and "OVOC_ROOT_PW" not in proc.stderr


def test_deploy_ovoc_takes_a_host_port_and_the_host_of_a_pasted_web_address(
    tmp_path: Path, test_ca: TestCA
) -> None:
    ws, leaf = issued(tmp_path, test_ca)
    chain = leaf.read_bytes() + test_ca.inter_pem + test_ca.root_pem
    ws.import_response([Source(leaf.name, chain)])
    for given, expected in (
        ("ovoc.example.com:2222", "Host name ovoc.example.com, Port number 2222,"),
        ("https://ovoc.example.com:443/ovoc/", "Host name ovoc.example.com, Port number 22,"),
    ):
        proc = accert("deploy-ovoc", ws.path, "--host", given, "--manual", tmp_path / "m")
        assert proc.returncode == 0, proc.stderr
        assert expected in proc.stdout
    # Its slips are explained with an OVOC example, not a device's.
    slip = accert("deploy-ovoc", ws.path, "--host", "ovoc example.com", "--manual")
    one_error(slip, "'ovoc example.com' contains spaces", "Example: ovoc.example.com")


def test_deploy_ovoc_without_host_asks_for_nothing(imported: Workspace) -> None:
    proc = accert("deploy-ovoc", imported.path, "--password-env", "OVOC_SSH_PW")
    assert proc.returncode == 2
    assert "the following arguments are required: --host" in proc.stderr
    assert "OVOC_SSH_PW is" not in proc.stderr and "Traceback" not in proc.stderr


def accert_request(folder: Path) -> Path:
    made = accert("request", folder, "--cn", "ovoc.example.com", "--org", "Example Ltd")
    assert made.returncode == 0, made.stderr
    return folder


def test_a_zero_timeout_is_refused_before_connecting() -> None:
    proc = accert("verify", "127.0.0.1:9", "--timeout", "0")
    assert proc.returncode == 2
    assert "accert verify: error: --timeout must be more than 0 seconds" in proc.stderr


@pytest.mark.parametrize(
    "words",
    [
        ["export", "{ws}", "--out", "{tmp}/o", "--pfx-pass=S3cret-Pass"],
        ["deploy-sbc", "{ws}", "--password=S3cret-Pass"],
        ["export", "{ws}", "S3cret-Pass", "--out", "{tmp}/o"],
        ["show", "{ws}", "--password", "S3cret-Pass"],
    ],
)
def test_argparse_never_echoes_what_may_be_a_password(
    imported: Workspace, tmp_path: Path, words: list[str]
) -> None:
    proc = accert(*[w.replace("{ws}", str(imported.path)).replace("{tmp}", str(tmp_path))
                    for w in words])  # fmt: skip
    assert proc.returncode == 2
    assert "S3cret-Pass" not in proc.stdout + proc.stderr
    assert f"accert {words[0]}: error:" in proc.stderr  # the command's own usage, not the top's


def test_library_warnings_are_one_line_in_our_words(tmp_path: Path) -> None:
    """cryptography warns about a name field over X.509's 64 characters with Python's file,
    line and source; accert says it once, in words a user can act on."""
    import datetime as dt
    import warnings

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        name = x509.Name(
            [x509.NameAttribute(NameOID.COMMON_NAME, "a" * 70 + ".example.com", _validate=False)]
        )
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(5).not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=900)).sign(key, hashes.SHA256())
    )  # fmt: skip
    (tmp_path / "long.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    proc = accert("show", tmp_path / "long.pem")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("Note: a certificate here has a name field of 82 characters") == 1
    assert "UserWarning" not in proc.stderr and ".py:" not in proc.stderr
