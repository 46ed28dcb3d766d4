"""Order a certificate for a renewal's CSR from an ACME CA, answer DNS-01, import the chain.

certbot's `acme` package speaks RFC 8555 (JWS, nonces, EAB, polling); this module only
decides the order of the steps, what the user is told, and what is recorded. The chain is
imported with exactly `accert import`'s checks; on any failure the renewal stays as it was.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

import josepy as jose
import requests
from acme import challenges, messages
from acme import errors as acme_errors
from acme.client import ClientV2

from app import ca_response
from app.acme import account, chains
from app.acme.dns import Publisher, TxtRecord
from app.acme.dns.hook import HookPublisher, secret_arguments, secret_warning
from app.acme.dns.propagation import (
    Server,
    authoritative_servers,
    cname_target,
    parse_server,
    wait_visible,
)
from app.acme.errors import AcmeCancelled, AcmeError, DnsError, from_problem
from app.acme.network import Network
from app.acme.settings import AcmeSettings
from app.errors import ChainProblem, InputError, KeyMismatch, WorkspaceError
from app.peer_text import peer_line
from app.response_check import ImportOutcome
from app.workspace import Stage, Workspace

Progress = Callable[[str], None]
ShowRecords = Callable[[list[TxtRecord]], None]

VALIDATION_TIMEOUT = 120.0  # the CA's own checks once the records are visible
FINALIZE_TIMEOUT = 120.0


def _quiet(_message: str) -> None:
    return None


def _never() -> bool:
    return False


class ManualPublisher:
    """A person creates the records: they are shown once, then accert waits and checks."""

    def __init__(self, show: ShowRecords) -> None:
        self.show = show
        self.pending: list[TxtRecord] = []

    def present(self, record: TxtRecord) -> None:
        self.pending.append(record)

    def flush(self) -> None:
        if self.pending:
            self.show(list(self.pending))
            self.pending.clear()

    def cleanup(self, record: TxtRecord) -> None:
        return None  # the person removes them; issue() says so once at the end


def publisher_for(
    settings: AcmeSettings,
    show_records: ShowRecords,
    tsig_secret: str | None = None,
    names: Sequence[str] = (),
    progress: Progress | None = None,
) -> Publisher:
    """names: the order's, checked against what the publisher can reach before any order."""
    if settings.dns_method == "hook":
        return HookPublisher(settings.dns_hook)
    if settings.dns_method == "rfc2136":
        from app.acme.dns.rfc2136 import Rfc2136Publisher

        publisher = Rfc2136Publisher.for_settings(settings, tsig_secret, progress)
        publisher.check_names(names)
        return publisher
    return ManualPublisher(show_records)


def _default_show(progress: Progress) -> ShowRecords:
    def show(records: list[TxtRecord]) -> None:
        progress("Create these TXT records in your DNS (keep both values where a name repeats):")
        for record in records:
            progress(f'  {record.fqdn}  TXT  "{record.value}"')

    return show


