"""An OIC approves a wanted-person release in the browser; the press office then sees the publish task."""
from __future__ import annotations

from tests.engine.driver import LEGAL_CLEAR
from web.demo import sample_png

from .conftest import login, logout, screenshot


def start_case(desk) -> None:
    from engine import Actor
    with desk.transaction() as s:
        digest = desk.runtime.media.store(s, sample_png(), "suspect.png", "rita", desk.clock()).digest
        desk.runtime.start(s, "wanted_person", "WP-BROWSER-1", {
            "summary": "Wanted for burglary at 12 High Street", "person_description": "Male, 30s, tattoo on hand",
            "offence": "Burglary", "necessity_justification": "Evading arrest for three weeks",
            "media_items": [digest], **LEGAL_CLEAR}, Actor("rita", frozenset({"requester"})))


def test_oic_approves_and_ccd_sees_publish(page, live_desk):
    start_case(live_desk)
    login(page, "olly")
    row = page.locator("#tasks tr[data-activity=approve_release]")
    assert row.count() == 1
    assert "WP-BROWSER-1" in row.inner_text()
    screenshot(page, "01-oic-inbox")
    row.locator("a").click()
    page.wait_for_selector("h1:has-text('Approve')")
    assert page.locator("img.thumb").count() == 1  # the attached image is shown
    # Submitting without a rationale shows the message next to the field and saves nothing.
    page.check("input[name=decision][value=approve]")
    page.check("input[name=images_verified]")
    page.check("input[name=lawful_necessary_proportionate]")
    page.fill("textarea[name=risk_assessment]", "Low risk to third parties")
    page.click("#complete")
    assert "Enter reasons for the decision" in page.locator("[data-field=rationale] .error").inner_text()
    screenshot(page, "02-oic-validation")
    page.fill("textarea[name=rationale]", "Necessary and proportionate: the suspect has evaded arrest.")
    page.check("input[name=decision][value=approve]")
    page.click("#complete")
    page.wait_for_url("**/inbox")
    assert "completed" in page.locator(".flash").first.inner_text()
    assert page.locator("#tasks tr[data-activity=approve_release]").count() == 0
    screenshot(page, "03-oic-done")
    logout(page)
    login(page, "cat")
    publish = page.locator("#tasks tr[data-activity=publish_appeal]")
    assert publish.count() == 1 and "WP-BROWSER-1" in publish.inner_text()
    screenshot(page, "04-ccd-inbox")
    publish.locator("a").click()
    page.wait_for_selector("h1:has-text('Publish')")
    history = page.locator("ol.history").inner_text()
    assert "Necessary and proportionate" in history and "approve" in history.lower()
    screenshot(page, "05-ccd-publish-task")
    assert page.js_errors == []
