"""The wizard's flow as data: its pages, what each needs and produces, which one comes next.

The Qt pages in ui/ only show this; the order, the resume points and what may be revisited
are decided here, so they are tested without a window (tests/test_flow.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

from app.stage import Stage


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
