"""OpenID Connect sign-in, end to end in real Chromium against a real OpenID provider (npm
`oidc-provider`, started here on loopback): a person signs in with their organisation account, gets
the product groups their provider groups map to, is created on first sign-in and signs out (here and
at the provider); someone whose groups map to nothing is refused; local passwords are switched off."""
from __future__ import annotations

import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from engine import ReleaseDesk
from engine.models import AuditRecord, User
from engine.users import NO_PASSWORD
from web.app import create_app

from .conftest import _free_port, basic

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[3]
PROVIDER = ROOT / "tests" / "support" / "oidc_provider.mjs"


@pytest.fixture
def sso(backend, request, serve):
    """(app URL, desk): the app configured for the provider, passwords off, both on loopback."""
    if backend != "sqlite":
        pytest.skip("one backend suffices for the browser flow; user storage is covered by the CLI tests")
    sec_desk = request.getfixturevalue("sec_desk")
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "oidc-provider").is_dir():
        if os.environ.get("RELEASEDESK_REQUIRE_BROWSER") == "1":
            pytest.fail("node and node_modules/oidc-provider are required (npm ci)")
        pytest.skip("node or oidc-provider missing (npm ci)")
    app_port, idp_port = _free_port(), _free_port()
    app_url, issuer = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{idp_port}"
    provider = subprocess.Popen([node, str(PROVIDER), str(idp_port), "release-desk", "test-client-secret",
                                 f"{app_url}/login/oidc/callback", f"{app_url}/login"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    try:
        assert provider.stdout.readline().strip() == "ready"
        settings = sec_desk.settings.with_overrides(
            oidc_issuer=issuer, oidc_client_id="release-desk", oidc_client_secret="test-client-secret",
            oidc_group_map=("rd-oic=oic", "rd-managers=manager"), local_passwords=False)
        desk = ReleaseDesk(settings, clock=sec_desk.clock)
        serve(create_app(settings, desk=desk), port=app_port)
        yield app_url, desk
        desk.dispose()
    finally:
        provider.terminate()
        provider.wait(timeout=10)


@contextmanager
def browser_page(browser, app_url: str):
    context = browser.new_context(base_url=app_url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


def provider_sign_in(page, login: str, click: bool = True) -> None:
    if click:
        page.click("#sso")
    page.wait_for_selector("input[name=login]")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "anything")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    if page.locator("button:has-text('Continue')").count():  # the provider's consent page
        page.click("button:has-text('Continue')")


def test_sign_in_with_group_mapping_and_sign_out(browser, sso):
    app_url, desk = sso
    with browser_page(browser, app_url) as page:
        page.goto("/login")
        assert page.locator("input[name=password]").count() == 0  # local passwords are off
        provider_sign_in(page, "maria")
        page.wait_for_url("**/inbox")
        assert "maria" in page.inner_text("header")
        assert page.goto("/dashboard").status == 200  # a manager's page, through the mapped group
        with desk.read() as s:
            user = s.scalar(select(User).where(User.username == "maria"))
            assert user.group_names == ["manager", "oic"] and user.password_hash == NO_PASSWORD
            actions = [(r.action, r.actor) for r in s.scalars(select(AuditRecord).order_by(AuditRecord.seq))
                       if r.action in ("user_add", "sign_in")]
        assert actions[0][0] == "user_add" and actions[-1] == ("sign_in", "maria")

        page.click("text=Sign out")
        page.click("button:has-text('Yes, sign me out')")  # the provider asks before ending its session
        page.wait_for_url("**/login*")
        page.goto("/inbox")
        assert "/login" in page.url  # signed out here...
        page.click("#sso")
        page.wait_for_selector("input[name=login]")  # ...and at the provider: it asks who you are again
        with desk.read() as s:
            assert "sign_out" in {r.action for r in s.scalars(select(AuditRecord))}

        # Another person, whose provider groups map to the OIC role only, gets exactly that.
        provider_sign_in(page, "alice", click=False)
        page.wait_for_url("**/inbox")
        assert page.goto("/dashboard").status == 403
        with desk.read() as s:
            assert s.scalar(select(User).where(User.username == "alice")).group_names == ["oic"]


def test_a_person_without_a_mapped_group_is_refused(browser, sso):
    app_url, desk = sso
    with browser_page(browser, app_url) as page:
        page.goto("/login")
        provider_sign_in(page, "bob")
        page.wait_for_selector("text=no Release Desk role")
        page.goto("/inbox")
        assert "/login" in page.url
    with desk.read() as s:
        assert s.scalar(select(User).where(User.username == "bob")) is None
        refused = s.scalars(select(AuditRecord).where(AuditRecord.action == "sign_in_failed")).all()
    assert [(r.actor, r.data["reason"]) for r in refused] == [("bob", "no mapped group")]


def test_passwords_are_refused_when_switched_off(sso):
    app_url, _ = sso
    r = requests.get(f"{app_url}/api/tasks", headers=basic("olly"), timeout=10)
    assert r.status_code == 401


def test_a_forged_callback_signs_nobody_in(sso):
    app_url, desk = sso
    r = requests.get(f"{app_url}/login/oidc/callback?code=stolen-code&state=made-up", timeout=10,
                     allow_redirects=False)
    assert r.status_code == 403 and "failed" in r.text
    r = requests.get(f"{app_url}/login/oidc/callback?error=access_denied", timeout=10, allow_redirects=False)
    assert r.status_code == 403 and "access_denied" in r.text
