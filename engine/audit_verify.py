"""`releasedesk audit verify`: check every stream's chain, the signed checkpoints, and the copy of
the checkpoints exported outside the database; name the first bad record or checkpoint.

What each check catches:
- chains: an edited, deleted, reordered or inserted record (its hash, its link or its place in the
  stream no longer fits), and a stream head row that disagrees with its records;
- checkpoints (hash, link, Ed25519 signature by a trusted key): a deleted, edited or forged
  checkpoint, and, through the heads they sign, a truncated tail, a rewound head, a forged record
  with a recomputed hash and a wholesale re-hash of a stream;
- the exported copy: a checkpoint deleted from the database (even the last one), or replaced."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from .audit import LEGACY_STREAM, record_hash, stream_genesis
from .audit_checkpoints import CHECKPOINT_GENESIS, checkpoint_hash
from .audit_keys import verify_signature
from .models import AuditCheckpoint, AuditCheckpointed, AuditRecord, AuditStream


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    bad_seq: int | None = None
    reason: str | None = None
    bad_checkpoint: int | None = None
    checkpoints: int = 0
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.ok:
            text = (f"audit chain intact: {self.checked} record(s) verified, "
                    f"{self.checkpoints} signed checkpoint(s) verified")
        elif self.bad_checkpoint is not None:
            text = f"audit checkpoints BROKEN at checkpoint {self.bad_checkpoint}: {self.reason}"
        elif self.bad_seq is not None:
            text = f"audit chain BROKEN at record {self.bad_seq}: {self.reason}"
        else:
            text = f"audit chain BROKEN: {self.reason}"
        return "\n".join([text, *self.notes])


class _Broken(Exception):
    def __init__(self, reason: str, seq: int | None = None, checkpoint: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.seq, self.checkpoint = reason, seq, checkpoint


def _case_label(stream: str) -> str:
    return f"case {stream.split(':', 1)[1]}" if stream.startswith("case:") else f"stream {stream}"


class _Checkpoints:
    """Replay the signed checkpoints: what each stream's record at each signed position must be."""

    def __init__(self, session: Session, keys: Mapping[str, Ed25519PublicKey] | None) -> None:
        self.expected: dict[tuple[str, int], tuple[str, int]] = {}
        self.state: dict[str, tuple[int, str]] = {}
        self.by_id: dict[int, AuditCheckpoint] = {}
        prev, number = CHECKPOINT_GENESIS, 0
        for cp in session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)):
            number += 1
            if cp.id != number:
                raise _Broken(f"checkpoint {number} is missing (deleted?)", checkpoint=number)
            if cp.prev_hash != prev:
                raise _Broken("does not link to the checkpoint before it", checkpoint=cp.id)
            if checkpoint_hash(cp) != cp.hash:
                raise _Broken("its contents were changed after it was signed", checkpoint=cp.id)
            if keys is not None:
                if cp.key_id not in keys:
                    raise _Broken(f"signed by {cp.key_id}, which is not a trusted key (forged?)", checkpoint=cp.id)
                if not verify_signature(keys[cp.key_id], cp.signature, cp.hash.encode()):
                    raise _Broken("its signature does not verify (forged or altered)", checkpoint=cp.id)
            for stream, (length, head) in sorted(cp.heads.items()):
                before = self.state.get(stream)
                if before is not None and length < before[0]:
                    raise _Broken(f"{_case_label(stream)} went back from {before[0]} to {length} record(s) "
                                  "(head rewound?)", checkpoint=cp.id)
                self.state[stream] = (length, head)
                self.expected[(stream, length)] = (head, cp.id)
            self.by_id[cp.id] = cp
            prev = cp.hash
            session.expunge(cp)

    def compare_export(self, exported: list[dict[str, Any]], keys: Mapping[str, Ed25519PublicKey] | None,
                       source: str) -> list[str]:
        seen = 0
        for line in exported:
            if "_error" in line:
                raise _Broken(f"line {line['_line']} of {source} is {line['_error']}")
            cp_id = line.get("id")
            if not isinstance(cp_id, int):
                raise _Broken(f"{source} holds a line without a checkpoint id")
            if line.get("hash") != checkpoint_hash(line):
                raise _Broken(f"its exported copy in {source} was altered", checkpoint=cp_id)
            public = (keys or {}).get(line.get("key"))
            if keys is not None and (public is None or not verify_signature(public, str(line.get("signature")),
                                                                            line["hash"].encode())):
                raise _Broken(f"its exported copy in {source} is not signed by a trusted key", checkpoint=cp_id)
            stored = self.by_id.get(cp_id)
            if stored is None:
                raise _Broken(f"it is in {source} but not in the database (deleted?)", checkpoint=cp_id)
            if stored.hash != line["hash"]:
                raise _Broken(f"the database copy differs from the one exported to {source} (replaced?)",
                              checkpoint=cp_id)
            if cp_id != seen + 1:
                raise _Broken(f"{source} jumps from checkpoint {seen} to {cp_id} (a line was removed?)",
                              checkpoint=seen + 1)
            seen = cp_id
        later = [cp_id for cp_id in sorted(self.by_id) if cp_id > seen]
        if later:  # signed by a trusted key, so written by the product: the export is only behind
            return [f"note: checkpoint(s) {later[0]}..{later[-1]} not yet in {source}"]
        return []

    def compare_bookkeeping(self, session: Session) -> None:
        rows = {r.stream: (r.length, r.hash) for r in session.scalars(select(AuditCheckpointed))}
        for stream in sorted(set(rows) | set(self.state)):
            if rows.get(stream) != self.state.get(stream):
                raise _Broken(f"the checkpoint bookkeeping for {_case_label(stream)} disagrees with the signed "
                              "checkpoints (altered, so later checkpoints would skip it?)")


