"""Signed checkpoints: the global anchor over every audit stream.

A checkpoint lists the stream heads (length and last hash) that changed since the previous one and
is chained to it, so checkpoint N covers every head as of N. Its hash is signed with the Ed25519
key (never stored in the database) and each checkpoint is exported outside the database: appended
to a JSON-lines file and optionally sent to syslog. Someone who can write the database can then no
longer truncate, rewind or re-hash anything a checkpoint covers without the signed, exported copy
disagreeing.

Writers never lock stream heads: a checkpoint reads the committed heads in one statement. Two
checkpoint writers cannot fork the chain: `id` is the primary key and `prev_hash` is unique, so the
slower one fails and writes nothing."""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import logging.handlers
import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .audit import _canonical_time, canonical_json
from .audit_keys import SigningKey, verify_signature
from .config import Settings
from .db import INSERTS, backend
from .models import AuditCheckpoint, AuditCheckpointed, AuditStream

CHECKPOINT_GENESIS = hashlib.sha256(b"releasedesk-audit-checkpoints").hexdigest()


class CheckpointRefused(RuntimeError):
    """The record is not in a state a new checkpoint may vouch for: say why, sign nothing."""


class ExportAhead(CheckpointRefused):
    """The exported file holds checkpoints the database no longer has: refuse to write over them."""


def check_last_is_signed(last: AuditCheckpoint | None, keys: Mapping[str, Ed25519PublicKey]) -> None:
    """Never chain onto a checkpoint that was altered or signed by an untrusted key."""
    if last is None:
        return
    public = keys.get(last.key_id)
    if checkpoint_hash(last) != last.hash or public is None or not verify_signature(
            public, last.signature, last.hash.encode()):
        raise CheckpointRefused(f"checkpoint {last.id} is not signed by a trusted key; no checkpoint written "
                                "(run `releasedesk audit verify`)")


def checkpoint_body(cp: AuditCheckpoint | dict[str, Any]) -> dict[str, Any]:
    """What the hash covers, from a stored checkpoint or from its exported JSON form."""
    if isinstance(cp, dict):
        return {name: cp.get(name) for name in ("id", "at", "reason", "heads", "key", "prev")}
    return {"id": cp.id, "at": _canonical_time(cp.at), "reason": cp.reason, "heads": cp.heads, "key": cp.key_id,
            "prev": cp.prev_hash}


def checkpoint_hash(cp: AuditCheckpoint | dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(checkpoint_body(cp))).hexdigest()


def exported_form(cp: AuditCheckpoint) -> dict[str, Any]:
    """What goes to the file and syslog: everything needed to check it without the database."""
    return {**checkpoint_body(cp), "hash": cp.hash, "signature": cp.signature}


def _changed_heads(session: Session) -> list[tuple[str, int, str]]:
    c, h = AuditCheckpointed, AuditStream
    q = (select(h.stream, h.length, h.hash).outerjoin(c, c.stream == h.stream)
         .where(or_(c.stream.is_(None), c.length != h.length, c.hash != h.hash)).order_by(h.stream))
    return [tuple(row) for row in session.execute(q)]


def _remember(session: Session, heads: list[tuple[str, int, str]]) -> None:
    stmt = INSERTS[backend(session)](AuditCheckpointed)
    stmt = stmt.on_conflict_do_update(index_elements=[AuditCheckpointed.stream],
                                      set_={"length": stmt.excluded.length, "hash": stmt.excluded.hash})
    session.execute(stmt, [{"stream": s, "length": n, "hash": x} for s, n, x in heads])


def last_checkpoint(session: Session) -> AuditCheckpoint | None:
    return session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)).first()


