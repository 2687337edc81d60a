"""The event feed for integrations: audit records in sequence order, only for the cases the caller
may read (managers read everything, including records that belong to no case). A client keeps the
last `seq` it saw and asks for what came after, so a force's systems follow decisions and
publications without polling every case."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import AuditRecord, ProcessInstance
from .queries import READ_ALL_GROUPS, audit_summary, visible_to
from .users import Actor

MAX_LIMIT = 1000


def events_after(session: Session, actor: Actor, after: int = 0, limit: int = 100) -> dict[str, Any]:
    """`{"items": [...], "next": seq}`: up to `limit` records with seq > `after`, oldest first;
    `next` is the seq to pass as `after` for the following page (unchanged when nothing is new)."""
    query = select(AuditRecord).where(AuditRecord.seq > after)
    if not actor.groups & READ_ALL_GROUPS:
        query = query.join(ProcessInstance, ProcessInstance.id == AuditRecord.instance_id).where(visible_to(actor))
    rows = list(session.scalars(query.order_by(AuditRecord.seq).limit(limit)))
    return {"items": [audit_summary(r) for r in rows], "next": rows[-1].seq if rows else after}
