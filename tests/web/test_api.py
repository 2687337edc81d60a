"""REST API contract: every endpoint's success and error statuses, over the real app."""
from __future__ import annotations

import io

import pytest

from tests.engine.driver import LEGAL_CLEAR
from web.demo import sample_png

from .conftest import basic


def upload_media(desk, user="rita") -> str:
    with desk.transaction() as s:
        return desk.runtime.media.store(s, sample_png(), "suspect.png", user, desk.clock()).digest


def start_wanted(api, desk, key="WP-1", user="rita"):
    digest = upload_media(desk)
    return api.post("/api/process-definitions/wanted_person/start", user, json={
        "businessKey": key,
        "variables": {"summary": "Wanted for burglary", "person_description": "Male, 30s", "offence": "Burglary",
                      "necessity_justification": "Evading arrest", "media_items": [digest], **LEGAL_CLEAR}})


def task_id(api, user, activity, business_key="WP-1"):
    tasks = api.get(f"/api/tasks?businessKey={business_key}", user).get_json()
    return [t for t in tasks if t["activityId"] == activity][0]["id"]


APPROVE = {"decision": "approve", "rationale": "Necessary: suspect evading arrest",
           "risk_assessment": "Low", "images_verified": True, "lawful_necessary_proportionate": True}


def test_openapi_document_lists_every_path(client):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    for path in ("/api/process-definitions", "/api/tasks/{id}/complete", "/api/messages", "/api/deployments"):
        assert path in doc["paths"]


def test_authentication_is_required(client):
    r = client.get("/api/tasks")
    assert r.status_code == 401 and r.get_json()["error"]
    assert "WWW-Authenticate" not in r.headers  # a browser must never be invited to cache API credentials
    assert client.get("/api/tasks", headers=basic("sam", "wrong password")).status_code == 401
    assert client.get("/api/tasks", headers=basic("nobody")).status_code == 401


def test_the_api_ignores_the_session_cookie(client):
    """A signed-in browser's cookie neither authenticates an API call nor is read or renewed by one."""
    from .test_inbox import login
    assert login(client, "sam").status_code == 302
    r = client.get("/api/tasks")
    assert r.status_code == 401
    r = client.get("/api/tasks", headers=basic("sam"))
    assert r.status_code == 200
    assert "Set-Cookie" not in r.headers and "Cookie" not in r.headers.get("Vary", "")
    assert client.get("/inbox").status_code == 200  # the page session is untouched


def test_definitions_and_xml(api):
    defs = api.get("/api/process-definitions", "rita").get_json()
    keys = {d["key"] for d in defs}
    assert {"general_release", "wanted_person", "missing_person"} <= keys
    assert all({"id", "key", "name", "version", "deployedAt"} <= set(d) for d in defs)
    r = api.get("/api/process-definitions/wanted_person/xml?version=1", "rita")
    assert r.status_code == 200 and r.mimetype == "application/xml" and b"approve_release" in r.data
    assert api.get("/api/process-definitions/nope/xml", "rita").status_code == 404
    assert api.get("/api/process-definitions/wanted_person/xml?version=99", "rita").status_code == 404


def test_start_success_and_errors(api, desk):
    r = start_wanted(api, desk)
    assert r.status_code == 201
    body = r.get_json()
    assert body["businessKey"] == "WP-1" and body["state"] == "active" and body["key"] == "wanted_person"
    bad = api.post("/api/process-definitions/wanted_person/start", "rita",
                   json={"businessKey": "WP-2", "variables": {"offence": "x", "requested_by": "mallory"}})
    assert bad.status_code == 400
    details = bad.get_json()["details"]
    assert details["requested_by"].startswith("Unknown field") and "person_description" in details
    assert api.post("/api/process-definitions/wanted_person/start", "sam",
                    json={"businessKey": "X", "variables": {}}).status_code == 403
    assert api.post("/api/process-definitions/nope/start", "rita", json={"businessKey": "X"}).status_code == 404
    assert api.post("/api/process-definitions/wanted_person/start", "rita", data="businessKey=x",
                    content_type="application/x-www-form-urlencoded").status_code == 415
    assert api.post("/api/process-definitions/wanted_person/start", "rita", data="{not json",
                    content_type="application/json").status_code == 400


