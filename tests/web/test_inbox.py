"""The officers' pages through the test client: sign-in, CSRF, inbox filters, start with upload,
task forms with field errors, claim, media access with audit."""
from __future__ import annotations

import io
import re

from sqlalchemy import select

from engine.models import AuditRecord, ProcessInstance
from tests.conftest import PASSWORD
from tests.engine.driver import LEGAL_CLEAR
from web.demo import sample_png

from .test_api import APPROVE, start_wanted


def token(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, username: str, password: str = PASSWORD):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token(client, "/login")})


def logout(client):
    client.post("/logout", data={"csrf_token": token(client, "/inbox")})


def test_pages_need_sign_in(client):
    for path in ("/inbox", "/start/wanted_person", "/tasks/abc"):
        r = client.get(path)
        assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_login_logout_and_cookie_flags(client):
    r = login(client, "sam")
    assert r.status_code == 302 and r.headers["Location"].endswith("/inbox")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/inbox").status_code == 200
    logout(client)
    assert client.get("/inbox").status_code == 302


def test_wrong_password_and_throttling(client):
    assert login(client, "sam", "nope").status_code == 401
    for _ in range(4):
        login(client, "sam", "nope")
    r = login(client, "sam")  # even the right password waits once the window is full
    assert r.status_code == 429 and "Too many" in r.get_data(as_text=True)


def test_forms_without_csrf_token_are_refused(client):
    r = client.post("/login", data={"username": "sam", "password": PASSWORD})
    assert r.status_code == 400 and "expired" in r.get_data(as_text=True)


def test_inbox_shows_only_my_groups_tasks_with_filters(client, api, desk):
    start_wanted(api, desk, "WP-1")
    start_wanted(api, desk, "WP-2")
    login(client, "sam")
    html = client.get("/inbox").get_data(as_text=True)
    assert html.count('data-activity="approve_release"') == 2
    assert 'data-count="all">2<' in html and 'data-count="mine">0<' in html
    filtered = client.get("/inbox?businessKey=WP-2").get_data(as_text=True)
    assert filtered.count('data-activity="approve_release"') == 1 and "WP-2" in filtered
    assert "Nothing waits" in client.get("/inbox?show=mine").get_data(as_text=True)
    logout(client)
    login(client, "cat")
    assert "Nothing waits" in client.get("/inbox").get_data(as_text=True)


def test_task_page_validation_then_completion(client, api, desk):
    start_wanted(api, desk, "WP-1")
    login(client, "sam")
    task_id = api.get("/api/tasks", "sam").get_json()[0]["id"]
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "Wanted for burglary" in page and "Legal screen" in page and 'class="thumb"' in page
    csrf = token(client, f"/tasks/{task_id}")
    r = client.post(f"/tasks/{task_id}", data={"csrf_token": csrf, "decision": "approve",
                                               "risk_assessment": "Low", "images_verified": "true"})
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert 'id="err-rationale"' in html and "Enter reasons for the decision" in html
    assert api.get(f"/api/tasks/{task_id}", "sam").get_json()["state"] == "open"
    r = client.post(f"/tasks/{task_id}", data={"csrf_token": csrf, **APPROVE, "images_verified": "true",
                                               "lawful_necessary_proportionate": "on"})
    assert r.status_code == 302
    assert [t["activityId"] for t in api.get("/api/tasks?businessKey=WP-1", "cat").get_json()] == ["publish_appeal"]


def test_unticked_checkbox_is_false_and_rule_message_shows(client, api, desk):
    start_wanted(api, desk, "WP-1")
    login(client, "sam")
    task_id = api.get("/api/tasks", "sam").get_json()[0]["id"]
    r = client.post(f"/tasks/{task_id}", data={"csrf_token": token(client, f"/tasks/{task_id}"),
                                               "decision": "approve", "rationale": "x", "risk_assessment": "y",
                                               "lawful_necessary_proportionate": "on"})
    assert r.status_code == 400 and 'id="err-images_verified"' in r.get_data(as_text=True)


