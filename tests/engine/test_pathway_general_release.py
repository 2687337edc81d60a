"""Pathway 1, general release (`general_release`): legal screen, CPS referral, SIO/OIC approval,
preparation, publication with a disclosure-log entry, and the CCD review loop driven by timers."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import InvalidForm, NotAllowed
from engine.models import AuditRecord

from .driver import LEGAL_CLEAR, Case, disclosures, media

START = {
    "summary": "CCTV still of a suspect in a shop theft",
    "purpose": "criminal_investigation",
    "policing_purpose": "Identify the suspect in a series of shop thefts",
    "justification": "Lawful under common law; necessary as other enquiries failed; proportionate",
    **LEGAL_CLEAR,
}
APPROVE = {"decision": "approve", "rationale": "Necessary: all other enquiries exhausted",
           "risk_assessment": "Low risk to the person depicted", "images_verified": True,
           "lawful_necessary_proportionate": True}
PREPARE = {"channels": ["force_website", "press_release"], "transmission_method": "secure_portal",
           "recipients": "Local newsroom", "conditions_attached": True}
PUBLISH = {"published_urls": "https://police.example/appeals/gr-1", "published_at": "2024-05-01"}


def start(desk, actors, key="GR-1", **overrides) -> Case:
    return Case(desk, "general_release", key, {**START, "media_items": [media(desk)], **overrides},
                actors["requester"])


def audit_count(desk) -> int:
    with desk.transaction() as s:
        return s.scalar(select(func.count()).select_from(AuditRecord))


def completions(case) -> list[tuple[str, str, str | None, str | None]]:
    return [(r["activityId"], r["actor"], r["decision"], r["rationale"])
            for r in case.audit() if r["action"] == "complete"]


def publish(case, actors) -> None:
    case.complete("approve_release", actors["sio"], APPROVE)
    assert case.open_activities() == ["prepare_release"]
    case.complete("prepare_release", actors["ccd"], PREPARE)
    assert case.open_activities() == ["publish_release"]
    case.complete("publish_release", actors["ccd"], PUBLISH)
    assert case.open_activities() == []


@pytest.mark.parametrize("final", ["archive", "remove"])
def test_approved_release_is_published_then_reviewed_until_archived_or_removed(desk, actors, final):
    case = start(desk, actors, review_interval="P7D")
    view = case.refresh()
    assert view["activeActivities"] == ["approve_release"]
    assert view["variables"]["legal_outcome"] == "proceed"
    case.complete("approve_release", actors["sio"], APPROVE)
    assert case.open_activities() == ["prepare_release"]
    with pytest.raises(InvalidForm) as err:
        case.complete("prepare_release", actors["ccd"], {**PREPARE, "conditions_attached": False})
    assert err.value.details == {
        "conditions_attached": "Attach the copyright notice and conditions of use before you go on"}
    with pytest.raises(InvalidForm) as err:  # only the force's configured transmission methods
        case.complete("prepare_release", actors["ccd"], {**PREPARE, "transmission_method": "carrier_pigeon"})
    assert set(err.value.details) == {"transmission_method"}
    case.complete("prepare_release", actors["ccd"], PREPARE)
    assert case.open_activities() == ["publish_release"]
    with pytest.raises(InvalidForm) as err:  # published on the force website: give the address
        case.complete("publish_release", actors["ccd"], {"published_at": "2024-05-01"})
    assert err.value.details == {
        "published_urls": "Give the address of every force website or social media publication"}
    assert disclosures(desk, case) == []
    case.complete("publish_release", actors["ccd"], PUBLISH)
    assert case.open_activities() == []

    [entry] = disclosures(desk, case)
    assert entry.actor == "cat" and entry.activity_id == "publish_release"
    assert entry.channels == PREPARE["channels"]
    # where it went: the URLs published plus the recipients and transmission method chosen when preparing
    assert set(entry.destinations) == {"https://police.example/appeals/gr-1", "Local newsroom", "secure_portal"}
    assert entry.media_items == case.variables["media_items"]
    assert entry.details["copyright_notice"] == desk.settings.copyright_notice
    assert entry.details["conditions_of_use"] == desk.settings.conditions_of_use

    # the review interval runs from publication: nothing is due before it
    assert case.advance(days=6) == []
    assert case.advance(days=8) == [(case.id, ["Event_review_due"])]
    case.complete("review_publication", actors["ccd"], {"review_outcome": "keep", "rationale": "Suspect still sought"})
    assert case.open_activities() == [] and case.state == "active"
    # keep waits another interval (counted from the keep decision)
    assert case.advance(days=6) == []
    assert case.advance(days=16) == [(case.id, ["Event_review_due"])]
    case.complete("review_publication", actors["ccd"], {"review_outcome": final, "rationale": "Appeal has run its course"})
    assert case.open_activities() == ["archive_or_remove"]
    case.complete("archive_or_remove", actors["ccd"], {
        "archive_action": "archived" if final == "archive" else "removed",
        "removed_from": ["force_website"], "actioned_at": "2024-06-01"})

    view = case.refresh()
    assert view["state"] == "completed" and view["outcome"] == "Publication archived or removed"
    assert case.variables["review_outcome"] == final
    assert completions(case) == [
        ("approve_release", "sam", "approve", APPROVE["rationale"]),
        ("prepare_release", "cat", None, None),
        ("publish_release", "cat", None, None),
        ("review_publication", "cat", None, "Suspect still sought"),
        ("review_publication", "cat", None, "Appeal has run its course"),
        ("archive_or_remove", "cat", None, None),
    ]
    assert [r["action"] for r in case.audit()].count("timer") == 2
    assert len(disclosures(desk, case)) == 1  # reviews and archiving are not new disclosures


def test_rejected_release_ends_refused_and_nothing_is_prepared(desk, actors):
    case = start(desk, actors)
    case.complete("approve_release", actors["oic"], {
        "decision": "reject", "rationale": "Not proportionate at this stage", "risk_assessment": "Risk of misidentification"})
    view = case.refresh()
    assert view["state"] == "completed" and view["outcome"] == "Release refused"
    assert "Event_rejected" in view["completedActivities"]
    assert "prepare_release" not in view["completedActivities"]
    assert case.open_tasks() == []
    assert completions(case) == [("approve_release", "olly", "reject", "Not proportionate at this stage")]
    assert disclosures(desk, case) == []


def test_approval_requires_verified_images_and_lawful_release(desk, actors):
    case = start(desk, actors)
    before = audit_count(desk)
    for field, message in [
        ("images_verified", "An approved release must have its images verified by the SIO or OIC"),
        ("lawful_necessary_proportionate", "A release may only be approved when it is lawful, necessary and proportionate"),
    ]:
        with pytest.raises(InvalidForm) as err:
            case.complete("approve_release", actors["sio"], {**APPROVE, field: False})
        assert err.value.details == {field: message}
    assert case.open_activities() == ["approve_release"]
    assert audit_count(desk) == before
    # the press office cannot approve on the investigation's behalf
    with pytest.raises(NotAllowed):
        case.complete("approve_release", actors["ccd"], APPROVE)
    assert case.open_activities() == ["approve_release"]


@pytest.mark.parametrize(("answers", "reason"), [
    ({"sexual_offence_complainant_depicted": True}, "sexual offence complainant depicted"),
    ({"court_order_prevents_release": True}, "court order prevents release"),
    ({"reporting_restrictions_in_place": True}, "reporting restrictions in place"),
    ({"subject_is_juvenile": True}, "juvenile: reporting restrictions not lifted"),
])
def test_legal_screen_block_ends_at_recorded_refusal(desk, actors, answers, reason):
    case = start(desk, actors, **answers)
    variables = case.variables
    assert (variables["legal_outcome"], variables["legal_reason"]) == ("block", reason)
    assert case.open_activities() == ["record_refusal"]
    screen = [r for r in case.audit() if r["action"] == "decision_table"]
    assert screen[0]["activityId"] == "legal_screen" and screen[0]["data"]["legal_outcome"] == "block"
    with pytest.raises(NotAllowed):
        case.complete("record_refusal", actors["ccd"], {"rationale": "x"})
    case.complete("record_refusal", actors["sio"], {"rationale": f"Legal bar: {reason}"})
    view = case.refresh()
    assert view["state"] == "completed" and view["outcome"] == "Release refused"
    assert "approve_release" not in view["completedActivities"]
    assert completions(case) == [("record_refusal", "sam", None, f"Legal bar: {reason}")]


CPS_CASE = {"proceedings_active": True, "identity_in_issue": True}


@pytest.mark.parametrize("advice", ["release", "release_with_conditions"])
def test_cps_referral_records_advice_before_approval(desk, actors, advice):
    case = start(desk, actors, **CPS_CASE)
    assert case.variables["legal_outcome"] == "refer_cps"
    assert case.open_activities() == ["record_cps_advice"]
    values = {"cps_advice": advice, "cps_contact": "J. Smith, CPS Area", "advice_date": "2024-04-30",
              "rationale": "CPS content for release"}
    if advice == "release_with_conditions":
        with pytest.raises(InvalidForm) as err:
            case.complete("record_cps_advice", actors["oic"], values)
        assert err.value.details == {"cps_conditions": "Record the conditions the CPS set"}
        values["cps_conditions"] = "No mention of the co-accused"
    case.complete("record_cps_advice", actors["oic"], values)
    assert case.open_activities() == ["approve_release"]
    variables = case.variables
    assert variables["cps_advice"] == advice and variables["cps_contact"] == "J. Smith, CPS Area"
    publish(case, actors)
    assert [a for a, *_ in completions(case)] == ["record_cps_advice", "approve_release", "prepare_release",
                                                  "publish_release"]


def test_cps_advice_not_to_release_ends_at_recorded_refusal(desk, actors):
    case = start(desk, actors, **CPS_CASE)
    case.complete("record_cps_advice", actors["sio"], {
        "cps_advice": "do_not_release", "cps_contact": "J. Smith", "advice_date": "2024-04-30",
        "rationale": "Identification evidence would be compromised"})
    assert case.open_activities() == ["record_refusal"]
    case.complete("record_refusal", actors["oic"], {"rationale": "CPS advised against release"})
    view = case.refresh()
    assert view["state"] == "completed" and view["outcome"] == "Release refused"
    assert "approve_release" not in view["completedActivities"]
    assert completions(case) == [
        ("record_cps_advice", "sam", None, "Identification evidence would be compromised"),
        ("record_refusal", "olly", None, "CPS advised against release"),
    ]


def test_start_form_and_juvenile_with_restrictions_lifted(desk, actors):
    with desk.transaction() as s, pytest.raises(InvalidForm) as err:
        desk.runtime.start(s, "general_release", "GR-9", {"summary": "x", **LEGAL_CLEAR}, actors["requester"])
    assert {"purpose", "policing_purpose", "justification", "media_items"} <= set(err.value.details)
    with desk.transaction() as s, pytest.raises(NotAllowed):
        desk.runtime.start(s, "general_release", "GR-9", {**START, "media_items": [media(desk)]}, actors["ccd"])
    # a juvenile whose reporting restrictions were lifted is not barred by the legal screen
    case = start(desk, actors, subject_is_juvenile=True, reporting_restrictions_lifted=True)
    assert case.variables["legal_outcome"] == "proceed"
    assert case.open_activities() == ["approve_release"]
    assert case.variables["requested_by"] == "rita"
