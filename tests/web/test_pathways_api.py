"""Every pathway end to end over the REST API, as the integrations and the inbox drive it: start (or
the `conviction_recorded` message), each human task completed by a member of the right group, messages
and timers, then the instance and its hash-chained audit trail read back."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from engine.audit import verify
from tests.engine.driver import LEGAL_CLEAR
from web.demo import sample_png

APPROVE = {"decision": "approve", "rationale": "Necessary and proportionate", "risk_assessment": "Low",
           "images_verified": True, "lawful_necessary_proportionate": True}
GENERAL = {"summary": "CCTV still", "purpose": "criminal_investigation", "policing_purpose": "Identify a suspect",
           "justification": "Lawful, necessary and proportionate", **LEGAL_CLEAR}
WANTED = {"summary": "Wanted for robbery", "person_description": "Male, 30s", "offence": "Robbery",
          "necessity_justification": "Evading arrest", **LEGAL_CLEAR}
MISSING = {"summary": "Missing from home", "risk_level": "high", "previously_in_custody": True,
           "person_description": "Female, 16"}
TRIBUTE = {"deceased_name": "Alex Example", "family_consent": True, "family_wording": "Much loved"}
CUSTODY = {"offender_name": "Sam Offender", "offence": "Burglary", "sentence_type": "custodial",
           "media_request": True, "requesting_media": "Evening Gazette", **LEGAL_CLEAR}
BWV = {"summary": "Disorder outside a stadium", "purpose": "counter_misinformation", "high_profile": True,
       "third_parties_depicted": True, **LEGAL_CLEAR}
PUBLISHED = {"channels": ["force_website"], "transmission_method": "secure_portal",
             "published_urls": "https://police.example/appeal", "published_at": "2024-05-01",
             "conditions_attached": True}


def upload(desk, rgb=(31, 58, 104), user="rita") -> str:
    with desk.transaction() as s:
        return desk.runtime.media.store(s, sample_png(rgb), "image.png", user, desk.clock()).digest


def start(api, key, user, business_key, variables) -> int:
    r = api.post(f"/api/process-definitions/{key}/start", user, json={"businessKey": business_key,
                                                                       "variables": variables})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert (body["key"], body["businessKey"], body["state"]) == (key, business_key, "active")
    return body["id"]


def complete(api, user, business_key, activity, variables) -> dict:
    """Find the task in `user`'s own task list and complete it as `user`."""
    tasks = api.get(f"/api/tasks?businessKey={business_key}", user).get_json()
    found = [t for t in tasks if t["activityId"] == activity]
    assert found, f"{user} has no {activity}: {[t['activityId'] for t in tasks]}"
    r = api.post(f"/api/tasks/{found[0]['id']}/complete", user, json={"variables": variables})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["processInstance"]


def send(api, user, message, business_key, variables=None) -> list[int]:
    r = api.post("/api/messages", user, json={"messageName": message, "businessKey": business_key,
                                              "variables": variables or {}})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["correlated"]


def finished(api, desk, instance_id, outcome) -> dict:
    view = api.get(f"/api/process-instances/{instance_id}", "max").get_json()
    assert view["state"] == "completed" and view["outcome"] == outcome
    assert view["activeActivities"] == []
    assert api.get(f"/api/tasks?processInstanceId={instance_id}", "max").get_json() == []
    with desk.transaction() as s:
        assert verify(s, instance_id).ok
    return view


def trail(api, instance_id) -> list[dict]:
    """The instance's audit trail, checked: seq strictly increasing, and the case's own hash chain
    unbroken (each record links to the case's record before it, reads of the case included), then
    returned without the reads, as the API gives it by default."""
    everything = api.get(f"/api/process-instances/{instance_id}/audit?access=1", "max").get_json()
    seqs = [r["seq"] for r in everything]
    assert seqs == sorted(set(seqs))
    for before, after in zip(everything, everything[1:], strict=False):
        assert after["prevHash"] == before["hash"] != after["hash"]
    records = api.get(f"/api/process-instances/{instance_id}/audit", "max").get_json()
    assert [r["seq"] for r in records] == [r["seq"] for r in everything if r["action"] != "read"]
    assert all(r["processInstanceId"] == instance_id for r in records)
    return records


