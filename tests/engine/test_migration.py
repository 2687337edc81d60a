"""Moving running cases to a newer version: a safe change migrates and the case finishes on the new
version; an unsafe one is refused with the reason and leaves the case exactly as it was."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, select

from engine import Actor, NotAllowed, NotFound, queries
from engine.audit import verify
from engine.deployment import deploy
from engine.migration import MigrationRefused, check, migrate_instance, migrate_version
from engine.models import AuditRecord, HumanTask, ProcessInstance, Subscription

from .conftest import DIAGRAMS
from .driver import Case
from .test_pathway_wanted_person import APPROVE, INFORM, PUBLISH, REMOVE, START, live_appeal, media

ROOT = Path(__file__).resolve().parents[2]
WANTED = (ROOT / "workflows" / "wanted_person.bpmn").read_text()
DESIGNER = Actor("dee", frozenset({"designer"}))
# Downstream of where the cases below stand: a new name and an extra optional field on inform_media.
SAFE = WANTED.replace('name="Inform media"', 'name="Inform the media"').replace(
    '<camunda:formField id="media_informed_at"',
    '<camunda:formField id="press_contact" label="Press contact" type="string" />\n'
    '          <camunda:formField id="media_informed_at"')
# Upstream: approve_release (already completed by the cases below) gets another form.
UNSAFE = WANTED.replace('label="Risk assessment"', 'label="Risk assessment (new wording)"')


def deploy_text(desk, text: str, name: str = "wanted_person.bpmn") -> int:
    with desk.transaction() as s:
        result = deploy(s, [(name, text.encode())], DESIGNER, desk.clock())
    return [d["version"] for d in result["definitions"] if d["changed"]][0]


def snapshot(desk, instance_id: int) -> tuple:
    with desk.transaction() as s:
        i = s.get(ProcessInstance, instance_id)
        tasks = sorted((t.id, t.activity_id, t.state, t.candidate_groups) for t in s.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance_id)))
        return (i.definition_id, i.version, i.version_id, i.workflow_json, tuple(tasks),
                s.scalar(select(func.count()).select_from(AuditRecord)))


def removal_case(desk, actors, key="WP-1") -> Case:
    case = live_appeal(desk, actors, key)
    case.send("person_apprehended")
    assert case.open_activities() == ["remove_appeal"]
    return case


def test_safe_change_migrates_and_the_case_completes_on_the_new_version(desk, actors):
    case = removal_case(desk, actors)
    task_before = case.task("remove_appeal")
    assert deploy_text(desk, SAFE) == 2
    with desk.transaction() as s:
        preview = check(s, queries.get_instance(s, case.id))
        assert preview["safe"] and preview["reset"] == ["Event_removal_sla", "remove_appeal"]
    with desk.transaction() as s:
        result = migrate_instance(s, desk.runtime, case.id, actors["manager"])
    assert (result["fromVersion"], result["toVersion"]) == (1, 2)
    view = case.refresh()
    assert view["version"] == 2 and view["activeActivities"][:1] == ["remove_appeal"]
    assert case.task("remove_appeal")["id"] == task_before["id"]  # the inbox row and its id survive
    record = [r for r in case.audit() if r["action"] == "migrate"][0]
    assert record["actor"] == "max" and record["data"]["fromVersion"] == 1 and record["data"]["toVersion"] == 2

    case.complete("remove_appeal", actors["ccd"], REMOVE)
    assert case.task("inform_media")["name"] == "Inform the media"  # the new version's task
    case.complete("inform_media", actors["ccd"], {**INFORM, "press_contact": "Newsdesk"})
    view = case.refresh()
    assert view["state"] == "completed" and view["version"] == 2 and view["variables"]["press_contact"] == "Newsdesk"
    with desk.transaction() as s:
        assert s.get(ProcessInstance, case.id).definition.version == 2
        assert verify(s).ok


def test_a_waiting_timer_keeps_its_deadline(desk, actors):
    case = removal_case(desk, actors)
    with desk.transaction() as s:
        due = s.scalar(select(Subscription.due_at).where(Subscription.instance_id == case.id,
                                                         Subscription.kind == "timer"))
    deploy_text(desk, SAFE)
    with time_machine.travel(datetime.now(timezone.utc) + timedelta(hours=3), tick=False):
        with desk.transaction() as s:
            migrate_instance(s, desk.runtime, case.id, DESIGNER)
    with desk.transaction() as s:
        after = s.scalar(select(Subscription.due_at).where(Subscription.instance_id == case.id,
                                                           Subscription.kind == "timer"))
    assert after == due  # not three hours later
    assert case.advance(hours=5) and "removal_overdue" in case.open_activities()


def test_unsafe_change_is_refused_with_the_reason_and_nothing_changes(desk, actors):
    case = live_appeal(desk, actors)  # approve_release and publish_appeal are done
    deploy_text(desk, UNSAFE)
    before = snapshot(desk, case.id)
    with desk.transaction() as s, pytest.raises(MigrationRefused) as refused:
        migrate_instance(s, desk.runtime, case.id, actors["manager"])
    details = refused.value.details
    assert refused.value.status == 409
    assert details["blocking"] == [{"activity": "approve_release", "state": "COMPLETED", "change": "changed: form"}]
    assert "approve_release (completed) changed: form" in details["reason"]
    assert snapshot(desk, case.id) == before
    assert case.refresh()["version"] == 1
    case.send("person_apprehended")  # and it still runs on version 1
    case.complete("remove_appeal", actors["ccd"], REMOVE)
    case.complete("inform_media", actors["ccd"], INFORM)
    assert case.state == "completed" and case.refresh()["version"] == 1


def test_a_new_version_of_a_waiting_task_takes_effect(desk, actors):
    """The change touches the very task the case waits at: its inbox row takes the new groups."""
    case = Case(desk, "wanted_person", "WP-1", {**START, "media_items": [media(desk)]}, actors["requester"])
    case.complete("approve_release", actors["oic"], APPROVE)
    changed = WANTED.replace('name="Publish appeal" camunda:candidateGroups="ccd"',
                             'name="Publish the appeal" camunda:candidateGroups="ccd,head_of_comms"')
    deploy_text(desk, changed)
    with desk.transaction() as s:
        migrate_instance(s, desk.runtime, case.id, DESIGNER, to_version=2)
    task = case.task("publish_appeal")
    assert task["name"] == "Publish the appeal" and task["candidateGroups"] == ["ccd", "head_of_comms"]
    case.complete("publish_appeal", actors["head_of_comms"], PUBLISH)
    assert case.refresh()["version"] == 2


def test_refusals_for_finished_cases_same_version_and_other_groups(desk, actors):
    case = live_appeal(desk, actors)
    with desk.transaction() as s, pytest.raises(NotFound, match="version 2"):
        migrate_instance(s, desk.runtime, case.id, DESIGNER)  # nothing to move to yet
    deploy_text(desk, SAFE)
    with desk.transaction() as s, pytest.raises(NotAllowed):
        migrate_instance(s, desk.runtime, case.id, actors["ccd"])
    with desk.transaction() as s, pytest.raises(MigrationRefused, match="already on version 1"):
        migrate_instance(s, desk.runtime, case.id, DESIGNER, to_version=1)
    with desk.transaction() as s:
        desk.runtime.cancel(s, case.id, actors["manager"], "duplicate")
    with desk.transaction() as s, pytest.raises(MigrationRefused, match="cancelled"):
        migrate_instance(s, desk.runtime, case.id, DESIGNER)


def test_migrate_a_version_moves_the_safe_cases_and_reports_the_others(desk, actors):
    waiting = Case(desk, "wanted_person", "WP-1", {**START, "media_items": [media(desk)]}, actors["requester"])
    approved = live_appeal(desk, actors, "WP-2")
    deploy_text(desk, UNSAFE)
    with desk.transaction() as s:
        result = migrate_version(s, desk.runtime, "wanted_person", 1, 2, actors["manager"])
    assert [m["id"] for m in result["migrated"]] == [waiting.id]
    assert [r["id"] for r in result["refused"]] == [approved.id] and "approve_release" in result["refused"][0]["reason"]
    assert waiting.refresh()["version"] == 2 and approved.refresh()["version"] == 1
    waiting.complete("approve_release", actors["oic"], APPROVE)  # the new form applies
    assert waiting.open_activities() == ["publish_appeal"]
    with desk.transaction() as s:
        assert s.scalar(select(func.count()).where(AuditRecord.action == "migrate")) == 1
        assert verify(s).ok


def test_a_renamed_task_ahead_migrates_but_not_behind_a_completed_gateway(desk, mini, actors):
    """Renaming publish_release changes the outputs of the gateway before it: a case still at the
    approval moves (the gateway has not run), a case past the gateway is refused."""
    ahead = Case(desk, mini, "CASE-1", {}, actors["requester"])
    past = Case(desk, mini, "CASE-2", {}, actors["requester"])
    approve = {"decision": "approve", "rationale": "ok", "images_verified": True}
    past.complete("approve_release", actors["sio"], approve)
    text = (DIAGRAMS / "mini_approval.bpmn").read_text().replace("publish_release", "publish_now")
    deploy_text(desk, text, "mini_approval.bpmn")
    with desk.transaction() as s:
        result = migrate_version(s, desk.runtime, mini, 1, 2, DESIGNER)
    assert [m["id"] for m in result["migrated"]] == [ahead.id]
    assert "Gateway_decision (completed) changed: outputs" in result["refused"][0]["reason"]
    ahead.complete("approve_release", actors["sio"], approve)
    assert ahead.open_activities() == ["publish_now"]
    ahead.complete("publish_now", actors["ccd"], {"channels": ["force_website"], "published_urls": "https://x.example/1"})
    ahead.send("mini_done")
    assert ahead.state == "completed" and ahead.refresh()["version"] == 2
    assert past.open_activities() == ["publish_release"] and past.refresh()["version"] == 1
