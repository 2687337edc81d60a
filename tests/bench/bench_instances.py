"""Benchmark: the instances list and the inbox over 100,000 seeded instances, on SQLite and PostgreSQL.

    python tests/bench/bench_instances.py [--backend sqlite|postgresql] [--count 100000]

Seeds a fresh database by bulk insert (projection rows only, no workflow runs: the list views never
deserialize workflows, so the workflow JSON is a placeholder), runs ANALYZE, then prints for each
query the median of several runs and its plan (SQLite: EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN).
`seed()` and `QUERIES` are shared with tests/engine/test_query_plans.py, which asserts the plans."""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from engine import Actor, ReleaseDesk, load_settings, reports
from engine import queries as q
from engine.models import HumanTask, ProcessDefinition, ProcessInstance

PG_BASE = os.environ.get("RELEASEDESK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
MANAGER = Actor("max", frozenset({"manager"}))
CCD = Actor("cat", frozenset({"ccd"}))
STATES = ("active",) * 3 + ("completed",) * 11 + ("cancelled",)  # a fifth still open
CHUNK = 5_000


def _user_tasks(definitions: list[ProcessDefinition]) -> dict[str, list[dict]]:
    return {d.key: [a for a in d.catalog["activities"].values() if a["type"] == "userTask"] for d in definitions}


INSTANCE_COLUMNS = ("id", "definition_id", "key", "version", "business_key", "state", "outcome", "started_at",
                    "started_by", "ended_at", "decided_at", "workflow_json", "version_id")
TASK_COLUMNS = ("id", "instance_id", "process_key", "business_key", "activity_id", "name", "lane",
                "candidate_groups", "assignee", "state", "created_at", "due_at")
GROUP_COLUMNS = ("task_id", "group_name")
POSITION_COLUMNS = ("instance_id", "activity_id", "process_key", "since")
DATETIME_COLUMNS = {"started_at", "ended_at", "decided_at", "created_at", "due_at", "since"}


def _rows(definitions: list[ProcessDefinition], first_id: int, count: int, now: datetime, rng: random.Random):
    """Yield (instances, tasks, groups, positions) row tuples, one chunk at a time."""
    tasks_of = _user_tasks(definitions)
    for start in range(0, count, CHUNK):
        instances, tasks, groups, positions = [], [], [], []
        for n in range(start, min(start + CHUNK, count)):
            d = definitions[n % len(definitions)]
            state = STATES[rng.randrange(len(STATES))]
            started = now - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
            ended = started + timedelta(hours=rng.randrange(1, 24 * 60)) if state != "active" else None
            decided = started + timedelta(hours=rng.randrange(1, 24 * 14)) if state == "completed" else None
            iid, business_key = first_id + n, f"BENCH-{first_id + n:07d}"
            outcome = None if state == "active" else ("Cancelled" if state == "cancelled" else "Released")
            instances.append((iid, d.id, d.key, d.version, business_key, state, outcome, started, "rita", ended,
                              decided, "{}", 1))
            if state != "active":
                continue
            activity = tasks_of[d.key][rng.randrange(len(tasks_of[d.key]))]
            created = started + timedelta(minutes=rng.randrange(1, 600))
            task_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            candidate = activity.get("candidate_groups") or ["ccd"]
            due = created + timedelta(hours=4) if activity.get("due_in") else None
            tasks.append((task_id, iid, d.key, business_key, activity["id"], activity["name"], activity.get("lane"),
                          ",".join(candidate), "cat" if rng.random() < 0.1 else None, "open", created, due))
            groups.extend((task_id, g) for g in candidate)
            positions.append((iid, activity["id"], d.key, created))
        yield instances, tasks, groups, positions


def _bulk_insert(session: Session, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Multi-row insert through the driver: COPY on PostgreSQL, executemany on SQLite (with
    datetimes written in SQLAlchemy's SQLite storage format, so ORM reads compare them correctly)."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    when = [i for i, c in enumerate(columns) if c in DATETIME_COLUMNS]
    if when:
        rows = [list(row) for row in rows]
        for row in rows:
            for i in when:
                if row[i] is not None:
                    row[i] = row[i].astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")
    placeholders = ", ".join("?" for _ in columns)
    raw = connection.connection.driver_connection
    raw.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", rows)


def seed(session: Session, count: int, now: datetime = NOW, rng_seed: int = 7) -> dict[str, int]:
    """Insert `count` instances of the deployed pathways with their open tasks, task groups and
    positions by bulk insert; return the row counts. The caller commits."""
    rng = random.Random(rng_seed)
    definitions = q.latest_definitions(session)
    first_id = (session.scalar(select(func.max(ProcessInstance.id))) or 0) + 1
    totals = {"instances": 0, "tasks": 0, "groups": 0, "positions": 0}
    for instances, tasks, groups, positions in _rows(definitions, first_id, count, now, rng):
        _bulk_insert(session, "process_instances", INSTANCE_COLUMNS, instances)
        _bulk_insert(session, "human_tasks", TASK_COLUMNS, tasks)
        _bulk_insert(session, "human_task_groups", GROUP_COLUMNS, groups)
        _bulk_insert(session, "activity_positions", POSITION_COLUMNS, positions)
        for name, rows in zip(totals, (instances, tasks, groups, positions), strict=True):
            totals[name] += len(rows)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT setval(pg_get_serial_sequence('process_instances', 'id'), "
                             "(SELECT max(id) FROM process_instances))"))
    return totals


def analyze(session: Session) -> None:
    session.execute(text("ANALYZE"))


# The queries the pages run, each as (name, callable returning a SQLAlchemy select).
def _instances(**filters) -> Callable[[Session], object]:
    """The case list's page query, as `reports.instance_page` builds it (first page of 50)."""
    def build(s: Session):
        keys = reports.pathway_keys(s) if filters.get("activity_id") and not filters.get("key") else None
        return q.instance_list_query(activity_keys=keys, **filters).limit(50)
    return build


def _tasks(actor: Actor, **filters) -> Callable[[Session], object]:
    return lambda s: q.task_query(actor, **filters).order_by(HumanTask.created_at, HumanTask.id).limit(500)


QUERIES: list[tuple[str, Callable[[Session], object]]] = [
    ("instances: pathway + state", _instances(key="wanted_person", state="active")),
    ("instances: business key", _instances(business_key="BENCH-0004242")),
    ("instances: case reference prefix, any case", _instances(business_key_prefix="bench-000424")),
    ("instances: state", _instances(state="completed")),
    ("instances: started date range", _instances(started_from=NOW - timedelta(days=7), started_to=NOW)),
    ("instances: waiting at activity", _instances(activity_id="remove_appeal")),
    ("instances: pathway + waiting at", _instances(key="wanted_person", activity_id="publish_appeal")),
    ("instances: no filter (newest)", _instances()),
    ("inbox: group ccd", _tasks(CCD)),
    ("inbox: group ccd, overdue", _tasks(CCD, overdue_at=NOW)),
    ("inbox: manager, business key", _tasks(MANAGER, business_key="BENCH-0004242")),
]


def explain(session: Session, stmt) -> str:
    compiled = stmt.compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True})
    if session.get_bind().dialect.name == "sqlite":
        rows = session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
        return "\n".join(r[-1] for r in rows)
    return "\n".join(r[0] for r in session.execute(text(f"EXPLAIN {compiled}")).all())


