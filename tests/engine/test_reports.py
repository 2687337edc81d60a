"""Read models for the managers' pages, on both backends: the dashboard's aggregates, the case list's
filters, waiting counts, taken flows and the version diff."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from engine import reports
from engine.versions import diff_xml, executable_process_ids

from .driver import LEGAL_CLEAR, Case
from .test_pathway_wanted_person import APPROVE, START, live_appeal, media

ROOT = Path(__file__).resolve().parents[2]
WANTED = (ROOT / "workflows" / "wanted_person.bpmn").read_bytes()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
GENERAL = {"summary": "CCTV still", "purpose": "criminal_investigation", "policing_purpose": "Identify a suspect",
           "justification": "Enquiries exhausted", **LEGAL_CLEAR}


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def at(desk, when: datetime) -> None:
    desk.runtime.clock = Clock(when)


def wanted_decided_after(desk, actors, key: str, hours: float) -> Case:
    at(desk, T0)
    case = Case(desk, "wanted_person", key, {**START, "media_items": [media(desk)]}, actors["requester"])
    at(desk, T0 + timedelta(hours=hours))
    case.complete("approve_release", actors["oic"], APPROVE)
    return case


def general_refused_after(desk, actors, key: str, hours: float) -> Case:
    at(desk, T0)
    case = Case(desk, "general_release", key, {**GENERAL, "media_items": [media(desk)]}, actors["requester"])
    at(desk, T0 + timedelta(hours=hours))
    case.complete("approve_release", actors["sio"], {"decision": "reject", "rationale": "Not proportionate",
                                                     "risk_assessment": "High", "images_verified": False})
    return case


def test_dashboard_aggregates(desk, actors):
    for key, hours in (("WP-1", 2), ("WP-2", 10), ("WP-3", 4)):
        wanted_decided_after(desk, actors, key, hours)
    refused = [general_refused_after(desk, actors, key, h) for key, h in (("GR-1", 1), ("GR-2", 3))]
    at(desk, T0 + timedelta(days=1))
    live = live_appeal(desk, actors, "WP-4")  # published a day later
    removal = live_appeal(desk, actors, "WP-5")
    removal.send("person_apprehended")
    waiting = Case(desk, "wanted_person", "WP-6", {**START, "media_items": [media(desk)]}, actors["requester"])
    with desk.transaction() as s:
        desk.runtime.cancel(s, waiting.id, actors["manager"], "duplicate")
    now = T0 + timedelta(days=3)
    with desk.transaction() as s:
        data = reports.dashboard(s, now)

    median = data["medianDecision"]
    assert median["wanted_person"]["cases"] == 5 and median["wanted_person"]["medianHours"] == 2.0
    assert median["general_release"] == {"medianHours": 2.0, "cases": 2}  # even count: mean of the middle two

    groups = {g["group"]: g for g in data["openByGroup"]}
    assert groups["ccd"]["open"] == 4  # publish for WP-1..3, removal for WP-5 (WP-4 waits for a message)
    assert groups["ccd"]["overdue"] == 1 and groups["ccd"]["unassigned"] == 4
    assert set(groups) == {"ccd"} and data["openTotal"] == 4
    overdue = data["overdue"]
    assert [t["activityId"] for t in overdue] == ["remove_appeal"] and overdue[0]["removal"]
    assert overdue[0]["overdueHours"] > 40

    live_rows = {r["businessKey"]: r for r in data["live"]}
    assert set(live_rows) == {"WP-4", "WP-5"}  # WP-5 is waiting for removal: still published
    assert live_rows["WP-4"]["ageDays"] == 2.0 and live_rows["WP-4"]["id"] == live.id

    outcomes = {(r["key"], r["state"], r["outcome"]): r["count"] for r in data["outcomes"]}
    assert outcomes[("general_release", "completed", "Release refused")] == 2
    assert outcomes[("wanted_person", "active", None)] == 5
    assert outcomes[("wanted_person", "cancelled", "Cancelled")] == 1
    assert all(c.state == "completed" for c in refused)


def test_a_removed_publication_is_no_longer_live(desk, actors):
    case = live_appeal(desk, actors)
    case.send("appeal_withdrawn")
    case.complete("remove_appeal", actors["ccd"], {"removed_from": ["force_website"], "removed_at": "2026-03-02"})
    with desk.transaction() as s:
        assert reports.live_publications(s, datetime.now(timezone.utc)) == []


def test_case_list_filters_and_waiting_counts(desk, actors):
    removal = live_appeal(desk, actors, "WP-1")
    removal.send("person_apprehended")
    fresh = Case(desk, "wanted_person", "WP-2", {**START, "media_items": [media(desk)]}, actors["requester"])
    missing = Case(desk, "missing_person", "MP-1", {"summary": "Missing", "risk_level": "high",
                                                     "previously_in_custody": False,
                                                     "person_description": "Age 16"}, actors["requester"])
    with desk.transaction() as s:
        page = reports.instance_page(s)
        assert page["total"] == 3 and [i["businessKey"] for i in page["items"]] == ["MP-1", "WP-2", "WP-1"]
        assert page["items"][2]["waitingAt"] == ["Event_removal_sla", "remove_appeal"]
        ids = lambda **f: [i["id"] for i in reports.instance_page(s, **f)["items"]]  # noqa: E731
        assert ids(activity_id="remove_appeal") == [removal.id]  # no pathway given: every pathway's positions
        assert ids(key="wanted_person", activity_id="approve_release") == [fresh.id]
        assert ids(business_key="MP-1") == [missing.id]
        assert ids(key="wanted_person", state="active") == [fresh.id, removal.id]
        assert ids(started_to=datetime.now(timezone.utc) - timedelta(days=1)) == []
        assert ids(page=2, page_size=2) == [removal.id]
        assert reports.waiting_counts(s, "wanted_person") == {
            "approve_release": 1, "remove_appeal": 1, "Event_removal_sla": 1}
        assert reports.waiting_counts(s, "wanted_person", version=2) == {}
        assert reports.instances_per_version(s, "wanted_person") == {1: {"active": 2}}


def test_taken_flows_follow_completed_and_active_elements():
    flows = [{"id": "f1", "source": "a", "target": "b"}, {"id": "f2", "source": "b", "target": "c"},
             {"id": "f3", "source": "b", "target": "d"}, {"id": "f4", "source": "c", "target": "e"}]
    assert reports.taken_flows(flows, completed=["a", "b"], active=["c"]) == ["f1", "f2"]
    assert reports.taken_flows(flows, completed=["a"], active=[]) == []


def test_version_diff_by_element():
    new = (WANTED.replace(b'name="Inform media"', b'name="Inform the media"')
           .replace(b'<bpmn:flowNodeRef>inform_media</bpmn:flowNodeRef>',
                    b'<bpmn:flowNodeRef>inform_media</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_note</bpmn:flowNodeRef>')
           .replace(b'</bpmn:process>', b'<bpmn:manualTask id="Task_note" name="Note it" /></bpmn:process>')
           .replace(b'<camunda:formField id="removed_at" label="Removed on"',
                    b'<camunda:formField id="removed_at" label="Taken down on"'))
    diff = diff_xml(WANTED, new)
    assert diff["added"] == [{"id": "Task_note", "type": "manualTask", "name": "Note it"}]
    assert diff["removed"] == []
    changed = {c["id"]: c for c in diff["changed"]}
    assert changed["inform_media"]["changes"] == ["name: 'Inform media' → 'Inform the media'"]
    assert changed["inform_media"]["oldName"] == "Inform media"
    assert changed["remove_appeal"]["changes"] == ["extensionElements: form field changed removed_at"]
    assert set(changed) == {"inform_media", "remove_appeal", "Lane_ccd"}  # the lane gained a node
    assert diff["layoutChanged"] is False
    assert diff_xml(WANTED, WANTED) == {"added": [], "removed": [], "changed": [], "layoutChanged": False}
    moved = WANTED.replace(b'<dc:Bounds x="', b'<dc:Bounds x="1', 1)
    assert diff_xml(WANTED, moved)["layoutChanged"] is True and diff_xml(WANTED, moved)["changed"] == []
    removed = diff_xml(new, WANTED)["removed"]
    assert removed == [{"id": "Task_note", "type": "manualTask", "name": "Note it"}]
    assert executable_process_ids(WANTED) == ["wanted_person"]


def test_diff_ignores_attributes_written_at_their_default_and_layout_formatting():
    """bpmn-js drops cancelActivity="true" and rewrites DI numbers on save; neither is a change."""
    explicit = WANTED.replace(b' cancelActivity="true"', b"")
    reformatted = re.sub(rb'x="(\d+)"', rb'x="\1.0"', WANTED)
    assert explicit != WANTED and diff_xml(WANTED, explicit)["changed"] == []
    assert diff_xml(WANTED, reformatted) == {"added": [], "removed": [], "changed": [], "layoutChanged": False}
    non_interrupting = WANTED.replace(b'name="Person apprehended" cancelActivity="true"',
                                      b'name="Person apprehended" cancelActivity="false"')
    assert [c["id"] for c in diff_xml(WANTED, non_interrupting)["changed"]] == ["Event_apprehended_in_review"]


def test_diff_names_the_form_fields_and_properties_changed():
    added = WANTED.replace(b'<camunda:formField id="media_informed_at"',
                           b'<camunda:formField id="press_contact" label="Press contact" type="string" />'
                           b'<camunda:formField id="media_informed_at"')
    changes = next(c for c in diff_xml(WANTED, added)["changed"] if c["id"] == "inform_media")["changes"]
    assert changes == ["extensionElements: form field added press_contact"]
