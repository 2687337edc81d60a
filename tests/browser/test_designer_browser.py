"""The designer's whole loop in real Chromium: change who does a task and add a form field in the
properties panel (no XML), save a draft, test-run it, have a second person publish it, and see a
new case carry the change, while saving an untouched diagram changes nothing but layout."""
from __future__ import annotations

from playwright.sync_api import expect

from engine import Actor
from tests.engine.test_pathway_wanted_person import APPROVE, PUBLISH, REMOVE, START, live_appeal

from .conftest import login, logout, screenshot
from .test_manage_browser import watch_console

ACTORS = {"requester": Actor("rita", frozenset({"requester"})), "oic": Actor("olly", frozenset({"oic"})),
          "ccd": Actor("cat", frozenset({"ccd"}))}


def open_modeler(page, key: str = "wanted_person") -> None:
    page.goto(f"/designer/edit/{key}")
    page.wait_for_selector("#modeler[data-ready=true]")


def select_element(page, element_id: str) -> None:
    page.click(f'g.djs-element[data-element-id="{element_id}"]')
    expect(page.locator("#bio-properties-panel-id")).to_have_value(element_id)


def open_group(page, group_id: str):
    group = page.locator(f'[data-group-id="group-{group_id}"]')
    header = group.locator(".bio-properties-panel-group-header").first
    if "open" not in (header.get_attribute("class") or ""):
        header.click()
    return group


def fill_form(form, values: dict) -> None:
    """Fill a task form in a test run the way a person would."""
    for name, value in values.items():
        field = form.locator(f'[data-field="{name}"]')
        if isinstance(value, bool):
            if value:
                field.locator("input[type=checkbox]").check()
        elif isinstance(value, list):
            for v in value:
                field.locator(f'input[value="{v}"]').check()
        elif field.locator("select").count():
            field.locator("select").select_option(value)
        elif field.locator("input[type=radio]").count():
            field.locator(f'input[type=radio][value="{value}"]').check()
        else:
            field.locator("input, textarea").first.fill(str(value))


def test_properties_panel_draft_test_run_review_publish(page, live_desk):
    console = watch_console(page)
    login(page, "dee")
    open_modeler(page)
    select_element(page, "inform_media")
    who = open_group(page, "releasedesk-candidate-groups")
    assert who.locator("#bio-properties-panel-rd-candidate-ccd").is_checked()
    who.locator("#bio-properties-panel-rd-candidate-head_of_comms").check()

    forms = open_group(page, "CamundaPlatform__FormData")
    forms.locator(".bio-properties-panel-add-entry").first.click()
    new_id = page.locator('input[id$="-formFieldID"]').last
    new_id.fill("press_contact")
    page.locator('input[id$="-formFieldLabel"]').last.fill("Press office contact")
    page.locator('select[id$="-formFieldType"]').last.select_option("string")
    screenshot(page, "20-designer-properties-panel")
    page.click("#save")
    page.wait_for_selector("#save-status[data-version='2']")
    assert "Saved as draft version 2" in page.inner_text("#save-status")

    page.click("#test-run-link")  # walk the draft through every role
    page.wait_for_selector("#step-start")
    fill_form(page.locator("#step-start"), {"case_reference": "TEST-RUN-1", **{k: v for k, v in START.items()}})
    page.click("#step-start button[type=submit]")
    for activity, values in (("approve_release", APPROVE), ("publish_appeal", PUBLISH)):
        form = page.locator(f"#step-{activity}")
        form.wait_for()
        fill_form(form, values)
        form.locator("button[type=submit]").click()
    page.click('form.waiting[data-activity="Event_apprehended"] button')
    fill_form(page.locator("#step-remove_appeal"), REMOVE)
    page.click("#step-remove_appeal button[type=submit]")
    step = page.locator("#step-inform_media")
    step.wait_for()
    assert "as ccd or head_of_comms" in page.inner_text("#run-now")
    assert step.locator('[data-field="press_contact"]').count() == 1
    screenshot(page, "21-designer-test-run")
    logout(page)

    login(page, "max")  # a second person reviews and publishes
    page.goto("/designer")
    page.click('#drafts tr[data-key="wanted_person"] >> text=Review')
    changed = page.inner_text('#changes tr[data-element="inform_media"]')
    assert "camunda:candidateGroups: 'ccd' → 'ccd,head_of_comms'" in changed
    assert "form field added press_contact" in changed
    assert page.locator("#changes tbody tr").count() == 1, page.inner_text("#changes")  # only what the designer changed
    assert page.locator("#checks-passed").count() == 1 and "layout" not in page.inner_text("#changes")
    screenshot(page, "22-reviewer-diff")
    page.click("#publish-button")
    page.wait_for_url("**/definitions/wanted_person?version=2")
    logout(page)

    case = live_appeal(live_desk, ACTORS, "WP-AFTER-PUBLISH")
    assert case.refresh()["version"] == 2
    case.send("person_apprehended")
    case.complete("remove_appeal", ACTORS["ccd"], REMOVE)
    login(page, "hana")  # head_of_comms may now inform the media, and is asked the new question
    page.click('text=Inform media')
    page.wait_for_selector('[data-field="press_contact"]')
    assert "Press office contact" in page.inner_text('[data-field="press_contact"]')
    screenshot(page, "23-new-case-shows-the-change")
    assert page.js_errors == [] and console == []


def test_saving_an_untouched_diagram_changes_no_element(page, live_desk):
    login(page, "dee")
    open_modeler(page, "general_release")
    page.locator("#modeler .canvas").click(position={"x": 5, "y": 5})
    page.evaluate("() => 0")  # nothing edited
    page.click("#save")
    page.wait_for_selector("#save-status.ok")
    assert page.get_attribute("#save-status", "data-version") == "2"  # the modeler rewrites the file...
    page.goto("/designer/diff/general_release?from=1&to=2")
    assert page.locator("#no-changes").count() == 1, page.inner_text("main")  # ...but changes nothing in it
    assert "layout" not in page.inner_text("main")


def test_message_senders_are_ticked_from_the_product_groups(page, live_desk):
    login(page, "dee")
    open_modeler(page)
    # The pathway lets the OIC, the SIO and the press office withdraw an appeal: take the press office
    # off, on both events that wait for the withdrawal (one message, one declaration).
    for event in ("Event_withdrawn", "Event_withdrawn_in_review"):
        select_element(page, event)
        senders = open_group(page, "releasedesk-senders")
        box = senders.locator("#bio-properties-panel-rd-sender-ccd")
        expect(box).to_be_checked()
        box.click()
        expect(box).not_to_be_checked()
    page.click("#save")
    page.wait_for_selector("#save-status[data-version='2']")
    with live_desk.transaction() as s:
        from engine import queries as q
        xml = q.get_definition(s, "wanted_person", 2).resource.content.decode()
    assert xml.count('<camunda:property name="senders" value="oic,sio" />') == 2
    page.goto("/designer/diff/wanted_person?from=1&to=2")
    assert page.locator("tbody tr").count() == 2 and page.locator('tr[data-element="Event_withdrawn"]').count() == 1
