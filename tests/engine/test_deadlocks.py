"""Concurrency faults under load, on both backends (PostgreSQL is where they bit).

A message correlated to several cases that share a business key, racing completions on those same
cases: every command locks instances in one global order (a message locks all its cases at once, by
ascending id), so neither side can hold one case while waiting for another that the other side holds.
Nothing deadlocks, nothing is lost, and every case both gets the message and records its review."""
from __future__ import annotations

import threading
import time

import pytest

from engine import SYSTEM, Conflict, Unavailable, queries
from engine.models import AuditRecord

from .conftest import DIAGRAMS
from .driver import Case

PATHWAYS = ("race_a", "race_b", "race_c", "race_d")
REVIEW = {"decision": "keep", "rationale": "Still needed"}


def deploy_race_pathways(desk) -> None:
    """The same small diagram under four pathway keys: cases of different pathways may share one
    business key (a key is unique per pathway), and one message reaches all of them."""
    xml = (DIAGRAMS / "race_review.bpmn").read_bytes()
    files = [(f"{key}.bpmn", xml.replace(b'id="race_review"', f'id="{key}"'.encode())
              .replace(b'id="Definitions_race"', f'id="Definitions_{key}"'.encode())) for key in PATHWAYS]
    from engine.deployment import deploy
    with desk.transaction() as s:
        deploy(s, files, SYSTEM, desk.clock(), source="test")


def race_round(desk, actors, key: str) -> tuple[list[int], list[int], list[BaseException]]:
    """Start one case per pathway under `key`, then send the message and complete every review at
    the same moment. Returns (case ids, ids the message reached, unexpected errors)."""
    ids = []
    for pathway in PATHWAYS:
        with desk.transaction() as s:
            ids.append(desk.runtime.start(s, pathway, key, {}, actors["requester"])["id"])
    with desk.read() as s:
        tasks = [t["id"] for t in queries.list_tasks(s, actors["sio"], business_key=key)]
    assert len(tasks) == len(PATHWAYS)
    barrier = threading.Barrier(1 + len(tasks))
    errors: list[BaseException] = []
    correlated: list[int] = []

    def send():
        barrier.wait()
        try:
            with desk.transaction() as s:  # no retry: the first attempt must not deadlock
                correlated.extend(desk.runtime.correlate(s, "race_cleared", key, {}, actors["requester"]))
        except BaseException as exc:  # collected and asserted by the caller
            errors.append(exc)

    def complete(task_id):
        barrier.wait()
        try:
            with desk.transaction() as s:
                desk.runtime.complete(s, task_id, actors["sio"], REVIEW)
        except Conflict:
            pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send)] + [threading.Thread(target=complete, args=(t,)) for t in tasks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return ids, correlated, errors


def test_message_to_several_cases_races_their_completions_without_deadlock(desk, actors):
    deploy_race_pathways(desk)
    for n in range(6):
        key = f"RACE-{n}"
        ids, correlated, errors = race_round(desk, actors, key)
        assert not errors, f"round {n}: {errors!r}"
        assert sorted(correlated) == sorted(ids)
        with desk.read() as s:
            states = {queries.get_instance(s, i).state for i in ids}
            reviews = s.query(AuditRecord).filter(AuditRecord.business_key == key,
                                                  AuditRecord.action == "complete").count()
        assert states == {"completed"} and reviews == len(PATHWAYS)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_deadlock_the_database_breaks_is_retried_then_succeeds(desk, mini, actors):
    """Whatever still deadlocks (here two transactions made to lock two cases in opposite orders) is
    retried by `ReleaseDesk.attempt` instead of failing; with no retries left it is `Unavailable`
    (HTTP 503 with Retry-After), never an unexplained error."""
    a = Case(desk, mini, "DL-A", {}, actors["requester"]).id
    b = Case(desk, mini, "DL-B", {}, actors["requester"]).id

    def deadlock_once(attempts: int):
        other_has_b, main_waits = threading.Event(), threading.Event()
        tries: list[int] = []

        def other():
            with desk.transaction() as s:
                desk.runtime.lock_instance(s, b)
                other_has_b.set()
                main_waits.wait(5)
                time.sleep(0.3)  # the command is waiting for b by now: it checks for deadlock first
                desk.runtime.lock_instance(s, a)

        def command(s):
            tries.append(1)
            desk.runtime.lock_instance(s, a)
            if len(tries) == 1:
                other_has_b.wait(5)
                main_waits.set()
            desk.runtime.lock_instance(s, b)
            return "done"
        thread = threading.Thread(target=other)
        thread.start()
        try:
            return desk.attempt(command, attempts=attempts), len(tries)
        finally:
            thread.join(10)

    assert deadlock_once(3) == ("done", 2)
    with pytest.raises(Unavailable) as caught:
        deadlock_once(1)
    assert caught.value.status == 503 and caught.value.details == {"retryAfter": 1}
