"""Moving many running cases to a new version while officers work: one transaction per case, so no
officer waits on the migration and nothing deadlocks; interrupted, it carries on where it stopped."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from engine import Conflict, queries
from engine.migration import migrate_cases
from engine.models import AuditRecord, ProcessInstance

from .conftest import DIAGRAMS
from .driver import Case
from .test_migration import DESIGNER, deploy_text
from .test_runtime import APPROVE

CASES = 40


def cases_and_new_version(desk, actors) -> list[int]:
    ids = [Case(desk, "mini_approval", f"BULK-{n}", {}, actors["requester"]).id for n in range(CASES)]
    text = (DIAGRAMS / "mini_approval.bpmn").read_text().replace('name="Approve release"', 'name="Approve the release"')
    deploy_text(desk, text, "mini_approval.bpmn")
    return ids


def versions(desk, ids) -> dict[int, int]:
    with desk.read() as s:
        rows = s.execute(select(ProcessInstance.version, func.count()).where(ProcessInstance.id.in_(ids))
                         .group_by(ProcessInstance.version)).all()
    return dict(rows)


def test_a_bulk_migration_runs_while_officers_complete_tasks(desk, mini, actors):
    ids = cases_and_new_version(desk, actors)
    with desk.read() as s:
        tasks = [t["id"] for t in sorted(queries.list_tasks(s, actors["sio"]), key=lambda t: -t["processInstanceId"])]
    errors: list[BaseException] = []
    completed: list[str] = []
    start = threading.Event()

    def officer(my_tasks):
        start.wait()
        for task_id in my_tasks:  # newest cases first: against the migration's order
            try:
                with desk.transaction() as s:
                    desk.runtime.complete(s, task_id, actors["sio"], APPROVE)
                completed.append(task_id)
            except Conflict:
                pass
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)
    officers = [threading.Thread(target=officer, args=(tasks[i::2],)) for i in range(2)]
    for t in officers:
        t.start()
    seen = []
    start.set()
    result = migrate_cases(desk, "mini_approval", 1, 2, DESIGNER, progress=seen.append)
    for t in officers:
        t.join(60)
    assert not errors, errors
    assert len(completed) == CASES  # no officer was refused or lost work to the migration
    assert not result["refused"] and not result["failed"] and len(result["migrated"]) == CASES
    assert versions(desk, ids) == {2: CASES}
    assert [p["done"] for p in seen] == list(range(1, CASES + 1)) and seen[-1]["total"] == CASES
    with desk.read() as s:
        assert s.scalar(select(func.count()).where(AuditRecord.action == "migrate")) == CASES
        assert s.scalar(select(func.count()).where(AuditRecord.action == "complete")) == CASES


class _Stop(Exception):
    pass


def test_an_interrupted_bulk_migration_carries_on_where_it_stopped(desk, mini, actors):
    ids = cases_and_new_version(desk, actors)

    def stop_after_ten(p):
        if p["done"] == 10:
            raise _Stop
    with pytest.raises(_Stop):
        migrate_cases(desk, "mini_approval", 1, 2, DESIGNER, progress=stop_after_ten)
    assert versions(desk, ids) == {1: CASES - 10, 2: 10}  # the first ten were each committed on their own
    result = migrate_cases(desk, "mini_approval", 1, 2, DESIGNER)
    assert len(result["migrated"]) == CASES - 10
    assert versions(desk, ids) == {2: CASES}
