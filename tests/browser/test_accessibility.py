"""Every kind of page, at desktop (1366×768) and phone (390×844) sizes: axe-core finds no WCAG 2.0,
2.1 or 2.2 A/AA violation, and no page scrolls sideways on the phone. Screenshots of each are
saved to artifacts/screenshots/ (desktop and phone)."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine import Actor
from engine.deployment import deploy
from tests.engine.test_pathway_wanted_person import live_appeal

from .axe import AXE, axe_page, check_pages, describe, run_axe
from .conftest import ROOT, login, screenshot
from .test_inbox_browser import start_case

ACTORS = {"requester": Actor("rita", frozenset({"requester"})), "oic": Actor("olly", frozenset({"oic"})),
          "ccd": Actor("cat", frozenset({"ccd"}))}


def second_version(desk) -> None:
    """Version 2 of the wanted-person pathway (one task renamed), for the diff and migrate pages."""
    path = Path(ROOT / "workflows" / "wanted_person.bpmn")
    content = path.read_bytes().replace(b'name="Inform media"', b'name="Inform the media"', 1)
    with desk.transaction() as s:
        deploy(s, [(path.name, content)], Actor("dee", frozenset({"designer"})), desk.clock())


@pytest.fixture
def seeded(live_desk):
    if not AXE.is_file():
        pytest.fail("axe-core is missing: run npm ci")
    start_case(live_desk)
    case = live_appeal(live_desk, ACTORS, "WP-AXE-LIVE")
    second_version(live_desk)
    with live_desk.read() as s:
        from engine import queries as q
        task_id = q.list_tasks(s, Actor("olly", frozenset({"oic"})))[0]["id"]
    return {"case": case.id, "task": task_id}


def pages_for(seeded) -> list[tuple[str | None, str, str, str | None]]:
    """(user, name, path, selector to wait for)."""
    case, task = seeded["case"], seeded["task"]
    return [
        (None, "login", "/login", None),
        (None, "accessibility", "/accessibility", None),
        ("olly", "inbox", "/inbox", "#tasks"),
        ("olly", "task", f"/tasks/{task}", "#complete"),
        ("olly", "notifications", "/notifications", None),
        ("olly", "take-over", f"/tasks/{task}/take-over", "#confirm-take-over"),
        ("olly", "not-found", "/tasks/no-such-task", None),
        ("rita", "start", "/start/wanted_person", "#start"),
        ("rita", "my-cases", "/cases", None),
        ("rita", "case-summary", f"/cases/{case}", None),
        ("max", "dashboard", "/dashboard", None),
        ("max", "cases", "/instances", "#instances"),
        ("max", "case", f"/instances/{case}", "#diagram[data-ready=true]"),
        ("max", "audit", "/audit", "#audit"),
        ("max", "manager-task", f"/tasks/{task}", "#assign"),
        ("dee", "definition", "/definitions/wanted_person", "#diagram[data-ready=true]"),
        ("dee", "designer", "/designer", None),
        ("dee", "modeler", "/designer/edit/wanted_person", "#modeler[data-ready=true]"),
        ("dee", "diff", "/designer/diff/wanted_person?from=1&to=2", None),
        ("dee", "test-run", "/designer/test-run/wanted_person/2", None),
        ("max", "review", "/designer/review/wanted_person/2", None),
        ("max", "migrate", "/designer/migrate/wanted_person?from=1&to=2", None),
    ]


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_every_page_kind_passes_axe_and_fits_a_phone(browser, live_server, seeded, size):
    with axe_page(browser, live_server, size) as page:
        failures = check_pages(page, size, pages_for(seeded))
        # The refused start form: its error summary must pass too.
        page.context.clear_cookies()
        login(page, "rita")
        page.goto("/start/wanted_person")
        page.click("#start")
        page.wait_for_selector(".govuk-error-summary")
        if violations := run_axe(page):
            failures.append(f"start with errors: {describe(violations)}")
        screenshot(page, f"a11y-start-errors-{size}")
    assert not failures, "\n".join(failures)