def test_task_flow_and_conflicts(api, desk):
    start_wanted(api, desk)
    tid = task_id(api, "sam", "approve_release")
    task = api.get(f"/api/tasks/{tid}", "sam").get_json()
    fields = {f["id"]: f for f in task["form"]["fields"]}
    assert fields["rationale"]["required"] and [o["id"] for o in fields["decision"]["options"]] == ["approve", "reject"]
    assert api.get(f"/api/tasks/{tid}", "cat").status_code == 403
    assert api.get("/api/tasks/no-such-task", "sam").status_code == 404
    # ccd may not complete an SIO/OIC approval
    assert api.post(f"/api/tasks/{tid}/complete", "cat", json={"variables": APPROVE}).status_code == 403
    # field errors are reported per field and the task stays open
    r = api.post(f"/api/tasks/{tid}/complete", "sam", json={"variables": {**APPROVE, "rationale": ""}})
    assert r.status_code == 400 and r.get_json()["details"] == {"rationale": "This field is required."}
    # claim: 409 for another user, then complete as the assignee
    assert api.post(f"/api/tasks/{tid}/claim", "sam").status_code == 200
    assert api.post(f"/api/tasks/{tid}/claim", "olly").status_code == 409
    assert api.post(f"/api/tasks/{tid}/unclaim", "olly").status_code == 409
    assert api.post(f"/api/tasks/{tid}/complete", "olly", json={"variables": APPROVE}).status_code == 403
    assert [t["id"] for t in api.get("/api/tasks?assignee=me", "sam").get_json()] == [tid]
    r = api.post(f"/api/tasks/{tid}/complete", "sam", json={"variables": APPROVE})
    assert r.status_code == 200
    assert r.get_json()["processInstance"]["activeActivities"] == ["publish_appeal"]
    again = api.post(f"/api/tasks/{tid}/complete", "sam", json={"variables": APPROVE})
    assert again.status_code == 409 and again.get_json()["error"]
    assert api.post("/api/tasks/nope/claim", "sam").status_code == 404


def test_task_lists_follow_groups(api, desk):
    start_wanted(api, desk)
    assert [t["activityId"] for t in api.get("/api/tasks", "sam").get_json()] == ["approve_release"]
    assert api.get("/api/tasks", "cat").get_json() == []
    assert len(api.get("/api/tasks", "max").get_json()) == 1  # managers see everything
    assert api.get("/api/tasks?candidateGroup=ccd", "max").get_json() == []
    t = api.get("/api/tasks", "sam").get_json()[0]
    assert set(t) >= {"id", "name", "activityId", "processInstanceId", "processKey", "businessKey",
                      "candidateGroups", "assignee", "createdAt", "dueAt"}


def test_instances_and_audit(api, desk):
    instance_id = start_wanted(api, desk).get_json()["id"]
    listing = api.get("/api/process-instances?key=wanted_person&state=active", "max").get_json()
    assert listing["total"] == 1 and listing["items"][0]["businessKey"] == "WP-1"
    assert api.get("/api/process-instances?state=weird", "max").status_code == 400
    assert api.get("/api/process-instances?businessKey=WP-1", "cat").get_json()["total"] == 0
    view = api.get(f"/api/process-instances/{instance_id}", "max").get_json()
    assert view["activeActivities"] == ["approve_release"] and "legal_screen" in view["completedActivities"]
    assert view["variables"]["requested_by"] == "rita"
    assert api.get(f"/api/process-instances/{instance_id}", "cat").status_code == 404  # as if unknown
    assert api.get(f"/api/process-instances/{instance_id}", "rita").status_code == 200  # the requester
    assert api.get("/api/process-instances/999", "max").status_code == 404
    trail = api.get(f"/api/process-instances/{instance_id}/audit", "max").get_json()
    assert [r["action"] for r in trail][:2] == ["start", "decision_table"]
    assert trail[0]["actor"] == "rita" and trail[1]["data"]["legal_outcome"] == "proceed"
    assert set(trail[0]) >= {"seq", "at", "actor", "group", "action", "activityId", "decision", "rationale",
                             "data", "hash", "prevHash"}


