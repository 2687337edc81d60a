"""An active case's business key is unique per pathway, whatever its letter case, on SQLite and
PostgreSQL: eight concurrent starts with one key make one case (the others are refused with 409),
and a repeated `conviction_recorded` makes no second custody case. The database enforces it."""
from __future__ import annotations

import threading
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine import SYSTEM, Actor, DuplicateCase
from engine.models import ProcessInstance
from tests.engine.driver import LEGAL_CLEAR, Case

TRIBUTE = {"deceased_name": "Alex Example", "family_consent": True, "family_wording": "Much loved"}
FEED = Actor("court_feed", frozenset({"ccd"}))
RITA = Actor("rita", frozenset({"requester"}))


def conviction(reference: str) -> dict:
    return {"offender_name": "A. Person", "offence": "Burglary", "conviction_date": date.today().isoformat(),
            "sentence_type": "custodial", "media_request": True, "case_reference": reference, **LEGAL_CLEAR}


def cases(desk, key: str) -> list[tuple[str, str]]:
    with desk.read() as s:
        return [(r.business_key, r.state) for r in s.scalars(select(ProcessInstance).where(ProcessInstance.key == key))]


def race(n: int, action) -> list:
    """Run `action()` in `n` threads released together; return each result or exception."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        barrier.wait()
        try:
            results[i] = action()
        except Exception as exc:  # collected and asserted on by the caller
            results[i] = exc
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_eight_concurrent_starts_with_one_key_make_one_case(desk):
    def start():
        with desk.transaction() as s:
            return desk.runtime.start(s, "tribute_image", "TR-RACE-1", TRIBUTE, RITA)["id"]
    results = race(8, start)
    started = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, DuplicateCase)]
    assert len(started) == 1 and len(refused) == 7, results
    assert cases(desk, "tribute_image") == [("TR-RACE-1", "active")]


def test_repeated_and_concurrent_conviction_recorded_make_one_custody_case(desk):
    def send(reference):
        with desk.transaction() as s:
            return desk.runtime.correlate(s, "conviction_recorded", reference, conviction(reference), FEED)
    assert len(send("CI-RACE-1")) == 1
    with pytest.raises(DuplicateCase):  # the court feed posts the same result again
        send("CI-RACE-1")
    results = race(8, lambda: send("CI-RACE-2"))
    assert sum(isinstance(r, list) for r in results) == 1
    assert sum(isinstance(r, DuplicateCase) for r in results) == 7, results
    assert sorted(cases(desk, "custody_image")) == [("CI-RACE-1", "active"), ("CI-RACE-2", "active")]


def test_keys_compare_case_insensitively_per_pathway_among_active_cases(desk):
    Case(desk, "tribute_image", "TR-2026-001", TRIBUTE, RITA)
    with desk.transaction() as s, pytest.raises(DuplicateCase) as err:
        desk.runtime.start(s, "tribute_image", "tr-2026-001", TRIBUTE, RITA)
    assert "TR-2026-001".lower() in err.value.message.lower()
    assert err.value.details["existingInstanceId"]  # rita started it, so she is told which case
    # someone with no part in the existing case learns that the reference is taken, not which case it is
    with desk.transaction() as s, pytest.raises(DuplicateCase) as err:
        desk.runtime.start(s, "tribute_image", "TR-2026-001", TRIBUTE, Actor("cathy", frozenset({"ccd"})))
    assert "existingInstanceId" not in err.value.details
    # another pathway may use the same reference
    Case(desk, "missing_person", "TR-2026-001", {"summary": "x", "risk_level": "low", "previously_in_custody": False,
                                                 "person_description": "y"}, RITA)
    # once the first case is no longer active, the reference is free again
    with desk.transaction() as s:
        first = s.scalar(select(ProcessInstance.id).where(ProcessInstance.key == "tribute_image"))
        desk.runtime.cancel(s, first, Actor("max", frozenset({"manager"})), "Started in error")
    Case(desk, "tribute_image", "tr-2026-001", TRIBUTE, RITA)
    assert sorted(cases(desk, "tribute_image")) == [("TR-2026-001", "cancelled"), ("tr-2026-001", "active")]


def test_the_database_itself_refuses_a_second_active_case(desk):
    """The constraint holds for writers that skip the engine's check (a partial unique index)."""
    Case(desk, "tribute_image", "TR-DB-1", TRIBUTE, RITA)
    with desk.read() as s:
        row = s.scalar(select(ProcessInstance).where(ProcessInstance.business_key == "TR-DB-1"))
        definition_id, version = row.definition_id, row.version

    def insert(state: str, reference: str):
        with desk.transaction() as s:
            s.add(ProcessInstance(definition_id=definition_id, key="tribute_image", version=version,
                                  business_key=reference, state=state, started_at=datetime.now(timezone.utc),
                                  started_by=SYSTEM.username, workflow_json="{}"))
    with pytest.raises(IntegrityError):
        insert("active", "tr-db-1")
    insert("completed", "tr-db-1")  # finished cases may share it
    assert len(cases(desk, "tribute_image")) == 2
