"""The officers' service through the test client: plain-English forms, refused submissions that keep
uploads and list every problem, durations typed in words, the inbox's urgency order and saved views,
hand-over (take over, assign) with audit and notices, and media previews that are not downloads."""
from __future__ import annotations

import io
import re
from datetime import timedelta

from sqlalchemy import select, update

from engine.models import AuditRecord, HumanTask, Notification, ProcessInstance
from web.demo import sample_png

from .test_api import start_wanted
from .test_inbox import login, logout, token

WANTED = {"summary": "Wanted", "person_description": "Male", "offence": "Theft",
          "necessity_justification": "Evading arrest"}


def claimed_by_sam(api, desk) -> str:
    """Case WP-1 started and its approval task claimed by sam (an SIO); returns the task's id."""
    start_wanted(api, desk, "WP-1")
    task = api.get("/api/tasks", "sam").get_json()[0]["id"]
    assert api.post(f"/api/tasks/{task}/claim", "sam").status_code == 200
    return task


def test_start_form_speaks_plain_english(client):
    login(client, "rita")
    html = client.get("/start/wanted_person").get_data(as_text=True)
    assert "ISO 8601" not in html and "SHA-256" not in html and "digest" not in html
    assert "Review interval" in html and "For example, 4 hours, 30 days or 2 weeks." in html
    assert 'href="#main-content"' in html and "Skip to main content" in html
    bwv = client.get("/start/bwv_release").get_data(as_text=True)
    assert re.search(r'<fieldset class="govuk-fieldset"[^>]*>\s*<legend[^>]*>Purpose of release', bwv)
    assert 'type="radio" value="open_justice"' in bwv and ">Open justice</label>" in bwv
    legal = bwv[bwv.index("Which of these apply?"):]
    assert legal.index('id="f-court_order_prevents_release"') < legal.index("</fieldset>")  # one group


