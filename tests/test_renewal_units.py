"""accert renew's parts that need no CA: due (days and RFC 9773 against a faithful fake), the
lock, the schedule's exact command lines, the report, the mail through a real SMTP server."""

from __future__ import annotations

import datetime as dt
import json
import os
import ssl
import subprocess
import sys
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from app import cli
from app.renewal import mail, report, schedule
from app.renewal.due import acme_renewal_time, check_due
from app.renewal.lock import RenewBusy, RenewLock
from app.renewal.run import RenewOutcome, StepResult
from tests.fakes.ari import AriServer
from tests.fakes.sshd import free_port
from tests.fakes.tls_listeners import issue
from tests.pki import TestCA

UTC = dt.UTC


def _leaf(ca: TestCA, days_left: float, folder: Path | None = None) -> x509.Certificate:
    """Signed by the test CA as a CA would (with the Authority Key Identifier ARI needs)."""
    if days_left <= 0:
        pem, _key = issue(ca, "sbc.example.com", days_left=days_left)
        return x509.load_pem_x509_certificate(pem)
    import tempfile

    from tests.helpers import other_csr

    with tempfile.TemporaryDirectory() as tmp:
        out = ca.sign(other_csr(Path(tmp)), Path(tmp) / "leaf.crt", days=int(days_left))
        return x509.load_pem_x509_certificate(out.read_bytes())


# --- due ---------------------------------------------------------------------------------------


def test_due_by_days_left(test_ca: TestCA) -> None:
    soon, later = _leaf(test_ca, 10), _leaf(test_ca, 60)
    assert check_due(soon, days=30).due
    assert "10." in check_due(soon, days=30).reason or "day(s) left" in check_due(soon).reason
    late = check_due(later, days=30)
    assert not late.due and "not due" in late.reason and "renewal at 30" in late.reason
    assert check_due(later, days=61).due
    expired = check_due(_leaf(test_ca, -2))
    assert expired.due and "has expired" in expired.reason


def test_ari_window_open_makes_it_due_early(test_ca: TestCA, tmp_path: Path) -> None:
    cert = _leaf(test_ca, 60)
    now = dt.datetime.now(UTC)
    with AriServer(test_ca, tmp_path) as ari:
        ari.suggest(cert, now - dt.timedelta(hours=2), now - dt.timedelta(hours=1))
        due = check_due(
            cert, days=30, directory=ari.directory, ca_bundle=str(ari.ca_bundle),
            ari=acme_renewal_time,
        )  # fmt: skip
    assert due.due, due.reason
    assert ("RFC 9773" in due.reason and "60." in due.reason) or "day(s) before" in due.reason
    assert due.ari_renew_at is not None and due.ari_renew_at < now
    # The client asked for exactly this certificate's RFC 9773 certID.
    from tests.fakes.ari import cert_id

    assert f"/renewal-info/{cert_id(cert)}" in ari.requests


def test_ari_window_in_the_future_is_not_due_and_says_when(test_ca: TestCA, tmp_path: Path) -> None:
    cert = _leaf(test_ca, 60)
    now = dt.datetime.now(UTC)
    start = now + dt.timedelta(days=20)
    with AriServer(test_ca, tmp_path) as ari:
        ari.suggest(cert, start, start + dt.timedelta(days=2))
        due = check_due(cert, directory=ari.directory, ca_bundle=str(ari.ca_bundle),
                        ari=acme_renewal_time)  # fmt: skip
    assert not due.due
    assert due.ari_renew_at is not None and start <= due.ari_renew_at <= start + dt.timedelta(
        days=2
    )
    assert "the CA suggests renewing from" in due.reason


def test_ca_without_ari_or_failing_ari_leaves_the_days_rule(
    test_ca: TestCA, tmp_path: Path
) -> None:
    cert = _leaf(test_ca, 60)
    with AriServer(test_ca, tmp_path / "a", offer_ari=False) as ari:
        due = check_due(cert, directory=ari.directory, ca_bundle=str(ari.ca_bundle),
                        ari=acme_renewal_time)  # fmt: skip
        assert ari.requests == ["/directory"]
    assert not due.due and "offers no renewal information" in due.ari_note
    with AriServer(test_ca, tmp_path / "b") as ari:
        ari.fail_with = 500
        due = check_due(cert, directory=ari.directory, ca_bundle=str(ari.ca_bundle),
                        ari=acme_renewal_time)  # fmt: skip
    assert not due.due and "could not be read" in due.ari_note
    soon = _leaf(test_ca, 5)
    with AriServer(test_ca, tmp_path / "c") as ari:
        ari.fail_with = 500
        assert check_due(soon, directory=ari.directory, ca_bundle=str(ari.ca_bundle),
                         ari=acme_renewal_time).due  # fmt: skip


