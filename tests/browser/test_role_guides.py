"""One short walk per role, in the browser, for the README's guides: each screen an officer of that
role meets first, saved as guide-*.png in artifacts/screenshots/ (a few are copied to
docs/screenshots/). Each step also checks what the person should see."""
from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import update

from engine import Actor
from engine.models import HumanTask
from tests.engine.driver import Case, media
from tests.engine.test_pathway_tribute_image import START as TRIBUTE
from tests.engine.test_pathway_wanted_person import START as WANTED
from tests.engine.test_pathway_wanted_person import live_appeal

from .conftest import login, logout, screenshot

ACTORS = {"requester": Actor("rita", frozenset({"requester"})), "oic": Actor("olly", frozenset({"oic"})),
          "ccd": Actor("cat", frozenset({"ccd"}))}
GUIDE_VIEWPORT = {"width": 1100, "height": 720}


def shot(page, name: str) -> None:
    page.set_viewport_size(GUIDE_VIEWPORT)
    screenshot(page, f"guide-{name}", full_page=False)


def test_role_guides(page, live_desk):
    appeal = live_appeal(live_desk, ACTORS, "WP-2026-0142")
    appeal.send("person_apprehended")  # removal now due within removal_sla
    live_desk.fire_due_timers(live_desk.clock() + timedelta(hours=5))  # past removal_sla: escalated
    with live_desk.transaction() as s:  # as the inbox will see it once those hours have passed
        s.execute(update(HumanTask).where(HumanTask.activity_id == "remove_appeal")
                  .values(due_at=live_desk.clock() - timedelta(minutes=35)))
    Case(live_desk, "tribute_image", "TR-2026-0031", {**TRIBUTE, "media_items": [media(live_desk)]},
         ACTORS["requester"])
    waiting = Case(live_desk, "wanted_person", "WP-2026-0150", {**WANTED, "media_items": [media(live_desk)]},
                   ACTORS["requester"])
    with live_desk.transaction() as s:
        live_desk.runtime.claim(s, waiting.task("approve_release")["id"], Actor("sam", frozenset({"sio"})))

    login(page, "rita")  # requester: start a case
    page.goto("/start/wanted_person")
    expect(page.locator("h1")).to_have_text("Wanted person")
    shot(page, "requester-start")
    logout(page)

    login(page, "olly")  # SIO/OIC: a colleague holds the approval; the page says so before any form
    page.click("#tasks a:has-text('Approve and verify release')")
    expect(page.locator("#held-by-other")).to_contain_text("sam is working on this task")
    shot(page, "oic-held-by-colleague")
    logout(page)

    login(page, "cat")  # press office: the overdue removal comes first
    first = page.locator("#tasks tbody tr").first
    expect(first).to_contain_text("overdue by")
    shot(page, "ccd-inbox")
    logout(page)

    login(page, "fay")  # family liaison officer: verify the family's image
    page.click("#tasks a:has-text('Verify tribute image')")
    expect(page.locator("h1")).to_have_text("Verify tribute image")
    shot(page, "flo-verify")
    logout(page)

    login(page, "hana")  # head of communications: the escalation
    expect(page.locator("#tasks")).to_contain_text("WP-2026-0142")
    page.click("#tasks tbody tr >> nth=0 >> a")
    shot(page, "head-of-comms-escalation")
    logout(page)

    login(page, "max")  # manager: dashboard, then assign a task
    page.goto("/dashboard")
    shot(page, "manager-dashboard")
    assert page.js_errors == []
