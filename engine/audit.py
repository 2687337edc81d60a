"""The append-only, hash-chained audit trail, one chain per stream.

Each record's hash covers its own fields, its global `seq`, its place in its stream and the hash of
the record before it in that stream, so editing, deleting, reordering or inserting a record breaks
the chain from that point. A case's records form one stream (`case:<id>`); records without a case
(deployments, sign-ins) go to one of a few `general:<n>` streams chosen by actor. A transaction's
records are written together just before it commits, locking only their streams' head rows, so
writers to different cases never wait for each other; `seq` comes
from a sequence (PostgreSQL) or SQLite's single writer, never from a shared row.

Against someone who can write the database, chains alone prove nothing (they can be recomputed):
signed checkpoints kept outside the database anchor them (see `audit_checkpoints`, `audit_verify`).

Records written before per-stream chains existed stay in stream `legacy`, hashed the old way."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

from sqlalchemy import event, insert, text
from sqlalchemy.orm import Session

from .db import as_utc, backend
from .models import AuditRecord

GENESIS = "0" * 64
LEGACY_STREAM = "legacy"
GENERAL_STREAMS = 16  # case-less records spread over this many streams, so none becomes a hot lock


def _canonical_time(at: datetime) -> str:
    return as_utc(at).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(body: Any) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def stream_genesis(stream: str) -> str:
    """The `prev_hash` of a stream's first record: distinct per stream, so `prev_hash` stays unique
    across all records and a forked chain cannot be committed."""
    if stream == LEGACY_STREAM:
        return GENESIS
    return hashlib.sha256(b"releasedesk-audit-stream:" + stream.encode()).hexdigest()


def stream_for(instance_id: int | None, actor: str) -> str:
    if instance_id is not None:
        return f"case:{instance_id}"
    shard = hashlib.sha256(actor.encode()).digest()[0] % GENERAL_STREAMS
    return f"general:{shard}"


def _body(record: Any) -> dict[str, Any]:
    return {
        "seq": record.seq,
        "at": _canonical_time(record.at),
        "actor": record.actor,
        "group": record.group_name,
        "action": record.action,
        "instance": record.instance_id,
        "business_key": record.business_key,
        "activity": record.activity_id,
        "activity_name": record.activity_name,
        "decision": record.decision,
        "rationale": record.rationale,
        "data": record.data,
        "prev": record.prev_hash,
    }


def record_hash(record: Any) -> str:
    body = _body(record)
    if record.stream != LEGACY_STREAM:  # legacy records keep the single-chain hash they were written with
        body.update({"v": 2, "stream": record.stream, "stream_seq": record.stream_seq})
    return hashlib.sha256(canonical_json(body)).hexdigest()


#: Take a stream's head for `k` new records (creating it on first use) in one statement, locking
#: its row until commit: (length after, hash of its last record, the k global seqs). PostgreSQL draws
#: the seqs from its sequence after the row lock, so a stream's records are in `seq` order along
#: its chain; SQLite's writer already holds the database's write lock (BEGIN IMMEDIATE).
_TAKE_HEAD = {
    "postgresql": text(
        "INSERT INTO audit_streams (stream, length, hash, last_seq) VALUES (:stream, :k, :genesis, 0) "
        "ON CONFLICT (stream) DO UPDATE SET length = audit_streams.length + EXCLUDED.length "
        "RETURNING length, hash, "
        "ARRAY(SELECT nextval('audit_records_seq') FROM generate_series(1, :k) ORDER BY 1)"),
    "sqlite": text(
        "INSERT INTO audit_streams (stream, length, hash, last_seq) "
        "VALUES (:stream, :k, :genesis, (SELECT coalesce(max(seq), 0) FROM audit_records) + :k) "
        "ON CONFLICT (stream) DO UPDATE SET length = length + excluded.length, last_seq = excluded.last_seq "
        "RETURNING length, hash, last_seq"),
}
_SET_HEAD = text("UPDATE audit_streams SET hash = :hash, last_seq = :last_seq WHERE stream = :stream")
PENDING = "releasedesk.audit_pending"


def append(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    group: str | None = None,
    instance_id: int | None = None,
    business_key: str | None = None,
    activity_id: str | None = None,
    activity_name: str | None = None,
    data: dict[str, Any] | None = None,
) -> SimpleNamespace:
    """Add a record to the trail in the caller's transaction. Records wait in the session and are
    written together just before it commits: one head statement, one INSERT and one head update per
    stream, whatever their number. A record appended inside a savepoint (which may roll back
    alone) is written at once. The returned record has its `seq`, `stream_seq` and `hash` once written."""
    data = dict(data or {})
    decision = data.get("decision")
    rationale = data.get("rationale")
    record = SimpleNamespace(
        stream=stream_for(instance_id, actor), at=at, actor=actor, group_name=group, action=action,
        instance_id=instance_id, business_key=business_key, activity_id=activity_id,
        activity_name=activity_name, decision=str(decision) if decision is not None else None,
        rationale=str(rationale) if rationale is not None else None, data=data)
    if session.in_nested_transaction():  # a savepoint may roll back alone: the record goes with it
        _write(session, [record])
    else:
        session.info.setdefault(PENDING, []).append(record)
    return record


def write_pending(session: Session) -> None:
    """Write the records this transaction appended and has not written yet."""
    pending = session.info.pop(PENDING, None)
    if pending:
        _write(session, pending)


def _write(session: Session, pending: list[SimpleNamespace]) -> None:
    """Write `pending` stream by stream in a fixed order (so two transactions never take two heads
    in opposite orders)."""
    session.flush()  # the rows the records describe go first
    streams: dict[str, list[SimpleNamespace]] = {}
    for record in pending:
        streams.setdefault(record.stream, []).append(record)
    dialect = backend(session)
    for stream in sorted(streams, key=_stream_order):
        records = streams[stream]
        k = len(records)
        length, prev_hash, seqs = session.execute(
            _TAKE_HEAD[dialect], {"stream": stream, "k": k, "genesis": stream_genesis(stream)}).one()
        if dialect != "postgresql":
            seqs = range(seqs - k + 1, seqs + 1)
        for n, (record, seq) in enumerate(zip(records, seqs, strict=True)):
            record.seq, record.stream_seq, record.prev_hash = seq, length - k + 1 + n, prev_hash
            record.hash = prev_hash = record_hash(record)
        session.execute(insert(AuditRecord.__table__), [vars(r) for r in records])
        session.execute(_SET_HEAD, {"hash": prev_hash, "last_seq": records[-1].seq, "stream": stream})


def _stream_order(stream: str) -> tuple[str, int]:
    kind, _, number = stream.partition(":")
    return kind, int(number) if number.isdigit() else -1


@event.listens_for(Session, "before_commit")
def _write_before_commit(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint's release leaves them to the transaction
        write_pending(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_after_rollback(session: Session, transaction) -> None:
    if transaction.parent is None:  # the whole transaction ended: what it did not write is gone
        session.info.pop(PENDING, None)


def verify(session: Session, instance_id: int | None = None, **options: Any):
    """Check the chains (and, given `keys` and `exported`, the signed checkpoints); see
    `audit_verify.verify`. Kept here so `from engine.audit import verify` goes on working."""
    from .audit_verify import verify as _verify
    return _verify(session, instance_id, **options)
