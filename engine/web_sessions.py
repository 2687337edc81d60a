"""Signed-in sessions kept on the server.

A browser's cookie carries only a random session id; the server keeps the id's SHA-256 with the
user, when it was last used, and when it ended. Signing out ends the row, so a cookie copied before
sign-out is refused afterwards; a session idle for longer than the configured time, or older than
the absolute limit, is refused too. `last_seen_at` is written at most once a minute, so reading a
page does not take the write lock on every request."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from .db import as_utc
from .models import WebSession

TOUCH_EVERY = timedelta(seconds=60)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()



def open_session(session: Session, username: str, at: datetime, address: str | None, via: str = "password") -> str:
    session_id = secrets.token_urlsafe(32)
    session.add(WebSession(id_hash=_digest(session_id), username=username, created_at=at, last_seen_at=at,
                           address=(address or "")[:64] or None, via=via))
    session.flush()
    return session_id


def live_session(session: Session, session_id: str, at: datetime, idle: timedelta,
                 lifetime: timedelta) -> tuple[str, bool] | None:
    """(username, needs_touch) for a live session, or None when unknown, ended, idle or too old."""
    if not session_id or len(session_id) > 100:
        return None
    row = session.get(WebSession, _digest(session_id))
    if row is None or row.ended_at is not None:
        return None
    if at - as_utc(row.last_seen_at) > idle or at - as_utc(row.created_at) > lifetime:
        return None
    return row.username, at - as_utc(row.last_seen_at) > TOUCH_EVERY


def touch(session: Session, session_id: str, at: datetime) -> None:
    session.execute(update(WebSession).where(WebSession.id_hash == _digest(session_id),
                                             WebSession.ended_at.is_(None)).values(last_seen_at=at))


def end_session(session: Session, session_id: str, at: datetime) -> str | None:
    """End one session; returns its username (None when it was not live)."""
    row = session.get(WebSession, _digest(session_id)) if session_id else None
    if row is None or row.ended_at is not None:
        return None
    row.ended_at = at
    return row.username


def end_all_for(session: Session, username: str, at: datetime) -> int:
    """End every session of a user (disabled account, changed password)."""
    result = session.execute(update(WebSession).where(WebSession.username == username,
                                                      WebSession.ended_at.is_(None)).values(ended_at=at))
    return result.rowcount or 0

