"""The report by e-mail: SMTP with STARTTLS (the server's certificate verified against the
system's trust store or a given CA bundle), the HTML report as the body with a plain-text
alternative and the JSON report attached. No STARTTLS, no mail: a password or a report
listing the estate never crosses the network in clear."""

from __future__ import annotations

import json
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from app.errors import AccertError, InputError
from app.passwords import from_env, load_secret, store_secret
from app.renewal import report
from app.renewal.run import RenewOutcome

DEFAULT_PORT = 587


class MailError(AccertError):
    """The report could not be mailed (it is still in the renewal folder)."""


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int = DEFAULT_PORT
    sender: str = ""
    recipients: tuple[str, ...] = ()
    user: str = ""
    password: str = field(default="", repr=False)
    ca_bundle: str = ""  # PEM file for a relay with a private CA; default: the system store
    timeout: float = 30.0

    @property
    def account(self) -> str:
        return smtp_account(self.host, self.port, self.user)


def smtp_account(host: str, port: int, user: str) -> str:
    return f"smtp:{user}@{host.lower()}:{port}"


def parse_server(text: str) -> tuple[str, int]:
    from app.mediant.devices import parse_host_port

    try:
        return parse_host_port(text, DEFAULT_PORT)
    except InputError as exc:
        raise InputError(
            f"--smtp {text!r} is not HOST[:PORT].", "E.g. --smtp smtp.example.com:587"
        ) from exc


def smtp_password(host: str, port: int, user: str, env: str | None) -> str:
    if env:
        return from_env(env, "--smtp-password-env")
    stored = load_secret(smtp_account(host, port, user))
    if stored:
        return stored
    raise MailError(
        f"No password for the mail account {user} on {host}:{port} in the credential store.",
        "Pass --smtp-password-env VAR once with --save-smtp-password, or every time.",
    )


def save_smtp_password(host: str, port: int, user: str, password: str) -> None:
    store_secret(smtp_account(host, port, user), password)


def build_message(settings: MailSettings, outcomes: list[RenewOutcome]) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = report.subject_line(outcomes)
    msg["From"] = settings.sender
    msg["To"] = ", ".join(settings.recipients)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    msg.set_content(report.text(outcomes))
    msg.add_alternative(report.to_html(outcomes), subtype="html")
    data = json.dumps(report.as_data(outcomes), indent=2, ensure_ascii=False).encode("utf-8")
    msg.add_attachment(data, maintype="application", subtype="json", filename=report.REPORT_JSON)
    return msg


def _tls_context(settings: MailSettings) -> ssl.SSLContext:
    if settings.ca_bundle:
        try:
            return ssl.create_default_context(cafile=settings.ca_bundle)
        except (OSError, ssl.SSLError) as exc:
            raise InputError(
                f"Cannot read the CA bundle {settings.ca_bundle} for the mail server.",
                "Give a PEM file with the CA that issued the mail server's certificate.",
            ) from exc
    import truststore

    return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def send(settings: MailSettings, outcomes: list[RenewOutcome]) -> None:
    if not settings.sender or not settings.recipients:
        raise InputError("Mail needs --mail-from and at least one --mail-to.", "")
    msg = build_message(settings, outcomes)
    where = f"{settings.host}:{settings.port}"
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise MailError(
                    f"The mail server {where} does not offer STARTTLS; the report was not sent.",
                    "Use the relay's submission port (usually 587), which offers STARTTLS.",
                )
            smtp.starttls(context=_tls_context(settings))
            smtp.ehlo()
            if settings.user:
                smtp.login(settings.user, settings.password)
            smtp.send_message(msg)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(
            f"The mail server {where} refused the login of {settings.user} ({exc.smtp_code}).",
            "Check the user and the password (an app password if the account has MFA).",
        ) from exc
    except ssl.SSLCertVerificationError as exc:
        raise MailError(
            f"The certificate of the mail server {where} is not trusted ({exc.verify_message}).",
            "Give the relay's CA with --smtp-ca-bundle FILE if it is a private CA.",
        ) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailError(
            f"The mail server {where} refused the recipient(s) {', '.join(exc.recipients)}.",
            "Check --mail-to, and that the relay accepts mail from --mail-from for them.",
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(
            f"Could not send the report through {where}: {type(exc).__name__}: {exc}.",
            "Check the server name, the port and the firewall; the report is in the folder.",
        ) from exc
