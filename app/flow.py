"""The wizard's flow as data: its pages, what each needs and produces, which one comes next.

The Qt pages in ui/ only show this; the order, the resume points and what may be revisited
are decided here, so they are tested without a window (tests/test_flow.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from app.errors import WorkspaceError
from app.request import Subject
from app.workspace import CSR_FILE, Stage, Workspace, list_workspaces

if TYPE_CHECKING:  # the importer loads when a CA response is opened, not with the wizard
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

    from app.ca_response import Source
    from app.response_check import ImportOutcome


class Page(IntEnum):
    """Page ids; QWizard uses the integer values as its page ids."""

    START = 0
    NAMES = 1
    CSR = 2
    RESPONSE = 3
    EXPORT = 4
    DEPLOY = 5
    SUMMARY = 6


class StartChoice(StrEnum):
    NEW = "new"  # a new renewal: names first
    RESUME = "resume"  # continue an unfinished renewal where it stopped
    PFX = "pfx"  # a PFX someone already has: straight to export
    RESPONSE = "response"  # a CA response: the waiting renewal that holds its key is found


@dataclass(frozen=True)
class Step:
    page: Page
    title: str
    subtitle: str
    needs: Stage | None  # the renewal must have reached this stage to show the page
    produces: Stage | None  # the stage the page brings the renewal to when it is done


STEPS: tuple[Step, ...] = (
    Step(
        Page.START,
        "Renew a certificate",
        "Start a new renewal, continue one, or open files you already have.",
        None,
        None,
    ),
    Step(
        Page.NAMES,
        "Names and organisation",
        "Who the certificate is for. Organisation fields are the same every year.",
        None,
        Stage.NEW,
    ),
    Step(
        Page.CSR,
        "Private key and certificate request",
        "The key stays on this computer, encrypted. The request (CSR) goes to your CA.",
        Stage.NEW,
        Stage.REQUESTED,
    ),
    Step(
        Page.RESPONSE,
        "The CA's response",
        "Add the files your CA sent (or paste them). They are checked against your key.",
        Stage.REQUESTED,
        Stage.ISSUED,
    ),
    Step(
        Page.EXPORT,
        "Export",
        "Write the certificate and key in the format each system takes.",
        Stage.ISSUED,
        Stage.EXPORTED,
    ),
    Step(
        Page.DEPLOY,
        "Deploy",
        "Put the new certificate on the SBCs, gateways and OVOC.",
        Stage.ISSUED,
        None,
    ),
    Step(
        Page.SUMMARY,
        "Done",
        "What was produced and where it is.",
        Stage.ISSUED,
        None,
    ),
)

_BY_PAGE = {s.page: s for s in STEPS}


def step(page: Page) -> Step:
    return _BY_PAGE[page]


# Where a renewal re-enters the wizard: the first page whose work is not done yet.
# A renewal with its CSR re-opens on the CSR page, since the user may still need to copy it.
# A deployed one re-opens on Deploy: reopening it is how a device added later gets it.
_RESUME = {
    Stage.NEW: Page.CSR,
    Stage.REQUESTED: Page.CSR,
    Stage.ISSUED: Page.EXPORT,
    Stage.EXPORTED: Page.DEPLOY,
    Stage.DEPLOYED: Page.DEPLOY,
}


def resume_page(stage: Stage) -> Page:
    return _RESUME[stage]


def after_start(choice: StartChoice, stage: Stage | None) -> Page:
    """The page that follows Start for the user's choice (stage: of the renewal opened)."""
    if choice is StartChoice.NEW:
        return Page.NAMES
    if stage is None:
        raise ValueError(f"the start choice {choice.value} needs an opened renewal")
    if choice is StartChoice.RESUME:
        return resume_page(stage)
    if choice is StartChoice.RESPONSE:
        return Page.RESPONSE  # the renewal that holds the key, with the files shown and judged
    return Page.EXPORT  # a PFX: key and certificate are both in it


def next_page(
    page: Page, stage: Stage | None, choice: StartChoice = StartChoice.NEW
) -> Page | None:
    """The page after `page`; None after the last one."""
    if page is Page.START:
        return after_start(choice, stage)
    if page is Page.SUMMARY:
        return None
    return Page(page + 1)


def can_go_back(page: Page) -> bool:
    """Back is offered where the earlier page can still be seen or changed.

    Not on Start (nothing before it) and not on Export: the certificate is imported by then,
    and the pages before it can change nothing (names are fixed once the key exists).
    """
    return page not in (Page.START, Page.EXPORT)


def names_editable(stage: Stage | None) -> bool:
    return stage is None or stage is Stage.NEW


def is_done(page: Page, stage: Stage | None) -> bool:
    """Whether the renewal already holds what `page` produces (so Next may be enabled)."""
    produced = step(page).produces
    if produced is None:
        return True
    return stage is not None and stage.at_least(produced)


