"""Pathway 5, custody image release (`custody_image`): started by the `conviction_recorded` message
(or a press-office user); the `custody_release` decision table releases, withholds for an exceptional
reason, or does nothing; release goes through local approval (force setting) and verification on the
day of conviction, with an escalation when it is late."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine import Actor, InvalidForm, NotAllowed, ReleaseDesk

from .driver import LEGAL_CLEAR, Case, disclosures, media

START = {
    "summary": "Sentenced at Crown Court for aggravated burglary",
    "offender_name": "Sam Offender",
    "offence": "Aggravated burglary",
    "sentence_type": "custodial",
    "media_request": True,
    "requesting_media": "Evening Gazette",
    "policing_purpose": "",
    "risk_of_harm_assessed": False,
    "vulnerable_adult": False,
    **LEGAL_CLEAR,
}
APPROVE = {"decision": "approve", "rationale": "Custodial sentence, media request, no exceptional reason"}
RELEASE = {"image_verified": True, "channels": ["force_website", "press_release"],
           "published_urls": "https://police.example/news/sentenced"}
EXPLAIN = {"media_contacted": True, "explanation": "Told the Gazette the image is withheld for a legal reason"}


def today() -> str:
    """Convicted today (UTC): the release is due by the end of today, so nothing is overdue yet."""
    return datetime.now(timezone.utc).date().isoformat()


class Existing(Case):
    """A case started some other way (here: by a message), driven like any other."""

    def __init__(self, desk, instance_id: int, business_key: str) -> None:
        self.desk, self.id, self.business_key = desk, instance_id, business_key


def start(desk, actors, key="CI-1", **overrides) -> Case:
    variables = {**START, "conviction_date": today(), "media_items": [media(desk)], **overrides}
    return Case(desk, "custody_image", key, variables, actors["ccd"])


def decision_table(case) -> dict:
    [record] = [r for r in case.audit() if r["action"] == "decision_table"]
    assert record["activityId"] == "decide_custody_release" and record["actor"] == "system"
    return record["data"]


def completions(case) -> list[tuple[str, str, str | None, str | None]]:
    return [(r["activityId"], r["actor"], r["decision"], r["rationale"])
            for r in case.audit() if r["action"] == "complete"]


def test_release_after_local_approval_and_verification(desk, actors):
    case = start(desk, actors)
    assert decision_table(case) == {"release_decision": "release", "exceptional_reason": ""}
    variables = case.variables
    assert variables["local_approval_required"] is True and variables["requested_by"] == "cat"
    assert case.open_activities() == ["local_approval"]
    case.complete("local_approval", actors["ccd"], APPROVE)
    assert case.open_activities() == ["verify_and_release_custody_image"]
    # due on the day of conviction (end of that day, UTC)
    assert case.task("verify_and_release_custody_image")["dueAt"].startswith(f"{today()}T23:59:59")
    with pytest.raises(InvalidForm) as err:
        case.complete("verify_and_release_custody_image", actors["ccd"], {**RELEASE, "image_verified": False})
    assert err.value.details == {
        "image_verified": "Verify that the image shows the convicted person before it is released."}
    case.complete("verify_and_release_custody_image", actors["ccd"], RELEASE)

    view = case.refresh()
    assert view["state"] == "completed" and view["outcome"] == "Custody image released"
    [entry] = disclosures(desk, case)
    assert (entry.actor, entry.description) == ("cat", "Custody image released")
    assert entry.media_items == view["variables"]["media_items"] and entry.channels == RELEASE["channels"]
    assert entry.destinations == ["https://police.example/news/sentenced"]
    assert entry.details["copyright_notice"] == desk.settings.copyright_notice
    assert completions(case) == [("local_approval", "cat", "approve", APPROVE["rationale"]),
                                 ("verify_and_release_custody_image", "cat", None, None)]


def test_release_without_local_approval_when_the_force_switches_it_off(desk, actors):
    settings = desk.settings.with_overrides(custody_local_approval=False)
    assert settings.database_url == desk.settings.database_url and settings.media_dir == desk.settings.media_dir
    other = ReleaseDesk(settings)
    try:
        case = start(other, actors)
        assert case.variables["local_approval_required"] is False
        assert case.open_activities() == ["verify_and_release_custody_image"]
        case.complete("verify_and_release_custody_image", actors["ccd"], RELEASE)
        view = case.refresh()
        assert view["state"] == "completed" and view["outcome"] == "Custody image released"
        assert "local_approval" not in view["completedActivities"]
        assert len(disclosures(other, case)) == 1
    finally:
        other.dispose()


def test_local_rejection_needs_a_withhold_rationale_explained_to_the_media(desk, actors):
    case = start(desk, actors)
    case.complete("local_approval", actors["ccd"], {"decision": "reject", "rationale": "Victim's family objects"})
    assert case.open_activities() == ["provide_withhold_rationale"]
    case.complete("provide_withhold_rationale", actors["oic"], {"rationale": "Risk to the victim's family"})
    case.complete("log_and_explain_to_media", actors["ccd"], EXPLAIN)
    view = case.refresh()
    assert view["state"] == "completed" and view["outcome"] == "Image withheld, reason explained"
    assert disclosures(desk, case) == []
    assert [a for a, *_ in completions(case)] == ["local_approval", "provide_withhold_rationale",
                                                  "log_and_explain_to_media"]


@pytest.mark.parametrize(("answers", "reason"), [
    ({"court_order_prevents_release": True}, "court_order_prevents_release"),
    ({"reporting_restrictions_in_place": True}, "reporting_restrictions_in_place"),
    ({"subject_is_juvenile": True, "reporting_restrictions_lifted": False}, "subject_is_juvenile"),
    ({"identity_in_issue": True}, "identity_in_issue"),
    ({"risk_of_harm_assessed": True}, "risk_of_harm_assessed"),
    ({"vulnerable_adult": True}, "vulnerable_adult"),
])
def test_exceptional_reason_withholds_with_rationale_logged_and_explained(desk, actors, answers, reason):
    case = start(desk, actors, **answers)
    assert decision_table(case) == {"release_decision": "withhold", "exceptional_reason": reason}
    assert case.open_activities() == ["provide_withhold_rationale"]
    assert case.task("provide_withhold_rationale")["candidateGroups"] == ["sio", "oic"]
    with pytest.raises(NotAllowed):  # the press office logs the rationale; the SIO/OIC gives it
        case.complete("provide_withhold_rationale", actors["ccd"], {"rationale": "x"})
    case.complete("provide_withhold_rationale", actors["sio"], {"rationale": f"Withheld: {reason}",
                                                                "risk_assessment": "Recorded on file"})
    assert case.open_activities() == ["log_and_explain_to_media"]
    with pytest.raises(InvalidForm) as err:  # the media asked: they must be told why
        case.complete("log_and_explain_to_media", actors["ccd"], {**EXPLAIN, "media_contacted": False})
    assert err.value.details == {
        "media_contacted": "The media asked for this image: explain the reason to the requesting media."}
    case.complete("log_and_explain_to_media", actors["ccd"], EXPLAIN)

    view = case.refresh()
    assert view["state"] == "completed" and view["outcome"] == "Image withheld, reason explained"
    assert view["variables"]["exceptional_reason"] == reason
    assert "local_approval" not in view["completedActivities"]
    assert completions(case) == [("provide_withhold_rationale", "sam", None, f"Withheld: {reason}"),
                                 ("log_and_explain_to_media", "cat", None, None)]
    assert disclosures(desk, case) == []


@pytest.mark.parametrize(("answers", "decision"), [
    ({"sentence_type": "non_custodial", "media_request": False, "policing_purpose": ""}, "no_action"),
    ({"sentence_type": "non_custodial", "media_request": False, "policing_purpose": "Reassure victims"}, "release"),
    ({"sentence_type": "awaiting_sentence", "media_request": True}, "release"),
    ({"subject_is_juvenile": True, "reporting_restrictions_lifted": True}, "release"),
])
def test_release_or_no_action_without_exceptional_reasons(desk, actors, answers, decision):
    case = start(desk, actors, **answers)
    assert decision_table(case) == {"release_decision": decision, "exceptional_reason": ""}
    view = case.refresh()
    if decision == "no_action":
        assert view["state"] == "completed" and view["outcome"] == "No action"
        assert case.open_tasks() == []
    else:
        assert view["state"] == "active" and case.open_activities() == ["local_approval"]


def test_conviction_recorded_message_starts_a_case(desk, actors):
    feed = Actor("court_feed", frozenset({"requester"}))
    variables = {**START, "conviction_date": today()}
    with desk.transaction() as s:
        ids = desk.runtime.correlate(s, "conviction_recorded", "CI-77", variables, feed)
    assert len(ids) == 1
    case = Existing(desk, ids[0], "CI-77")
    view = case.refresh()
    assert (view["key"], view["businessKey"], view["state"]) == ("custody_image", "CI-77", "active")
    assert view["variables"]["requested_by"] == "court_feed" and view["variables"]["case_reference"] == "CI-77"
    assert case.open_activities() == ["local_approval"]
    assert case.audit()[0]["action"] == "start" and case.audit()[0]["actor"] == "court_feed"
    # only its declared senders may post it, and the start form applies to the message variables
    with desk.transaction() as s, pytest.raises(NotAllowed):
        desk.runtime.correlate(s, "conviction_recorded", "CI-78", variables, actors["sio"])
    with desk.transaction() as s, pytest.raises(InvalidForm) as err:
        desk.runtime.correlate(s, "conviction_recorded", "CI-78", {"offence": "x"}, feed)
    assert {"offender_name", "conviction_date", "sentence_type"} <= set(err.value.details)


def test_release_not_done_on_conviction_day_escalates(desk, actors):
    case = start(desk, actors)
    case.complete("local_approval", actors["ccd"], APPROVE)
    assert case.advance(hours=0) == []
    end_of_day = datetime.fromisoformat(f"{today()}T23:59:59+00:00")
    assert case.desk.fire_due_timers(end_of_day - timedelta(seconds=1)) == []
    assert case.desk.fire_due_timers(end_of_day + timedelta(seconds=1)) == [(case.id, ["Timer_release_overdue"])]
    assert case.open_activities() == ["custody_release_overdue", "verify_and_release_custody_image"]
    assert case.task("custody_release_overdue")["candidateGroups"] == ["head_of_comms"]
    case.complete("custody_release_overdue", actors["head_of_comms"], {
        "action_taken": "Released first thing next morning", "rationale": "Court result arrived late"})
    assert case.open_activities() == ["verify_and_release_custody_image"] and case.state == "active"
    case.complete("verify_and_release_custody_image", actors["ccd"], RELEASE)
    view = case.refresh()
    assert view["state"] == "completed" and view["outcome"] == "Custody image released"
    assert {"custody_release_overdue", "End_overdue"} <= set(view["completedActivities"])
    assert [r["activityId"] for r in case.audit() if r["action"] == "timer"] == ["Timer_release_overdue"]

    # a conviction day already past: the release is overdue as soon as it is reached, and the
    # timer firing is on the record like any other
    yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).date().isoformat()
    late = start(desk, actors, key="CI-2", conviction_date=yesterday)
    late.complete("local_approval", actors["ccd"], APPROVE)
    assert late.open_activities() == ["custody_release_overdue", "verify_and_release_custody_image"]
    timers = [r for r in late.audit() if r["action"] == "timer"]
    assert [(r["activityId"], r["actor"]) for r in timers] == [("Timer_release_overdue", "system")]
    assert timers[0]["data"]["due"].startswith(f"{yesterday}T23:59:59")
    # released before the head of comms closes the escalation: the outcome is still the release
    late.complete("verify_and_release_custody_image", actors["ccd"], RELEASE)
    assert late.state == "active" and late.open_activities() == ["custody_release_overdue"]
    late.complete("custody_release_overdue", actors["head_of_comms"], {"action_taken": "Released late"})
    view = late.refresh()
    assert view["state"] == "completed" and view["outcome"] == "Custody image released"
