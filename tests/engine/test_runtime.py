"""Engine mechanics on a small diagram: access, forms, conflicts, messages, timers, failures."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from engine import (
    Conflict,
    InvalidForm,
    NoInstanceWaits,
    NotAllowed,
    TaskAlreadyCompleted,
    TaskClaimed,
    WorkflowFailure,
)
from engine.incidents import record_failure
from engine.models import AuditRecord, Incident, ProcessInstance

from .driver import Case

APPROVE = {"decision": "approve", "rationale": "Necessary and proportionate", "images_verified": True}


def audit_count(desk) -> int:
    with desk.transaction() as s:
        return s.scalar(select(func.count()).select_from(AuditRecord))


def test_start_records_requester_and_force_defaults(desk, mini, actors):
    case = Case(desk, mini, "CASE-1", {"summary": "CCTV still"}, actors["requester"])
    variables = case.variables
    assert variables["requested_by"] == "rita"
    assert variables["case_reference"] == "CASE-1"
    assert variables["review_interval"] == desk.settings.review_interval
    assert variables["copyright_notice"] == desk.settings.copyright_notice
    assert case.open_activities() == ["approve_release"]


def test_client_cannot_set_engine_variables(desk, mini, actors):
    with desk.transaction() as s, pytest.raises(InvalidForm) as err:
        desk.runtime.start(s, mini, "CASE-1", {"requested_by": "someone_else"}, actors["requester"])
    assert "requested_by" in err.value.details


def test_only_starter_groups_may_start(desk, mini, actors):
    with desk.transaction() as s, pytest.raises(NotAllowed):
        desk.runtime.start(s, mini, "CASE-1", {}, actors["ccd"])


def test_wrong_group_is_refused_and_task_stays_open(desk, mini, actors):
    case = Case(desk, mini, "CASE-1", {}, actors["requester"])
    with pytest.raises(NotAllowed):
        case.complete("approve_release", actors["ccd"], APPROVE)
    assert case.open_activities() == ["approve_release"]


def test_missing_rationale_is_a_field_error_and_nothing_changes(desk, mini, actors):
    case = Case(desk, mini, "CASE-1", {}, actors["requester"])
    before = audit_count(desk)
    with pytest.raises(InvalidForm) as err:
        case.complete("approve_release", actors["sio"], {"decision": "approve", "images_verified": True})
    assert err.value.details == {"rationale": "This field is required."}
    assert case.open_activities() == ["approve_release"]
    assert audit_count(desk) == before


def test_task_rule_blocks_approval_without_verified_images(desk, mini, actors):
    case = Case(desk, mini, "CASE-1", {}, actors["requester"])
    with pytest.raises(InvalidForm) as err:
        case.complete("approve_release", actors["oic"], {**APPROVE, "images_verified": False})
    assert err.value.details == {"images_verified": "Verify the images before approving."}


def test_unknown_field_is_refused(desk, mini, actors):
    case = Case(desk, mini, "CASE-1", {}, actors["requester"])
    with pytest.raises(InvalidForm) as err:
        case.complete("approve_release", actors["sio"], {**APPROVE, "requested_by": "mallory"})
    assert "requested_by" in err.value.details


def test_enum_and_type_errors_name_the_field(desk, mini, actors):
    case = Case(desk, mini, "CASE-1", {}, actors["requester"])
    with pytest.raises(InvalidForm) as err:
        case.complete("approve_release", actors["sio"], {"decision": "maybe", "rationale": "x",
                                                         "images_verified": "perhaps"})
    assert set(err.value.details) == {"decision", "images_verified"}


def test_completing_twice_is_a_conflict(desk, mini, actors):
    case = Case(desk, mini, "CASE-1", {}, actors["requester"])
    task = case.task("approve_release")
    case.complete("approve_release", actors["sio"], APPROVE)
    with desk.transaction() as s, pytest.raises(TaskAlreadyCompleted):
        desk.runtime.complete(s, task["id"], actors["oic"], APPROVE)


def test_claim_rules(desk, mini, actors):
    case = Case(desk, mini, "CASE-1", {}, actors["requester"])
    task_id = case.task("approve_release")["id"]
    with desk.transaction() as s:
        desk.runtime.claim(s, task_id, actors["sio"])
    with desk.transaction() as s, pytest.raises(TaskClaimed):
        desk.runtime.claim(s, task_id, actors["oic"])
    with desk.transaction() as s, pytest.raises(TaskClaimed):
        desk.runtime.unclaim(s, task_id, actors["oic"])
    with desk.transaction() as s, pytest.raises(NotAllowed):
        desk.runtime.complete(s, task_id, actors["oic"], APPROVE)
    with desk.transaction() as s, pytest.raises(NotAllowed):
        desk.runtime.claim(s, task_id, actors["ccd"])
    assert case.task("approve_release")["assignee"] == "sam"
    with desk.transaction() as s:
        desk.runtime.unclaim(s, task_id, actors["sio"])
    assert case.task("approve_release")["assignee"] is None
    actions = [a["action"] for a in case.audit()]
    assert actions.count("claim") == 1 and actions.count("unclaim") == 1


def test_concurrent_completions_give_one_success_and_one_conflict(desk, mini, actors):
    case = Case(desk, mini, "CASE-1", {}, actors["requester"])
    task_id = case.task("approve_release")["id"]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker(actor):
        barrier.wait()
        try:
            with desk.transaction() as s:
                desk.runtime.complete(s, task_id, actor, APPROVE)
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=worker, args=(actors[g],)) for g in ("sio", "oic")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    assert [a["action"] for a in case.audit()].count("complete") == 1
    assert case.open_activities() == ["publish_release"]


def test_message_for_unknown_business_key_changes_nothing(desk, mini, actors):
    Case(desk, mini, "CASE-1", {}, actors["requester"])
    before = audit_count(desk)
    with desk.transaction() as s, pytest.raises(NoInstanceWaits) as err:
        desk.runtime.correlate(s, "mini_done", "NO-SUCH-CASE", {}, actors["sio"])
    assert "no instance waits" in str(err.value)
    assert audit_count(desk) == before


def test_message_and_timer_paths(desk, mini, actors):
    a = Case(desk, mini, "CASE-A", {}, actors["requester"])
    b = Case(desk, mini, "CASE-B", {"review_interval": "P7D"}, actors["requester"])
    for case in (a, b):
        case.complete("approve_release", actors["sio"], APPROVE)
        case.complete("publish_release", actors["ccd"], {"channels": ["force_website"],
                                                          "published_urls": "https://example.police.uk/appeal"})
    assert a.refresh()["activeActivities"] == ["Event_wait"]
    assert a.send("mini_done", {"note": "arrested"}) == [a.id]
    assert a.state == "completed" and a.variables["note"] == "arrested"
    assert b.advance(days=6) == []
    assert b.state == "active"
    assert b.advance(days=8) == [(b.id, ["Event_timer"])]
    assert b.state == "completed"
    assert [r["action"] for r in b.audit()][-2:] == ["timer", "end"]


def test_disclosure_log_records_publication(desk, mini, actors):
    from engine.models import DisclosureEntry
    case = Case(desk, mini, "CASE-1", {}, actors["requester"])
    case.complete("approve_release", actors["sio"], APPROVE)
    case.complete("publish_release", actors["ccd"], {"channels": ["social_media"],
                                                      "published_urls": "https://x.example/1\nhttps://x.example/2"})
    with desk.transaction() as s:
        entry = s.scalars(select(DisclosureEntry)).one()
        assert entry.actor == "cat" and entry.channels == ["social_media"]
        assert entry.destinations == ["https://x.example/1", "https://x.example/2"]
        assert entry.details["copyright_notice"] == desk.settings.copyright_notice


def test_publish_task_has_due_date_from_sla(desk, mini, actors):
    case = Case(desk, mini, "CASE-1", {"removal_sla": "PT2H"}, actors["requester"])
    case.complete("approve_release", actors["sio"], APPROVE)
    task = case.task("publish_release")
    from datetime import datetime
    created = datetime.fromisoformat(task["createdAt"].replace("Z", "+00:00"))
    due = datetime.fromisoformat(task["dueAt"].replace("Z", "+00:00"))
    assert round((due - created).total_seconds()) == 7200


def test_cancel_is_for_managers_and_closes_tasks(desk, mini, actors):
    case = Case(desk, mini, "CASE-1", {}, actors["requester"])
    with desk.transaction() as s, pytest.raises(NotAllowed):
        desk.runtime.cancel(s, case.id, actors["sio"], "no longer needed")
    with desk.transaction() as s, pytest.raises(InvalidForm):
        desk.runtime.cancel(s, case.id, actors["manager"], " ")
    with desk.transaction() as s:
        desk.runtime.cancel(s, case.id, actors["manager"], "Duplicate request")
    assert case.state == "cancelled"
    assert case.open_tasks() == []
    assert case.audit()[-1]["action"] == "cancel"
    with desk.transaction() as s, pytest.raises(Conflict):
        desk.runtime.cancel(s, case.id, actors["manager"], "again")


def test_a_case_that_ends_closes_its_open_incidents(desk, mini, actors):
    """The lock reads whether the case has an open incident; one that has is closed when it ends."""
    quiet, failed = (Case(desk, mini, key, {}, actors["requester"]) for key in ("CASE-1", "CASE-2"))
    with desk.transaction() as s:
        record_failure(s, failed.id, RuntimeError("the mail gateway timed out"), desk.clock(), desk.settings)
    for case in (quiet, failed):
        with desk.transaction() as s:
            desk.runtime.cancel(s, case.id, actors["manager"], "Duplicate request")
    with desk.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Incident).where(Incident.resolved_at.is_(None))) == 0
        assert s.scalar(select(Incident.resolved_by).where(Incident.instance_id == failed.id)) == "system"


def test_instance_state_is_small_and_spec_free(desk, mini, actors):
    case = Case(desk, mini, "CASE-1", {}, actors["requester"])
    with desk.transaction() as s:
        instance = s.get(ProcessInstance, case.id)
        assert '"spec"' not in instance.workflow_json
        assert len(instance.workflow_json) < 20_000


def test_a_failing_diagram_writes_nothing(desk, actors, tmp_path):
    """A condition that fails at run time (text that is not a number; a variable nothing sets is
    refused at deploy since) refuses the completion as a whole and the task is still open."""
    from .conftest import DIAGRAMS
    broken = (DIAGRAMS / "mini_approval.bpmn").read_text().replace(
        "decision == 'approve'", "int(rationale) == 1").replace(
        'id="mini_approval"', 'id="mini_broken"')
    path = tmp_path / "mini_broken.bpmn"
    path.write_text(broken)
    with desk.transaction() as s:
        desk.deploy_files(s, [path])
    case = Case(desk, "mini_broken", "CASE-1", {}, actors["requester"])
    before = audit_count(desk)
    with pytest.raises(WorkflowFailure) as err:
        case.complete("approve_release", actors["sio"], APPROVE)
    assert "int(rationale) == 1" in str(err.value)
    assert case.open_activities() == ["approve_release"]
    assert audit_count(desk) == before


def test_stale_task_object_is_not_completed(desk, mini, actors):
    """A task cancelled underneath a request (here: by cancellation) is refused, not marked done."""
    case = Case(desk, mini, "CASE-1", {}, actors["requester"])
    task_id = case.task("approve_release")["id"]
    with desk.transaction() as s:
        desk.runtime.cancel(s, case.id, actors["manager"], "Withdrawn")
    with desk.transaction() as s, pytest.raises(Conflict):
        desk.runtime.complete(s, task_id, actors["sio"], APPROVE)


def test_a_crash_while_saving_leaves_nothing_half_written(desk, mini, actors, monkeypatch):
    """If the process dies between running the workflow and committing (here: the projection
    writer raises), the transaction rolls back: state, task, audit and disclosure are as before."""
    case = Case(desk, mini, "CASE-1", {}, actors["requester"])
    before = audit_count(desk)
    with desk.transaction() as s:
        state_before = s.get(ProcessInstance, case.id).workflow_json

    def crash(*args, **kwargs):
        raise RuntimeError("power cut")
    monkeypatch.setattr("engine.steps.write_projections", crash)
    with pytest.raises(RuntimeError):
        case.complete("approve_release", actors["sio"], APPROVE)
    monkeypatch.undo()
    with desk.transaction() as s:
        assert s.get(ProcessInstance, case.id).workflow_json == state_before
    assert audit_count(desk) == before
    assert case.open_activities() == ["approve_release"]
    case.complete("approve_release", actors["sio"], APPROVE)  # and the task still works afterwards
    assert case.open_activities() == ["publish_release"]
