"""API tokens: one per integration (client), scoped to groups, revocable, stored as SHA-256 only.

The token is shown once when created (`releasedesk token add`); afterwards only its first
characters (`hint`) identify it. An integration acts as `token:NAME` with the token's groups, so the
audit trail names the client, and revoking the token cuts it off at its next request."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .errors import Conflict, InvalidForm, NotFound
from .models import ApiToken
from .users import GROUPS, Actor

PREFIX = "rdt_"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_actor_name(name: str) -> str:
    return f"token:{name}"


def create_token(session: Session, name: str, groups: list[str], *, by: str, at: datetime) -> str:
    """Create a token and return it: the only time it can be seen."""
    errors = {}
    if not _NAME.match(name or ""):
        errors["name"] = "Use 1-63 lower-case letters, digits, dot, dash or underscore."
    unknown = [g for g in groups if g not in GROUPS]
    if unknown or not groups:
        errors["group"] = "Known groups: " + ", ".join(GROUPS)
    if errors:
        raise InvalidForm("Invalid token.", errors)
    if session.scalar(select(ApiToken).where(ApiToken.name == name)):
        raise Conflict(f"a token named {name!r} already exists (revoked tokens keep their name)")
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=token_digest(token), hint=token[:10], groups=sorted(set(groups)),
                         created_at=at, created_by=by))
    audit.append(session, at=at, actor=by, action="token_add", data={"token": name, "groups": sorted(set(groups))})
    session.flush()
    return token


def list_tokens(session: Session) -> list[dict]:
    return [{"name": t.name, "hint": t.hint, "groups": list(t.groups), "createdAt": t.created_at,
             "createdBy": t.created_by, "revokedAt": t.revoked_at}
            for t in session.scalars(select(ApiToken).order_by(ApiToken.name))]


def revoke_token(session: Session, name: str, *, by: str, at: datetime) -> None:
    token = session.scalar(select(ApiToken).where(ApiToken.name == name))
    if token is None:
        raise NotFound(f"no token named {name!r}")
    if token.revoked_at is None:
        token.revoked_at = at
        audit.append(session, at=at, actor=by, action="token_revoke", data={"token": name})


def token_actor(session: Session, token: str) -> Actor | None:
    """The integration a bearer token stands for, or None (unknown, malformed or revoked)."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    if row is None or row.revoked_at is not None:
        return None
    return Actor(token_actor_name(row.name), frozenset(row.groups))