def test_ari_is_not_trusted_without_the_right_ca(test_ca: TestCA, other_ca: TestCA,
                                                 tmp_path: Path) -> None:  # fmt: skip
    cert = _leaf(test_ca, 60)
    now = dt.datetime.now(UTC)
    wrong = tmp_path / "other-root.pem"
    wrong.write_bytes(other_ca.root_pem)
    with AriServer(test_ca, tmp_path) as ari:
        ari.suggest(cert, now - dt.timedelta(hours=2), now - dt.timedelta(hours=1))
        due = check_due(cert, directory=ari.directory, ca_bundle=str(wrong), ari=acme_renewal_time)
    assert not due.due and "could not be read" in due.ari_note
    assert ari.requests == []  # the handshake failed before any request


# --- the lock ----------------------------------------------------------------------------------


def test_lock_refuses_a_second_run_and_a_kill_releases_it(tmp_path: Path) -> None:
    with RenewLock(tmp_path):
        with pytest.raises(RenewBusy, match="Another accert renew is running") as caught:
            RenewLock(tmp_path).__enter__()
        assert f"pid {os.getpid()}" in caught.value.message
    with RenewLock(tmp_path):
        pass  # released on exit
    code = (
        "import sys, time; from pathlib import Path; from app.renewal.lock import RenewLock\n"
        "with RenewLock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE,
                             cwd=Path(__file__).resolve().parent.parent)  # fmt: skip
    assert child.stdout is not None and child.stdout.readline().strip() == b"locked"
    with pytest.raises(RenewBusy):
        RenewLock(tmp_path).__enter__()
    child.kill()  # SIGKILL (TerminateProcess on Windows)
    child.wait(timeout=10)
    child.stdout.close()
    with RenewLock(tmp_path):
        pass  # no stale lock after a kill


# --- schedule ----------------------------------------------------------------------------------

EXE = r"C:\Program Files\accert\accert.exe"
WS = Path(r"C:\Users\eng\Documents\accert\star_example_com-2026-11-30")


def test_schtasks_command_lines_are_exact() -> None:
    plan = schedule.Schedule(("renew", str(WS)), dt.time(6, 30), WS)
    assert schedule.task_name(WS) == r"\accert\renew star_example_com-2026-11-30"
    assert schedule.task_command(EXE, plan) == (
        r'"C:\Program Files\accert\accert.exe" renew '
        r"C:\Users\eng\Documents\accert\star_example_com-2026-11-30"
    )
    assert schedule.schtasks_create(EXE, plan, user=r"CORP\eng") == [
        "schtasks", "/Create", "/TN", r"\accert\renew star_example_com-2026-11-30",
        "/TR", r'"C:\Program Files\accert\accert.exe" renew '
        r"C:\Users\eng\Documents\accert\star_example_com-2026-11-30",
        "/SC", "DAILY", "/ST", "06:30", "/RU", r"CORP\eng", "/RP", "*", "/RL", "LIMITED", "/F",
    ]  # fmt: skip
    logged_on = schedule.schtasks_create(EXE, plan, user=r"CORP\eng", logged_on_only=True)
    assert logged_on[-5:] == ["/RU", r"CORP\eng", "/IT", "/RL", "LIMITED", "/F"][-5:]
    assert "/RP" not in logged_on and "/IT" in logged_on
    assert schedule.schtasks_delete(r"\accert\renew all") == [
        "schtasks", "/Delete", "/TN", r"\accert\renew all", "/F"
    ]  # fmt: skip
    assert schedule.schtasks_query(r"\accert\renew all") == [
        "schtasks", "/Query", "/TN", r"\accert\renew all", "/V", "/FO", "LIST"
    ]  # fmt: skip


def test_schtasks_run_line_too_long_is_refused_before_schtasks() -> None:
    deep = Path("C:\\" + "\\".join(["a-very-long-folder-name"] * 12))
    plan = schedule.Schedule(("renew", str(deep)), dt.time(6, 30), deep)
    with pytest.raises(Exception, match="Task Scheduler takes at most 261"):
        schedule.schtasks_create(EXE, plan, user="eng")


def test_accert_tasks_are_found_in_schtasks_csv() -> None:
    csv = (
        '"\\Microsoft\\Windows\\Defrag\\ScheduledDefrag","N/A","Ready"\r\n'
        '"\\accert\\renew all","01/12/2026 06:30:00","Ready"\r\n'
        '"\\accert\\renew star_example_com-2026-11-30","01/12/2026 07:00:00","Ready"\r\n'
    )
    assert schedule.accert_tasks(csv) == [
        "\\accert\\renew all", "\\accert\\renew star_example_com-2026-11-30"
    ]  # fmt: skip


