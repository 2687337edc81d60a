"""The integration pages at desktop and phone sizes: the recipient's share-link page (and its
refusal), the press office's share pages, and a task page showing an evidence reference pass
axe-core (WCAG 2.0-2.2 A/AA) and never scroll sideways on a phone."""
from __future__ import annotations

import pytest

from engine import shares
from tests.conftest import ACTORS
from tests.engine.driver import Case, media
from tests.engine.test_pathway_wanted_person import APPROVE, PUBLISH, START

from .axe import AXE, axe_page, check_pages, describe, run_axe

pytestmark = pytest.mark.browser
REFERENCE = {"system": "Evidence.com", "id": "BWV-2026-000123", "sha256": "ab" * 32,
             "url": "https://dems.police.example/items/BWV-2026-000123"}


@pytest.fixture
def seeded(live_desk):
    if not AXE.is_file():
        pytest.fail("axe-core is missing: run npm ci")
    desk = live_desk
    released = Case(desk, "wanted_person", "WP-A11Y-SH", {**START, "media_items": [media(desk)]}, ACTORS["requester"])
    released.complete("approve_release", ACTORS["oic"], APPROVE)
    released.complete("publish_appeal", ACTORS["ccd"], PUBLISH)
    with desk.transaction() as s:
        token = shares.issue(s, released.id, ACTORS["ccd"], recipient="Evening Post newsroom",
                             recipient_kind="newsroom", max_days=14, now=desk.clock()).token
    referenced = Case(desk, "wanted_person", "WP-A11Y-REF", {**START, "media_items": [REFERENCE]},
                      ACTORS["requester"])
    return {"case": released.id, "token": token, "task": referenced.task("approve_release")["id"]}


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_share_and_evidence_pages_pass_axe_and_fit_a_phone(browser, live_server, seeded, size):
    pages = [(None, "share-link", f"/share/{seeded['token']}", "#conditions"),
             ("cat", "shares", "/shares", "#released-cases"),
             ("cat", "case-shares", f"/instances/{seeded['case']}/shares", "#recipient"),
             ("olly", "task-evidence", f"/tasks/{seeded['task']}", "#evidence-references")]
    with axe_page(browser, live_server, size) as page:
        failures = check_pages(page, size, pages)
        page.context.clear_cookies()  # the recipient's refusal: downloading before accepting
        page.goto(f"/share/{seeded['token']}")
        page.click("form button[type=submit]")
        page.wait_for_selector("#share-error")
        if violations := run_axe(page):
            failures.append(f"share-link refused: {describe(violations)}")
    assert not failures, "\n".join(failures)
