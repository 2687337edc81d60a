"""A case that goes round its review loop many times stays as small (and as quick to work) as a
young one: finished loop iterations are dropped from its state, and nothing a user sees changes."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.migration import check
from engine.models import AuditRecord, ProcessInstance

from .test_migration import UNSAFE, deploy_text
from .test_pathway_wanted_person import INFORM, REMOVE, live_appeal

KEEP = {"review_outcome": "keep", "rationale": "Still outstanding"}
ROUNDS = 50


def state_size(desk, case) -> int:
    with desk.read() as s:
        return len(s.get(ProcessInstance, case.id).workflow_json)


def test_fifty_review_rounds_keep_the_state_small_and_the_case_whole(desk, actors):
    case = live_appeal(desk, actors, review_interval="P14D")
    sizes = []
    for n in range(ROUNDS):
        assert case.advance(days=15 * (n + 1)) == [(case.id, ["Event_review_due"])]
        case.complete("review_publication", actors["ccd"], KEEP)
        sizes.append(state_size(desk, case))
    assert max(sizes[-10:]) <= 1.5 * sizes[0], sizes  # without compaction the 50th is ~9x the first

    view = case.refresh()  # the diagram still shows the work done at the start as done
    assert {"approve_release", "publish_appeal", "review_publication"} <= set(view["completedActivities"])
    assert view["variables"]["review_outcome"] == "keep" and view["variables"]["offence"] == "Robbery"
    with desk.read() as s:
        reviews = s.scalar(select(func.count()).where(AuditRecord.instance_id == case.id,
                                                      AuditRecord.activity_id == "review_publication",
                                                      AuditRecord.action == "complete"))
    assert reviews == ROUNDS

    # A new version that changed the long-finished approval may not take this case.
    deploy_text(desk, UNSAFE)
    with desk.read() as s:
        result = check(s, s.get(ProcessInstance, case.id), 2)
    assert not result["safe"] and "approve_release" in result["reason"]

    # And the case still runs to its end.
    case.send("person_apprehended")
    case.complete("remove_appeal", actors["ccd"], REMOVE)
    case.complete("inform_media", actors["ccd"], INFORM)
    assert case.state == "completed"