def test_daily_time_and_next_run() -> None:
    assert schedule.parse_daily("6:05") == dt.time(6, 5)
    for bad in ("24:00", "6", "06:60", "six"):
        with pytest.raises(Exception, match="not a time of day"):
            schedule.parse_daily(bad)
    now = dt.datetime(2026, 11, 30, 7, 0)
    assert schedule.next_run(dt.time(6, 30), now) == dt.datetime(2026, 12, 1, 6, 30)
    assert schedule.next_run(dt.time(7, 30), now) == dt.datetime(2026, 11, 30, 7, 30)


def test_schedule_on_windows_runs_schtasks_with_the_exact_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """schtasks.exe exists only on Windows: here the command it would get is captured."""
    from tests.helpers import requested

    ws = requested(tmp_path)
    ran: list[tuple[list[str], bool]] = []

    def fake_schtasks(args: list[str], *, capture: bool = True) -> Any:
        ran.append((list(args), capture))
        return subprocess.CompletedProcess(args, 0, "TaskName: x\nNext Run Time: later", "")

    monkeypatch.setattr(schedule, "is_windows", lambda: True)
    monkeypatch.setattr(schedule, "run_schtasks", fake_schtasks)
    monkeypatch.setattr(schedule, "installed_exe", lambda: EXE)
    monkeypatch.setattr(schedule, "current_user", lambda: r"CORP\eng")
    assert cli.main(["schedule", str(ws.path), "--daily", "05:45", "--days", "20"]) == 0
    create, capture = ran[0]
    assert not capture  # the console stays schtasks', so /RP * asks the user
    expected_run = f'"{EXE}" renew {ws.path.resolve()} --days 20'
    assert create == [
        "schtasks", "/Create", "/TN", f"\\accert\\renew {ws.path.name}", "/TR", expected_run,
        "/SC", "DAILY", "/ST", "05:45", "/RU", r"CORP\eng", "/RP", "*", "/RL", "LIMITED", "/F",
    ]  # fmt: skip
    assert ran[1][0][:2] == ["schtasks", "/Query"]
    out = capsys.readouterr().out
    assert "Next run:" in out and "Next Run Time: later" in out
    ran.clear()
    assert cli.main(["schedule", "--remove"]) == 0  # lists, then deletes accert's tasks only
    assert ran[0][0] == ["schtasks", "/Query", "/FO", "CSV", "/NH"]


def test_schedule_elsewhere_prints_the_cron_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.helpers import requested

    ws = requested(tmp_path)
    monkeypatch.setattr(schedule, "is_windows", lambda: False)
    monkeypatch.setattr(schedule, "installed_exe", lambda: "/opt/accert/bin/accert")
    code = cli.main([
        "schedule", str(ws.path), "--daily", "06:30", "--smtp", "mail.example.com",
        "--mail-from", "accert@example.com", "--mail-to", "pki@example.com",
    ])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    log = Path(os.environ["ACCERT_HOME"]) / "logs" / "renew.log"
    assert (
        f"30 6 * * * /opt/accert/bin/accert renew {ws.path.resolve()} --smtp mail.example.com "
        f"--mail-from accert@example.com --mail-to pki@example.com >> {log} 2>&1"
    ) in out
    assert cli.main(["schedule", str(tmp_path / "nothing-here"), "--daily", "06:30"]) == 1


# --- report and mail ----------------------------------------------------------------------------


def _outcome(tmp_path: Path) -> RenewOutcome:
    steps = (
        StepResult("request", "request", "new key and CSR", True, "new RSA 2048 key"),
        StepResult("issue", "issue", "ACME order", True, "certificate AA issued"),
        StepResult("sbc:sbc1:443", "sbc", "sbc1:443", True, "installed", old_sha256="AA:01",
                   new_sha256="BB:02", served_sha256="BB:02", backup="/b/sbc1.ini",
                   elapsed_s=2.5),
        StepResult("sbc:evil:443", "sbc", "evil:443", False,
                   "evil:443 presents <script>alert(1)</script>", "check it", nothing_sent=True),
    )  # fmt: skip
    return RenewOutcome(tmp_path / "old", "failed", "Renewed with 1 failure(s)", tmp_path / "new",
                        tmp_path / "old", None, steps)  # fmt: skip


