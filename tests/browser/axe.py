"""axe-core (npm `axe-core`) run inside the page by Playwright.

The pages' Content-Security-Policy rightly refuses injected script, so axe runs in a browser
context created with `bypass_csp=True`, used for these checks only; every other browser test keeps
the policy on."""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .conftest import login, screenshot

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def run_axe(page) -> list[dict]:
    """WCAG 2.0/2.1/2.2 A and AA violations on the current page, each with the failing elements."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text())
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]} for v in result["violations"]]


def describe(violations: list[dict]) -> str:
    return json.dumps(violations, indent=1)


def sideways_scroll(page) -> int:
    """How many CSS pixels the page is wider than the window (0: no sideways scrolling)."""
    return page.evaluate("() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
                         " - document.documentElement.clientWidth")


@contextmanager
def axe_page(browser, base_url: str, size: str) -> Iterator:
    """A page at desktop or phone size in a context of its own that lets axe-core's script in."""
    context = browser.new_context(viewport=DESKTOP if size == "desktop" else PHONE, base_url=base_url,
                                  bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


def a11y_failures(page, label: str, size: str) -> list[str]:
    """axe-core's violations on the current page, and on a phone any sideways scrolling."""
    failures = []
    if violations := run_axe(page):
        failures.append(f"{label}: {describe(violations)}")
    if size == "phone" and (wide := sideways_scroll(page)) > 0:
        failures.append(f"{label} scrolls sideways by {wide} px at 390 px")
    return failures


def check_pages(page, size: str, pages) -> list[str]:
    """Visit each (user or None, name, path, selector to wait for or None) in turn, signing in again
    only when the user changes; check and screenshot each page. Returns the failures."""
    failures, user = [], None
    for who, name, path, ready in pages:
        if who != user:
            page.context.clear_cookies()
            if who:
                login(page, who)
            user = who
        page.goto(path)
        if ready:
            page.wait_for_selector(ready)
        failures += a11y_failures(page, f"{name} ({path})", size)
        screenshot(page, f"a11y-{name}-{size}")
    return failures
