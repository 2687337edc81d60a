"""Upgrading a database whose audit trail is one global chain (before migration 0003): the old
records stay verifiable (as stream `legacy`, hashed the old way), edits to them are still named,
and the first checkpoint anchors them like any other stream."""
from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, text

from engine import ReleaseDesk, audit
from engine.migrate import upgrade
from tests.conftest import PG_BASE


def old_hash(row: dict) -> str:
    """The single-chain hash as written before 0003 (copied, so a change to the new code cannot
    silently change what old records are checked against)."""
    body = {"seq": row["seq"], "at": row["at"].strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "actor": row["actor"],
            "group": row["group_name"], "action": row["action"], "instance": row["instance_id"],
            "business_key": row["business_key"], "activity": row["activity_id"],
            "activity_name": row["activity_name"], "decision": row["decision"], "rationale": row["rationale"],
            "data": row["data"], "prev": row["prev_hash"]}
    blob = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


@pytest.fixture
def old_db(backend, request, tmp_path):
    """An empty database migrated only to 0002, on each backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    request.getfixturevalue("pg_url")  # skips (or fails, in CI) when PostgreSQL is unreachable
    schema = f"rd_old_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def write_old_chain(engine, count: int = 5) -> list[dict]:
    at = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
    prev, rows = "0" * 64, []
    with engine.begin() as conn:
        for seq in range(1, count + 1):
            row = {"seq": seq, "at": at + timedelta(minutes=seq), "actor": "sam", "group_name": "sio",
                   "action": "complete", "instance_id": 1 + seq % 2, "business_key": f"OLD-{1 + seq % 2}",
                   "activity_id": "approve_release", "activity_name": "Approve release", "decision": "approve",
                   "rationale": f"Reason {seq}", "data": {"decision": "approve"}, "prev_hash": prev}
            row["hash"] = prev = old_hash(row)
            conn.execute(text("INSERT INTO audit_records (seq, at, actor, group_name, action, instance_id, "
                              "business_key, activity_id, activity_name, decision, rationale, data, prev_hash, hash) "
                              "VALUES (:seq, :at, :actor, :group_name, :action, :instance_id, :business_key, "
                              ":activity_id, :activity_name, :decision, :rationale, :data, :prev_hash, :hash)"),
                         {**row, "data": json.dumps(row["data"])})
            rows.append(row)
        conn.execute(text("UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1"),
                     {"seq": count, "hash": prev})
    return rows


def test_old_chain_stays_verifiable_after_the_upgrade(old_db, tmp_path):
    engine = create_engine(old_db)
    upgrade(engine, "0002")
    rows = write_old_chain(engine)
    upgrade(engine, "head")
    engine.dispose()
    desk = ReleaseDesk(_settings(old_db, tmp_path))
    try:
        result = desk.verify_audit(write_checkpoint=False)
        assert result.ok and result.checked == 5, str(result)
        assert desk.verify_audit(2, write_checkpoint=False).checked == 3  # the case's old records
        with desk.transaction() as s:  # new records: global seq continues, in the case's own chain
            new = audit.append(s, at=desk.clock(), actor="max", action="download", instance_id=2)
        assert new.seq == 6 and new.stream == "case:2" and new.stream_seq == 1
        cp = desk.audit.checkpoint("test")
        assert cp["heads"]["legacy"] == [5, rows[-1]["hash"]]
        assert desk.verify_audit().ok
        with desk.transaction() as s:  # edited the old way: named the old way
            s.execute(text("UPDATE audit_records SET rationale = 'Edited' WHERE seq = 3"))
        result = desk.verify_audit(write_checkpoint=False)
        assert not result.ok and result.bad_seq == 3 and "changed after it was written" in result.reason
        with desk.transaction() as s:  # put it back, then cut the old tail and rewind its head
            s.execute(text("UPDATE audit_records SET rationale = 'Reason 3' WHERE seq = 3"))
            s.execute(text("DELETE FROM audit_records WHERE seq = 5"))
            s.execute(text("UPDATE audit_streams SET length = 4, hash = :h, last_seq = 4 WHERE stream = 'legacy'"),
                      {"h": rows[3]["hash"]})
        result = desk.verify_audit(write_checkpoint=False)
        assert not result.ok and "stream legacy" in result.reason and "tail truncated" in result.reason
    finally:
        desk.dispose()


def _settings(url, tmp_path):
    from tests.conftest import _settings as shared
    return shared(url, tmp_path)