class _Issuer:
    """One run. `action` says what we were doing, for the one-line error if the CA refuses."""

    def __init__(
        self,
        ws: Workspace,
        settings: AcmeSettings,
        eab_hmac: str | None,
        progress: Progress,
        cancelled: Callable[[], bool],
        show_records: ShowRecords,
    ) -> None:
        self.ws, self.settings, self.eab_hmac = ws, settings, eab_hmac
        self.say, self.cancelled = progress, cancelled
        self.show_records = show_records
        self.action = "answer"
        self.host = urlsplit(settings.directory).hostname or settings.directory
        self.net: Network | None = None
        self.sent_eab = False  # an account request with EAB is on its way

    def check_cancel(self) -> None:
        if self.cancelled():
            raise AcmeCancelled(
                "Stopped before the certificate was issued.",
                "Nothing was imported; the CSR is kept for the next try.",
            )

    # --- steps ---------------------------------------------------------------------------

    def connect(self) -> messages.Directory:
        self.action = "give its ACME directory"
        self.say(f"Connecting to the CA at {self.host}")
        net = Network(None, self.settings.ca_bundle)
        try:
            response = net.get(self.settings.directory)
            return messages.Directory.from_json(response.json())
        except (ValueError, jose.errors.DeserializationError) as exc:
            raise AcmeError(
                f"{peer_line(self.settings.directory)} is not an ACME directory.",
                "Copy the ACME directory URL from the CA's documentation (it usually ends "
                "in /directory).",
            ) from exc

    def account(self, directory: messages.Directory) -> ClientV2:
        s = self.settings
        stored = account.load(s.directory, s.eab_kid)
        if stored is not None:
            info, key = stored
            net = Network(key, s.ca_bundle)
            net.account = messages.RegistrationResource(uri=info.url, body=messages.Registration())
            self.say(f"Using the ACME account registered on {info.created[:10]}")
            self.net = net
            return ClientV2(directory, net)
        self.action = "create the ACME account"
        required = bool(getattr(directory.meta, "external_account_required", False))
        if required and not s.eab_kid:
            raise AcmeError(
                f"The CA at {self.host} requires External Account Binding for new accounts.",
                "Pass the EAB key id and HMAC key from the CA's portal (--eab-kid with "
                "--eab-hmac-env or --eab-hmac-file).",
                code="externalAccountRequired",
            )
        if s.eab_kid and not self.eab_hmac:
            raise InputError(
                f"No ACME account for EAB key id {s.eab_kid} is stored on this PC yet, so its "
                "HMAC key is needed once.",
                "Pass it with --eab-hmac-env VAR or --eab-hmac-file FILE.",
            )
        key = account.new_key()
        net = Network(key, s.ca_bundle)
        self.net = net
        client = ClientV2(directory, net)
        eab = None
        if s.eab_kid:
            assert self.eab_hmac is not None and net.key is not None
            try:
                eab = messages.ExternalAccountBinding.from_data(
                    account_public_key=net.key.public_key(),
                    kid=s.eab_kid,
                    hmac_key=self.eab_hmac.strip(),
                    directory=directory,
                )
            except (ValueError, TypeError) as exc:
                raise InputError(
                    "The EAB HMAC key is not base64url text.",
                    "Copy the HMAC key exactly as the CA's portal shows it.",
                ) from exc
        terms = getattr(directory.meta, "terms_of_service", None)
        if terms:
            self.say(f"Agreeing to the CA's terms of service: {peer_line(terms)}")
        registration = messages.NewRegistration.from_data(
            email=s.email or None,
            terms_of_service_agreed=True,
            external_account_binding=eab,
        )
        self.say("Creating the ACME account" + (f" bound to EAB key id {s.eab_kid}" if eab else ""))
        self.sent_eab = eab is not None
        try:
            regr = client.new_account(registration)
            url = regr.uri
        except acme_errors.ConflictError as exc:
            url = exc.location  # the CA already knows this key: reuse its account
            net.account = messages.RegistrationResource(uri=url, body=messages.Registration())
        self.sent_eab = False
        if not url:
            raise AcmeError("The CA created the account but gave no account URL.", "")
        account.save(s.directory, s.eab_kid, url, s.email, key)
        return client

    def order(self, client: ClientV2) -> messages.OrderResource:
        self.action = "accept the order"
        names = self.ws.state.request.all_sans()
        self.say(f"Placing the order for {', '.join(names)}")
        return client.new_order(self.ws.csr_pem)

    def challenges(
        self, client: ClientV2, orderr: messages.OrderResource
    ) -> tuple[
        list[TxtRecord], list[tuple[messages.AuthorizationResource, messages.ChallengeBody]]
    ]:
        records: list[TxtRecord] = []
        todo: list[tuple[messages.AuthorizationResource, messages.ChallengeBody]] = []
        assert client.net.key is not None
        for authzr in orderr.authorizations:
            body = authzr.body
            name = str(body.identifier.value)
            shown = f"*.{name}" if body.wildcard else name
            if body.status == messages.STATUS_VALID:
                self.say(f"{shown}: already validated for this account, not asked again")
                continue
            if body.status != messages.STATUS_PENDING:
                raise AcmeError(
                    f"The CA's authorization for {shown} is {body.status}; it cannot be answered.",
                    "Run again to get a new order.",
                )
            challb = next(
                (c for c in body.challenges if isinstance(c.chall, challenges.DNS01)), None
            )
            if challb is None:
                raise AcmeError(
                    f"The CA offers no DNS-01 challenge for {shown}.",
                    "accert validates by DNS only; ask the CA to enable DNS-01 (or pre-validate "
                    "the domain in its portal).",
                )
            chall = challb.chall
            assert isinstance(chall, challenges.DNS01)
            records.append(
                TxtRecord(
                    chall.validation_domain_name(name), chall.validation(client.net.key), shown
                )
            )
            todo.append((authzr, challb))
        return records, todo

    def servers_for(self) -> Callable[[str], tuple[str, list[Server]]]:
        given = [parse_server(r) for r in self.settings.resolvers]
        cache: dict[str, tuple[str, list[Server]]] = {}

        def lookup(name: str) -> tuple[str, list[Server]]:
            if given:
                return name, given  # a resolver the user named follows CNAMEs itself
            if name not in cache:
                target = cname_target(name)
                if target:
                    self.say(f"{name} is a CNAME to {target}: the record is checked there")
                asked = target or name
                cache[name] = (asked, authoritative_servers(asked))
                listing = ", ".join(map(str, cache[name][1]))
                self.say(f"Checking {asked} at its name servers: {listing}")
            return cache[name]

        return lookup

    def validate(
        self,
        client: ClientV2,
        records: list[TxtRecord],
        todo: list[tuple[messages.AuthorizationResource, messages.ChallengeBody]],
        publisher: Publisher,
    ) -> list[messages.AuthorizationResource]:
        if not todo:
            return []  # every name already validated for this account: nothing to publish
        published: list[TxtRecord] = []
        try:
            self.action = "publish"
            for record in records:
                self.check_cancel()
                self.say(f"Publishing TXT {record.fqdn} for {record.identifier}")
                publisher.present(record)
                published.append(record)
            if isinstance(publisher, ManualPublisher):
                publisher.flush()
            timeout = self.settings.propagation_timeout
            wait_visible(
                records,
                self.servers_for(),
                timeout,
                progress=self.say,
                cancelled=self.cancelled,
            )
            self.check_cancel()
            self.action = "accept the challenge answer"
            self.say("Asking the CA to validate")
            for _authzr, challb in todo:
                assert client.net.key is not None
                client.answer_challenge(challb, challb.chall.response(client.net.key))
            return self.poll(client, [a for a, _ in todo])
        finally:
            self.cleanup(published, publisher)

    def cleanup(self, published: list[TxtRecord], publisher: Publisher) -> None:
        if not published:
            return
        if isinstance(publisher, ManualPublisher):
            self.say("You may now remove the _acme-challenge TXT records again.")
            return
        self.say(f"Removing {len(published)} TXT record{'s' * (len(published) != 1)}")
        for record in published:
            try:
                publisher.cleanup(record)
            except DnsError as exc:
                # A record left behind is untidy, not a reason to lose the certificate (or to
                # hide why the order failed): say it, log it, go on.
                self.say(f"Could not remove TXT {record.fqdn} (remove it by hand): {exc}")
                self.ws.log("acme-cleanup-failed", record=record.fqdn, error=str(exc))

    def poll(
        self, client: ClientV2, authzrs: list[messages.AuthorizationResource]
    ) -> list[messages.AuthorizationResource]:
        self.action = "validate"
        deadline = time.monotonic() + VALIDATION_TIMEOUT
        done: list[messages.AuthorizationResource] = []
        for authzr in authzrs:
            shown = ("*." if authzr.body.wildcard else "") + str(authzr.body.identifier.value)
            pause = 0.2  # most CAs validate within a second: ask soon, then back off
            while True:
                authzr, _response = client.poll(authzr)
                status = authzr.body.status
                if status == messages.STATUS_VALID:
                    self.say(f"{shown}: validated")
                    done.append(authzr)
                    break
                if status == messages.STATUS_INVALID:
                    errors = [c.error for c in authzr.body.challenges if c.error is not None]
                    if errors:
                        raise from_problem(errors[0], f"validate {shown}")
                    raise AcmeError(f"The CA did not validate {shown}.", "Run again.")
                if time.monotonic() > deadline:
                    raise AcmeError(
                        f"The CA had not validated {shown} after {VALIDATION_TIMEOUT:g} s.",
                        "Run again later; the CA may be slow.",
                    )
                self._sleep(self._retry_after(pause))
                pause = min(pause * 2, 2.0)
        return done

    def _retry_after(self, default: float) -> float:
        """The CA's Retry-After (seconds form) when it gives one, within reason."""
        header = self.net.last_retry_after if self.net else None
        try:
            return min(max(float(header), 0.2), 10.0) if header else default
        except ValueError:
            return default

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.check_cancel()
            time.sleep(min(0.2, max(0.0, end - time.monotonic())))

    def finalize(self, client: ClientV2, orderr: messages.OrderResource) -> messages.OrderResource:
        """Send the CSR, poll the order (soon, then backing off), download the chain(s).

        The acme library's poll_finalization waits a full second before its first look; a CA
        that signs at once (most do) is asked again after 0.2 s here. Same library calls.
        """
        self.check_cancel()
        self.action = "issue the certificate"
        self.say("Finalising the order: the CA signs the CSR")
        try:
            orderr = client.begin_finalization(orderr)
        except messages.Error as exc:
            if exc.code != "orderNotReady":
                raise
        deadline = time.monotonic() + FINALIZE_TIMEOUT
        pause = 0.2
        body = orderr.body
        while body.status != messages.STATUS_VALID or body.certificate is None:
            if body.status == messages.STATUS_INVALID:
                if body.error is not None:
                    raise from_problem(body.error, "issue the certificate")
                raise AcmeError("The CA marked the order invalid without saying why.", "Run again.")
            if body.status == messages.STATUS_READY:
                client.begin_finalization(orderr)  # it was not ready a moment ago
            if time.monotonic() > deadline:
                raise AcmeError(
                    f"The CA had not issued the certificate after {FINALIZE_TIMEOUT:g} s.",
                    "Run again later; the CSR is kept.",
                )
            self._sleep(self._retry_after(pause))
            pause = min(pause * 2, 2.0)
            response = client._post_as_get(orderr.uri)
            body = messages.Order.from_json(response.json())
        self.say("Downloading the certificate")
        response = client._post_as_get(body.certificate)
        alternates: list[str] = []
        if self.settings.preferred_chain:
            for url in client._get_links(response, "alternate"):
                alternates.append(client._post_as_get(url).text)
        done: messages.OrderResource = orderr.update(
            body=body, fullchain_pem=response.text, alternative_fullchains_pem=alternates
        )
        return done

    def import_chain(self, orderr: messages.OrderResource) -> ImportOutcome:
        self.action = "answer"
        if not orderr.fullchain_pem:
            raise AcmeError("The CA's order is valid but no certificate came back.", "Run again.")
        pem, note = chains.choose(
            orderr.fullchain_pem,
            list(orderr.alternative_fullchains_pem or ()),
            self.settings.preferred_chain,
        )
        if note:
            self.say(note)
        self.say("Checking the certificate as `accert import` does")
        source = ca_response.Source(f"acme-{self.host}.pem", pem.encode("ascii"))
        outcome = self.ws.analyse_response([source])
        if not outcome.matches_key:
            raise KeyMismatch(outcome.problems[0], "Nothing was imported; the CSR is kept.")
        if not outcome.acceptable:
            raise ChainProblem(
                "The CA's certificate did not pass the import checks: "
                + " ".join(outcome.problems),
                f"Nothing was imported; the chain the CA sent is in the log of {self.ws.path}.",
            )
        self.ws.accept_response(outcome, [source])
        return outcome


