"""A recipient opens a share link in Chromium with no account: the copyright notice and conditions
of use come first, the download is refused until they are accepted, then the file arrives and the
download is in the disclosure log."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import shares
from engine.models import DisclosureEntry
from tests.conftest import ACTORS
from tests.engine.driver import Case, media
from tests.engine.test_pathway_wanted_person import APPROVE, PUBLISH, START

from .conftest import screenshot

pytestmark = pytest.mark.browser


def test_recipient_accepts_conditions_then_downloads(page, live_desk, live_server):
    desk = live_desk
    case = Case(desk, "wanted_person", "WP-BR-SHARE", {**START, "media_items": [media(desk, name="suspect.png")]},
                ACTORS["requester"])
    case.complete("approve_release", ACTORS["oic"], APPROVE)
    case.complete("publish_appeal", ACTORS["ccd"], PUBLISH)
    with desk.transaction() as s:
        issued = shares.issue(s, case.id, ACTORS["ccd"], recipient="Evening Post newsroom", recipient_kind="newsroom",
                              max_days=14, now=desk.clock())
        token = issued.token

    page.goto(f"/share/{token}")
    assert page.locator("h1").inner_text() == "Media released to Evening Post newsroom"
    assert "Released for the stated policing purpose only" in page.locator("#conditions").inner_text()
    assert "© Police" in page.locator("#copyright").inner_text()
    page.click("text=Download suspect.png")
    assert "accept the conditions of use" in page.locator("#share-error").inner_text()
    page.check("#accept-1")
    with page.expect_download() as download:
        page.click("text=Download suspect.png")
    assert download.value.suggested_filename == "suspect.png"
    screenshot(page, "share-link-recipient")

    with desk.read() as s:
        entries = list(s.scalars(select(DisclosureEntry).where(DisclosureEntry.instance_id == case.id,
                                                               DisclosureEntry.activity_id == "share_link")))
        assert [e.description for e in entries][-1] == "Downloaded through the share link to Evening Post newsroom"
        assert entries[-1].details["remoteAddr"] == "127.0.0.1"
    assert not page.js_errors
