"""Managers' and designers' pages in real Chromium: bpmn-js diagrams with markers and counts, and the
modeler saving a new version that new cases run on while older cases finish on theirs."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from engine import Actor
from tests.engine.test_pathway_wanted_person import INFORM, REMOVE, live_appeal

from .conftest import login, screenshot

ACTORS = {"requester": Actor("rita", frozenset({"requester"})), "oic": Actor("olly", frozenset({"oic"})),
          "ccd": Actor("cat", frozenset({"ccd"}))}


def watch_console(page) -> list[str]:
    """Console errors, which include Content-Security-Policy refusals (a pageerror would not)."""
    errors: list[str] = []

    def seen(message) -> None:
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(f"{message.text} at {message.location.get('url')}")
    page.on("console", seen)
    return errors


def markers(page, element_id: str) -> str:
    return page.get_attribute(f'g.djs-element[data-element-id="{element_id}"]', "class") or ""


def removal_case(desk, key: str):
    case = live_appeal(desk, ACTORS, key)
    case.send("person_apprehended")
    assert case.open_activities() == ["remove_appeal"]
    return case


def test_case_diagram_marks_completed_active_and_taken(page, live_desk):
    case = removal_case(live_desk, "WP-DIAGRAM-1")
    console = watch_console(page)
    login(page, "max")
    page.goto(f"/instances/{case.id}")
    page.wait_for_selector("#diagram[data-ready=true]")
    assert "rd-active" in markers(page, "remove_appeal")
    for done in ("approve_release", "publish_appeal", "legal_screen"):
        assert "rd-completed" in markers(page, done), done
    assert "rd-active" not in markers(page, "approve_release")
    assert "rd-taken" in markers(page, "Flow_approved") and "rd-taken" not in markers(page, "Flow_rejected")
    screenshot(page, "10-manager-case-diagram")

    page.click('g.djs-element[data-element-id="approve_release"]')  # its history only
    page.wait_for_selector("#history-filter:not([hidden])")
    shown = page.locator("#history tbody tr:visible")
    filtered = shown.count()
    assert filtered >= 1
    assert set(shown.evaluate_all("rows => rows.map(r => r.dataset.activity)")) == {"approve_release"}
    page.click("#history-all")
    assert shown.count() > filtered
    assert page.js_errors == [] and console == []


def test_pathway_diagram_counts_and_click_lists_cases(page, live_desk):
    removal_case(live_desk, "WP-COUNT-1")
    removal_case(live_desk, "WP-COUNT-2")
    console = watch_console(page)
    login(page, "max")
    page.goto("/definitions/wanted_person")
    page.wait_for_selector("#diagram[data-ready=true]")
    badge = page.locator('.djs-overlays[data-container-id="remove_appeal"] .rd-count')
    assert badge.inner_text() == "2"
    screenshot(page, "11-manager-pathway-counts")
    page.click('g.djs-element[data-element-id="remove_appeal"]')
    page.wait_for_url(re.compile(r".*/instances\?.*activity=remove_appeal"))
    assert page.locator("#instances tbody tr").count() == 2
    assert page.js_errors == [] and console == []


def test_dashboard_and_audit_verify(page, live_desk):
    removal_case(live_desk, "WP-DASH-1")
    live_appeal(live_desk, ACTORS, "WP-DASH-2")
    console = watch_console(page)
    login(page, "max")
    page.goto("/dashboard")
    assert page.locator("#chart-groups g.bar").count() >= 1 and page.locator("#live tbody tr").count() == 2
    screenshot(page, "15-manager-dashboard")
    page.click(".mainnav >> text=Audit")
    page.click("#verify")
    assert "audit chain intact" in page.inner_text("#verify-result")
    screenshot(page, "16-manager-audit-verified")
    assert page.js_errors == [] and console == []


def walk_to_end(desk, case) -> str:
    """Arrest, removal and media informed; returns the name the media task had."""
    case.send("person_apprehended")
    case.complete("remove_appeal", ACTORS["ccd"], REMOVE)
    name = case.task("inform_media")["name"]
    case.complete("inform_media", ACTORS["ccd"], INFORM)
    return name


def test_modeler_saves_version_2_new_cases_use_it_old_ones_finish_on_1(page, live_desk):
    older = live_appeal(live_desk, ACTORS, "WP-OLD-1")  # running on version 1
    console = watch_console(page)
    login(page, "dee")
    page.goto("/designer")
    page.click('tr[data-key="wanted_person"] >> text=Edit in modeler')
    page.wait_for_selector("#modeler[data-ready=true]")
    screenshot(page, "12-designer-modeler")

    page.dblclick('g.djs-element[data-element-id="inform_media"]')  # bpmn-js direct editing of the label
    editor = page.locator(".djs-direct-editing-parent")
    editor.wait_for(state="visible")
    page.keyboard.press("Control+A")
    page.keyboard.type("Inform the media")
    page.click("#modeler .canvas", position={"x": 8, "y": 8})  # click away: the edit is applied
    assert "Unsaved" in page.inner_text("#save-status")
    page.click("#save")
    page.wait_for_selector("#save-status[data-version='2']")
    assert "Saved as draft version 2" in page.inner_text("#save-status")
    screenshot(page, "13-designer-saved-v2")
    with live_desk.transaction() as s:  # a second person publishes the draft
        from engine.drafts import publish
        publish(s, "wanted_person", 2, Actor("max", frozenset({"manager"})), live_desk.clock())

    newer = live_appeal(live_desk, ACTORS, "WP-NEW-1")
    assert newer.refresh()["version"] == 2 and older.refresh()["version"] == 1
    assert walk_to_end(live_desk, newer) == "Inform the media"
    assert walk_to_end(live_desk, older) == "Inform media"
    assert (newer.state, older.state) == ("completed", "completed")
    assert (newer.refresh()["version"], older.refresh()["version"]) == (2, 1)

    page.goto("/definitions/wanted_person?version=2")
    page.wait_for_selector("#diagram[data-ready=true]")
    assert page.locator('tr[data-version="2"]').inner_text().count("dee") == 1
    page.goto("/designer/diff/wanted_person?from=1&to=2")
    assert "Inform the media" in page.inner_text('tr[data-element="inform_media"]')
    assert page.js_errors == [] and console == []


def test_modeler_shows_problems_and_deploys_nothing(page, live_desk):
    login(page, "dee")
    page.goto("/designer/edit/wanted_person")
    page.wait_for_selector("#modeler[data-ready=true]")
    page.click("#xml-source summary")
    text = page.locator("#xml-text")
    # expect() polls from the test side: the page's CSP forbids the eval a string predicate needs.
    expect(text).to_have_value(re.compile("publish_appeal"))
    xml = text.input_value().replace('camunda:candidateGroups="ccd"', "", 1)
    text.fill(xml)
    page.click("#xml-apply")
    page.wait_for_selector("#xml-status:has-text('Loaded')")
    page.click("#save")
    page.wait_for_selector("#save-problems:not([hidden])")
    assert "candidateGroups" in page.inner_text("#save-problems")
    assert "rd-problem" in markers(page, "publish_appeal")
    screenshot(page, "14-designer-problems")
    with live_desk.transaction() as s:
        from engine import queries
        assert queries.get_definition(s, "wanted_person").version == 1
