"""The integration API through the Flask test client: uploads refused by type and size, evidence
references in place of an upload, start forms, the event feed, and the OpenAPI document."""
from __future__ import annotations

import hashlib
import io

from engine.models import AuditRecord, DisclosureEntry
from tests.engine.driver import LEGAL_CLEAR
from tests.web.test_inbox import login

from .conftest import jpeg_bytes

START = {"summary": "Wanted for robbery", "person_description": "Male, 30s", "offence": "Robbery",
         "necessity_justification": "Evading arrest", **LEGAL_CLEAR}
APPROVE = {"decision": "approve", "rationale": "Necessary: suspect evading arrest",
           "risk_assessment": "Low risk of misidentification", "images_verified": True,
           "lawful_necessary_proportionate": True}
PUBLISH = {"channels": ["force_website"], "transmission_method": "secure_portal",
           "published_urls": "https://police.example/wanted/1", "published_at": "2026-11-20",
           "conditions_attached": True}
REFERENCE = {"system": "Evidence.com", "id": "BWV-2026-000123", "sha256": "ab" * 32,
             "url": "https://dems.police.example/items/BWV-2026-000123"}


def upload(api, user, content, name="photo.jpg", field="file"):
    return api.post("/api/media", user, data={field: (io.BytesIO(content), name)},
                    content_type="multipart/form-data")


def test_upload_answers_digest_and_refuses_wrong_type_size_and_shape(api, app):
    jpeg = jpeg_bytes()
    r = upload(api, "rita", jpeg)
    assert r.status_code == 201
    assert r.get_json() == {"digest": hashlib.sha256(jpeg).hexdigest(), "contentType": "image/jpeg",
                            "size": len(jpeg), "filename": "photo.jpg"}

    r = upload(api, "rita", b"%PDF-1.7 not an image at all", "photo.jpg")  # the name says jpg; the bytes do not
    assert r.status_code == 415 and "JPEG, PNG and MP4" in r.get_json()["details"]["file"]
    r = api.post("/api/media", "rita", data={"file": [(io.BytesIO(jpeg), "a.jpg"), (io.BytesIO(jpeg), "b.jpg")]},
                 content_type="multipart/form-data")
    assert r.status_code == 400 and "one file" in r.get_json()["details"]["file"].lower()
    r = upload(api, "rita", jpeg, field="photo")
    assert r.status_code == 400 and "file" in r.get_json()["details"]
    r = api.post("/api/media", "rita", json={"file": "x"})
    assert r.status_code == 400 and "file" in r.get_json()["details"]
    assert api.client.post("/api/media", data={"file": (io.BytesIO(jpeg), "a.jpg")}).status_code == 401

    desk = app.extensions["releasedesk"]
    desk.settings = desk.settings.with_overrides(media_max_bytes=len(jpeg) - 1)
    r = upload(api, "rita", jpeg)
    assert r.status_code == 413 and r.get_json()["error"]
    leftovers = [p for p in (desk.runtime.media.root / ".incoming").iterdir()]
    assert leftovers == []  # refused uploads leave nothing behind


def test_evidence_reference_in_place_of_an_upload(api, desk):
    r = api.post("/api/process-definitions/wanted_person/start", "rita", json={
        "businessKey": "WP-REF-1", "variables": {**START, "media_items": [REFERENCE]}})
    assert r.status_code == 201, r.get_json()
    case_id = r.get_json()["id"]
    variables = api.get(f"/api/process-instances/{case_id}", "max").get_json()["variables"]
    assert variables["media_items"] == [REFERENCE["sha256"]]  # cited by its digest, like an upload

    # The OIC with the approval task reads where it is held; the product never fetches it.
    r = api.get(f"/api/media/{REFERENCE['sha256']}", "olly")
    assert r.status_code == 200 and r.get_json()["evidenceReference"] == REFERENCE
    assert api.get(f"/api/media/{REFERENCE['sha256']}", "fay").status_code == 404

    task = api.get("/api/tasks?businessKey=WP-REF-1", "olly").get_json()[0]
    assert api.post(f"/api/tasks/{task['id']}/complete", "olly", json={"variables": APPROVE}).status_code == 200
    task = api.get("/api/tasks?businessKey=WP-REF-1", "cat").get_json()[0]
    assert api.post(f"/api/tasks/{task['id']}/complete", "cat", json={"variables": PUBLISH}).status_code == 200
    with desk.read() as s:
        entry = s.query(DisclosureEntry).filter_by(instance_id=case_id).one()
        assert entry.media_items == [REFERENCE["sha256"]]
        decision = s.query(AuditRecord).filter_by(instance_id=case_id, activity_id="approve_release").one()
        assert decision.decision == "approve"

    # The officers' task page shows the reference as a link, not an embedded file.
    login(api.client, "olly")
    r = api.post("/api/process-definitions/wanted_person/start", "rita", json={
        "businessKey": "WP-REF-2", "variables": {**START, "media_items": [REFERENCE]}})
    task = api.get("/api/tasks?businessKey=WP-REF-2", "olly").get_json()[0]
    page = api.client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert REFERENCE["url"] in page and REFERENCE["id"] in page and "Evidence.com" in page


def test_malformed_evidence_references_name_the_field(api):
    bad = [
        ({**REFERENCE, "sha256": "not-hex"}, "sha256"),
        ({**REFERENCE, "url": "javascript:alert(1)"}, "url"),
        ({**REFERENCE, "url": "ftp://dems.example/x"}, "url"),
        ({**REFERENCE, "id": "x" * 201}, "200 characters"),
        ({k: v for k, v in REFERENCE.items() if k != "system"}, "system"),
        ({**REFERENCE, "extra": 1}, "extra"),
        ({**REFERENCE, "id": 12}, "id"),
    ]
    for ref, words in bad:
        r = api.post("/api/process-definitions/wanted_person/start", "rita", json={
            "businessKey": "WP-BAD", "variables": {**START, "media_items": [ref]}})
        assert r.status_code == 400, ref
        assert words in r.get_json()["details"]["media_items"], (ref, r.get_json())
    assert api.get("/api/process-instances?businessKey=WP-BAD", "max").get_json()["total"] == 0