def steps(records) -> list[tuple[str, str, str | None]]:
    return [(r["action"], r["actor"], r["activityId"]) for r in records]


def decisions(records) -> list[tuple[str, str | None, str | None]]:
    return [(r["activityId"], r["decision"], r["rationale"]) for r in records
            if r["action"] == "complete" and (r["decision"] or r["rationale"])]


def test_general_release_over_the_api(api, desk):
    iid = start(api, "general_release", "rita", "GR-API", {**GENERAL, "media_items": [upload(desk)],
                                                         "review_interval": "P7D"})
    view = complete(api, "sam", "GR-API", "approve_release", APPROVE)
    assert view["activeActivities"] == ["prepare_release"]
    complete(api, "cat", "GR-API", "prepare_release", {"channels": ["force_website"],
                                                       "transmission_method": "encrypted_email",
                                                       "conditions_attached": True})
    complete(api, "cat", "GR-API", "publish_release", {"published_urls": "https://police.example/gr",
                                                       "published_at": "2024-05-01"})
    assert desk.fire_due_timers(datetime.now(timezone.utc) + timedelta(days=8)) == [(iid, ["Event_review_due"])]
    complete(api, "cat", "GR-API", "review_publication", {"review_outcome": "archive", "rationale": "Appeal over"})
    complete(api, "cat", "GR-API", "archive_or_remove", {"archive_action": "archived", "actioned_at": "2024-05-09"})

    view = finished(api, desk, iid, "Publication archived or removed")
    assert view["completedActivities"][:3] == ["Event_request", "legal_screen", "Gateway_legal_outcome"]
    assert {"approve_release", "prepare_release", "publish_release", "Event_review_due", "review_publication",
            "archive_or_remove", "Event_archived"} <= set(view["completedActivities"])
    records = trail(api, iid)
    assert steps(records) == [
        ("start", "rita", "Event_request"), ("decision_table", "system", "legal_screen"),
        ("complete", "sam", "approve_release"), ("complete", "cat", "prepare_release"),
        ("complete", "cat", "publish_release"), ("timer", "system", "Event_review_due"),
        ("complete", "cat", "review_publication"), ("complete", "cat", "archive_or_remove"),
        ("end", "system", "Event_archived")]
    assert records[2]["group"] == "sio" and records[3]["group"] == "ccd"
    assert decisions(records) == [("approve_release", "approve", "Necessary and proportionate"),
                                  ("review_publication", None, "Appeal over")]


def test_wanted_person_over_the_api(api, desk):
    iid = start(api, "wanted_person", "rita", "WP-API", {**WANTED, "media_items": [upload(desk)]})
    complete(api, "olly", "WP-API", "approve_release", APPROVE)
    view = complete(api, "cat", "WP-API", "publish_appeal", PUBLISHED)
    assert view["activeActivities"] == ["Gateway_live"]
    assert send(api, "olly", "person_apprehended", "WP-API", {"note": "Response team arrested him at 14:10"}) == [iid]
    complete(api, "cat", "WP-API", "remove_appeal", {"removed_from": ["force_website"], "removed_at": "2024-05-02"})
    complete(api, "cat", "WP-API", "inform_media", {"media_informed_at": "2024-05-02", "statement": "Arrested"})

    view = finished(api, desk, iid, "Media informed")
    assert view["variables"]["note"] == "Response team arrested him at 14:10"
    assert {"Event_apprehended", "remove_appeal", "inform_media"} <= set(view["completedActivities"])
    assert "Event_withdrawn" not in view["completedActivities"]
    records = trail(api, iid)
    assert steps(records) == [
        ("start", "rita", "Event_request"), ("decision_table", "system", "legal_screen"),
        ("complete", "olly", "approve_release"), ("complete", "cat", "publish_appeal"),
        ("message", "olly", "Event_apprehended"), ("complete", "cat", "remove_appeal"),
        ("complete", "cat", "inform_media"), ("end", "system", "Event_media_informed")]
    assert records[2]["group"] == "oic"
    assert decisions(records) == [("approve_release", "approve", "Necessary and proportionate")]


