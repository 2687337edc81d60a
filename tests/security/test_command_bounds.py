"""A diagram that loops, doubles itself or fans out into thousands of branches must not hang a
request, hold the write lock, or leave anything behind; and a loop SpiffWorkflow stops following
must never be recorded as a completed case."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from engine import CommandLimitExceeded, ReleaseDesk
from engine.models import AuditRecord, ProcessInstance
from tests.conftest import PASSWORD

from .conftest import sign_in
from .diagrams import wide_parallel

BPMN = Path(__file__).parent / "bpmn"


def _start_refused(desk, actors, key: str) -> CommandLimitExceeded:
    with pytest.raises(CommandLimitExceeded) as refused:
        with desk.transaction() as s:
            desk.runtime.start(s, key, f"{key}-1", {}, actors["requester"])
    with desk.read() as s:
        assert s.scalar(select(func.count()).select_from(ProcessInstance)) == 0
        assert s.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "start")) == 0
    return refused.value


@contextmanager
def _bounded(desk, **bounds) -> Iterator[ReleaseDesk]:
    """A second desk on the same database with other command bounds. The default bounds except time
    (300 s), so a busy test machine cannot turn one bound into another."""
    other = ReleaseDesk(desk.settings.with_overrides(**{"command_max_seconds": 300, **bounds}))
    try:
        yield other
    finally:
        other.dispose()


def test_a_runaway_loop_stops_at_the_step_bound(desk, deploy_xml, actors):
    deploy_xml("runaway_loop.bpmn", (BPMN / "runaway_loop.bpmn").read_bytes())
    with _bounded(desk) as patient:
        assert _start_refused(patient, actors, "runaway_loop").details == {"limit": "engine_steps", "max": 500}


def test_a_loop_too_deep_to_follow_is_never_marked_completed(desk, deploy_xml, actors):
    """Past 1000 tasks deep SpiffWorkflow no longer sees the loop's tasks and reports the workflow as
    finished; with the step bound lifted, the case must still fail rather than be "completed"."""
    deploy_xml("runaway_loop.bpmn", (BPMN / "runaway_loop.bpmn").read_bytes())
    with _bounded(desk, command_max_steps=100_000) as lifted:
        assert _start_refused(lifted, actors, "runaway_loop").details["limit"] == "depth"


def test_ten_thousand_parallel_branches_stop_at_the_task_bound(desk, deploy_xml, actors):
    deploy_xml("wide.bpmn", wide_parallel(10_000))
    with _bounded(desk) as patient:
        assert _start_refused(patient, actors, "wide_parallel").details == {"limit": "tasks_created", "max": 5000}


def test_a_parallel_loop_that_doubles_itself_stops_at_the_time_bound(desk, deploy_xml, actors):
    deploy_xml("doubling_loop.bpmn", (BPMN / "doubling_loop.bpmn").read_bytes())
    with _bounded(desk, command_max_seconds=1, command_max_steps=100_000) as quick:
        started = time.monotonic()
        assert _start_refused(quick, actors, "doubling_loop").details == {"limit": "seconds", "max": 1}
        assert time.monotonic() - started < 30


def test_reads_answer_within_a_second_while_a_pathological_diagram_runs(web_desk, serve):
    """Real HTTP: one client starts the doubling loop (bounded at 3 s); meanwhile a second client's
    reads (API and a manager's page) each answer within a second, and the first gets a clear 422."""
    desk = ReleaseDesk(web_desk.settings.with_overrides(command_max_seconds=3, command_max_steps=100_000))
    with desk.transaction() as s:
        from engine import SYSTEM
        desk.deploy_files(s, [BPMN / "doubling_loop.bpmn"], SYSTEM)
    base = serve(desk)
    reader = requests.Session()
    reader.auth = ("max", PASSWORD)
    assert reader.get(f"{base}/api/process-definitions", timeout=10).status_code == 200  # signs in first
    starter = requests.Session()
    starter.auth = ("rita", PASSWORD)
    assert starter.get(f"{base}/api/process-definitions", timeout=10).status_code == 200
    page = sign_in(base, "max", PASSWORD)
    assert page.get(f"{base}/dashboard", timeout=10, allow_redirects=False).status_code == 200
    officer = sign_in(base, "sam", PASSWORD)

    outcome: dict = {}

    def slow_start():
        outcome["started"] = time.monotonic()
        outcome["response"] = starter.post(f"{base}/api/process-definitions/doubling_loop/start",
                                           json={"businessKey": "LOOP-1"}, timeout=60)
        outcome["ended"] = time.monotonic()

    worker = threading.Thread(target=slow_start)
    worker.start()
    time.sleep(0.5)  # let the command take the write lock
    latencies = []
    while worker.is_alive() and len(latencies) < 300:
        for url, session in ((f"{base}/api/process-instances", reader), (f"{base}/api/tasks", reader),
                             (f"{base}/dashboard", page), (f"{base}/inbox", officer)):
            t0 = time.monotonic()
            answer = session.get(url, timeout=10, allow_redirects=False)
            latencies.append((url, t0, time.monotonic() - t0))
            assert answer.status_code == 200, (url, answer.status_code)
        time.sleep(0.1)
    worker.join(60)
    response = outcome["response"]
    assert response.status_code == 422
    assert response.json()["details"] == {"limit": "seconds", "max": 3}
    during = [(url, seconds) for url, at, seconds in latencies if at + seconds < outcome["ended"] - 0.5]
    assert len(during) >= 6, "the reads did not overlap the pathological start"
    assert max(seconds for _url, seconds in during) < 1.0, during
    assert requests.get(f"{base}/api/process-instances", auth=("max", PASSWORD), timeout=10).json()["total"] == 0
    desk.dispose()
