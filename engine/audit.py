"""The append-only, hash-chained audit trail.

Each record's hash covers its own fields and the previous record's hash, so editing or deleting any
row breaks the chain from that point. Appends lock the single `audit_head` row, which serializes
writers across processes and hosts (PostgreSQL row lock; SQLite's write lock), and `prev_hash` is
unique, so a forked chain cannot be committed even by a writer that skipped the lock."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import AuditHead, AuditRecord

GENESIS = "0" * 64


def _canonical_time(at: datetime) -> str:
    if at.tzinfo is None:  # SQLite hands back naive datetimes; they were written as UTC
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record_hash(record: AuditRecord) -> str:
    body = {
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
    blob = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


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
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
        session.flush()
    data = dict(data or {})
    decision = data.get("decision")
    rationale = data.get("rationale")
    record = AuditRecord(
        seq=head.seq + 1,
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
        prev_hash=head.hash,
    )
    record.hash = record_hash(record)
    session.add(record)
    head.seq, head.hash = record.seq, record.hash
    session.flush()
    return record


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    bad_seq: int | None = None
    reason: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.checked} record(s) verified"
        return f"audit chain BROKEN at record {self.bad_seq}: {self.reason}"


def verify(session: Session, instance_id: int | None = None) -> VerifyResult:
    """Walk the whole chain in order. With `instance_id`, only that instance's records are
    reported on, but each is still checked against the record before it in the global chain."""
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    rows = session.execute(select(AuditRecord).order_by(AuditRecord.seq)).scalars()
    for record in rows.yield_per(1000):
        mine = instance_id is None or record.instance_id == instance_id
        if record.seq != expected_seq:
            return VerifyResult(False, checked, expected_seq, f"record {expected_seq} is missing (deleted?)")
        if record.prev_hash != prev_hash:
            return VerifyResult(False, checked, record.seq, "does not link to the record before it")
        if record_hash(record) != record.hash:
            return VerifyResult(False, checked, record.seq, "its contents were changed after it was written")
        prev_hash, expected_seq = record.hash, expected_seq + 1
        checked += 1 if mine else 0
        session.expunge(record)
    head = session.get(AuditHead, 1)
    if head is not None and head.seq != expected_seq - 1:
        return VerifyResult(False, checked, expected_seq, f"records after {expected_seq - 1} are missing (deleted?)")
    return VerifyResult(True, checked)
