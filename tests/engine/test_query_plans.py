"""The case list and the inbox stay index lookups at 100,000 instances, on SQLite and PostgreSQL.

One database per backend is seeded once for the module by bulk insert (tests/bench/bench_instances.py
`seed`, the same data the benchmark times), analysed, and every page query's plan is read with
EXPLAIN. Timings live in the benchmark script, not here: a plan is a property, a time is a sample."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import func, inspect, select, text

from engine.models import Base
from tests.bench.bench_instances import PG_BASE, QUERIES, analyze, explain, fresh_desk, seed
from tests.conftest import _pg_available

COUNT = 100_000
FILTERED = [name for name, _ in QUERIES if "no filter" not in name]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request, tmp_path_factory):
    if request.param == "postgresql" and not _pg_available():
        if os.environ.get("RELEASEDESK_TEST_PG") == "required":
            pytest.fail(f"PostgreSQL is required but unreachable at {PG_BASE}")
        pytest.skip("PostgreSQL not reachable")
    desk, drop = fresh_desk(request.param, tmp_path_factory.mktemp(f"plans-{request.param}"))
    with desk.transaction() as s:
        totals = seed(s, COUNT)
    with desk.transaction() as s:
        analyze(s)
    yield desk, totals
    desk.dispose()
    drop()


def plan_of(desk, name: str) -> str:
    build = dict(QUERIES)[name]
    with desk.transaction() as s:
        return explain(s, build(s))


def test_seeded_a_hundred_thousand_instances(seeded):
    desk, totals = seeded
    assert totals["instances"] == COUNT and totals["tasks"] > 10_000
    with desk.transaction() as s:
        assert s.scalar(text("SELECT count(*) FROM process_instances")) == COUNT


@pytest.mark.parametrize("name", [name for name, _ in QUERIES])
def test_every_page_query_uses_an_index(seeded, name):
    desk, _ = seeded
    plan = plan_of(desk, name)
    if desk.db.dialect.name == "sqlite":
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
        lines = [line.strip() for line in plan.splitlines()]
        assert "SCAN process_instances" not in lines and "SCAN human_tasks" not in lines, plan  # no bare scan
        if name in FILTERED:
            assert "SCAN process_instances" not in plan, plan
    else:
        assert any(k in plan for k in ("Index Scan", "Bitmap Index Scan", "Index Only Scan")), plan
        assert "Seq Scan on process_instances" not in plan and "Seq Scan on human_tasks" not in plan, plan


def test_the_case_list_count_uses_an_index(seeded):
    """The page's total is a count over the same filters: an index-only count, never the table."""
    desk, _ = seeded
    from engine import queries as q
    with desk.transaction() as s:
        query = q.instance_list_query(key="wanted_person", state="active")
        stmt = select(func.count()).select_from(query.order_by(None).subquery())
        plan = explain(s, stmt)
    if desk.db.dialect.name == "sqlite":
        assert "USING COVERING INDEX ix_instances_key_state_started" in plan, plan
    else:
        assert "Index" in plan and "Seq Scan on process_instances" not in plan, plan


def test_migrations_create_every_index_the_models_declare(seeded):
    desk, _ = seeded
    inspector = inspect(desk.db)
    for table in Base.metadata.sorted_tables:
        declared = {index.name for index in table.indexes}
        present = {index["name"] for index in inspector.get_indexes(table.name)} | _index_names(desk.db, table.name)
        assert declared <= present, (table.name, declared - present)


def _index_names(engine, table: str) -> set[str]:
    """Index names from the catalog itself: the inspector skips expression indexes such as
    lower(business_key)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?",
                                        (table,))
        else:
            rows = conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = :t "
                                     "AND schemaname = current_schema()"), {"t": table})
        return {row[0] for row in rows}
