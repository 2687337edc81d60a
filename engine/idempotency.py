"""Safe retries: a start or a message sent with an `Idempotency-Key` answers its first success again.

A client that lost the reply to a start cannot tell whether the case exists; retrying blindly would
make a second case (or refuse with 409). The first successful answer is stored under (caller, key)
in the same transaction as the command, so it exists exactly when the command's effects do. A
failed request stores nothing (it changed nothing) and may be retried with the same key. Keys live
for `TTL`; the same key with a different request is refused (`IdempotencyKeyReused`, 422)."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .db import as_utc
from .errors import Conflict, EngineError, InvalidForm
from .models import IdempotencyRecord
from .users import Actor

TTL = timedelta(hours=24)
MAX_KEY = 200


class IdempotencyKeyReused(EngineError):
    """The key was already used by this caller for a different request."""

    status = 422


def fingerprint(method: str, path: str, body: Any) -> str:
    blob = json.dumps([method.upper(), path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise InvalidForm("Invalid Idempotency-Key.", {"Idempotency-Key": f"1 to {MAX_KEY} printable characters."})
    return key



def replay(session: Session, actor: Actor, key: str, request_hash: str, now: datetime
           ) -> tuple[int, dict[str, Any]] | None:
    """(status, body) of the first answer to this request, or None when the key is new (or expired)."""
    row = session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.actor == actor.username,
                                                         IdempotencyRecord.key == key))
    if row is None:
        return None
    if as_utc(row.created_at) < now - TTL:
        session.delete(row)
        session.flush()
        return None
    if row.request_hash != request_hash:
        raise IdempotencyKeyReused("This Idempotency-Key was already used for a different request; "
                                   "use a new key for a new request.", {"Idempotency-Key": key})
    return row.status, row.response


def remember(session: Session, actor: Actor, key: str, request_hash: str, status: int,
             response: dict[str, Any], now: datetime) -> None:
    session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - TTL,
                                                    IdempotencyRecord.actor == actor.username))
    try:
        with session.begin_nested():
            session.add(IdempotencyRecord(actor=actor.username, key=key, request_hash=request_hash,
                                          status=status, response=response, created_at=now))
    except IntegrityError:  # the same key, sent twice at once: the other request is answering it
        raise Conflict("A request with this Idempotency-Key is still in progress; retry shortly.",
                       {"Idempotency-Key": key}) from None
