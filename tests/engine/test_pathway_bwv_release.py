"""Pathway 6, body-worn video (`bwv_release`): legal screen, operational sensitivity, CPS
consultation, a routine SIO/OIC decision or a joint decision by a senior officer and the head of
communications, then redaction and its verification, publication and review, or a non-reportable
viewing, or a recorded refusal."""
from __future__ import annotations

import pytest

from engine import InvalidForm, NotAllowed

from .driver import LEGAL_CLEAR, Case, decisions, disclosures, media

START = {
    "summary": "Arrest outside a nightclub filmed by bystanders",
    "purpose": "public_reassurance",
    "high_profile": False,
    "third_parties_depicted": False,
    **LEGAL_CLEAR,
}
NOT_SENSITIVE = {"ongoing_investigation_prejudice": False, "operationally_sensitive": False,
                 "cps_consultation_needed": False, "rationale": "No live enquiry would be prejudiced"}
PUBLISH = {"channels": ["force_website", "broadcast_media"], "published_urls": "https://police.example/bwv/1",
           "conditions_attached": True, "transmission_method": "secure_portal"}
REDACTION_REQUIRED = "Third parties are depicted: the footage must be redacted before release."


def start(desk, actors, key="BWV-1", **overrides) -> Case:
    return Case(desk, "bwv_release", key, {**START, "media_items": [media(desk)], **overrides}, actors["requester"])


def cleared(desk, actors, **overrides) -> Case:
    """Started and past the operational-sensitivity check with nothing found."""
    case = start(desk, actors, **overrides)
    assert case.open_activities() == ["check_operational_sensitivity"]
    case.complete("check_operational_sensitivity", actors["oic"], NOT_SENSITIVE)
    return case


def refuse(case, actors) -> dict:
    assert case.open_activities() == ["record_refusal"]
    case.complete("record_refusal", actors["sio"], {"rationale": "Recorded: footage not released"})
    view = case.refresh()
    assert view["state"] == "completed" and view["outcome"] == "Release refused"
    return view


@pytest.mark.parametrize(("answers", "finding"), [
    ({"sexual_offence_complainant_depicted": True}, None),  # the legal screen blocks before any check
    ({}, "ongoing_investigation_prejudice"),
    ({}, "operationally_sensitive"),
])
def test_legal_block_prejudice_or_operational_sensitivity_refuses_release(desk, actors, answers, finding):
    case = start(desk, actors, **answers)
    if finding is None:
        assert case.variables["legal_outcome"] == "block"
        view = refuse(case, actors)
        assert "check_operational_sensitivity" not in view["completedActivities"]
        return
    assert case.variables["legal_outcome"] == "proceed"
    with pytest.raises(NotAllowed):  # the OIC makes this check
        case.complete("check_operational_sensitivity", actors["sio"], NOT_SENSITIVE)
    case.complete("check_operational_sensitivity", actors["oic"], {
        **NOT_SENSITIVE, finding: True, "rationale": "Suspects still being traced"})
    view = refuse(case, actors)
    assert not {"release_decision", "senior_release_decision"} & set(view["completedActivities"])
    assert decisions(case) == [("check_operational_sensitivity", "olly", None, "Suspects still being traced"),
                               ("record_refusal", "sam", None, "Recorded: footage not released")]


@pytest.mark.parametrize(("answers", "oic_asks_cps"), [
    ({"proceedings_active": True, "identity_in_issue": True}, False),  # legal screen refers to the CPS
    ({"proceedings_active": True}, False),                             # proceedings active
    ({}, True),                                                        # the OIC asks for early consultation
])
def test_cps_advice_is_recorded_before_the_decision(desk, actors, answers, oic_asks_cps):
    case = start(desk, actors, **answers)
    case.complete("check_operational_sensitivity", actors["oic"], {**NOT_SENSITIVE, "cps_consultation_needed": oic_asks_cps})
    assert case.open_activities() == ["record_cps_advice"]
    case.complete("record_cps_advice", actors["sio"], {"cps_advice": "release", "cps_contact": "CPS duty lawyer",
                                                       "advice_date": "2024-05-02", "rationale": "No objection"})
    assert case.open_activities() == ["release_decision"]
    assert case.variables["cps_advice"] == "release"


