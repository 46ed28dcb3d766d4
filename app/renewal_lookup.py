"""Which renewal: the ones to continue, the one holding a key, the one a CA response or a PFX
belongs to, and next year's organisation defaults. The Start page lists these after its first
paint, so the wizard's page flow (app.flow) does not load the workspace engine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.errors import WorkspaceError
from app.flow import Page, StartChoice, resume_page
from app.request import Subject
from app.workspace import CSR_FILE, Stage, Workspace, list_workspaces

if TYPE_CHECKING:  # the importer loads when a CA response is opened, not with the wizard
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

    from app.ca_response import Source
    from app.response_check import ImportOutcome


@dataclass(frozen=True)
class Resumable:
    path: Path
    common_name: str
    stage: Stage
    updated: str
    next_page: Page
    error: str = ""
    name_from: str = ""  # damaged: the file the name was read from (app.salvage.name_left)


def resumable(root: Path | None = None) -> list[Resumable]:
    """Renewals to continue, newest first, with the page each one re-enters on."""
    return [
        Resumable(
            s.path, s.common_name, s.stage, s.updated, resume_page(s.stage), s.error, s.name_from
        )
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
