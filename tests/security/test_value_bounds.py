"""Values from a form must never put a case in a state where its next step always fails: durations
out of range, a date-time in a date field, numbers past 64 bits or in other scripts' digits, and
megabytes of text are refused on entry, naming the field, and nothing is stored."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import InvalidForm
from engine.forms import validate_form
from engine.models import ProcessInstance
from tests.engine.driver import Case, media
from tests.engine.test_pathway_custody_image import START as CUSTODY_START
from tests.engine.test_pathway_general_release import APPROVE, START


def _refused_start(desk, actor, key: str, variables: dict) -> dict:
    with pytest.raises(InvalidForm) as refused:
        with desk.transaction() as s:
            desk.runtime.start(s, key, "BAD-1", variables, actor)
    with desk.read() as s:
        assert s.scalar(select(func.count()).select_from(ProcessInstance)) == 0
    return refused.value.details


@pytest.mark.parametrize("field", ["review_interval", "removal_sla"])
@pytest.mark.parametrize("value", ["P999999999D", "P99999Y", "PT0S"])
def test_durations_outside_sensible_bounds_are_refused(desk, actors, field, value):
    details = _refused_start(desk, actors["requester"], "general_release",
                             {**START, "media_items": [media(desk)], field: value})
    assert field in details and "between 1 minute and 3660 days" in details[field]


def test_duration_bounds_follow_the_settings(desk, actors):
    from engine import ReleaseDesk
    strict = ReleaseDesk(desk.settings.with_overrides(duration_max_days=7))
    try:
        details = _refused_start(strict, actors["requester"], "general_release",
                                 {**START, "media_items": [media(desk)], "review_interval": "P8D"})
        assert "between 1 minute and 7 days" in details["review_interval"]
    finally:
        strict.dispose()


def test_a_date_time_in_a_date_field_is_refused(desk, actors):
    variables = {**CUSTODY_START, "conviction_date": "2024-05-01T10:00:00", "media_items": [media(desk, uploader="cat")]}
    details = _refused_start(desk, actors["ccd"], "custody_image", variables)
    assert details["conviction_date"] == "Must be a date as YYYY-MM-DD."


def test_a_20_mib_rationale_is_refused_and_the_task_stays_open(desk, actors):
    case = Case(desk, "general_release", "GR-BIG", {**START, "media_items": [media(desk)]}, actors["requester"])
    with pytest.raises(InvalidForm) as refused:
        case.complete("approve_release", actors["sio"], {**APPROVE, "rationale": "x" * (20 * 1024 * 1024)})
    assert "at most 20,000 characters" in refused.value.details["rationale"]
    assert case.open_activities() == ["approve_release"]


@pytest.mark.parametrize("raw", [2 ** 70, str(2 ** 64), "١٢٣", "12.5", True, float("inf")])
def test_whole_numbers_are_ascii_digits_within_64_bits(raw):
    fields = [{"id": "count", "label": "Count", "type": "long"}]
    with pytest.raises(InvalidForm) as refused:
        validate_form(fields, {"count": raw})
    assert "within 64 bits" in refused.value.details["count"] or "whole number" in refused.value.details["count"]
    assert validate_form(fields, {"count": "-42"}) == {"count": -42}


def test_list_fields_are_bounded():
    fields = [{"id": "published_urls", "label": "URLs", "type": "string", "properties": {"format": "url-list"}}]
    with pytest.raises(InvalidForm) as refused:
        validate_form(fields, {"published_urls": ["https://police.example/a"] * 101})
    assert refused.value.details["published_urls"] == "At most 100 entries."

