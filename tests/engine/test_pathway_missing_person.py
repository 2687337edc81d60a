"""Pathway 3, missing person (`missing_person`): a family image first; a custody photograph only as a
last resort judged by the OIC; risk-assessed information; the appeal is live until the person is
found, then removed (with the removal deadline escalation) and the media informed."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import InvalidForm, NotAllowed
from engine.models import DisclosureEntry

from .driver import Case, media

START = {
    "summary": "Missing from home since Friday evening",
    "risk_level": "high",
    "previously_in_custody": False,
    "person_description": "Female, 16, dark hair, last seen wearing a red coat",
}
ASSESS_INFO = {"information_to_release": "Name, age, description and last known location",
               "withheld_information": "Medical condition", "risk_assessment": "High risk: release is proportionate"}
PUBLISH = {"channels": ["force_website", "social_media"], "transmission_method": "encrypted_email",
           "published_urls": "https://police.example/missing/mp-1", "published_at": "2024-05-01",
           "conditions_attached": True}
NOT_OBTAINED = {"image_obtained": False, "avenues_tried": "Family, school and friends asked; none recent"}
CUSTODY_IMAGE_REFUSED = ("Use the custody photograph only when the OIC has approved it as a last resort, "
                         "and the family image only when one was obtained")


def start(desk, actors, key="MP-1", **overrides) -> Case:
    return Case(desk, "missing_person", key, {**START, **overrides}, actors["requester"])


def disclosure(desk, case) -> DisclosureEntry:
    with desk.transaction() as s:
        entry = s.scalars(select(DisclosureEntry).where(DisclosureEntry.instance_id == case.id)).one()
        s.expunge(entry)
        return entry


def completions(case) -> list[tuple[str, str]]:
    return [(r["activityId"], r["actor"]) for r in case.audit() if r["action"] == "complete"]


def test_family_image_is_published_and_removed_when_the_person_is_found(desk, actors):
    case = start(desk, actors, previously_in_custody=True)
    assert case.open_activities() == ["obtain_family_image"]
    assert case.task("obtain_family_image")["candidateGroups"] == ["oic"]
    with pytest.raises(InvalidForm) as err:  # "obtained" needs the image and who gave it
        case.complete("obtain_family_image", actors["oic"], {"image_obtained": True})
    assert set(err.value.details) == {"media_items", "image_source"}
    with pytest.raises(NotAllowed):  # the OIC, not the SIO, obtains the image
        case.complete("obtain_family_image", actors["sio"], NOT_OBTAINED)
    photo = media(desk)
    case.complete("obtain_family_image", actors["oic"], {
        "image_obtained": True, "image_source": "Mother", "image_recent": True, "media_items": [photo]})
    # a family image was obtained: no custody-image assessment even though previously in custody
    assert case.open_activities() == ["assess_information_release"]
    assert case.variables["use_custody_image"] is False
    case.complete("assess_information_release", actors["oic"], ASSESS_INFO)
    assert case.open_activities() == ["publish_appeal"]
    case.complete("publish_appeal", actors["ccd"], {**PUBLISH, "image_used": "family_image"})
    entry = disclosure(desk, case)
    assert entry.description == "Appeal published" and entry.actor == "cat"
    assert entry.media_items == [photo] and entry.channels == ["force_website", "social_media"]
    assert "https://police.example/missing/mp-1" in entry.destinations

    assert case.open_activities() == []
    assert case.send("person_found") == [case.id]
    assert case.open_activities() == ["remove_appeal"]
    with pytest.raises(InvalidForm) as err:
        case.complete("remove_appeal", actors["ccd"], {"removed_from": ["force_website"], "removed_at": "2024-05-04"})
    assert err.value.details == {"all_publicity_removed": "Remove the appeal and all associated publicity"}
    case.complete("remove_appeal", actors["ccd"], {"removed_from": ["force_website", "social_media"],
                                                   "removed_at": "2024-05-04", "all_publicity_removed": True})
    assert case.open_activities() == ["inform_media"]
    with pytest.raises(InvalidForm) as err:
        case.complete("inform_media", actors["ccd"], {"media_informed_at": "2024-05-04"})
    assert set(err.value.details) == {"return_details_withheld"}
    case.complete("inform_media", actors["ccd"], {"media_informed_at": "2024-05-04", "return_details_withheld": True})

    view = case.refresh()
    assert view["state"] == "completed" and view["outcome"] == "Media informed"
    assert "assess_custody_image" not in view["completedActivities"]
    # the statement defaults to "no longer missing" and gives nothing about the return
    assert "no longer missing" in view["variables"]["statement"]
    assert completions(case) == [("obtain_family_image", "olly"), ("assess_information_release", "olly"),
                                 ("publish_appeal", "cat"), ("remove_appeal", "cat"), ("inform_media", "cat")]
    assert [r["data"]["message"] for r in case.audit() if r["action"] == "message"] == ["person_found"]


def test_custody_image_used_as_last_resort_when_both_tests_are_met(desk, actors):
    case = start(desk, actors, previously_in_custody=True)
    case.complete("obtain_family_image", actors["oic"], NOT_OBTAINED)
    assert case.open_activities() == ["assess_custody_image"]
    assessment = {"other_avenues_exhausted": True, "harm_outweighs_image_risk": True,
                  "rationale": "High risk; no other recent image exists"}
    with pytest.raises(InvalidForm) as err:
        case.complete("assess_custody_image", actors["oic"], assessment)
    assert err.value.details == {"custody_media_items": "Attach the custody photograph to be used"}
    custody_photo = media(desk, (200, 10, 10))
    case.complete("assess_custody_image", actors["oic"], {**assessment, "custody_media_items": [custody_photo]})
    assert case.variables["use_custody_image"] is True
    assert case.open_activities() == ["assess_information_release"]
    case.complete("assess_information_release", actors["oic"], ASSESS_INFO)
    with pytest.raises(InvalidForm) as err:  # no family image was obtained
        case.complete("publish_appeal", actors["ccd"], {**PUBLISH, "image_used": "family_image"})
    assert err.value.details == {"image_used": CUSTODY_IMAGE_REFUSED}
    case.complete("publish_appeal", actors["ccd"], {**PUBLISH, "image_used": "custody_image"})
    assert disclosure(desk, case).media_items == [custody_photo]  # the log names the image actually released
    trail = [r for r in case.audit() if r["activityId"] == "assess_custody_image"]
    assert trail[0]["actor"] == "olly" and trail[0]["rationale"] == "High risk; no other recent image exists"


@pytest.mark.parametrize(("exhausted", "harm"), [(True, False), (False, True)])
def test_custody_image_not_used_unless_both_tests_are_met(desk, actors, exhausted, harm):
    case = start(desk, actors, previously_in_custody=True)
    case.complete("obtain_family_image", actors["oic"], NOT_OBTAINED)
    case.complete("assess_custody_image", actors["oic"], {
        "other_avenues_exhausted": exhausted, "harm_outweighs_image_risk": harm,
        "rationale": "Not a last resort", "custody_media_items": [media(desk)]})
    assert case.variables["use_custody_image"] is False
    case.complete("assess_information_release", actors["oic"], ASSESS_INFO)
    with pytest.raises(InvalidForm) as err:
        case.complete("publish_appeal", actors["ccd"], {**PUBLISH, "image_used": "custody_image"})
    assert err.value.details == {"image_used": CUSTODY_IMAGE_REFUSED}
    assert case.open_activities() == ["publish_appeal"]
    case.complete("publish_appeal", actors["ccd"], {**PUBLISH, "image_used": "no_image"})
    assert disclosure(desk, case).media_items == []  # the appeal went out without an image
    assert case.variables["image_used"] == "no_image"


def test_never_in_custody_goes_straight_to_information_assessment(desk, actors):
    case = start(desk, actors, previously_in_custody=False)
    case.complete("obtain_family_image", actors["oic"], NOT_OBTAINED)
    assert case.open_activities() == ["assess_information_release"]
    view = case.refresh()
    assert view["variables"]["use_custody_image"] is False
    assert "assess_custody_image" not in view["completedActivities"]
    case.complete("assess_information_release", actors["oic"], ASSESS_INFO)
    with pytest.raises(InvalidForm):
        case.complete("publish_appeal", actors["ccd"], {**PUBLISH, "image_used": "custody_image"})
    case.complete("publish_appeal", actors["ccd"], {**PUBLISH, "image_used": "no_image"})
    assert case.open_activities() == [] and case.state == "active"


def test_found_during_review_interrupts_it_and_late_removal_escalates(desk, actors):
    case = start(desk, actors, review_interval="P7D", removal_sla="PT1H")
    case.complete("obtain_family_image", actors["oic"], {
        "image_obtained": True, "image_source": "Friend", "media_items": [media(desk)]})
    case.complete("assess_information_release", actors["oic"], ASSESS_INFO)
    case.complete("publish_appeal", actors["ccd"], {**PUBLISH, "image_used": "family_image"})
    assert case.advance(days=8) == [(case.id, ["Event_review_due"])]
    case.complete("review_publication", actors["ccd"], {"review_outcome": "keep", "rationale": "Still missing"})
    assert case.advance(days=8) == [(case.id, ["Event_review_due"])]
    assert case.open_activities() == ["review_publication"]
    case.send("person_found", {"found_at": "2024-05-20", "note": "Family called at 08:15"})
    assert case.open_activities() == ["remove_appeal"]
    assert case.advance(hours=2) == [(case.id, ["Event_removal_sla"])]
    assert case.open_activities() == ["removal_overdue", "remove_appeal"]
    case.complete("removal_overdue", actors["head_of_comms"], {"action_taken": "Chased the web team",
                                                                "rationale": "Weekend cover"})
    case.complete("remove_appeal", actors["ccd"], {"removed_from": ["force_website", "social_media"],
                                                   "removed_at": "2024-05-20", "all_publicity_removed": True})
    case.complete("inform_media", actors["ccd"], {"media_informed_at": "2024-05-20", "return_details_withheld": True})
    view = case.refresh()
    assert view["state"] == "completed" and view["outcome"] == "Media informed"
    assert [a for a, _ in completions(case)] == [
        "obtain_family_image", "assess_information_release", "publish_appeal", "review_publication",
        "removal_overdue", "remove_appeal", "inform_media"]
    assert [r["action"] for r in case.audit()].count("timer") == 3
