"""What someone with write access to the database can do to the audit tables, in SQL and Python."""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.audit import record_hash, stream_genesis
from engine.models import AuditRecord, AuditStream


def rows_of(session: Session, instance_id: int) -> list[AuditRecord]:
    """A case's records in chain order."""
    return list(session.scalars(select(AuditRecord).where(AuditRecord.stream == f"case:{instance_id}")
                                .order_by(AuditRecord.stream_seq)))


def swap_stream_places(session: Session, seq_a: int, seq_b: int) -> None:
    """Swap two records' places in their stream (through a free place: the pair is unique)."""
    a, b = session.get(AuditRecord, seq_a), session.get(AuditRecord, seq_b)
    place_a, place_b = a.stream_seq, b.stream_seq
    session.execute(update(AuditRecord).where(AuditRecord.seq == seq_a).values(stream_seq=-1))
    session.execute(update(AuditRecord).where(AuditRecord.seq == seq_b).values(stream_seq=place_a))
    session.execute(update(AuditRecord).where(AuditRecord.seq == seq_a).values(stream_seq=place_b))
    session.expire_all()


def rehash_stream(session: Session, stream: str) -> None:
    """Recompute every link and hash of a stream in order and move its head to match: the chain is
    then internally consistent, as after a careful forgery. `prev_hash` is unique, so the old
    values are cleared first."""
    session.flush()
    session.expire_all()
    rows = list(session.scalars(select(AuditRecord).where(AuditRecord.stream == stream)
                                .order_by(AuditRecord.stream_seq)))
    for n, row in enumerate(rows):
        row.prev_hash, row.hash = f"tmp-{n}", f"tmp-{n}"
    session.flush()
    prev = stream_genesis(stream)
    for row in rows:
        row.prev_hash = prev
        row.hash = record_hash(row)
        prev = row.hash
    session.flush()
    session.execute(update(AuditStream).where(AuditStream.stream == stream)
                    .values(length=len(rows), hash=prev, last_seq=rows[-1].seq))