def time_query(session: Session, stmt, runs: int = 7) -> float:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        session.execute(stmt).all()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000


def fresh_desk(backend: str, folder: Path) -> tuple[ReleaseDesk, Callable[[], None]]:
    """A migrated database with the workflows deployed: a file in `folder`, or a PostgreSQL schema of
    its own. Returns the desk and a cleanup that drops the schema."""
    def settings(url: str):
        return load_settings(database_url=url, media_dir=str(folder / "media"), testing=True)
    drop: Callable[[], None] = lambda: None  # noqa: E731
    if backend == "sqlite":
        desk = ReleaseDesk(settings(f"sqlite:///{folder / 'bench.db'}"))
    else:
        from sqlalchemy import create_engine
        schema = f"rd_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
        desk = ReleaseDesk(settings(f"{PG_BASE}?options=-csearch_path%3D{schema}"))
    desk.migrate()
    with desk.transaction() as s:
        desk.deploy_workflows(s)
    return desk, drop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        desk, cleanup = fresh_desk(args.backend, Path(tmp))
        try:
            t0 = time.perf_counter()
            with desk.transaction() as s:
                totals = seed(s, args.count)
            seconds = time.perf_counter() - t0
            with desk.transaction() as s:
                analyze(s)
            print(f"backend {args.backend}: seeded {totals} in {seconds:.1f} s "
                  f"({totals['instances'] / seconds:,.0f} instances/s)")
            with desk.transaction() as s:
                page = reports.instance_page(s, key="wanted_person", state="active", page=3)
                t1 = time.perf_counter()
                for _ in range(5):
                    reports.instance_page(s, key="wanted_person", state="active", page=3)
                print(f"instances page (list + count, pathway + state, page 3, {page['total']:,} matches): "
                      f"{(time.perf_counter() - t1) / 5 * 1000:.1f} ms")
                for name, build in QUERIES:
                    stmt = build(s)
                    print(f"\n{name}: {time_query(s, stmt):.2f} ms (median of 7)")
                    print("  " + explain(s, stmt).replace("\n", "\n  "))
        finally:
            desk.dispose()
            cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