def issue(
    ws: Workspace,
    settings: AcmeSettings,
    *,
    eab_hmac: str | None = None,
    tsig_secret: str | None = None,
    progress: Progress = _quiet,
    cancelled: Callable[[], bool] = _never,
    show_records: ShowRecords | None = None,
) -> ImportOutcome:
    """Order, validate by DNS-01, finalise and import. Raises AccertError subclasses only.

    tsig_secret: for RFC 2136 with a named key (the wizard); None takes the key file, or the
    secret the credential store keeps for the server and key (accert renew)."""
    if not ws.state.stage.at_least(Stage.REQUESTED):
        raise WorkspaceError(
            f"{ws.path} has no CSR yet.", "Make the key and CSR first (accert request)."
        )
    run = _Issuer(
        ws, settings, eab_hmac, progress, cancelled, show_records or _default_show(progress)
    )
    publisher = publisher_for(
        settings, run.show_records, tsig_secret, ws.state.request.all_sans(), progress
    )
    ws.log("acme-started", directory=settings.directory, dns=settings.dns_method)
    try:
        run.check_cancel()
        directory = run.connect()
        run.check_cancel()
        client = run.account(directory)
        run.check_cancel()
        orderr = run.order(client)
        records, todo = run.challenges(client, orderr)
        run.validate(client, records, todo, publisher)
        orderr = run.finalize(client, orderr)
        outcome = run.import_chain(orderr)
    except messages.Error as exc:
        error = from_problem(
            exc,
            run.action,
            run.net.last_retry_after if run.net else None,
            with_eab=run.sent_eab,
        )
        ws.log("acme-failed", error=str(error))
        raise error from exc
    except acme_errors.TimeoutError as exc:
        ws.log("acme-failed", error="timeout")
        raise AcmeError(
            f"The CA did not {run.action} in time.", "Run again later; the CSR is kept."
        ) from exc
    except acme_errors.Error as exc:
        ws.log("acme-failed", error=type(exc).__name__)
        raise AcmeError(
            f"The CA's answer could not be used while trying to {run.action} "
            f"({type(exc).__name__}: {peer_line(exc, 200)}).",
            "Run again; if it repeats, the CA may not speak standard ACME (RFC 8555).",
        ) from exc
    except requests.exceptions.SSLError as exc:
        ws.log("acme-failed", error="tls")
        raise AcmeError(
            f"The HTTPS certificate of {run.host} is not trusted ({peer_line(exc, 200)}).",
            "For a private ACME CA pass its root with --ca-bundle FILE; public CAs are trusted "
            "through the Windows certificate store.",
        ) from exc
    except requests.exceptions.RequestException as exc:
        ws.log("acme-failed", error=type(exc).__name__)
        raise AcmeError(
            f"Cannot reach the CA at {run.host} ({type(exc).__name__}).",
            "Check the directory URL, the network and that HTTPS to the CA is allowed.",
        ) from exc
    except AcmeCancelled:
        ws.log("acme-cancelled")
        raise
    except (AcmeError, DnsError) as exc:
        ws.log("acme-failed", error=str(exc))
        raise
    record = {
        "settings": settings.to_dict(),
        "account_url": run.net.account["uri"] if run.net and run.net.account else "",
        "order_url": orderr.uri or "",
        "certificate_url": str(orderr.body.certificate or ""),
        "issued_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    ws.record_acme(record)
    ws.log("acme-issued", order=record["order_url"], account=record["account_url"])
    # Recorded as typed, so that `accert renew` runs the same hook: a secret in it is now in
    # renewal.json and in what `accert show` prints. Said once, where the outcome is shown.
    warning = secret_warning(settings.dns_hook) if settings.dns_method == "hook" else None
    if warning:
        ws.log("acme-hook-secret", arguments=secret_arguments(settings.dns_hook))
        outcome = dataclasses.replace(outcome, warnings=(*outcome.warnings, warning))
    return outcome
