"""Drafts in the designer's pages and the API: the modeler saves drafts, the review page shows the
diff and the checks, only someone else publishes, the test run walks a case without writing."""
from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from engine.models import AuditRecord, ProcessInstance
from tests.conftest import ACTORS
from tests.engine.driver import Case
from tests.engine.test_pathway_wanted_person import START, media

from .test_inbox import login, logout, token
from .test_manage import WANTED, html, save_xml, upload

RENAMED = WANTED.replace(b'name="Inform media"', b'name="Inform the media"')


def live_versions(api) -> dict[str, int]:
    return {d["key"]: d["version"] for d in api.get("/api/process-definitions", "rita").get_json()}


def test_modeler_draft_reviewed_test_run_and_published_by_someone_else(client, api, desk):
    login(client, "dee")
    r = save_xml(client, "wanted_person", RENAMED)
    assert r.get_json()["status"] == "draft" and r.get_json()["version"] == 2
    assert live_versions(api)["wanted_person"] == 1
    assert '<tr data-key="wanted_person" data-version="2">' in html(client.get("/designer"))
    assert 'href="/designer/edit/wanted_person?version=2">draft version 2</a>' in html(
        client.get("/designer/edit/wanted_person"))

    page = html(client.get("/designer/review/wanted_person/2"))
    assert 'id="checks-passed"' in page and '<tr data-element="inform_media">' in page
    assert "<del>Inform media</del>" in page and 'id="own-draft"' in page and 'id="publish-button"' not in page
    r = client.post("/designer/publish/wanted_person/2", data={"csrf_token": token(client, "/designer")})
    assert r.status_code == 403 and "someone else" in html(r)
    assert live_versions(api)["wanted_person"] == 1

    with desk.transaction() as s:
        before = (s.scalar(select(func.count()).select_from(ProcessInstance)),
                  s.scalar(select(func.count()).select_from(AuditRecord)))
    run_url = "/designer/test-run/wanted_person/2"
    page = html(client.get(run_url))
    assert 'id="step-start"' in page and 'name="necessity_justification"' in page
    steps = re.search(r'name="steps" value="([^"]*)"', page).group(1)
    r = client.post(run_url, data={"csrf_token": token(client, run_url), "steps": steps.replace("&#34;", '"'),
                                   "action": "start", "case_reference": "TEST-1", "summary": "test",
                                   "person_description": "x", "offence": "y", "necessity_justification": "z"})
    page = html(r)
    assert r.status_code == 200 and 'id="step-approve_release"' in page and "as sio or oic" in page
    with desk.transaction() as s:
        after = (s.scalar(select(func.count()).select_from(ProcessInstance)),
                 s.scalar(select(func.count()).select_from(AuditRecord)))
    assert after == before  # a test run writes nothing
    logout(client)

    login(client, "max")
    r = client.post("/designer/publish/wanted_person/2", data={"csrf_token": token(client, "/designer")})
    assert r.status_code == 302
    assert live_versions(api)["wanted_person"] == 2
    with desk.transaction() as s:
        record = s.scalars(select(AuditRecord).where(AuditRecord.action == "publish")).one()
        assert (record.data["author"], record.data["publisher"]) == ("dee", "max")
    page = html(client.get("/definitions/wanted_person"))
    assert re.search(r'data-version="1".*?publish again', page, re.S)


def test_test_run_shows_field_errors_and_keeps_the_steps(client):
    login(client, "dee")
    run_url = "/designer/test-run/wanted_person/1"
    r = client.post(run_url, data={"csrf_token": token(client, run_url), "steps": "[]", "action": "start",
                                   "case_reference": "T-2"})
    page = html(r)
    assert 'id="run-errors"' in page and 'id="err-necessity_justification"' in page and 'id="step-start"' in page
    for bad in ("{not json", '[{"kind": "start", "values": [1]}]', '[{"kind": "task", "values": {"a": {"b": 1}}}]', "[1]"):
        r = client.post(run_url, data={"csrf_token": token(client, run_url), "steps": bad, "action": "start"})
        assert r.status_code == 400 and "Start a new test run" in html(r)


def test_uploads_marked_draft_and_api_drafts(client, api, desk):
    login(client, "dee")
    r = upload(client, [("wanted_person.bpmn", RENAMED)], deploy="1", draft="1")
    assert "Saved as draft" in html(r) and live_versions(api)["wanted_person"] == 1
    r = api.post("/api/deployments", "dee", data={"draft": "true", "files": [
        (io.BytesIO(RENAMED.replace(b"Inform the media", b"Tell the media")), "wanted_person.bpmn")]},
        content_type="multipart/form-data")
    assert r.status_code == 201 and r.get_json()["definitions"] == [{"key": "wanted_person", "version": 3,
                                                                     "status": "draft"}]
    assert live_versions(api)["wanted_person"] == 1
    case = Case(desk, "wanted_person", "WP-9", {**START, "media_items": [media(desk)]}, ACTORS["requester"])
    assert case.refresh()["version"] == 1


def test_api_lists_versions_and_publishes_with_a_second_person(api):
    r = api.post("/api/deployments", "dee", data={"draft": "true", "files": [
        (io.BytesIO(RENAMED), "wanted_person.bpmn")]}, content_type="multipart/form-data")
    assert r.status_code == 201
    versions = api.get("/api/process-definitions/wanted_person/versions", "max").get_json()
    assert [(v["version"], v["status"]) for v in versions] == [(2, "draft"), (1, "live")]
    assert api.get("/api/process-definitions/wanted_person/versions", "rita").status_code == 403
    assert api.get("/api/process-definitions/nope/versions", "max").status_code == 404
    publish = "/api/process-definitions/wanted_person/versions/2/publish"
    r = api.post(publish, "dee")
    assert r.status_code == 403 and "someone else" in r.get_json()["error"]
    assert api.post(publish, "rita").status_code == 403
    r = api.post(publish, "max")
    assert r.status_code == 200 and (r.get_json()["author"], r.get_json()["publisher"]) == ("dee", "max")
    assert api.post(publish, "max").status_code == 409
    assert live_versions(api)["wanted_person"] == 2
    r = api.post("/api/process-definitions/wanted_person/versions/1/publish", "dee")  # roll back
    assert r.status_code == 200 and r.get_json()["rollback"] is True and live_versions(api)["wanted_person"] == 1
