"""Pathway 4, tribute image (`tribute_image`): a family photograph of a deceased person, released only
with the family's consent and after the OIC or the family liaison officer verifies it."""
from __future__ import annotations

import pytest

from engine import InvalidForm, NotAllowed

from .driver import Case, decisions, disclosures, media

START = {
    "summary": "Tribute to the victim of a fatal collision",
    "deceased_name": "Alex Example",
    "family_consent": True,
    "family_wording": "A much-loved son and brother",
}
RELEASE = {"channels": ["force_website", "press_release"], "published_urls": "https://police.example/news/tribute"}


def start(desk, actor, key="TI-1", **overrides) -> Case:
    return Case(desk, "tribute_image", key, {**START, "media_items": [media(desk)], **overrides}, actor)


def test_verified_image_is_released_with_a_disclosure_entry(desk, actors):
    case = start(desk, actors["flo"])
    assert case.variables["requested_by"] == "fay"
    assert case.open_activities() == ["verify_tribute_image"]
    assert case.task("verify_tribute_image")["candidateGroups"] == ["oic", "flo"]
    with pytest.raises(NotAllowed):  # the press office may not verify
        case.complete("verify_tribute_image", actors["ccd"], {"decision": "verified", "rationale": "x"})
    case.complete("verify_tribute_image", actors["oic"], {"decision": "verified", "rationale": "Family confirmed the photo"})
    assert case.open_activities() == ["release_tribute"]
    case.complete("release_tribute", actors["ccd"], RELEASE)

    view = case.refresh()
    assert view["state"] == "completed" and view["outcome"] == "Tribute image released"
    [entry] = disclosures(desk, case)
    assert (entry.actor, entry.description) == ("cat", "Tribute image released")
    assert entry.media_items == view["variables"]["media_items"]
    assert entry.channels == RELEASE["channels"] and entry.destinations == ["https://police.example/news/tribute"]
    assert entry.details["copyright_notice"] == desk.settings.copyright_notice
    assert decisions(case) == [("verify_tribute_image", "olly", "verified", "Family confirmed the photo"),
                               ("release_tribute", "cat", None, None)]


def test_unverified_image_is_replaced_then_verified_and_released(desk, actors):
    case = start(desk, actors["ccd"])
    first = case.variables["media_items"]
    case.complete("verify_tribute_image", actors["flo"], {"decision": "not_verified", "rationale": "Image is 10 years old"})
    assert case.open_activities() == ["request_alternative_image"]
    with pytest.raises(NotAllowed):  # only the family liaison officer goes back to the family
        case.complete("request_alternative_image", actors["oic"], {"family_withdrew": True})
    with pytest.raises(InvalidForm) as err:
        case.complete("request_alternative_image", actors["flo"], {"rationale": "Asked the family"})
    assert err.value.details == {"media_items": "Attach the alternative photograph, or record that the family withdrew."}
    replacement = media(desk, (10, 120, 10))
    case.complete("request_alternative_image", actors["flo"], {"media_items": [replacement],
                                                               "rationale": "Family sent a recent photo"})
    assert case.open_activities() == ["verify_tribute_image"]  # back to verification
    case.complete("verify_tribute_image", actors["flo"], {"decision": "verified", "rationale": "Recent and correct"})
    case.complete("release_tribute", actors["ccd"], RELEASE)
    assert case.state == "completed"
    [entry] = disclosures(desk, case)
    assert entry.media_items == [replacement] and replacement not in first  # the released image is the new one
    assert [(a, d) for a, _, d, _ in decisions(case)] == [
        ("verify_tribute_image", "not_verified"), ("request_alternative_image", None),
        ("verify_tribute_image", "verified"), ("release_tribute", None)]


def test_family_withdrawal_ends_the_case_without_release(desk, actors):
    case = start(desk, actors["requester"])
    case.complete("verify_tribute_image", actors["oic"], {"decision": "not_verified", "rationale": "Wrong person"})
    case.complete("request_alternative_image", actors["flo"], {"family_withdrew": True,
                                                               "rationale": "Family no longer wish a photo used"})
    view = case.refresh()
    assert view["state"] == "completed" and view["outcome"] == "Family withdrew"
    assert "release_tribute" not in view["completedActivities"]
    assert case.open_tasks() == [] and disclosures(desk, case) == []
    assert decisions(case)[-1] == ("request_alternative_image", "fay", None, "Family no longer wish a photo used")


def test_start_needs_family_consent_and_a_permitted_starter(desk, actors):
    with desk.transaction() as s, pytest.raises(InvalidForm) as err:
        desk.runtime.start(s, "tribute_image", "TI-2", {**START, "family_consent": False}, actors["flo"])
    assert err.value.details == {"family_consent": "A tribute image is only released with the consent of the family."}
    with desk.transaction() as s, pytest.raises(InvalidForm) as err:
        desk.runtime.start(s, "tribute_image", "TI-2", {"deceased_name": "A"}, actors["flo"])
    assert err.value.details == {"family_consent": "This field is required."}
    with desk.transaction() as s, pytest.raises(NotAllowed):
        desk.runtime.start(s, "tribute_image", "TI-2", START, actors["sio"])
    with desk.transaction() as s:
        assert desk.runtime.start(s, "tribute_image", "TI-3", START, actors["ccd"])["state"] == "active"
