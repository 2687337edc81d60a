"""One case whose timer fails must not stop the timers of other cases: the failure becomes an
incident on that case (error, activity, attempts, next retry), retried with back-off by the worker,
retried by hand by a manager after a fix (audited), and resolved by the next success."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine import incidents
from engine.migration import migrate_instance
from engine.models import AuditRecord, Incident
from tests.engine.driver import Case

from .diagrams import timer_process

POISON = "a = 3\n" + "a = a * a\n" * 40  # passes the deploy check, breaks the whole-number bound at run time


def _open(desk) -> list[dict]:
    with desk.read() as s:
        return incidents.list_open(s)


def test_a_failing_timer_becomes_an_incident_and_never_blocks_other_cases(desk, deploy_xml, actors):
    deploy_xml("poison.bpmn", timer_process("poison", POISON))
    deploy_xml("healthy.bpmn", timer_process("healthy", "ok = True"))
    poisoned = Case(desk, "poison", "P-1", {}, actors["requester"])  # the lower id: fired first
    healthy = Case(desk, "healthy", "H-1", {}, actors["requester"])
    later = desk.clock() + timedelta(hours=2)

    fired = desk.fire_due_timers(later)
    assert fired == [(healthy.id, ["Wait_healthy"])]
    assert healthy.open_activities() == ["Review_healthy"]
    assert poisoned.state == "active" and poisoned.refresh()["activeActivities"] == ["Wait_poison"]
    [incident] = _open(desk)
    assert incident["processInstanceId"] == poisoned.id and incident["businessKey"] == "P-1"
    assert incident["activityId"] == "After_poison" and incident["attempts"] == 1
    assert "whole numbers are limited" in incident["error"]
    assert incident["nextRetryAt"] == (later + timedelta(seconds=60)).isoformat().replace("+00:00", "Z")

    desk.fire_due_timers(later + timedelta(seconds=30))  # backing off: not tried
    assert _open(desk)[0]["attempts"] == 1
    desk.fire_due_timers(later + timedelta(seconds=61))  # retried, fails again, waits twice as long
    [incident] = _open(desk)
    assert incident["attempts"] == 2
    assert incident["nextRetryAt"] == (later + timedelta(seconds=61 + 120)).isoformat().replace("+00:00", "Z")


def test_a_manager_retries_by_hand_after_a_fix_and_the_incident_resolves(desk, deploy_xml, actors):
    deploy_xml("poison.bpmn", timer_process("poison", POISON))
    case = Case(desk, "poison", "P-2", {}, actors["requester"])
    later = desk.clock() + timedelta(hours=2)
    desk.fire_due_timers(later)
    [incident] = _open(desk)

    deploy_xml("poison.bpmn", timer_process("poison", "a = 3"))  # the fix: version 2
    with desk.transaction() as s:
        migrate_instance(s, desk.runtime, case.id, actors["manager"], 2, now=later)
    with desk.transaction() as s:
        incidents.request_retry(s, incident["id"], actors["manager"], later + timedelta(seconds=5))
    assert desk.fire_instance_timers(case.id, later + timedelta(seconds=5)) == ["Wait_poison"]

    assert _open(desk) == []
    assert case.open_activities() == ["Review_poison"]
    with desk.read() as s:
        row = s.get(Incident, incident["id"])
        assert row.resolved_at is not None and row.attempts == 1
        actions = [r.action for r in s.scalars(select(AuditRecord).where(AuditRecord.instance_id == case.id)
                                               .order_by(AuditRecord.seq))]
    assert actions[-4:] == ["incident", "migrate", "incident_retry", "timer"]


def test_only_managers_may_retry(desk, deploy_xml, actors):
    import pytest

    from engine import NotAllowed
    deploy_xml("poison.bpmn", timer_process("poison", POISON))
    Case(desk, "poison", "P-3", {}, actors["requester"])
    desk.fire_due_timers(desk.clock() + timedelta(hours=2))
    [incident] = _open(desk)
    with pytest.raises(NotAllowed), desk.transaction() as s:
        incidents.request_retry(s, incident["id"], actors["sio"], desk.clock())
