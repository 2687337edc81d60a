"""No global lock in the audit trail: on PostgreSQL, a transaction appending to one case never
waits for another that holds a different case's stream open; only writers to the same case queue.
(SQLite has one writer at a time by design; there the question does not arise.)"""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from engine import audit

from .driver import Case


def _append(desk, instance_id: int, lock_timeout_ms: int | None = None) -> int:
    with desk.transaction() as s:
        if lock_timeout_ms is not None:
            s.execute(text(f"SET LOCAL lock_timeout = '{lock_timeout_ms}ms'"))
        record = audit.append(s, at=desk.clock(), actor="max", action="download", instance_id=instance_id)
    return record.seq  # written as the transaction commits


def _in_thread(fn, *args) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = fn(*args)
        except Exception as exc:  # reported to the test below
            outcome["error"] = exc
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_two_cases_append_without_waiting_for_each_other(desk, backend, mini, actors):
    if backend != "postgresql":
        pytest.skip("SQLite serializes writers by design")
    a = Case(desk, mini, "CASE-A", {}, actors["requester"])
    b = Case(desk, mini, "CASE-B", {}, actors["requester"])
    holder = desk.Session()
    holder.begin()
    try:
        held = audit.append(holder, at=desk.clock(), actor="sam", action="download", instance_id=a.id)
        audit.write_pending(holder)  # written now (not at commit): case A's head stays locked
        # Another case commits within a second while case A's transaction stays open.
        thread, outcome = _in_thread(_append, desk, b.id)
        thread.join(timeout=1.0)
        assert not thread.is_alive() and "error" not in outcome, outcome
        assert outcome["value"] > held.seq  # one global order, taken without a shared row
        # A checkpoint does not wait for open appends either: it signs the committed heads.
        thread, outcome = _in_thread(desk.audit.checkpoint, "test")
        thread.join(timeout=1.0)
        assert not thread.is_alive() and outcome.get("value", {}).get("id") == 1, outcome
        assert f"case:{a.id}" in outcome["value"]["heads"]
        # The same case does queue behind the open transaction (so the test above can fail).
        thread, outcome = _in_thread(_append, desk, a.id, 300)
        thread.join(timeout=5.0)
        assert isinstance(outcome.get("error"), OperationalError) and "lock" in str(outcome["error"])
    finally:
        holder.commit()
        holder.close()
    result = desk.verify_audit()
    assert result.ok, str(result)


def test_verify_reads_one_snapshot_while_cases_go_on(desk, mini, actors):
    """A record committed while verification walks the chains is neither half-seen nor an alarm."""
    from sqlalchemy import event
    case = Case(desk, mini, "CASE-V", {}, actors["requester"])
    desk.audit.checkpoint("test")
    appended: list[int] = []

    def meanwhile(conn, cursor, statement, *args):
        if "ORDER BY audit_records.stream" in statement and not appended:
            appended.append(_append(desk, case.id))  # another connection commits mid-verification
            _append(desk, None)
    event.listen(desk.db, "before_cursor_execute", meanwhile)
    try:
        result = desk.verify_audit(write_checkpoint=False)
    finally:
        event.remove(desk.db, "before_cursor_execute", meanwhile)
    assert appended and result.ok, str(result)
    assert desk.verify_audit().ok
