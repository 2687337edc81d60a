"""Requesters follow their cases ("My cases", a case's summary), duplicate case references are
refused with a link to the existing case, and starts and messages can be retried safely with an
`Idempotency-Key`."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from engine.models import AuditRecord, ProcessInstance
from tests.conftest import PASSWORD
from tests.security.cases import live_wanted

from .conftest import basic

TRIBUTE = {"deceased_name": "Alex Example", "family_consent": True, "family_wording": "Much loved"}


def login(client, username):
    html = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf}).status_code == 302


def start(client, user, reference, headers=None, variables=TRIBUTE):
    return client.post("/api/process-definitions/tribute_image/start", headers={**basic(user), **(headers or {})},
                       json={"businessKey": reference, "variables": variables})


def count(desk, model) -> int:
    with desk.read() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_my_cases_lists_what_i_started_with_state_step_role_and_decisions(client, desk):
    case = live_wanted(desk, "WP-2026-0042")
    start(client, "rita", "TR-2026-0007")
    start(client, "cathy", "TR-OTHER-1")  # someone else's case
    login(client, "rita")
    html = client.get("/cases").get_data(as_text=True)
    assert "WP-2026-0042" in html and "TR-2026-0007" in html and "TR-OTHER-1" not in html
    row = html[html.index('data-case="TR-2026-0007"'):]
    row = row[:row.index("</tr>")]
    assert "In progress" in row and "Verify tribute image" in row
    assert "OIC or family liaison officer" in row and "under a minute" in row
    wanted = html[html.index('data-case="WP-2026-0042"'):]
    wanted = wanted[:wanted.index("</tr>")]
    assert "Approve and verify release: <strong>Approve release</strong>" in wanted and "Necessary" in wanted
    # look-ups by reference: any letter case, and a prefix
    found = client.get("/cases?reference=wp-2026").get_data(as_text=True)
    assert "WP-2026-0042" in found and "TR-2026-0007" not in found
    assert "No case of yours matches" in client.get("/cases?reference=zz").get_data(as_text=True)
    assert client.get("/cases?state=bogus").status_code == 400
    # the summary: decisions with reasons, where it waits and since when
    summary = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Approve and verify release" in summary and "Necessary" in summary
    assert "Person apprehended, Appeal withdrawn or review interval elapsed (" in summary
    # the request in officers' words: no designers' notes, durations in words
    request = summary[summary.index('id="request-heading"'):]
    assert "Review interval" in request and "30 days" in request
    assert "ISO 8601" not in request and "P30D" not in request and "blank = force default" not in request


def test_case_summary_is_for_people_with_a_part_in_the_case(client, desk):
    case = live_wanted(desk)
    for user, status in (("rita", 200), ("sam", 200), ("olly", 200), ("cat", 200), ("max", 200),
                         ("fay", 404), ("dee", 404), ("hana", 404), ("sol", 404)):
        login(client, user)
        r = client.get(f"/cases/{case.id}")
        assert r.status_code == status, user
        if status == 404:
            assert case.business_key not in r.get_data(as_text=True)
            assert case.business_key not in client.get("/cases").get_data(as_text=True)
        client.post("/logout", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"',
                                                             client.get("/cases").get_data(as_text=True)).group(1)})
    login(client, "olly")
    assert client.get("/cases/99999").status_code == 404


def test_duplicate_reference_is_409_on_the_api_and_a_linked_page(client, desk):
    first = start(client, "rita", "TR-DUP-1")
    assert first.status_code == 201
    again = start(client, "rita", "tr-dup-1")
    assert again.status_code == 409
    body = again.get_json()
    assert "TR-DUP-1".lower() in body["error"].lower() and body["details"]["existingInstanceId"] == first.get_json()["id"]
    # someone who cannot read the existing case is told only that the reference is taken
    other = start(client, "cathy", "TR-DUP-1")
    assert other.status_code == 409 and "existingInstanceId" not in other.get_json()["details"]
    assert count(desk, ProcessInstance) == 1
    login(client, "rita")
    html = client.get("/start/tribute_image").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = client.post("/start/tribute_image", data={"csrf_token": csrf, "case_reference": "TR-DUP-1",
                                                  "deceased_name": "Alex", "family_consent": "true"})
    assert r.status_code == 409
    page = r.get_data(as_text=True)
    assert "already" in page and f'href="/cases/{first.get_json()["id"]}"' in page
    assert count(desk, ProcessInstance) == 1


def test_idempotent_start_answers_the_first_success_again(client, desk):
    key = {"Idempotency-Key": "start-7f3a"}
    first = start(client, "rita", "TR-IDEM-1", key)
    assert first.status_code == 201
    audit = count(desk, AuditRecord)
    again = start(client, "rita", "TR-IDEM-1", key)
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(desk, ProcessInstance) == 1 and count(desk, AuditRecord) == audit
    # the same key with a different request is refused; another caller's keys are their own
    changed = start(client, "rita", "TR-IDEM-2", key)
    assert changed.status_code == 422 and "Idempotency-Key" in changed.get_json()["details"]
    assert start(client, "cathy", "TR-IDEM-3", key).status_code == 201
    # without a key, a retry is a duplicate
    assert start(client, "rita", "TR-IDEM-1").status_code == 409
    assert start(client, "rita", "TR-IDEM-4", {"Idempotency-Key": ""}).status_code == 400


def test_idempotent_message_is_delivered_once(client, desk):
    case = live_wanted(desk)
    body = {"messageName": "person_apprehended", "businessKey": case.business_key,
            "variables": {"note": "Custody suite called at 10:10"}}
    headers = {**basic("olly"), "Idempotency-Key": "msg-1"}
    first = client.post("/api/messages", headers=headers, json=body)
    assert first.status_code == 200 and first.get_json() == {"correlated": [case.id]}
    audit = count(desk, AuditRecord)
    again = client.post("/api/messages", headers=headers, json=body)
    assert again.status_code == 200 and again.get_json() == first.get_json()  # not 404: the reply was lost
    assert count(desk, AuditRecord) == audit
    assert [r["action"] for r in case.audit()].count("message") == 1
    # a refused request stores nothing: fixing it under a new key works
    bad = client.post("/api/messages", headers={**basic("olly"), "Idempotency-Key": "msg-2"},
                      json={**body, "variables": {"note": "x", "decision": "reject"}})
    assert bad.status_code == 400 and "decision" in bad.get_json()["details"]


def test_start_message_accepts_case_reference_equal_to_business_key(client, desk):
    from datetime import date

    from tests.engine.driver import LEGAL_CLEAR
    variables = {"offender_name": "A. Person", "offence": "Burglary", "conviction_date": date.today().isoformat(),
                 "sentence_type": "custodial", "media_request": True, **LEGAL_CLEAR}
    r = client.post("/api/messages", headers=basic("cat"), json={
        "messageName": "conviction_recorded", "businessKey": "CI-REF-1",
        "variables": {**variables, "case_reference": "CI-REF-2"}})
    assert r.status_code == 400 and "case_reference" in r.get_json()["details"]
    r = client.post("/api/messages", headers=basic("cat"), json={
        "messageName": "conviction_recorded", "businessKey": "CI-REF-1",
        "variables": {**variables, "case_reference": "CI-REF-1"}})
    assert r.status_code == 200
    again = client.post("/api/messages", headers=basic("cat"), json={
        "messageName": "conviction_recorded", "businessKey": "CI-REF-1", "variables": variables})
    assert again.status_code == 409  # a repeated conviction makes no second custody case
    assert count(desk, ProcessInstance) == 1


def test_api_search_by_case_reference_prefix_any_case(client, desk):
    for reference in ("TR-2026-0001", "TR-2026-0002", "TR-2027-0001"):
        assert start(client, "rita", reference).status_code == 201
    found = client.get("/api/process-instances?businessKeyPrefix=tr-2026", headers=basic("rita")).get_json()
    assert sorted(i["businessKey"] for i in found["items"]) == ["TR-2026-0001", "TR-2026-0002"]
    exact = client.get("/api/process-instances?businessKey=TR-2026-0001", headers=basic("rita")).get_json()
    assert [i["businessKey"] for i in exact["items"]] == ["TR-2026-0001"]  # the exact filter is unchanged
    # a prefix of "%" or "_" is literal, never a wildcard
    assert client.get("/api/process-instances?businessKeyPrefix=%25", headers=basic("rita")).get_json()["total"] == 0
    assert client.get("/api/process-instances?businessKeyPrefix=TR_", headers=basic("rita")).get_json()["total"] == 0
    # nobody finds cases they have no part in
    assert client.get("/api/process-instances?businessKeyPrefix=tr", headers=basic("sol")).get_json()["total"] == 0