def test_report_html_escapes_peer_text_and_json_has_each_device(tmp_path: Path) -> None:
    json_path, html_path = report.write([_outcome(tmp_path)], tmp_path)
    page = html_path.read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "skipped, nothing sent" in page and "What to do:</b> check it" in page
    data = json.loads(json_path.read_text())
    assert data["ok"] is False
    devices = [s for s in data["renewals"][0]["steps"] if s["kind"] == "sbc"]
    assert devices[0] | {"old_sha256": "AA:01", "new_sha256": "BB:02", "served_sha256": "BB:02",
                         "backup": "/b/sbc1.ini", "elapsed_s": 2.5} == devices[0]  # fmt: skip
    assert report.subject_line([_outcome(tmp_path)]) == "accert renew: 1 renewal(s) need attention"


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content))
        )
        return "250 OK"


def _smtp_server(test_ca: TestCA, folder: Path, *, tls: bool) -> Any:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"reports",
            b"mail-Secret-9",
        )
        return AuthResult(success=ok, handled=False)

    chain, key = issue(test_ca, "localhost", days_left=30)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "smtp.crt").write_bytes(chain + test_ca.inter_pem)
    (folder / "smtp.key").write_bytes(key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "smtp.crt", folder / "smtp.key")
    inbox = _Inbox()
    for attempt in range(3):  # the free port may be taken before the server binds it
        controller = Controller(
            inbox, hostname="127.0.0.1", port=free_port(), server_hostname="localhost",
            tls_context=context if tls else None, require_starttls=tls, authenticator=auth,
            auth_require_tls=True, auth_exclude_mechanism=["LOGIN"],
        )  # fmt: skip
        try:
            controller.start()
            break
        except OSError:
            if attempt == 2:
                raise
    controller.inbox = inbox  # type: ignore[attr-defined]
    return controller


def test_report_is_mailed_over_starttls_with_login(
    test_ca: TestCA, tmp_path: Path, memory_keyring: Any
) -> None:
    server = _smtp_server(test_ca, tmp_path / "smtp", tls=True)
    bundle = tmp_path / "root.pem"
    bundle.write_bytes(test_ca.root_pem)
    try:
        port = server.port
        settings = mail.MailSettings("localhost", port, "accert@example.com",
                                     ("pki@example.com", "voice@example.com"), "reports",
                                     "mail-Secret-9", str(bundle))  # fmt: skip
        mail.send(settings, [_outcome(tmp_path)])
        ((sender, rcpts, msg),) = server.inbox.messages
        assert sender == "accert@example.com"
        assert rcpts == ["pki@example.com", "voice@example.com"]
        assert msg["Subject"] == "accert renew: 1 renewal(s) need attention"
        parts = {p.get_content_type(): p for p in msg.walk()}
        assert "&lt;script&gt;" in parts["text/html"].get_payload(decode=True).decode()
        assert "FAILED evil:443" in parts["text/plain"].get_payload(decode=True).decode()
        attached = json.loads(parts["application/json"].get_payload(decode=True))
        assert attached["ok"] is False

        wrong = mail.MailSettings("localhost", port, "a@example.com", ("b@example.com",),
                                  "reports", "wrong", str(bundle))  # fmt: skip
        with pytest.raises(mail.MailError, match="refused the login of reports"):
            mail.send(wrong, [_outcome(tmp_path)])
        untrusted = mail.MailSettings("localhost", port, "a@example.com", ("b@example.com",))
        with pytest.raises(mail.MailError, match="is not trusted"):
            mail.send(untrusted, [_outcome(tmp_path)])
        assert len(server.inbox.messages) == 1
    finally:
        server.stop()


def test_no_starttls_no_mail(test_ca: TestCA, tmp_path: Path) -> None:
    server = _smtp_server(test_ca, tmp_path / "smtp", tls=False)
    try:
        port = server.port
        settings = mail.MailSettings("localhost", port, "a@example.com", ("b@example.com",),
                                     "reports", "mail-Secret-9")  # fmt: skip
        with pytest.raises(mail.MailError, match="does not offer STARTTLS"):
            mail.send(settings, [_outcome(tmp_path)])
        assert server.inbox.messages == []
    finally:
        server.stop()


def test_smtp_password_comes_from_env_or_the_credential_store(
    memory_keyring: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(mail.MailError, match="No password for the mail account reports"):
        mail.smtp_password("smtp.example.com", 587, "reports", None)
    monkeypatch.setenv("SMTP_PW", "from-env-123")
    assert mail.smtp_password("smtp.example.com", 587, "reports", "SMTP_PW") == "from-env-123"
    mail.save_smtp_password("smtp.example.com", 587, "reports", "stored-456")
    assert mail.smtp_password("smtp.example.com", 587, "reports", None) == "stored-456"