def test_start_form_has_the_task_form_shape(api):
    r = api.get("/api/process-definitions/wanted_person/start-form", "rita")
    assert r.status_code == 200
    body = r.get_json()
    fields = {f["id"]: f for f in body["fields"]}
    assert {"case_reference", "necessity_justification", "media_items", "subject_is_juvenile"} <= set(fields)
    assert fields["necessity_justification"]["required"] is True
    assert fields["media_items"]["media"] is True
    task = api.get("/api/process-definitions/general_release/start-form", "rita").get_json()
    purpose = {f["id"]: f for f in task["fields"]}["purpose"]
    assert "public_safety" in [o["id"] for o in purpose["options"]] and purpose["type"] == "enum"
    # Same keys as a task's form.
    r = api.post("/api/process-definitions/wanted_person/start", "rita", json={
        "businessKey": "WP-SF", "variables": {**START, "media_items": [REFERENCE]}})
    assert r.status_code == 201, r.get_json()
    task = api.get("/api/tasks?businessKey=WP-SF", "olly").get_json()[0]
    task_field = api.get(f"/api/tasks/{task['id']}", "olly").get_json()["form"]["fields"][0]
    assert set(task_field) == set(body["fields"][0])
    assert api.get("/api/process-definitions/nope/start-form", "rita").status_code == 404


def test_event_feed_follows_visible_cases_in_order(api):
    for key in ("WP-EV-1", "WP-EV-2"):
        assert api.post("/api/process-definitions/wanted_person/start", "rita", json={
            "businessKey": key, "variables": {**START, "media_items": [REFERENCE]}}).status_code == 201
    all_events = api.get("/api/events?limit=1000", "max").get_json()
    seqs = [e["seq"] for e in all_events["items"]]
    assert seqs == sorted(seqs) and all_events["next"] == seqs[-1]
    starts = [e["businessKey"] for e in all_events["items"] if e["action"] == "start"]
    assert starts == ["WP-EV-1", "WP-EV-2"]

    # Paging: two at a time reaches the same events, then nothing new.
    seen, after = [], 0
    for _ in range(50):
        page = api.get(f"/api/events?after={after}&limit=2", "max").get_json()
        if not page["items"]:
            break
        assert len(page["items"]) <= 2
        seen += [e["seq"] for e in page["items"]]
        after = page["next"]
    assert seen == seqs and page["next"] == after

    # A FLO has no task on either case: sees none of their events, and moves past them. The OIC sees both.
    # (her own first call records her sign-in, a record she cannot follow either: she moves past it too)
    flo = api.get("/api/events", "fay").get_json()
    assert flo["items"] == [] and flo["next"] >= seqs[-1]
    oic = api.get("/api/events?limit=1000", "olly").get_json()["items"]
    assert {e["businessKey"] for e in oic} == {"WP-EV-1", "WP-EV-2"}
    assert all(e["processInstanceId"] for e in oic)  # no deployment or upload records

    for query, field in (("after=-1", "after"), ("after=x", "after"), ("limit=0", "limit"),
                         ("limit=1001", "limit"), ("after=99999999999999999999999", "after")):
        r = api.get(f"/api/events?{query}", "max")
        assert r.status_code == 400 and field in r.get_json()["details"], query


def test_openapi_lists_the_integration_paths(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert {"/api/media", "/api/media/{digest}", "/api/process-definitions/{key}/start-form",
            "/api/events"} <= set(paths)
    assert "413" in paths["/api/media"]["post"]["responses"] and "415" in paths["/api/media"]["post"]["responses"]


def test_out_of_range_ids_are_not_found_not_errors(api):
    for path in ("/api/process-instances/99999999999999999999/share-links",
                 "/api/process-instances/99999999999999999999/decision-log.pdf"):
        assert api.get(path, "max").status_code == 404, path
    assert api.post("/api/share-links/99999999999999999999/revoke", "max").status_code == 404
    assert api.post("/api/share-links/2147483647/revoke", "max").status_code == 404
    assert api.get(f"/api/media/{'z' * 64}", "max").status_code == 404


def test_event_feed_waits_below_a_gap_that_may_still_commit(api, desk):
    """A record numbered after one that has not committed yet is held back, so a client following
    `next` never skips the late one; a gap older than a minute is passed over."""
    from datetime import timedelta

    from engine.models import AuditRecord

    api.post("/api/process-definitions/wanted_person/start", "rita", json={
        "businessKey": "WP-GAP-1", "variables": {**START, "media_items": [REFERENCE]}})
    head = api.get("/api/events?limit=1000", "max").get_json()["next"]
    now = desk.clock()
    with desk.transaction() as s:  # seq head+1 is still "in flight"; head+2 has committed
        s.add(AuditRecord(seq=head + 2, stream="test-gap", stream_seq=1, at=now, actor="x", action="note", data={},
                          prev_hash="p" * 64, hash="h" * 64))
    page = api.get(f"/api/events?after={head}", "max").get_json()
    assert page == {"items": [], "next": head}
    real_clock = desk.runtime.clock
    desk.runtime.clock = lambda: real_clock() + timedelta(seconds=61)
    try:
        page = api.get(f"/api/events?after={head}", "max").get_json()
    finally:
        desk.runtime.clock = real_clock
    assert [e["seq"] for e in page["items"]] == [head + 2] and page["next"] == head + 2
