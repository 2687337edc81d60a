"""Pathway 2, wanted person (`wanted_person`): the appeal is live until the person is apprehended,
the appeal is withdrawn or a periodic review removes it; removal has a deadline that escalates to the
head of communications; the media are then informed."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from engine import Actor, Conflict, InvalidForm, NoInstanceWaits, NotAllowed, queries
from engine.models import AuditRecord, DisclosureEntry, Subscription

from .driver import LEGAL_CLEAR, Case, media

START = {
    "summary": "Wanted for a street robbery",
    "person_description": "Male, 30s, slim build, scar on left cheek",
    "offence": "Robbery",
    "necessity_justification": "Suspect is evading arrest and poses a risk to the public",
    **LEGAL_CLEAR,
}
APPROVE = {"decision": "approve", "rationale": "Necessary: suspect evading arrest",
           "risk_assessment": "Low risk of misidentification", "images_verified": True,
           "lawful_necessary_proportionate": True}
PUBLISH = {"channels": ["force_website", "social_media"], "transmission_method": "secure_portal",
           "published_urls": "https://police.example/wanted/wp-1\nhttps://social.example/post/1",
           "published_at": "2024-05-01", "conditions_attached": True}
REMOVE = {"removed_from": ["force_website", "social_media"], "removed_at": "2024-05-03"}
INFORM = {"media_informed_at": "2024-05-03", "statement": "The man has been arrested. Please remove the appeal."}


def live_appeal(desk, actors, key="WP-1", **overrides) -> Case:
    """Start, approve and publish: the appeal is then live."""
    case = Case(desk, "wanted_person", key, {**START, "media_items": [media(desk)], **overrides}, actors["requester"])
    assert case.open_activities() == ["approve_release"]
    case.complete("approve_release", actors["oic"], APPROVE)
    assert case.open_activities() == ["publish_appeal"]
    case.complete("publish_appeal", actors["ccd"], PUBLISH)
    assert case.open_activities() == []
    return case


def waiting_for(desk, case) -> set[str]:
    """The catch events the case waits at (message and timer subscriptions)."""
    with desk.transaction() as s:
        return set(s.scalars(select(Subscription.activity_id).where(Subscription.instance_id == case.id)))


LIVE = {"Event_apprehended", "Event_withdrawn", "Event_review_due"}


def audit_count(desk) -> int:
    with desk.transaction() as s:
        return s.scalar(select(func.count()).select_from(AuditRecord))


def completions(case) -> list[tuple[str, str, str | None]]:
    return [(r["activityId"], r["actor"], r["rationale"]) for r in case.audit() if r["action"] == "complete"]


@pytest.mark.parametrize("message", ["person_apprehended", "appeal_withdrawn"])
def test_message_ends_the_appeal_removal_in_time_then_media_informed(desk, actors, message):
    case = live_appeal(desk, actors)
    assert waiting_for(desk, case) == LIVE
    with desk.transaction() as s:
        entry = s.scalars(select(DisclosureEntry).where(DisclosureEntry.instance_id == case.id)).one()
        assert (entry.actor, entry.activity_id, entry.description) == ("cat", "publish_appeal", "Appeal published")
        assert entry.channels == ["force_website", "social_media"]
        assert {"https://police.example/wanted/wp-1", "https://social.example/post/1"} <= set(entry.destinations)

    integration = Actor("courts_feed", frozenset({"ccd"}))
    note = {"note": "Custody suite CU-77 reported it at 09:40"}
    assert case.send(message, note, actor=integration) == [case.id]
    assert case.open_activities() == ["remove_appeal"]
    task = case.task("remove_appeal")
    created = datetime.fromisoformat(task["createdAt"].replace("Z", "+00:00"))
    due = datetime.fromisoformat(task["dueAt"].replace("Z", "+00:00"))
    assert round((due - created).total_seconds()) == 4 * 3600  # removal_sla default PT4H
    assert case.variables["note"] == "Custody suite CU-77 reported it at 09:40"
    assert waiting_for(desk, case) == {"Event_removal_sla"}  # the other message and the review are gone

    case.complete("remove_appeal", actors["ccd"], REMOVE)
    assert case.open_activities() == ["inform_media"]
    assert case.advance(hours=5) == []  # removed in time: nothing escalates
    case.complete("inform_media", actors["ccd"], INFORM)

    view = case.refresh()
    assert view["state"] == "completed" and view["outcome"] == "Media informed"
    assert "removal_overdue" not in view["completedActivities"]
    trail = case.audit()
    received = [r for r in trail if r["action"] == "message"]
    assert len(received) == 1 and received[0]["actor"] == "courts_feed"
    assert received[0]["data"]["message"] == message and received[0]["data"]["variables"]["note"] == note["note"]
    assert received[0]["rationale"] == note["note"] and received[0]["group"] == "ccd"
    assert [a for a, *_ in completions(case)] == ["approve_release", "publish_appeal", "remove_appeal", "inform_media"]
    assert trail[-1]["action"] == "end" and trail[-1]["activityId"] == "Event_media_informed"


def test_periodic_review_keeps_then_removes_the_appeal(desk, actors):
    case = live_appeal(desk, actors, review_interval="P14D")
    assert case.advance(days=13) == []
    assert case.advance(days=15) == [(case.id, ["Event_review_due"])]
    assert case.open_activities() == ["review_publication"]
    case.complete("review_publication", actors["ccd"], {"review_outcome": "keep", "rationale": "Still outstanding"})
    assert case.open_activities() == []
    # live again: the messages are awaited and the next review is scheduled
    assert waiting_for(desk, case) == LIVE
    assert case.advance(days=15) == [(case.id, ["Event_review_due"])]
    case.complete("review_publication", actors["ccd"], {"review_outcome": "remove", "rationale": "Appeal exhausted"})
    assert case.open_activities() == ["remove_appeal"]
    with pytest.raises(NoInstanceWaits):  # no longer live: a late message finds nothing waiting
        case.send("person_apprehended")
    case.complete("remove_appeal", actors["ccd"], REMOVE)
    case.complete("inform_media", actors["ccd"], INFORM)
    assert case.state == "completed"
    assert case.variables["review_outcome"] == "remove"
    assert [(a, r) for a, _, r in completions(case) if a == "review_publication"] == [
        ("review_publication", "Still outstanding"), ("review_publication", "Appeal exhausted")]
    assert [r["action"] for r in case.audit()].count("timer") == 2


def test_message_during_a_review_interrupts_it(desk, actors):
    case = live_appeal(desk, actors)
    assert case.advance(days=31) == [(case.id, ["Event_review_due"])]
    assert case.open_activities() == ["review_publication"]
    review_id = case.task("review_publication")["id"]
    assert case.send("person_apprehended") == [case.id]
    assert case.open_activities() == ["remove_appeal"]
    with desk.transaction() as s, pytest.raises(Conflict):  # the review was cancelled by the message
        desk.runtime.complete(s, review_id, actors["ccd"], {"review_outcome": "keep", "rationale": "x"})
    assert case.open_activities() == ["remove_appeal"]


def test_late_removal_escalates_to_head_of_comms_and_removal_stays_open(desk, actors):
    case = live_appeal(desk, actors, removal_sla="PT2H")
    case.send("appeal_withdrawn")
    assert case.open_activities() == ["remove_appeal"]
    assert case.advance(hours=1) == []
    assert case.advance(hours=3) == [(case.id, ["Event_removal_sla"])]
    assert case.open_activities() == ["removal_overdue", "remove_appeal"]
    assert case.task("removal_overdue")["candidateGroups"] == ["head_of_comms"]
    # the manager's overdue list shows the removal
    with desk.transaction() as s:
        overdue = queries.list_tasks(s, actors["manager"], overdue_at=datetime.now(timezone.utc) + timedelta(hours=3))
    assert [t["activityId"] for t in overdue] == ["remove_appeal"]

    with pytest.raises(NotAllowed):
        case.complete("removal_overdue", actors["ccd"], {"action_taken": "x", "rationale": "y"})
    case.complete("remove_appeal", actors["ccd"], REMOVE)
    case.complete("inform_media", actors["ccd"], INFORM)
    # the case stays open until the head of communications has recorded the escalation
    assert case.open_activities() == ["removal_overdue"] and case.state == "active"
    case.complete("removal_overdue", actors["head_of_comms"], {
        "action_taken": "Instructed web team to take the appeal down now", "rationale": "Out-of-hours staffing gap"})
    view = case.refresh()
    assert view["state"] == "completed" and view["outcome"] == "Media informed"
    assert {"removal_overdue", "Event_removal_escalated", "remove_appeal"} <= set(view["completedActivities"])
    assert ("removal_overdue", "hana", "Out-of-hours staffing gap") in completions(case)


def test_messages_that_nothing_waits_for_change_nothing(desk, actors):
    case = Case(desk, "wanted_person", "WP-1", {**START, "media_items": [media(desk)]}, actors["requester"])
    before = audit_count(desk)
    with pytest.raises(NoInstanceWaits):  # not published yet: nothing to remove
        case.send("person_apprehended")
    assert case.open_activities() == ["approve_release"] and audit_count(desk) == before
    case.complete("approve_release", actors["sio"], APPROVE)
    with pytest.raises(InvalidForm) as err:  # publication needs its addresses and the conditions of use
        case.complete("publish_appeal", actors["ccd"], {**PUBLISH, "published_urls": "", "conditions_attached": False})
    assert err.value.details == {
        "published_urls": "Give the address of every force website or social media publication",
        "conditions_attached": "Attach the copyright notice and conditions of use before you go on"}
    case.complete("publish_appeal", actors["ccd"], PUBLISH)
    before = audit_count(desk)
    with desk.transaction() as s, pytest.raises(NoInstanceWaits) as err:
        desk.runtime.correlate(s, "person_apprehended", "WP-UNKNOWN", {"note": "Arrested"}, actors["oic"])
    assert err.value.details == {"messageName": "person_apprehended", "businessKey": "WP-UNKNOWN"}
    assert audit_count(desk) == before
    assert case.state == "active" and case.open_activities() == []
    assert waiting_for(desk, case) == LIVE