def test_missing_person_over_the_api(api, desk):
    iid = start(api, "missing_person", "rita", "MP-API", MISSING)
    complete(api, "olly", "MP-API", "obtain_family_image", {"image_obtained": False, "avenues_tried": "Family, school"})
    view = complete(api, "olly", "MP-API", "assess_custody_image", {
        "other_avenues_exhausted": True, "harm_outweighs_image_risk": True, "rationale": "Last resort, high risk",
        "custody_media_items": [upload(desk, user="olly")]})
    assert view["variables"]["use_custody_image"] is True
    complete(api, "olly", "MP-API", "assess_information_release", {
        "information_to_release": "Name and description", "risk_assessment": "High risk"})
    complete(api, "cat", "MP-API", "publish_appeal", {**PUBLISHED, "image_used": "custody_image"})
    assert send(api, "fay", "person_found", "MP-API", {"note": "Family phoned at 07:30"}) == [iid]
    complete(api, "cat", "MP-API", "remove_appeal", {"removed_from": ["force_website"], "removed_at": "2024-05-03",
                                                     "all_publicity_removed": True})
    complete(api, "cat", "MP-API", "inform_media", {"media_informed_at": "2024-05-03", "return_details_withheld": True})

    finished(api, desk, iid, "Media informed")
    records = trail(api, iid)
    assert steps(records) == [
        ("start", "rita", "Event_request"), ("complete", "olly", "obtain_family_image"),
        ("complete", "olly", "assess_custody_image"), ("complete", "olly", "assess_information_release"),
        ("complete", "cat", "publish_appeal"), ("message", "fay", "Event_person_found"),
        ("complete", "cat", "remove_appeal"), ("complete", "cat", "inform_media"),
        ("end", "system", "Event_media_informed")]
    assert decisions(records) == [("assess_custody_image", None, "Last resort, high risk")]


def test_tribute_image_over_the_api(api, desk):
    iid = start(api, "tribute_image", "fay", "TI-API", {**TRIBUTE, "media_items": [upload(desk, user="fay")]})
    complete(api, "olly", "TI-API", "verify_tribute_image", {"decision": "not_verified", "rationale": "Too old"})
    complete(api, "fay", "TI-API", "request_alternative_image", {
        "media_items": [upload(desk, (1, 2, 3), user="fay")], "rationale": "Family sent another"})
    complete(api, "fay", "TI-API", "verify_tribute_image", {"decision": "verified", "rationale": "Family confirmed"})
    complete(api, "cat", "TI-API", "release_tribute", {"channels": ["press_release"]})

    finished(api, desk, iid, "Tribute image released")
    records = trail(api, iid)
    assert steps(records) == [
        ("start", "fay", "Start_tribute"), ("complete", "olly", "verify_tribute_image"),
        ("complete", "fay", "request_alternative_image"), ("complete", "fay", "verify_tribute_image"),
        ("complete", "cat", "release_tribute"), ("end", "system", "End_released")]
    assert records[0]["group"] == "flo" and records[1]["group"] == "oic" and records[3]["group"] == "flo"
    assert decisions(records) == [("verify_tribute_image", "not_verified", "Too old"),
                                  ("request_alternative_image", None, "Family sent another"),
                                  ("verify_tribute_image", "verified", "Family confirmed")]