def test_claim_and_unclaim_from_the_task_page(client, api, desk):
    start_wanted(api, desk, "WP-1")
    login(client, "sam")
    task_id = api.get("/api/tasks", "sam").get_json()[0]["id"]
    client.post(f"/tasks/{task_id}/claim", data={"csrf_token": token(client, f"/tasks/{task_id}")})
    assert api.get(f"/api/tasks/{task_id}", "sam").get_json()["assignee"] == "sam"
    assert 'data-count="mine">1<' in client.get("/inbox").get_data(as_text=True)
    client.post(f"/tasks/{task_id}/unclaim", data={"csrf_token": token(client, f"/tasks/{task_id}")})
    assert api.get(f"/api/tasks/{task_id}", "sam").get_json()["assignee"] is None


def test_other_groups_cannot_act_on_a_task(client, api, desk):
    start_wanted(api, desk, "WP-1")
    login(client, "cat")
    task_id = api.get("/api/tasks", "sam").get_json()[0]["id"]
    assert client.get(f"/tasks/{task_id}").status_code == 403
    r = client.post(f"/tasks/{task_id}", data={"csrf_token": token(client, "/inbox"), **APPROVE})
    assert r.status_code == 403


def test_start_a_case_with_an_upload(client, desk):
    login(client, "rita")
    form = {"csrf_token": token(client, "/start/wanted_person"), "case_reference": "WP-WEB-1",
            "summary": "Wanted", "person_description": "Male", "offence": "Theft",
            "necessity_justification": "Evading arrest",
            "media_items": (io.BytesIO(sample_png()), "photo.png")}
    r = client.post("/start/wanted_person", data=form, content_type="multipart/form-data")
    assert r.status_code == 302
    with desk.transaction() as s:
        instance = s.scalar(select(ProcessInstance).where(ProcessInstance.business_key == "WP-WEB-1"))
        assert instance is not None and instance.started_by == "rita"
        assert '"media_items":["' in instance.workflow_json
        assert "PNG" not in instance.workflow_json  # the file itself never enters workflow data


def test_start_refuses_other_file_types_and_shows_errors(client):
    login(client, "rita")
    form = {"csrf_token": token(client, "/start/wanted_person"), "case_reference": "WP-WEB-2",
            "media_items": (io.BytesIO(b"#!/bin/sh\necho hi"), "photo.png")}
    r = client.post("/start/wanted_person", data=form, content_type="multipart/form-data")
    assert r.status_code == 400 and "Only JPEG, PNG and MP4" in r.get_data(as_text=True)
    form = {"csrf_token": token(client, "/start/wanted_person"), "case_reference": ""}
    html = client.post("/start/wanted_person", data=form).get_data(as_text=True)
    assert 'id="err-case_reference"' in html and 'id="err-offence"' in html
    assert client.get("/start/wanted_person", headers={}).status_code == 200
    logout(client)
    login(client, "sam")
    assert client.get("/start/wanted_person").status_code == 403


def test_media_download_is_restricted_and_audited(client, api, desk):
    instance_id = start_wanted(api, desk, "WP-1").get_json()["id"]
    variables = api.get(f"/api/process-instances/{instance_id}", "max").get_json()["variables"]
    digest = variables["media_items"][0]
    url = f"/instances/{instance_id}/media/{digest}"
    login(client, "cat")
    assert client.get(url).status_code == 404  # the press office has no task on this case yet: as if unknown
    logout(client)
    login(client, "sam")
    r = client.get(url)
    assert r.status_code == 200 and r.mimetype == "image/png" and r.data.startswith(b"\x89PNG")
    assert client.get(f"/instances/{instance_id}/media/{'0' * 64}").status_code == 404
    with desk.transaction() as s:
        downloads = s.scalars(select(AuditRecord).where(AuditRecord.action == "download")).all()
        assert [(d.actor, d.data["digest"]) for d in downloads] == [("sam", digest)]


def test_custody_and_tribute_start_forms_render(client):
    login(client, "cathy")
    for key in ("custody_image", "tribute_image", "general_release", "bwv_release", "missing_person"):
        r = client.get(f"/start/{key}")
        assert r.status_code == 200 and 'name="case_reference"' in r.get_data(as_text=True)
    assert LEGAL_CLEAR  # the legal booleans render as checkboxes
    assert 'type="checkbox" id="f-court_order_prevents_release"' in client.get("/start/custody_image").get_data(as_text=True)
