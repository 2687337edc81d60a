"""Officers record what happened in the world from a case page, and requesters follow their cases
in "My cases", in real Chromium."""
from __future__ import annotations

from tests.security.cases import live_wanted

from .conftest import login, logout, screenshot


def start_tribute_image(page, reference: str) -> None:
    """Submit the tribute-image start form for Alex Example, with the family's consent."""
    page.goto("/start/tribute_image")
    page.fill("input[name=case_reference]", reference)
    page.fill("input[name=deceased_name]", "Alex Example")
    page.check("input[name=family_consent]")
    page.click("#start")


def test_oic_records_the_arrest_from_the_case_page_and_ccd_gets_the_removal(page, live_desk):
    case = live_wanted(live_desk, "WP-ARREST-1")
    login(page, "olly")
    page.click("nav >> text=My cases")
    page.click("#my-cases >> text=WP-ARREST-1")
    page.wait_for_selector("h1:has-text('WP-ARREST-1')")
    assert "Waiting for news: Person apprehended, Appeal withdrawn or review" in page.locator("#waiting").inner_text()
    screenshot(page, "cases-01-oic-case-page")
    page.click("a[data-message=person_apprehended]")
    page.wait_for_selector("h1:has-text('Person apprehended')")
    page.click("#continue")  # no note: refused, nothing recorded
    assert "Note: who reported it, and when" in page.locator(".govuk-error-summary").inner_text()
    page.fill("textarea[name=note]", "Response team arrested him at the station, 14:05; reported by PS Khan")
    page.fill("input[name=apprehended_at]", "2026-11-26T14:05")
    page.click("#continue")
    page.wait_for_selector("h1:has-text('Check before you record')")
    assert "PS Khan" in page.locator("#check-answers").inner_text()
    assert case.open_activities() == []  # nothing changes before the confirmation
    screenshot(page, "cases-02-oic-confirm-arrest")
    page.click("#confirm")
    page.wait_for_selector(".flash:has-text('Recorded')")
    waiting = page.locator("#waiting").inner_text()
    assert "Remove appeal" in waiting and "with corporate communications" in waiting
    assert "Removal deadline" not in waiting  # the deadline belongs to the removal task
    assert "PS Khan" in page.locator("#decisions").inner_text()
    assert page.locator("a[data-message]").count() == 0  # nothing else to record
    screenshot(page, "cases-03-oic-arrest-recorded")
    logout(page)
    login(page, "cat")
    row = page.locator("#tasks tr[data-activity=remove_appeal]")
    assert row.count() == 1 and "WP-ARREST-1" in row.inner_text()
    screenshot(page, "cases-04-ccd-removal-task")
    assert page.js_errors == []


def test_requester_follows_a_case_from_start_to_decision(page, live_desk):
    login(page, "rita")
    start_tribute_image(page, "TR-FOLLOW-1")
    page.wait_for_url("**/inbox")
    page.click("nav >> text=My cases")
    row = page.locator("#my-cases tr[data-case=TR-FOLLOW-1]")
    assert "In progress" in row.inner_text()
    assert "Verify tribute image" in row.inner_text()
    assert "OIC or family liaison officer" in row.inner_text()
    screenshot(page, "cases-05-requester-my-cases-waiting")
    # the same reference again is refused, with a link to the case
    start_tribute_image(page, "tr-follow-1")
    page.wait_for_selector("h1:has-text('already in use')")
    page.click("#existing-case")
    page.wait_for_selector("h1:has-text('TR-FOLLOW-1')")
    logout(page)

    login(page, "fay")
    page.click("#tasks tr[data-activity=verify_tribute_image] a")
    page.check("input[name=decision][value=verified]")
    page.fill("textarea[name=rationale]", "Family confirmed it is a recent photograph of Alex")
    page.click("#complete")
    page.wait_for_url("**/inbox")
    logout(page)

    login(page, "rita")
    page.click("nav >> text=My cases")
    page.fill("#reference", "tr-fol")  # any letter case, a prefix
    page.click("form[role=search] button")
    row = page.locator("#my-cases tr[data-case=TR-FOLLOW-1]")
    text = row.inner_text()
    assert "Release tribute image" in text and "corporate communications" in text
    assert "Verified" in text and "Family confirmed" in text
    screenshot(page, "cases-06-requester-sees-decision")
    row.locator("a").first.click()
    decisions = page.locator("#decisions").inner_text()
    assert "Verify tribute image" in decisions and "Verified" in decisions and "Family confirmed" in decisions
    screenshot(page, "cases-07-requester-case-summary")
    assert page.js_errors == []