def _walk(session: Session, streams: list[str] | None, instance_id: int | None, cps: _Checkpoints) -> int:
    heads = {h.stream: h for h in session.scalars(select(AuditStream))}
    q = select(AuditRecord).order_by(AuditRecord.stream, AuditRecord.stream_seq)
    if streams is not None:
        q = q.where(AuditRecord.stream.in_(streams))
    checked, stream, position, prev, last_seq = 0, None, 0, "", None
    visited: set[str] = set()

    def close(stream: str) -> None:
        head = heads.get(stream)
        if head is None:
            raise _Broken(f"{_case_label(stream)} has records but no head row (head deleted?)", last_seq)
        if head.length > position:
            raise _Broken(f"it is missing: the head of {_case_label(stream)} ends at it, record {head.length} of "
                          f"the stream, but the chain stops at record {position} (tail deleted?)", head.last_seq)
        if head.length != position or head.hash != prev:
            raise _Broken(f"the head of {_case_label(stream)} says {head.length} record(s) ending in "
                          f"{head.hash[:12]}, but the chain has {position} (head moved?)", last_seq)
        signed = cps.state.get(stream)
        if signed is not None and signed[0] > position:
            raise _Broken(f"{_case_label(stream)}: checkpoint {cps.expected[(stream, signed[0])][1]} signed "
                          f"{signed[0]} record(s) but only {position} remain (tail truncated?)", last_seq)

    for record in session.scalars(q).yield_per(1000):
        if record.stream != stream:
            if stream is not None:
                close(stream)
            stream, position, prev = record.stream, 0, stream_genesis(record.stream)
            visited.add(stream)
        position += 1
        if record.stream_seq != position:
            raise _Broken(f"record {position} of {_case_label(stream)} before it is missing (deleted?) or the "
                          "records were reordered", record.seq)
        if record.prev_hash != prev:
            raise _Broken(f"does not link to the record before it in {_case_label(stream)} "
                          "(reordered or inserted?)", record.seq)
        if stream == LEGACY_STREAM and record.seq != position:
            raise _Broken("its place in the legacy chain was changed", record.seq)
        if record_hash(record) != record.hash:
            raise _Broken("its contents were changed after it was written", record.seq)
        signed = cps.expected.get((stream, position))
        if signed is not None and signed[0] != record.hash:
            raise _Broken(f"checkpoint {signed[1]} signed a different record {position} of {_case_label(stream)}: "
                          "this stream was rewritten up to here (forged or re-hashed)", record.seq)
        prev, last_seq = record.hash, record.seq
        if instance_id is None or record.instance_id == instance_id:
            checked += 1
        session.expunge(record)
    if stream is not None:
        close(stream)
    wanted = set(heads) | set(cps.state) if streams is None else set(streams)
    for missing in sorted(wanted - visited):
        head = heads.get(missing)
        if (head is not None and head.length) or missing in cps.state:
            raise _Broken(f"it is missing, with every other record of {_case_label(missing)} (deleted?)",
                          head.last_seq if head is not None else None)
    return checked


def verify(session: Session, instance_id: int | None = None, *,
           keys: Mapping[str, Ed25519PublicKey] | None = None,
           exported: list[dict[str, Any]] | None = None, export_source: str = "the exported file") -> VerifyResult:
    """Check the chains and the checkpoints. `keys` (trusted public keys by id) enables signature
    checks; `exported` (the exported checkpoints) enables the comparison with the outside copy.
    With `instance_id`, only that case's stream is walked (and the legacy chain if it holds some of
    the case's older records), while every checkpoint is still checked."""
    checked, notes = 0, []
    try:
        cps = _Checkpoints(session, keys)
        if exported is not None:
            notes = cps.compare_export(exported, keys, export_source)
        streams = None
        if instance_id is None:
            cps.compare_bookkeeping(session)
        else:
            streams = [f"case:{instance_id}"]
            legacy = session.scalar(select(AuditRecord.seq).where(AuditRecord.stream == LEGACY_STREAM,
                                                                  AuditRecord.instance_id == instance_id).limit(1))
            if legacy is not None:
                streams.append(LEGACY_STREAM)
        checked = _walk(session, streams, instance_id, cps)
    except _Broken as broken:
        return VerifyResult(False, checked, broken.seq, broken.reason, broken.checkpoint)
    return VerifyResult(True, checked, checkpoints=len(cps.by_id), notes=notes)