@dataclass(frozen=True)
class Resumable:
    path: Path
    common_name: str
    stage: Stage
    updated: str
    next_page: Page
    error: str = ""


def resumable(root: Path | None = None) -> list[Resumable]:
    """Renewals to continue, newest first, with the page each one re-enters on."""
    return [
        Resumable(s.path, s.common_name, s.stage, s.updated, resume_page(s.stage), s.error)
        for s in list_workspaces(root)
    ]


def last_subject(root: Path | None = None) -> Subject | None:
    """The subject of the newest renewal that has organisation fields: next year's defaults.

    A renewal opened from a PFX (or made with the CN only) has none; it must not wipe out
    what the renewals before it had.
    """
    for summary in list_workspaces(root):
        if summary.error:
            continue
        try:
            subject = Workspace.open(summary.path).state.request.subject
        except (WorkspaceError, OSError):
            continue
        if any(
            (
                subject.organization,
                subject.organizational_unit,
                subject.locality,
                subject.state,
                subject.country,
                subject.email,
            )
        ):
            return subject
    return None


def _public_key_of(ws: Workspace) -> PublicKeyTypes | None:
    """The renewal's public key from its CSR or certificate: nothing is decrypted."""
    from app import csr

    if (ws.path / CSR_FILE).exists():
        return csr.load(ws.csr_pem, CSR_FILE).public_key()
    if ws.state.stage.at_least(Stage.ISSUED):
        return ws.certificate().public_key()
    return None


def renewal_holding_key(public_key: PublicKeyTypes, root: Path | None = None) -> Workspace | None:
    """The newest renewal whose private key this public key belongs to, if any."""
    from app.fingerprints import public_key_sha256

    wanted = public_key_sha256(public_key)
    for summary in list_workspaces(root):
        if summary.error:
            continue
        try:
            ws = Workspace.open(summary.path)
            theirs = _public_key_of(ws)
        except (WorkspaceError, OSError, ValueError):
            continue
        if theirs is not None and public_key_sha256(theirs) == wanted:
            return ws
    return None


def open_pfx(
    source: Source, root: Path | None = None
) -> tuple[Workspace, StartChoice, list[Source]]:
    """A PFX the user opens: the renewal that made its key if there is one, else a new one.

    A PFX exported from a renewal opens that renewal (no duplicate "…-2" with empty fields);
    one whose renewal still waits for the CA brings it the certificate, like a CA response.
    """
    from app import ca_response
    from app.workspace import create_from_pfx

    parsed = ca_response.parse([source])
    if parsed.private_key is not None:
        ws = renewal_holding_key(parsed.private_key.public_key(), root)
        if ws is not None and ws.state.stage is Stage.REQUESTED:
            return ws, StartChoice.RESPONSE, [source]
        if ws is not None and ws.state.stage.at_least(Stage.ISSUED):
            return ws, StartChoice.RESUME, []
    return create_from_pfx(source, None), StartChoice.PFX, []


def default_subject(root: Path | None = None) -> Subject:
    """Defaults for a new request: the organisation of the last renewal, never its names."""
    last = last_subject(root)
    if last is None:
        return Subject(common_name="")
    return Subject(
        common_name="",
        organization=last.organization,
        organizational_unit=last.organizational_unit,
        locality=last.locality,
        state=last.state,
        country=last.country,
        email=last.email,
    )


def password_strength(password: str) -> tuple[int, str]:
    """0-4 and a short hint, for the export password fields. Length matters most."""
    if not password:
        return 0, "Enter a password for the PFX / JKS files."
    kinds = sum(
        any(test(c) for c in password)
        for test in (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum())
    )
    n = len(password)
    if n < 8:
        return 1, "Too short: use at least 12 characters (a few words work well)."
    if n < 12:
        return 2 if kinds >= 3 else 1, "Fair: 12 or more characters would be stronger."
    if n < 16 and kinds < 3:
        return 3, "Good. Longer or mixed characters would make it stronger."
    return 4, "Strong."


def renewal_for_response(
    sources: list[Source], root: Path | None = None
) -> tuple[Workspace, ImportOutcome] | None:
    """The waiting renewal whose key the CA's certificate belongs to, and the verdict.

    For "open a CA response I already have": the user need not know which folder holds the
    key. Only renewals waiting for the CA are tried; nothing is changed.
    """
    for summary in list_workspaces(root):
        if summary.error or summary.stage is not Stage.REQUESTED:
            continue
        try:
            ws = Workspace.open(summary.path)
            outcome = ws.analyse_response(sources)
        except (WorkspaceError, OSError):
            continue
        if outcome.matches_key:
            return ws, outcome
    return None