def write_checkpoint(session: Session, key: SigningKey, now: datetime, reason: str,
                     always: bool = False) -> AuditCheckpoint | None:
    """Sign the heads that changed since the last checkpoint; None when nothing changed (unless
    `always`, as `audit verify` asks, to record that the record was checked then)."""
    last = last_checkpoint(session)
    heads = _changed_heads(session)
    if not heads and not always:
        return None
    if heads:
        _remember(session, heads)
    cp = AuditCheckpoint(id=(last.id + 1) if last else 1, at=now, reason=reason,
                         heads={s: [n, x] for s, n, x in heads}, key_id=key.key_id,
                         prev_hash=last.hash if last else CHECKPOINT_GENESIS)
    cp.hash = checkpoint_hash(cp)
    cp.signature = key.sign(cp.hash.encode())
    session.add(cp)
    session.flush()
    return cp


# --- export outside the database -------------------------------------------------------------

def export_path(settings: Settings) -> Path | None:
    if settings.audit_export_file == "":
        return None
    if settings.audit_export_file:
        return Path(settings.audit_export_file)
    return Path(settings.media_dir).parent / "audit-checkpoints.jsonl"


def read_exported(path: Path) -> list[dict[str, Any]]:
    """Every exported checkpoint, in file order. A line that is not JSON is reported as such."""
    out = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    out.append({"_line": number, "_error": "not JSON"})
    return out


def _last_line(fh) -> str | None:
    fh.seek(0, os.SEEK_END)
    end = fh.tell()
    if end == 0:
        return None
    size = min(end, 64 * 1024)
    while True:
        fh.seek(end - size)
        lines = fh.read(size).splitlines()
        if len(lines) > 1 or size == end:
            return lines[-1].decode("utf-8") if lines else None
        size = min(end, size * 4)


def exported_last_id(settings: Settings) -> int:
    """The id of the last checkpoint in the exported file (0 when there is none)."""
    path = export_path(settings)
    if path is None or not path.exists():
        return 0
    with open(path, "rb") as fh:
        fcntl.flock(fh, fcntl.LOCK_SH)
        try:
            line = _last_line(fh)
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    try:
        return int(json.loads(line)["id"]) if line else 0
    except (ValueError, KeyError, TypeError):
        return 0


def check_export_not_ahead(session: Session, settings: Settings) -> None:
    """Refuse to sign a new checkpoint over a database that lost checkpoints the file holds."""
    last_id = exported_last_id(settings)
    newest = last_checkpoint(session)
    if last_id > (newest.id if newest else 0):
        raise ExportAhead(f"the exported file {export_path(settings)} holds checkpoint {last_id}, which the "
                          "database no longer has; no checkpoint written (run `releasedesk audit verify`)")


def export_pending(session: Session, settings: Settings) -> list[dict[str, Any]]:
    """Append every checkpoint the file lacks (the new one, and any a crash left behind), under an
    exclusive lock so processes on one host never interleave lines; send them to syslog too."""
    path = export_path(settings)
    new: list[dict[str, Any]] = []
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                line = _last_line(fh)
                last_id = int(json.loads(line)["id"]) if line else 0
                rows = session.scalars(select(AuditCheckpoint).where(AuditCheckpoint.id > last_id)
                                       .order_by(AuditCheckpoint.id))
                new = [exported_form(cp) for cp in rows]
                if new:
                    fh.seek(0, os.SEEK_END)
                    fh.write(b"".join(json.dumps(cp, sort_keys=True).encode() + b"\n" for cp in new))
                    fh.flush()
                    os.fsync(fh.fileno())
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
    else:
        newest = last_checkpoint(session)
        new = [exported_form(newest)] if newest is not None else []
    if settings.audit_syslog_address:
        send_to_syslog(settings.audit_syslog_address, new)
    return new


def send_to_syslog(address: str, checkpoints: Iterable[dict[str, Any]]) -> None:
    if ":" in address and not address.startswith("/"):
        host, port = address.rsplit(":", 1)
        target: Any = (host, int(port))
    else:
        target = address
    handler = logging.handlers.SysLogHandler(address=target, facility=logging.handlers.SysLogHandler.LOG_AUTH)
    try:
        for cp in checkpoints:
            record = logging.LogRecord("releasedesk.audit", logging.INFO, __file__, 0,
                                       "releasedesk-audit-checkpoint %s", (json.dumps(cp, sort_keys=True),), None)
            handler.emit(record)
    finally:
        handler.close()
