"""Review before live: drafts are invisible to live lists and starts, go live only when a second
person publishes them (both named in the audit record), roll back by publishing an earlier version
again, and run in a sandbox that writes nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import Actor, Conflict, NotAllowed
from engine import queries as q
from engine.drafts import publish, review, version_states
from engine.models import AuditRecord, ProcessInstance
from engine.sandbox import sandbox_run

from .driver import Case
from .test_deployment import MINI, deploy

DEE, ELI = Actor("dee", frozenset({"designer"})), Actor("eli", frozenset({"designer"}))
RENAMED = MINI.replace(b'name="Approve release"', b'name="Approve the release"')


def save_draft(desk, content=RENAMED, actor=DEE):
    from engine.deployment import deploy as do_deploy
    with desk.transaction() as s:
        return do_deploy(s, [("mini.bpmn", content)], actor, desk.clock(), source="modeler", draft=True)


def counts(desk) -> tuple[int, int]:
    with desk.transaction() as s:
        return (s.scalar(select(func.count()).select_from(ProcessInstance)),
                s.scalar(select(func.count()).select_from(AuditRecord)))


def test_a_draft_is_not_live_until_someone_else_publishes_it(desk, mini, actors):
    assert save_draft(desk)["definitions"] == [{"key": "mini_approval", "version": 2, "changed": True,
                                                "status": "draft"}]
    with desk.transaction() as s:
        assert [d.version for d in q.latest_definitions(s) if d.key == mini] == [1]
        assert version_states(s, mini)[2]["status"] == "draft"
    assert Case(desk, mini, "D-1", {}, actors["requester"]).task("approve_release")["name"] == "Approve release"

    with desk.transaction() as s, pytest.raises(NotAllowed, match="someone else"):
        publish(s, mini, 2, DEE, desk.clock())
    with desk.transaction() as s, pytest.raises(NotAllowed):
        publish(s, mini, 2, actors["requester"], desk.clock())
    with desk.transaction() as s:
        info = review(s, mini, 2)
        assert info["problems"] == [] and info["author"] == "dee" and info["live"] == 1
        assert [c["id"] for c in info["diff"]["changed"]] == ["approve_release"]
        publish(s, mini, 2, ELI, desk.clock())
    assert Case(desk, mini, "D-2", {}, actors["requester"]).task("approve_release")["name"] == "Approve the release"
    with desk.transaction() as s:
        record = s.scalars(select(AuditRecord).where(AuditRecord.action == "publish")).one()
        assert (record.actor, record.data["author"], record.data["publisher"]) == ("eli", "dee", "eli")
        assert record.data["previousVersion"] == 1 and record.data["rollback"] is False
        with pytest.raises(Conflict):
            publish(s, mini, 2, ELI, desk.clock())


def test_roll_back_is_publishing_an_earlier_version_again(desk, mini, actors):
    save_draft(desk)
    with desk.transaction() as s:
        publish(s, mini, 2, ELI, desk.clock())
    with desk.transaction() as s:
        publish(s, mini, 1, DEE, desk.clock())  # already reviewed once: any designer may roll back
        assert q.find_definition(s, mini).version == 1 and version_states(s, mini)[2]["status"] == "published"
    assert Case(desk, mini, "R-1", {}, actors["requester"]).refresh()["version"] == 1


def test_test_run_walks_a_draft_through_every_role_and_writes_nothing(desk, mini):
    save_draft(desk)
    before = counts(desk)
    with desk.transaction() as s:
        draft = q.get_definition(s, mini, 2)
        steps = [{"kind": "start", "values": {"case_reference": "TEST-1"}}]
        run = sandbox_run(draft, steps, desk.settings, "dee")
        assert [t["name"] for t in run["ready"]] == ["Approve the release"]
        assert run["ready"][0]["groups"] == ["sio", "oic"]
        bad = steps + [{"kind": "task", "activity": "approve_release", "values": {"decision": "approve"}}]
        run = sandbox_run(draft, bad, desk.settings, "dee")
        assert run["errors"]["rationale"] == "This field is required." and len(run["steps"]) == 1
        steps += [{"kind": "task", "activity": "approve_release",
                   "values": {"decision": "approve", "rationale": "fine", "images_verified": "true"}},
                  {"kind": "task", "activity": "publish_release", "values": {"channels": ["force_website"]}}]
        run = sandbox_run(draft, steps, desk.settings, "dee")
        assert [w["kind"] for w in run["waiting"]] == ["message", "timer"]
        run = sandbox_run(draft, steps + [{"kind": "timer", "activity": "Event_timer"}], desk.settings, "dee")
        assert run["completed"] and run["outcome"] == "Done" and run["variables"]["requested_by"] == "dee"
    assert counts(desk) == before


def test_uploads_not_marked_draft_go_live_at_once(desk, mini):
    assert deploy(desk, [("mini.bpmn", RENAMED)])["definitions"][0]["version"] == 2  # straight to live
    with desk.transaction() as s:
        assert q.find_definition(s, mini).version == 2


def test_no_case_moves_to_a_draft(desk, mini, actors):
    from engine.migration import MigrationRefused, migrate_instance
    case = Case(desk, mini, "M-1", {}, actors["requester"])
    save_draft(desk)
    with desk.transaction() as s, pytest.raises(MigrationRefused, match="draft"):
        migrate_instance(s, desk.runtime, case.id, DEE, 2)
    assert case.refresh()["version"] == 1