def test_custody_image_over_the_api(api, desk):
    today = datetime.now(timezone.utc).date().isoformat()
    ids = send(api, "cat", "conviction_recorded", "CI-API", {**CUSTODY, "conviction_date": today,
                                                             "media_items": [upload(desk, user="cat")]})
    assert len(ids) == 1
    iid = ids[0]
    view = api.get(f"/api/process-instances/{iid}", "max").get_json()
    assert (view["key"], view["businessKey"], view["activeActivities"]) == ("custody_image", "CI-API", ["local_approval"])
    assert view["variables"]["release_decision"] == "release"
    complete(api, "cat", "CI-API", "local_approval", {"decision": "approve", "rationale": "Agreed locally"})
    tasks = api.get("/api/tasks?businessKey=CI-API", "cat").get_json()
    assert tasks[0]["activityId"] == "verify_and_release_custody_image" and tasks[0]["dueAt"].startswith(today)
    complete(api, "cat", "CI-API", "verify_and_release_custody_image", {
        "image_verified": True, "channels": ["force_website"], "published_urls": "https://police.example/jailed"})

    finished(api, desk, iid, "Custody image released")
    records = trail(api, iid)
    assert steps(records) == [
        ("start", "cat", "Start_conviction_recorded"), ("decision_table", "system", "decide_custody_release"),
        ("complete", "cat", "local_approval"), ("complete", "cat", "verify_and_release_custody_image"),
        ("end", "system", "End_released")]
    assert records[0]["group"] == "ccd"
    assert records[1]["data"] == {"release_decision": "release", "exceptional_reason": ""}
    assert decisions(records) == [("local_approval", "approve", "Agreed locally")]


def test_bwv_release_over_the_api(api, desk):
    iid = start(api, "bwv_release", "rita", "BWV-API", {**BWV, "media_items": [upload(desk)]})
    complete(api, "olly", "BWV-API", "check_operational_sensitivity", {"rationale": "Nothing sensitive"})
    complete(api, "sol", "BWV-API", "senior_release_decision", {"decision": "release", "rationale": "Correct the record"})
    view = complete(api, "hana", "BWV-API", "head_of_comms_consultation", {"decision": "release",
                                                                          "rationale": "Supports the statement"})
    assert view["variables"]["bwv_outcome"] == "release" and view["activeActivities"] == ["redact_footage"]
    complete(api, "cat", "BWV-API", "redact_footage", {"redaction_done": True,
                                                       "redacted_media_items": [upload(desk, (9, 9, 9), user="cat")]})
    complete(api, "sam", "BWV-API", "verify_redaction", {"decision": "verified", "rationale": "Faces blurred"})
    complete(api, "cat", "BWV-API", "publish_footage", {"channels": ["force_website"], "conditions_attached": True,
                                                        "published_urls": "https://police.example/bwv",
                                                        "transmission_method": "secure_portal"})
    assert desk.fire_due_timers(datetime.now(timezone.utc) + timedelta(days=31)) == [(iid, ["Timer_review"])]
    complete(api, "cat", "BWV-API", "review_publication", {"review_outcome": "remove", "rationale": "Story has moved on"})
    complete(api, "cat", "BWV-API", "archive_or_remove", {"removed_from": ["force_website"]})

    finished(api, desk, iid, "Footage archived or removed")
    records = trail(api, iid)
    assert steps(records) == [
        ("start", "rita", "Start_bwv"), ("decision_table", "system", "legal_screen"),
        ("complete", "olly", "check_operational_sensitivity"), ("complete", "sol", "senior_release_decision"),
        ("complete", "hana", "head_of_comms_consultation"), ("complete", "cat", "redact_footage"),
        ("complete", "sam", "verify_redaction"), ("complete", "cat", "publish_footage"),
        ("timer", "system", "Timer_review"), ("complete", "cat", "review_publication"),
        ("complete", "cat", "archive_or_remove"), ("end", "system", "End_archived")]
    assert [r["group"] for r in records if r["activityId"] in ("senior_release_decision",
                                                               "head_of_comms_consultation")] == ["senior_ops",
                                                                                                  "head_of_comms"]
    assert decisions(records) == [
        ("check_operational_sensitivity", None, "Nothing sensitive"),
        ("senior_release_decision", "release", "Correct the record"),
        ("head_of_comms_consultation", "release", "Supports the statement"),
        ("verify_redaction", "verified", "Faces blurred"),
        ("review_publication", None, "Story has moved on")]
