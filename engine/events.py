"""The event feed for integrations: audit records in sequence order, only for the cases the caller
may read (managers read everything, including records that belong to no case). A client keeps the
last `seq` it saw and asks for what came after, so a force's systems follow decisions and
publications without polling every case.

A feed must never skip a record. When several writers append at once, a record can commit after a
record with a higher `seq` (a sequence number handed out but not yet committed, or never committed
if its transaction rolled back). So the feed stops below the first gap in the sequence and waits;
a gap still open after `GAP_PATIENCE` (its transaction rolled back, or the row was removed, which
the audit verification reports) is passed over."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import as_utc
from .models import AuditRecord, ProcessInstance
from .queries import READ_ALL_GROUPS, audit_summary, visible_to
from .users import Actor

MAX_LIMIT = 1000
GAP_PATIENCE = timedelta(seconds=60)
WINDOW = 5000  # sequence numbers examined per call for gaps



def settled_through(session: Session, after: int, now: datetime) -> int:
    """The highest seq such that every record from `after` up to it is committed (or its gap is
    older than GAP_PATIENCE), looking at most WINDOW records ahead."""
    rows = session.execute(select(AuditRecord.seq, AuditRecord.at).where(AuditRecord.seq > after)
                           .order_by(AuditRecord.seq).limit(WINDOW)).all()
    horizon = after
    for seq, at in rows:
        if seq != horizon + 1 and as_utc(at) > now - GAP_PATIENCE:
            break  # an earlier record may still be committing
        horizon = seq
    return horizon


def events_after(session: Session, actor: Actor, after: int = 0, limit: int = 100,
                 now: datetime | None = None) -> dict[str, Any]:
    """`{"items": [...], "next": seq}`: up to `limit` records with seq > `after`, oldest first;
    `next` is the seq to pass as `after` for the following page (unchanged when nothing is new)."""
    now = now or datetime.now(timezone.utc)
    horizon = settled_through(session, after, now)
    query = select(AuditRecord).where(AuditRecord.seq > after, AuditRecord.seq <= horizon)
    if not actor.groups & READ_ALL_GROUPS:
        query = query.join(ProcessInstance, ProcessInstance.id == AuditRecord.instance_id).where(visible_to(actor))
    rows = list(session.scalars(query.order_by(AuditRecord.seq).limit(limit)))
    if len(rows) == limit:
        return {"items": [audit_summary(r) for r in rows], "next": rows[-1].seq}
    # Everything visible up to the horizon is here: the caller may skip what it cannot see.
    return {"items": [audit_summary(r) for r in rows], "next": horizon}