def test_routine_release_is_redacted_verified_published_and_reviewed(desk, actors):
    case = cleared(desk, actors, third_parties_depicted=True, review_interval="P10D")
    assert case.open_activities() == ["release_decision"]  # not high-profile: the SIO/OIC decides alone
    case.complete("release_decision", actors["oic"], {"decision": "release", "rationale": "Reassures the public",
                                                      "risk_assessment": "Low"})
    assert case.variables["bwv_outcome"] == "release"
    assert case.open_activities() == ["redact_footage"]
    with pytest.raises(InvalidForm) as err:
        case.complete("redact_footage", actors["ccd"], {"redaction_done": False})
    assert err.value.details == {"redaction_done": REDACTION_REQUIRED}
    with pytest.raises(InvalidForm) as err:
        case.complete("redact_footage", actors["ccd"], {"redaction_done": True})
    assert err.value.details == {"redacted_media_items": "Attach the redacted footage."}
    first_cut = media(desk, (90, 90, 90))
    case.complete("redact_footage", actors["ccd"], {"redaction_done": True, "redacted_media_items": [first_cut]})
    assert case.open_activities() == ["verify_redaction"]
    case.complete("verify_redaction", actors["sio"], {"decision": "not_verified", "rationale": "A face is visible at 0:42"})
    assert case.open_activities() == ["redact_footage"]  # back for another pass
    final_cut = media(desk, (10, 10, 10))
    case.complete("redact_footage", actors["ccd"], {"redaction_done": True, "redacted_media_items": [final_cut]})
    case.complete("verify_redaction", actors["sio"], {"decision": "verified", "rationale": "All bystanders blurred"})
    assert case.open_activities() == ["publish_footage"]
    with pytest.raises(InvalidForm) as err:
        case.complete("publish_footage", actors["ccd"], {**PUBLISH, "conditions_attached": False})
    assert set(err.value.details) == {"conditions_attached"}
    case.complete("publish_footage", actors["ccd"], PUBLISH)

    [entry] = disclosures(desk, case)
    assert (entry.actor, entry.description) == ("cat", "BWV footage released")
    assert entry.media_items == [final_cut]  # the verified redacted footage, not the original
    assert entry.channels == PUBLISH["channels"] and "https://police.example/bwv/1" in entry.destinations
    assert entry.details["conditions_of_use"] == desk.settings.conditions_of_use

    assert case.advance(days=9) == []
    assert case.advance(days=11) == [(case.id, ["Timer_review"])]
    case.complete("review_publication", actors["ccd"], {"review_outcome": "keep", "rationale": "Still of public interest"})
    assert case.open_activities() == []
    assert case.advance(days=11) == [(case.id, ["Timer_review"])]
    case.complete("review_publication", actors["ccd"], {"review_outcome": "archive", "rationale": "Incident closed"})
    assert case.open_activities() == ["archive_or_remove"]
    case.complete("archive_or_remove", actors["ccd"], {"removed_from": ["force_website"], "notes": "Archived"})
    view = case.refresh()
    assert view["state"] == "completed" and view["outcome"] == "Footage archived or removed"
    assert [(a, d) for a, _, d, _ in decisions(case)] == [
        ("check_operational_sensitivity", None), ("release_decision", "release"), ("redact_footage", None),
        ("verify_redaction", "not_verified"), ("redact_footage", None), ("verify_redaction", "verified"),
        ("publish_footage", None), ("review_publication", None), ("review_publication", None),
        ("archive_or_remove", None)]


@pytest.mark.parametrize(("decision", "next_task"), [("alternative_viewing", "arrange_viewing"),
                                                     ("withhold", "record_refusal")])
def test_routine_decision_to_show_or_withhold(desk, actors, decision, next_task):
    case = cleared(desk, actors)
    case.complete("release_decision", actors["sio"], {"decision": decision, "rationale": "Case by case"})
    assert case.variables["bwv_outcome"] == decision
    assert case.open_activities() == [next_task]
    if decision == "withhold":
        refuse(case, actors)
        assert disclosures(desk, case) == []
        return
    viewing = {"viewing_date": "2024-05-10", "attendees": "Community leaders\nLocal editors",
               "non_reportable_terms_agreed": False}
    with pytest.raises(InvalidForm) as err:
        case.complete("arrange_viewing", actors["ccd"], viewing)
    assert err.value.details == {
        "non_reportable_terms_agreed": "Attendees must agree that the viewing is non-reportable."}
    case.complete("arrange_viewing", actors["ccd"], {**viewing, "non_reportable_terms_agreed": True})
    view = case.refresh()
    assert view["state"] == "completed" and view["outcome"] == "Viewing arranged"
    assert "redact_footage" not in view["completedActivities"]
    [entry] = disclosures(desk, case)
    assert entry.description == "BWV shown on a non-reportable basis"
    assert entry.destinations == ["Community leaders\nLocal editors"]


@pytest.mark.parametrize(("purpose", "high_profile", "senior", "head_of_comms", "outcome", "next_task"), [
    ("open_justice", True, "release", "release", "release", "redact_footage"),
    ("counter_misinformation", False, "release", "release", "release", "redact_footage"),
    ("open_justice", True, "release", "withhold", "withhold", "record_refusal"),
    ("counter_misinformation", True, "release", "alternative_viewing", "alternative_viewing", "arrange_viewing"),
])
def test_high_profile_or_misinformation_needs_both_senior_officer_and_head_of_comms(
        desk, actors, purpose, high_profile, senior, head_of_comms, outcome, next_task):
    case = cleared(desk, actors, purpose=purpose, high_profile=high_profile)
    assert case.open_activities() == ["head_of_comms_consultation", "senior_release_decision"]
    with pytest.raises(NotAllowed):
        case.complete("senior_release_decision", actors["oic"], {"decision": "release", "rationale": "x"})
    with pytest.raises(NotAllowed):
        case.complete("head_of_comms_consultation", actors["sio"], {"decision": "release", "rationale": "x"})
    case.complete("senior_release_decision", actors["senior_ops"], {
        "decision": senior, "rationale": "Correct the false account", "risk_assessment": "Moderate"})
    assert case.open_activities() == ["head_of_comms_consultation"]  # waits for the head of comms
    case.complete("head_of_comms_consultation", actors["head_of_comms"], {
        "decision": head_of_comms, "rationale": f"Comms view: {head_of_comms}"})

    variables = case.variables
    assert (variables["senior_decision"], variables["head_of_comms_decision"]) == (senior, head_of_comms)
    assert variables["bwv_outcome"] == outcome
    assert case.open_activities() == [next_task]
    # both record their decision and rationale
    assert decisions(case)[1:] == [
        ("senior_release_decision", "sol", senior, "Correct the false account"),
        ("head_of_comms_consultation", "hana", head_of_comms, f"Comms view: {head_of_comms}")]
    assert "release_decision" not in case.refresh()["completedActivities"]
    if next_task == "redact_footage":  # no third parties depicted: redaction is optional
        case.complete("redact_footage", actors["ccd"], {"redaction_done": False, "notes": "Nothing to redact"})
        assert case.open_activities() == ["verify_redaction"]
    elif next_task == "record_refusal":
        refuse(case, actors)
