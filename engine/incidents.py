"""Incidents: a case whose timer (or the steps a timer sets off) fails in the background worker.

Before incidents, one failing case raised out of the worker's loop and every later case's timers
waited behind it. Now each case fires in its own transaction; a failure rolls back only that case
and is recorded here (error, activity, attempts), the worker retries it with exponential back-off
(settings `incident_retry_seconds`, doubling up to `incident_retry_max_seconds`), managers see it
on the dashboard and the case page and may retry it by hand after a fix (audited). A later success
resolves it."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from . import audit
from .config import Settings
from .db import as_utc
from .errors import NotAllowed, NotFound
from .models import Incident, ProcessInstance, Subscription
from .queries import iso
from .users import SYSTEM, Actor

MAX_ERROR_CHARS = 2000


def backoff(attempts: int, settings: Settings) -> timedelta:
    """Wait before the next automatic retry: base, 2x base, 4x base ... capped."""
    seconds = settings.incident_retry_seconds * 2 ** min(max(attempts - 1, 0), 30)
    return timedelta(seconds=min(seconds, settings.incident_retry_max_seconds))


def open_incident(session: Session, instance_id: int, kind: str = "timer") -> Incident | None:
    return session.scalars(select(Incident).where(Incident.instance_id == instance_id, Incident.kind == kind,
                                                  Incident.resolved_at.is_(None)).limit(1)).first()


def backing_off(incident: Incident | None, now: datetime) -> bool:
    """True while the case's open incident waits for its next retry: the worker leaves the case alone."""
    return incident is not None and incident.next_retry_at is not None and as_utc(incident.next_retry_at) > now


def record_failure(session: Session, instance_id: int, error: BaseException, now: datetime,
                   settings: Settings, kind: str = "timer") -> Incident:
    """Open an incident for the case, or count one more failed attempt on the open one.

    kind "timer": the worker's firing failed; retried automatically with back-off.
    kind "step": a person's action (completing a task, a message) failed in the diagram; the person
    was told and nothing was saved; it resolves when that action next succeeds."""
    details = getattr(error, "details", None) or {}
    text = (getattr(error, "message", None) or str(error) or type(error).__name__)[:MAX_ERROR_CHARS]
    activity = details.get("task") if isinstance(details, dict) else None
    retry = (lambda attempts: now + backoff(attempts, settings)) if kind == "timer" else (lambda attempts: None)
    incident = open_incident(session, instance_id, kind)
    if incident is None:
        instance = session.get(ProcessInstance, instance_id)
        if kind == "timer":
            activity = activity or _waiting_activity(session, instance_id)
        incident = Incident(instance_id=instance_id, kind=kind, activity_id=activity, error=text, attempts=1,
                            created_at=now, last_failed_at=now, next_retry_at=retry(1))
        session.add(incident)
        audit.append(session, at=now, actor=SYSTEM.username, action="incident", instance_id=instance_id,
                     business_key=instance.business_key if instance else None, activity_id=activity,
                     data={"kind": kind, "error": text})
    else:
        incident.attempts += 1
        incident.error = text
        incident.activity_id = activity or incident.activity_id
        incident.last_failed_at = now
        incident.next_retry_at = retry(incident.attempts)
    session.flush()
    return incident


def resolve(session: Session, instance: ProcessInstance, now: datetime, by: str = SYSTEM.username,
            kinds: tuple[str, ...] = ("timer", "step")) -> None:
    """The case moved on: close its open incidents of these kinds (in the transaction of the success),
    in one statement; none when the command's lock found no open incident on the case."""
    if instance.open_incident is False:
        return
    session.execute(update(Incident).where(Incident.instance_id == instance.id, Incident.kind.in_(kinds),
                                           Incident.resolved_at.is_(None))
                    .values(resolved_at=now, resolved_by=by, next_retry_at=None)
                    .execution_options(synchronize_session=False))


def close(incident: Incident, now: datetime, by: str = SYSTEM.username) -> None:
    incident.resolved_at, incident.resolved_by, incident.next_retry_at = now, by, None


def request_retry(session: Session, incident_id: int, actor: Actor, now: datetime) -> Incident:
    """A manager asks for a retry now (after a fix): due at once, and audited."""
    if "manager" not in actor.groups:
        raise NotAllowed("only managers may retry an incident")
    incident = session.get(Incident, incident_id) if 0 < incident_id < 2 ** 63 else None
    if incident is None or incident.resolved_at is not None or incident.kind != "timer":
        raise NotFound(f"no open incident {incident_id}")
    incident.next_retry_at = now
    instance = session.get(ProcessInstance, incident.instance_id)
    audit.append(session, at=now, actor=actor.username, group="manager", action="incident_retry",
                 instance_id=incident.instance_id, business_key=instance.business_key if instance else None,
                 activity_id=incident.activity_id, data={"incident": incident.id, "attempts": incident.attempts,
                                                         "error": incident.error})
    return incident


def incident_summary(i: Incident, business_key: str | None = None) -> dict[str, Any]:
    return {"id": i.id, "processInstanceId": i.instance_id, "businessKey": business_key, "kind": i.kind,
            "activityId": i.activity_id, "error": i.error, "attempts": i.attempts, "createdAt": iso(i.created_at),
            "lastFailedAt": iso(i.last_failed_at), "nextRetryAt": iso(i.next_retry_at),
            "resolvedAt": iso(i.resolved_at), "resolvedBy": i.resolved_by}


def list_open(session: Session, instance_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
    q = (select(Incident, ProcessInstance.business_key)
         .join(ProcessInstance, ProcessInstance.id == Incident.instance_id).where(Incident.resolved_at.is_(None)))
    if instance_id is not None:
        q = q.where(Incident.instance_id == instance_id)
    rows = session.execute(q.order_by(Incident.created_at.desc(), Incident.id.desc()).limit(limit))
    return [incident_summary(i, key) for i, key in rows]


def _waiting_activity(session: Session, instance_id: int) -> str | None:
    return session.scalar(select(Subscription.activity_id).where(Subscription.instance_id == instance_id,
                                                                 Subscription.kind == "timer").limit(1))

