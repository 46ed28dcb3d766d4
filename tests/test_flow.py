"""The wizard's flow without Qt: page order, resume points, defaults, finding a renewal."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import flow, renewal_lookup
from app.ca_response import Source
from app.flow import Page, StartChoice
from app.request import KeyType, RequestSpec, Subject
from app.workspace import Stage, Workspace
from tests.helpers import issued, other_csr, requested, wildcard_spec
from tests.pki import TestCA


def test_a_new_renewal_walks_every_page_in_order() -> None:
    pages = [Page.START]
    while (nxt := flow.next_page(pages[-1], None, StartChoice.NEW)) is not None:
        pages.append(nxt)
    assert pages == list(Page)


@pytest.mark.parametrize(
    ("stage", "page"),
    [
        (Stage.NEW, Page.CSR),
        (Stage.REQUESTED, Page.CSR),
        (Stage.ISSUED, Page.EXPORT),
        (Stage.EXPORTED, Page.DEPLOY),
        (Stage.DEPLOYED, Page.DEPLOY),  # to deploy again, e.g. to a device added later
    ],
)
def test_resume_enters_at_the_first_unfinished_page(stage: Stage, page: Page) -> None:
    assert flow.next_page(Page.START, stage, StartChoice.RESUME) is page
    # The page it resumes on needs no more than the renewal has.
    needs = flow.step(page).needs
    assert needs is None or stage.at_least(needs)


def test_a_pfx_goes_straight_to_export_and_a_response_to_its_check() -> None:
    assert flow.after_start(StartChoice.PFX, Stage.ISSUED) is Page.EXPORT
    assert flow.after_start(StartChoice.RESPONSE, Stage.REQUESTED) is Page.RESPONSE
    with pytest.raises(ValueError):
        flow.after_start(StartChoice.RESUME, None)


def test_every_page_has_a_title_and_back_is_refused_where_it_would_mislead() -> None:
    assert [s.page for s in flow.STEPS] == list(Page)
    assert all(s.title and s.subtitle for s in flow.STEPS)
    assert not flow.can_go_back(Page.START)
    assert not flow.can_go_back(Page.EXPORT)  # the certificate is imported: nothing to redo
    assert flow.can_go_back(Page.NAMES) and flow.can_go_back(Page.SUMMARY)
    assert flow.names_editable(None) and flow.names_editable(Stage.NEW)
    assert not flow.names_editable(Stage.REQUESTED)


def test_done_follows_the_stage() -> None:
    assert not flow.is_done(Page.CSR, Stage.NEW)
    assert flow.is_done(Page.CSR, Stage.REQUESTED)
    assert not flow.is_done(Page.RESPONSE, Stage.REQUESTED)
    assert flow.is_done(Page.EXPORT, Stage.DEPLOYED)
    assert flow.is_done(Page.DEPLOY, Stage.ISSUED)  # deploying is optional


def test_defaults_come_from_the_last_renewal_without_its_names(tmp_path: Path) -> None:
    root = tmp_path / "renewals"
    assert renewal_lookup.default_subject(root) == Subject("")
    Workspace.create(wildcard_spec(), root / "one")
    subject = renewal_lookup.default_subject(root)
    assert subject.common_name == ""
    assert (subject.organization, subject.country, subject.locality) == (
        "Example Ltd",
        "GB",
        "London",
    )


def test_resumable_lists_renewals_with_their_next_page(tmp_path: Path) -> None:
    root = tmp_path / "renewals"
    Workspace.create(RequestSpec(Subject("sbc.example.com"), (), KeyType.EC256), root / "a")
    ws = Workspace.create(wildcard_spec(KeyType.EC256), root / "b")
    ws.generate()
    (root / "broken").mkdir()
    (root / "broken" / "renewal.json").write_text("{")
    found = {r.path.name: r for r in renewal_lookup.resumable(root)}
    assert found["a"].next_page is Page.CSR and found["a"].stage is Stage.NEW
    assert found["b"].next_page is Page.CSR and found["b"].stage is Stage.REQUESTED
    assert found["broken"].error


def test_a_ca_response_finds_the_renewal_that_holds_its_key(
    tmp_path: Path, test_ca: TestCA, isolated_home: Path
) -> None:
    root = isolated_home / "workspaces"
    requested(root, KeyType.EC256, name="first")
    ws, leaf = issued(root / "second-parent", test_ca, KeyType.EC256)
    del ws
    # The second renewal lives elsewhere: only renewals under the root are searched.
    assert renewal_lookup.renewal_for_response([Source(leaf.name, leaf.read_bytes())], root) is None
    target = requested(root, KeyType.EC256, name="third")
    leaf3 = test_ca.sign(target.csr_pem, tmp_path / "third.crt")
    data = leaf3.read_bytes() + test_ca.inter_pem
    found = renewal_lookup.renewal_for_response([Source("third.crt", data)], root)
    assert found is not None
    assert found[0].path == target.path and found[1].acceptable
    stranger = test_ca.sign(other_csr(tmp_path), tmp_path / "stranger.crt")
    assert (
        renewal_lookup.renewal_for_response([Source("s.crt", stranger.read_bytes())], root) is None
    )


@pytest.mark.parametrize(
    ("password", "score"),
    [("", 0), ("abc", 1), ("abcdefgh", 1), ("Abcdefg1!", 2), ("abcdefghijkl", 3), ("x" * 16, 4)],
)
def test_password_strength(password: str, score: int) -> None:
    assert flow.password_strength(password)[0] == score


def test_the_flow_module_does_not_import_qt() -> None:
    source = Path(flow.__file__).read_text("utf-8")
    assert "PySide6" not in source and "ui." not in source
