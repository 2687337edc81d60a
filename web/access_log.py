"""Accountability for what the workflow itself does not record: sign-in and sign-out, failed
sign-ins, uploads, audit exports, and every read of a case's data (the Data Protection Act 2018
s.62 names consultation and disclosure). Each becomes an audit record naming who, when, from which
address and what, through `engine.audit.append`, so it sits in the same verifiable trail as the
decisions.

Views call one line: `access_log.read_case(instance_id, business_key, "task")` after a read,
`access_log.record("audit_export", {...})` for anything else. The client's address is the socket's
peer unless that peer is a configured trusted proxy (`RELEASEDESK_TRUSTED_PROXIES`), in which case
the right-most untrusted address of X-Forwarded-For is taken: a client can prepend anything to that
header, but not what our own proxy appended."""
from __future__ import annotations

import ipaddress
from functools import cache
from typing import Any

from flask import current_app, request
from sqlalchemy.orm import Session

from engine import Actor
from engine import audit as audit_chain

#: Records of people looking at a case, kept out of the case's process trail unless asked for.
ACCESS_ACTIONS = ("read",)
ACTIONS = ("sign_in", "sign_in_failed", "sign_out", "read", "upload", "audit_export", "user_add", "user_groups",
           "user_password", "user_disable", "user_enable", "token_add", "token_revoke")


def desk():
    return current_app.extensions["releasedesk"]


@cache
def _networks(proxies: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in proxies if p.strip())


def _trusted(address: str, networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address() -> str:
    """Who is on the other end: the peer, or (behind a configured proxy) the address it reports."""
    peer = request.environ.get("REMOTE_ADDR") or "-"
    networks = _networks(tuple(desk().settings.trusted_proxies))
    if not networks or not _trusted(peer, networks):
        return peer
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
    for hop in reversed(forwarded):
        if not _trusted(hop, networks):
            return hop[:64]
    return forwarded[0][:64] if forwarded else peer


def _who() -> Actor | None:
    from flask import g
    from flask_login import current_user
    actor = getattr(g, "actor", None)
    if actor is None and current_user and current_user.is_authenticated:
        actor = current_user.actor
    return actor


def append(session: Session, action: str, data: dict[str, Any] | None = None, *, actor: Actor | str | None = None,
           instance_id: int | None = None, business_key: str | None = None) -> None:
    """Record `action` inside the caller's transaction."""
    who = actor if actor is not None else _who()
    name = who.username if isinstance(who, Actor) else (who or "anonymous")
    group = next(iter(sorted(who.groups)), None) if isinstance(who, Actor) else None
    details = {**(data or {}), "address": client_address(),
               "via": "api" if request.path.startswith("/api/") else "web"}
    audit_chain.append(session, at=desk().clock(), actor=name[:80], group=group, action=action,
                       instance_id=instance_id, business_key=business_key, data=details)


def record(action: str, data: dict[str, Any] | None = None, *, actor: Actor | str | None = None,
           instance_id: int | None = None, business_key: str | None = None) -> None:
    """Record `action` in a short transaction of its own (after the work it describes)."""
    with desk().transaction() as s:
        append(s, action, data, actor=actor, instance_id=instance_id, business_key=business_key)


def read_case(instance_id: int, business_key: str | None, what: str) -> None:
    """Someone read case data (`what`: instance, audit trail, task, case page...)."""
    record("read", {"what": what, "path": request.path[:200]}, instance_id=instance_id, business_key=business_key)
