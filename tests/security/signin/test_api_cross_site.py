"""The API must not be usable from another site's page, even when the browser holds the officer's
HTTP Basic credentials: a hostile page auto-posts a form to claim a task, and the task stays
unclaimed. The API also never challenges with `WWW-Authenticate: Basic`, so a browser has no prompt
that would make it cache credentials in the first place."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.models import HumanTask
from tests.conftest import PASSWORD

from .conftest import _free_port, approve_task_id, basic, start_case

pytestmark = pytest.mark.browser


def hostile_site(target: str) -> tuple[str, ThreadingHTTPServer]:
    """A page on another origin (http://localhost:OTHER) that submits a form to `target` on load."""
    page = (f'<!doctype html><title>Win a prize</title><form method="post" action="{target}">'
            '<input name="variables" value="{}"></form><script>document.forms[0].submit()</script>').encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", _free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://localhost:{server.server_address[1]}/", server


@pytest.fixture
def browser_desk(backend, request):
    if backend != "sqlite":
        pytest.skip("the browser attack needs one backend; the API guard is storage-independent")
    return request.getfixturevalue("sec_desk")


@pytest.mark.parametrize("send", ["always", "unauthorized"])
def test_form_on_another_site_cannot_claim_a_task(browser_desk, browser, app, serve, send):
    instance_id = start_case(browser_desk)
    task_id = approve_task_id(browser_desk, instance_id)
    api = serve(app)
    evil, evil_server = hostile_site(f"{api}/api/tasks/{task_id}/claim")
    # The officer's browser holds her API credentials for the API's origin ("always": it sends them
    # unasked, as after an earlier prompt; "unauthorized": it answers a Basic challenge with them).
    context = browser.new_context(http_credentials={"username": "olly", "password": PASSWORD, "origin": api,
                                                    "send": send})
    try:
        page = context.new_page()
        with page.expect_response(lambda r: "/claim" in r.url, timeout=15_000) as answer:
            page.goto(evil)
        assert answer.value.status in (401, 403)
        assert "WWW-Authenticate" not in {k.title() for k in answer.value.headers}
    finally:
        context.close()
        evil_server.shutdown()
    with browser_desk.read() as s:
        assert s.get(HumanTask, task_id).assignee is None  # still unclaimed


def test_browser_requests_from_other_sites_are_refused_before_anything_runs(client, sec_desk):
    instance_id = start_case(sec_desk)
    task_id = approve_task_id(sec_desk, instance_id)
    for headers in ({"Origin": "http://localhost:8000"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Sec-Fetch-Site": "same-site"}):
        r = client.post(f"/api/tasks/{task_id}/claim", headers={**basic("olly"), **headers})
        assert r.status_code == 403, headers
        assert "other sites" in r.get_json()["error"]
    with sec_desk.read() as s:
        assert s.get(HumanTask, task_id).assignee is None
    # Integrations (no browser headers) and the API's own origin still work.
    same = client.get("/api/tasks", headers={**basic("olly"), "Origin": "http://localhost", "Sec-Fetch-Site": "none"})
    assert same.status_code == 200
    assert client.post(f"/api/tasks/{task_id}/claim", headers=basic("olly")).status_code == 200


def test_no_basic_challenge_is_ever_sent(client):
    for headers in ({}, basic("olly", "wrong password here"), {"Authorization": "Bearer rdt_nonsense"}):
        r = client.get("/api/tasks", headers=headers)
        assert r.status_code == 401 and "WWW-Authenticate" not in r.headers
