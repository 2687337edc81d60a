"""Several timer workers against one PostgreSQL: they share the due timers (claimed a small batch at
a time with FOR UPDATE SKIP LOCKED) and each timer fires exactly once, counted in the audit trail.

Three `releasedesk worker` processes and one in-process worker race over 200 due timers."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from engine import queries
from engine.models import ActivityPosition, AuditRecord, ProcessInstance, Subscription
from engine.projections import waiting_events
from engine.specs import load_state

from .driver import Case
from .test_runtime import APPROVE

ROOT = Path(__file__).resolve().parents[2]
PUBLISH = {"channels": ["force_website"], "published_urls": "https://police.example/a"}


def due_cases(desk, actors, count: int) -> list[int]:
    """`count` cases of the mini pathway waiting at their review timer, already due. One is walked
    through the engine; the rest are copies of its row (state, subscriptions, positions), which is
    what a force with a backlog of reviews looks like to the workers."""
    case = Case(desk, "mini_approval", "TIMER-0", {"review_interval": "P1D"}, actors["requester"])
    case.complete("approve_release", actors["sio"], APPROVE)
    case.complete("publish_release", actors["ccd"], PUBLISH)
    past = datetime.now(timezone.utc) - timedelta(minutes=5)
    with desk.transaction() as s:
        source = queries.get_instance(s, case.id)
        workflow = load_state(source.workflow_json, desk.runtime.definition_of(s, source))
        timer = next(w for w in waiting_events(workflow) if w[1] == "timer")
        state = source.workflow_json.replace(json.dumps(timer[0].internal_data["event_value"]),
                                             json.dumps(past.isoformat()))
        assert state != source.workflow_json
        source.workflow_json = state
        s.query(Subscription).filter(Subscription.instance_id == case.id, Subscription.kind == "timer") \
            .update({"due_at": past})
        subs = s.execute(select(Subscription.kind, Subscription.name, Subscription.activity_id)
                         .where(Subscription.instance_id == case.id)).all()
        positions = s.scalars(select(ActivityPosition.activity_id).where(ActivityPosition.instance_id == case.id)).all()
        columns = {c: getattr(source, c) for c in ("definition_id", "key", "version", "state", "started_at",
                                                  "started_by", "decided_at", "workflow_json")}
        ids = [case.id]
        for n in range(1, count):
            clone = ProcessInstance(**columns, business_key=f"TIMER-{n}")
            s.add(clone)
            s.flush()
            ids.append(clone.id)
        s.execute(insert(Subscription), [
            {"instance_id": i, "kind": kind, "name": name, "activity_id": activity, "business_key": f"TIMER-{n}",
             "due_at": past if kind == "timer" else None}
            for n, i in enumerate(ids) if n for kind, name, activity in subs])
        s.execute(insert(ActivityPosition), [
            {"instance_id": i, "activity_id": a, "process_key": "mini_approval", "since": past}
            for n, i in enumerate(ids) if n for a in positions])
    return ids


def start_workers(url: str, tmp_path, count: int) -> list[subprocess.Popen]:
    env = {**os.environ, "RELEASEDESK_DATABASE_URL": url, "RELEASEDESK_SECRET_KEY": "test",
           "RELEASEDESK_MEDIA_DIR": str(tmp_path / "media"), "RELEASEDESK_TIMER_BATCH_SIZE": "5",
           "PYTHONPATH": str(ROOT)}
    workers = [subprocess.Popen([sys.executable, "-m", "web.cli", "worker", "--interval", "0.1"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(count)]
    return workers


def wait_until_polling(workers: list[subprocess.Popen]) -> None:
    for worker in workers:  # each says so once it is polling
        line = worker.stdout.readline()
        assert line.startswith("timer worker: checking"), line


@pytest.mark.parametrize("backend", ["postgresql"])
def test_three_workers_and_the_in_process_one_fire_each_of_200_timers_once(desk, mini, actors, db_url, tmp_path):
    workers = start_workers(db_url, tmp_path, 3)
    try:
        ids = due_cases(desk, actors, 200)  # while the workers start up
        wait_until_polling(workers)
        fired_here = []
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline:
            fired_here += desk.fire_due_timers()
            with desk.read() as s:
                left = s.scalar(select(func.count()).select_from(Subscription).where(Subscription.kind == "timer"))
            if not left:
                break
            time.sleep(0.05)
        assert left == 0
    finally:
        outputs = []
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=10)
            outputs.append(worker.stdout.read())  # through the same buffer readline() used
            worker.stdout.close()
    with desk.read() as s:
        fired = Counter(s.scalars(select(AuditRecord.instance_id).where(AuditRecord.action == "timer")))
        states = Counter(s.scalars(select(ProcessInstance.state).where(ProcessInstance.id.in_(ids))))
    assert set(fired) == set(ids) and set(fired.values()) == {1}, "every timer fires exactly once"
    assert states == {"completed": 200}
    shares = [len(fired_here)] + [out.count(": fired ") for out in outputs]
    assert sum(shares) == 200, (shares, outputs)
    assert sum(1 for n in shares if n) >= 2, f"the workers did not share the work: {shares}"
