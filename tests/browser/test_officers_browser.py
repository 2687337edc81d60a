"""Officers in real Chromium: taking over a colleague's task, a refused start form that keeps its
upload and links every problem to its field, and completing a task with the keyboard alone."""
from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from engine import Actor
from engine.models import ProcessInstance
from web.demo import sample_png

from .conftest import PASSWORD, login, logout, screenshot
from .test_inbox_browser import start_case

SAM = Actor("sam", frozenset({"sio"}))


def approve_task(desk) -> str:
    from engine import queries as q
    with desk.read() as s:
        return q.list_tasks(s, SAM, business_key="WP-BROWSER-1")[0]["id"]


def test_take_over_a_colleagues_task(page, live_desk):
    start_case(live_desk)
    task = approve_task(live_desk)
    with live_desk.transaction() as s:
        live_desk.runtime.claim(s, task, SAM)
    login(page, "olly")
    page.goto(f"/tasks/{task}")
    warning = page.locator("#held-by-other")
    expect(warning).to_contain_text("sam is working on this task, since")
    assert page.locator("#complete").count() == 0  # the form waits until the task is theirs
    screenshot(page, "20-oic-task-held-by-colleague")
    page.click("#take-over")
    expect(page.locator("h1")).to_contain_text("Take over “Approve and verify release”?")
    screenshot(page, "21-oic-take-over-confirm")
    page.click("#confirm-take-over")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("You have taken over this task from sam")
    expect(page.locator("#complete")).to_be_visible()
    logout(page)
    login(page, "sam")
    expect(page.locator("#unread-count")).to_be_visible()
    page.click("#nav-notifications")
    expect(page.locator("#notifications")).to_contain_text("No longer yours: “Approve and verify release”")
    screenshot(page, "22-sio-notified-of-take-over")
    page.click("#notifications button:has-text('No longer yours')")  # opens the task, marks it read
    page.wait_for_url(f"**/tasks/{task}")
    expect(page.locator("#held-by-other")).to_contain_text("olly is working on this task")
    assert page.js_errors == []


def test_refused_start_keeps_the_upload_and_links_each_problem(page, live_desk, tmp_path):
    photo = tmp_path / "suspect.png"
    photo.write_bytes(sample_png())
    login(page, "rita")
    page.goto("/start/wanted_person")
    page.fill("#f-case_reference", "WP-BROWSER-START")
    page.set_input_files("#f-media_items", str(photo))
    page.fill("#f-review_interval", "every so often")
    page.click("#start")
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()  # the summary takes focus, so it is read out first
    links = summary.locator("a")
    targets = links.evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert {"#f-offence", "#f-person_description", "#f-necessity_justification", "#f-review_interval"} <= set(targets)
    expect(page.locator("#err-review_interval")).to_contain_text("4 hours, 30 days or 2 weeks")
    kept = page.locator("#kept-media_items")
    expect(kept).to_contain_text("suspect.png")
    assert kept.locator("img.thumb").evaluate("img => img.naturalWidth") > 0  # the thumbnail loads
    screenshot(page, "23-requester-start-errors")
    summary.locator('a[href="#f-offence"]').click()
    expect(page.locator("#f-offence")).to_be_focused()
    page.fill("#f-offence", "Burglary")
    page.fill("#f-person_description", "Male, 30s")
    page.fill("#f-necessity_justification", "Evading arrest for three weeks")
    page.fill("#f-review_interval", "2 weeks")
    page.click("#start")  # no new file chosen: the kept one goes with the case
    page.wait_for_url("**/inbox")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Case WP-BROWSER-START started")
    with live_desk.read() as s:
        instance = s.scalar(select(ProcessInstance).where(ProcessInstance.business_key == "WP-BROWSER-START"))
        assert '"media_items":["' in instance.workflow_json and '"review_interval":"P2W"' in instance.workflow_json
    assert page.js_errors == []


def focused(page) -> str:
    return page.evaluate("() => { const e = document.activeElement;"
                         " return (e.id || e.getAttribute('href') || e.tagName) + '|' + (e.textContent || '').trim(); }")


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until `selector` has focus, and check the focus can be seen."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            outline = page.evaluate("() => { const s = getComputedStyle(document.activeElement);"
                                    " return s.outlineStyle + ' ' + s.boxShadow; }")
            assert outline != "none none", f"no visible focus on {selector}"
            return
    raise AssertionError(f"{selector} never took focus; last: {focused(page)}")


def test_keyboard_only_completion_of_a_task(page, live_desk):
    start_case(live_desk)
    page.goto("/login")
    tab_to(page, ".govuk-skip-link")
    expect(page.locator(".govuk-skip-link")).to_be_visible()  # shown when focused
    tab_to(page, "#username")
    page.keyboard.type("olly")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/inbox")
    tab_to(page, "#tasks a")
    page.keyboard.press("Enter")
    page.wait_for_selector("#complete")
    tab_to(page, "input[name=decision]")
    page.keyboard.press("Space")  # the first radio: approve
    tab_to(page, "#f-rationale")
    page.keyboard.type("Necessary and proportionate: the suspect is evading arrest.")
    tab_to(page, "#f-risk_assessment")
    page.keyboard.type("Low risk to third parties")
    tab_to(page, "#f-lawful_necessary_proportionate")
    page.keyboard.press("Space")
    tab_to(page, "#f-images_verified")
    page.keyboard.press("Space")
    screenshot(page, "24-oic-keyboard-form")
    tab_to(page, "#complete")
    page.keyboard.press("Enter")
    page.wait_for_url("**/inbox")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("completed for case WP-BROWSER-1")
    assert page.locator("#tasks tr[data-activity=approve_release]").count() == 0
    assert page.js_errors == []
