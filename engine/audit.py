"""The append-only, hash-chained audit trail, one chain per stream.

Each record's hash covers its own fields, its global `seq`, its place in its stream and the hash of
the record before it in that stream, so editing, deleting, reordering or inserting a record breaks
the chain from that point. A case's records form one stream (`case:<id>`); records without a case
(deployments, sign-ins) go to one of a few `general:<n>` streams chosen by actor. An append locks
only its stream's head row, so writers to different cases never wait for each other; `seq` comes
from a sequence (PostgreSQL) or SQLite's single writer, never from a shared row.

Against someone who can write the database, chains alone prove nothing (they can be recomputed):
signed checkpoints kept outside the database anchor them (see `audit_checkpoints`, `audit_verify`).

Records written before per-stream chains existed stay in stream `legacy`, hashed the old way."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .models import AUDIT_SEQ, AuditRecord, AuditStream

GENESIS = "0" * 64
LEGACY_STREAM = "legacy"
GENERAL_STREAMS = 16  # case-less records spread over this many streams, so none becomes a hot lock


def _canonical_time(at: datetime) -> str:
    if at.tzinfo is None:  # SQLite hands back naive datetimes; they were written as UTC
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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


def _body(record: AuditRecord) -> dict[str, Any]:
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


def record_hash(record: AuditRecord) -> str:
    body = _body(record)
    if record.stream != LEGACY_STREAM:  # legacy records keep the single-chain hash they were written with
        body.update({"v": 2, "stream": record.stream, "stream_seq": record.stream_seq})
    return hashlib.sha256(canonical_json(body)).hexdigest()


def _advance_head(session: Session, stream: str) -> tuple[int, str, int]:
    """Lock the stream's head (creating it on first use) and take the next place in the stream and
    the next global seq, in one statement: (stream_seq, prev_hash, seq)."""
    if session.get_bind().dialect.name == "postgresql":
        # The seq is drawn in the update branch, after the row lock, so a case's records are in
        # `seq` order along their chain. A new stream's head is inserted with seq 0 and draws its
        # seq next (once per case, and no value drawn in vain, so `seq` has no gaps of our making).
        stmt = postgresql.insert(AuditStream).values(stream=stream, length=1, hash=stream_genesis(stream), last_seq=0)
        set_last = AUDIT_SEQ.next_value()
    else:  # SQLite: the transaction already holds the write lock (BEGIN IMMEDIATE)
        next_seq = select(func.coalesce(func.max(AuditRecord.seq), 0) + 1).scalar_subquery()
        stmt = sqlite.insert(AuditStream).values(stream=stream, length=1, hash=stream_genesis(stream),
                                                 last_seq=next_seq)
        set_last = stmt.excluded.last_seq
    stmt = stmt.on_conflict_do_update(
        index_elements=[AuditStream.stream],
        set_={"length": AuditStream.length + 1, "last_seq": set_last},
    ).returning(AuditStream.length, AuditStream.hash, AuditStream.last_seq)
    length, prev_hash, seq = session.execute(stmt).one()
    if seq == 0:
        seq = session.execute(select(AUDIT_SEQ.next_value())).scalar_one()
    return length, prev_hash, seq


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
) -> AuditRecord:
    stream = stream_for(instance_id, actor)
    stream_seq, prev_hash, seq = _advance_head(session, stream)
    data = dict(data or {})
    decision = data.get("decision")
    rationale = data.get("rationale")
    record = AuditRecord(
        seq=seq,
        stream=stream,
        stream_seq=stream_seq,
        at=at,
        actor=actor,
        group_name=group,
        action=action,
        instance_id=instance_id,
        business_key=business_key,
        activity_id=activity_id,
        activity_name=activity_name,
        decision=str(decision) if decision is not None else None,
        rationale=str(rationale) if rationale is not None else None,
        data=data,
        prev_hash=prev_hash,
    )
    record.hash = record_hash(record)
    session.add(record)
    session.flush()
    session.execute(update(AuditStream).where(AuditStream.stream == stream).values(hash=record.hash, last_seq=seq))
    return record


def verify(session: Session, instance_id: int | None = None, **options: Any):
    """Check the chains (and, given `keys` and `exported`, the signed checkpoints); see
    `audit_verify.verify`. Kept here so `from engine.audit import verify` goes on working."""
    from .audit_verify import verify as _verify
    return _verify(session, instance_id, **options)