def test_cancel(api, desk):
    instance_id = start_wanted(api, desk).get_json()["id"]
    assert api.post(f"/api/process-instances/{instance_id}/cancel", "sam", json={"reason": "x"}).status_code == 403
    assert api.post(f"/api/process-instances/{instance_id}/cancel", "max", json={}).status_code == 400
    assert api.post(f"/api/process-instances/{instance_id}/cancel", "max", json={"reason": "Duplicate"}).status_code == 200
    assert api.post(f"/api/process-instances/{instance_id}/cancel", "max", json={"reason": "x"}).status_code == 409
    assert api.post("/api/process-instances/999/cancel", "max", json={"reason": "x"}).status_code == 404


def test_messages(api, desk):
    start_wanted(api, desk)
    r = api.post("/api/messages", "olly", json={"messageName": "person_apprehended", "businessKey": "WP-1"})
    assert r.status_code == 400 and "note" in r.get_json()["details"]  # the arrest needs a note first
    r = api.post("/api/messages", "olly", json={"messageName": "person_apprehended", "businessKey": "WP-1",
                                                "variables": {"note": "Reported by PC Jones at 14:00"}})
    assert r.status_code == 404 and "no instance waits" in r.get_json()["error"]
    assert api.post("/api/messages", "olly", json={"businessKey": "WP-1"}).status_code == 400
    assert api.post("/api/messages", "olly", json={"messageName": "person_apprehended",
                                                   "businessKey": "WP-1", "variables": []}).status_code == 400


def test_deployments(api, desk):
    from pathlib import Path
    bpmn = (Path(__file__).resolve().parents[1] / "engine" / "diagrams" / "mini_approval.bpmn").read_bytes()
    files = {"files": (io.BytesIO(bpmn), "mini_approval.bpmn")}
    assert api.post("/api/deployments", "rita", data=files, content_type="multipart/form-data").status_code == 403
    files = {"files": (io.BytesIO(bpmn), "mini_approval.bpmn")}
    r = api.post("/api/deployments", "dee", data=files, content_type="multipart/form-data")
    assert r.status_code == 201 and r.get_json()["definitions"] == [{"key": "mini_approval", "version": 1}]
    evil = bpmn.replace(b"decision == 'approve'", b"__import__('os')")
    r = api.post("/api/deployments", "dee", data={"files": (io.BytesIO(evil), "mini_approval.bpmn")},
                 content_type="multipart/form-data")
    assert r.status_code == 400
    problem = r.get_json()["details"]["problems"][0]
    assert problem["file"] == "mini_approval.bpmn" and problem["element"] == "Flow_approved" and problem["line"]
    assert api.post("/api/deployments", "dee", data={}, content_type="multipart/form-data").status_code == 400


def test_too_large_upload_is_413(api, app):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    r = api.post("/api/deployments", "dee", data={"files": (io.BytesIO(b"x" * 5000), "big.bpmn")},
                 content_type="multipart/form-data")
    assert r.status_code == 413 and r.get_json()["error"]


@pytest.mark.parametrize("path", ["/api/tasks", "/inbox", "/login"])
def test_security_headers(client, path):
    r = client.get(path)
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in r.headers["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"


def test_server_errors_hide_stack_traces(app, client):
    @app.get("/api/boom")
    def boom():
        raise RuntimeError("secret internals")
    r = client.get("/api/boom")
    assert r.status_code == 500
    assert "secret internals" not in r.get_data(as_text=True) and "Traceback" not in r.get_data(as_text=True)