def test_refused_start_lists_every_problem_and_keeps_the_upload(client, desk):
    login(client, "rita")
    form = {"csrf_token": token(client, "/start/wanted_person"), "case_reference": "WP-KEEP-1",
            "review_interval": "soon", "media_items": (io.BytesIO(sample_png()), "photo.png")}
    r = client.post("/start/wanted_person", data=form, content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and 'class="govuk-error-summary"' in html
    summary = html[html.index("govuk-error-summary__list"):html.index("</ul>", html.index("govuk-error-summary__list"))]
    for field in ("offence", "person_description", "necessity_justification", "review_interval"):
        assert f'href="#f-{field}"' in summary, field
        assert f'id="f-{field}"' in html and f'id="err-{field}"' in html
    assert "Enter a length of time such as 4 hours" in html
    digest = re.search(r'name="media_items" value="([0-9a-f]{64})"', html).group(1)
    assert f"/uploads/{digest}" in html  # its thumbnail
    assert client.get(f"/uploads/{digest}").status_code == 200
    with desk.read() as s:
        assert s.scalar(select(ProcessInstance).where(ProcessInstance.business_key == "WP-KEEP-1")) is None
    # Sending the form again with the kept reference (no new upload) starts the case with the file.
    form = {"csrf_token": token(client, "/start/wanted_person"), "case_reference": "WP-KEEP-1",
            "review_interval": "2 weeks", "removal_sla": "4 hours", "media_items": digest, **WANTED}
    assert client.post("/start/wanted_person", data=form).status_code == 302
    with desk.read() as s:
        instance = s.scalar(select(ProcessInstance).where(ProcessInstance.business_key == "WP-KEEP-1"))
        assert f'"media_items":["{digest}"]' in instance.workflow_json
        assert '"review_interval":"P2W"' in instance.workflow_json and '"removal_sla":"PT4H"' in instance.workflow_json
    logout(client)
    login(client, "olly")  # someone else's upload is not theirs to preview
    assert client.get(f"/uploads/{digest}").status_code == 404


def test_inbox_puts_overdue_first_then_soonest_then_oldest(client, api, desk):
    for key in ("WP-A", "WP-B", "WP-C", "WP-D"):
        start_wanted(api, desk, key)
    now = desk.clock()
    due = {"WP-A": None, "WP-B": now + timedelta(hours=3, minutes=5), "WP-C": now - timedelta(minutes=20),
           "WP-D": now + timedelta(days=2)}
    with desk.transaction() as s:
        for key, when in due.items():
            s.execute(update(HumanTask).where(HumanTask.business_key == key).values(due_at=when))
    login(client, "sam")
    html = client.get("/inbox").get_data(as_text=True)
    rows = re.findall(r'<tr class="govuk-table__row[^"]*" data-activity="approve_release">(.*?)</tr>', html, re.S)
    order = [re.search(r"WP-[A-D]", row).group(0) for row in rows]
    assert order == ["WP-C", "WP-B", "WP-D", "WP-A"]
    assert "overdue by 20 min" in rows[0] and "due in 3 h" in rows[1] and "No deadline" in rows[3]
    assert "Wanted person" in rows[0]  # the pathway by name


def test_saved_views_are_per_person(client, api, desk):
    start_wanted(api, desk, "WP-1")
    login(client, "sam")
    csrf = token(client, "/inbox")
    r = client.post("/inbox/views", data={"csrf_token": csrf, "name": "Mine, wanted", "show": "mine",
                                          "pathway": "wanted_person"})
    assert r.status_code == 302
    html = client.get("/inbox").get_data(as_text=True)
    assert "Mine, wanted" in html and "show=mine" in html and "pathway=wanted_person" in html
    logout(client)
    login(client, "olly")
    assert "Mine, wanted" not in client.get("/inbox").get_data(as_text=True)


def test_take_over_after_confirming_is_audited_and_tells_the_holder(client, api, desk):
    task = claimed_by_sam(api, desk)
    login(client, "olly")
    page = client.get(f"/tasks/{task}").get_data(as_text=True)
    assert 'id="held-by-other"' in page and "sam" in page and "is working on this task, since" in page
    assert 'id="complete"' not in page  # no form while a colleague holds it
    confirm = client.get(f"/tasks/{task}/take-over").get_data(as_text=True)
    assert "Yes, take over this task" in confirm
    r = client.post(f"/tasks/{task}/take-over", data={"csrf_token": token(client, f"/tasks/{task}/take-over"),
                                                      "holder": "sam"})
    assert r.status_code == 302
    assert api.get(f"/api/tasks/{task}", "olly").get_json()["assignee"] == "olly"
    with desk.read() as s:
        record = s.scalars(select(AuditRecord).where(AuditRecord.action == "take_over")).one()
        assert (record.actor, record.data) == ("olly", {"from": "sam"})
        told = s.scalars(select(Notification).where(Notification.recipient == "sam",
                                                    Notification.kind == "taken_over")).one()
        assert "olly took over" in told.body
    assert 'id="complete"' in client.get(f"/tasks/{task}").get_data(as_text=True)
    # A stale confirmation (the holder changed meanwhile) takes nothing.
    logout(client)
    login(client, "sam")
    r = client.post(f"/tasks/{task}/take-over", data={"csrf_token": token(client, "/inbox"), "holder": "sam"})
    assert r.status_code == 409
    assert api.get(f"/api/tasks/{task}", "sam").get_json()["assignee"] == "olly"


def test_only_the_tasks_groups_may_take_over(client, api, desk):
    task = claimed_by_sam(api, desk)
    login(client, "cat")
    r = client.post(f"/tasks/{task}/take-over", data={"csrf_token": token(client, "/inbox"), "holder": "sam"})
    assert r.status_code == 403
    assert api.get(f"/api/tasks/{task}", "sam").get_json()["assignee"] == "sam"


def test_manager_assigns_to_a_named_person_of_the_right_group(client, api, desk):
    task = claimed_by_sam(api, desk)
    login(client, "max")
    page = client.get(f"/tasks/{task}").get_data(as_text=True)
    assert '<option value="olly"' in page and '<option value="cat"' not in page  # only the task's groups
    r = client.post(f"/tasks/{task}/assign", data={"csrf_token": token(client, f"/tasks/{task}"), "assignee": "cat"})
    assert r.status_code == 400 and "not in the task" in r.get_data(as_text=True)
    r = client.post(f"/tasks/{task}/assign", data={"csrf_token": token(client, f"/tasks/{task}"), "assignee": "olly"})
    assert r.status_code == 302
    assert api.get(f"/api/tasks/{task}", "olly").get_json()["assignee"] == "olly"
    with desk.read() as s:
        record = s.scalars(select(AuditRecord).where(AuditRecord.action == "assign")).one()
        assert (record.actor, record.data) == ("max", {"from": "sam", "to": "olly"})
        kinds = {(n.recipient, n.kind) for n in s.scalars(select(Notification))}
        assert {("olly", "assigned"), ("sam", "taken_over")} <= kinds
    logout(client)
    login(client, "olly")  # not a manager: may not assign
    r = client.post(f"/tasks/{task}/assign", data={"csrf_token": token(client, "/inbox"), "assignee": "sam"})
    assert r.status_code == 403


def test_opening_a_task_page_is_not_a_download(client, api, desk):
    instance = start_wanted(api, desk, "WP-1").get_json()["id"]
    task = api.get("/api/tasks", "sam").get_json()[0]["id"]
    login(client, "sam")
    page = client.get(f"/tasks/{task}").get_data(as_text=True)
    preview = re.search(r'<img src="([^"]+\?preview=1)"', page).group(1)
    r = client.get(preview)
    assert r.status_code == 200 and "attachment" not in r.headers.get("Content-Disposition", "")
    with desk.read() as s:
        assert s.scalars(select(AuditRecord).where(AuditRecord.action == "download")).all() == []
    r = client.get(preview.replace("?preview=1", ""))
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    with desk.read() as s:
        downloads = s.scalars(select(AuditRecord).where(AuditRecord.action == "download")).all()
        assert [(d.actor, d.instance_id) for d in downloads] == [("sam", instance)]


def test_notifications_list_unread_count_and_settings(client, api, desk):
    start_wanted(api, desk, "WP-1")  # a new task for the SIO and OIC groups
    login(client, "sam")
    inbox = client.get("/inbox").get_data(as_text=True)
    assert re.search(r'id="unread-count">1<', inbox)
    page = client.get("/notifications").get_data(as_text=True)
    assert "New task: “Approve and verify release” for case WP-1" in page
    notice = re.search(r'action="/notifications/(\d+)/open"', page).group(1)
    r = client.post(f"/notifications/{notice}/open", data={"csrf_token": token(client, "/notifications")})
    assert r.status_code == 302 and r.headers["Location"].startswith("/tasks/")  # to the task, now read
    assert 'id="unread-count"' not in client.get("/inbox").get_data(as_text=True)
    start_wanted(api, desk, "WP-2")
    client.post("/notifications/read", data={"csrf_token": token(client, "/notifications")})
    assert 'id="unread-count"' not in client.get("/inbox").get_data(as_text=True)
    r = client.post("/notifications/settings", data={"csrf_token": token(client, "/notifications"),
                                                     "email": "not an address", "mode": "sometimes"})
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and 'href="#f-email"' in html and 'href="#f-mode"' in html
    r = client.post("/notifications/settings", data={"csrf_token": token(client, "/notifications"),
                                                     "email": "sam@example.police.uk", "mode": "digest"})
    assert r.status_code == 302
    assert 'value="sam@example.police.uk"' in client.get("/notifications").get_data(as_text=True)


def test_accessibility_statement_is_public(client):
    r = client.get("/accessibility")
    assert r.status_code == 200 and "Accessibility statement for Release Desk" in r.get_data(as_text=True)


def test_api_take_over_and_assign(api, desk):
    task = claimed_by_sam(api, desk)
    assert api.post(f"/api/tasks/{task}/take-over", "cat", json={}).status_code == 403
    r = api.post(f"/api/tasks/{task}/take-over", "olly", json={"holder": "sam"})
    assert r.status_code == 200 and r.get_json() == {"id": task, "assignee": "olly", "previous": "sam"}
    assert api.post(f"/api/tasks/{task}/take-over", "sam", json={"holder": "sam"}).status_code == 409
    assert api.post(f"/api/tasks/{task}/assign", "olly", json={"assignee": "sam"}).status_code == 403
    r = api.post(f"/api/tasks/{task}/assign", "max", json={"assignee": "nobody"})
    assert r.status_code == 400 and "assignee" in r.get_json()["details"]
    assert api.post(f"/api/tasks/{task}/assign", "max", json={"assignee": "sam"}).get_json()["assignee"] == "sam"
    trail = api.get(f"/api/process-instances/{api.get(f'/api/tasks/{task}', 'sam').get_json()['processInstanceId']}/audit",
                    "max").get_json()
    assert [r["action"] for r in trail if r["action"] in ("claim", "take_over", "assign")] == \
        ["claim", "take_over", "assign"]
