"""Read models for the managers' pages: the case list, the dashboard and diagram overlays.

Everything here is SQL over projection tables (instances, human tasks, positions, disclosure log),
never a deserialized workflow, so each page costs the same at 100 cases as at 100,000. Queries are
shaped for the indexes in models.py; tests/engine/test_query_plans.py holds them to it."""
from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session

from .db import as_utc
from .models import (
    ActivityPosition,
    DisclosureEntry,
    HumanTask,
    HumanTaskGroup,
    ProcessDefinition,
    ProcessInstance,
)
from .queries import iso, list_instances, task_summary

#: Activities that take a publication down: a published case is "live" until one of them completes.
REMOVAL_ACTIVITIES = ("remove_appeal", "archive_or_remove")
#: Tasks whose lateness is a removal past `removal_sla` (the dashboard lists them apart).
REMOVAL_DUE_ACTIVITIES = ("remove_appeal",)
INSTANCE_STATES = ("active", "completed", "cancelled")


# -- the case list -----------------------------------------------------------------------------
def pathway_keys(session: Session) -> list[str]:
    return list(session.scalars(select(ProcessDefinition.key).distinct().order_by(ProcessDefinition.key)))


def instance_page(session: Session, *, page: int = 1, page_size: int = 50, **filters: Any) -> dict[str, Any]:
    """One page of the case list (`queries.list_instances`), each row with the activities it waits at."""
    result = list_instances(session, page=page, page_size=page_size, **filters)
    waiting = positions_of(session, [item["id"] for item in result["items"]])
    for item in result["items"]:
        item["waitingAt"] = waiting.get(item["id"], [])
    result["pages"] = max(1, math.ceil(result["total"] / result["pageSize"]))
    return result


def positions_of(session: Session, instance_ids: list[int]) -> dict[int, list[str]]:
    """Where each of these instances stands now (primary-key lookups)."""
    found: dict[int, list[str]] = {}
    if not instance_ids:
        return found
    rows = session.execute(select(ActivityPosition.instance_id, ActivityPosition.activity_id)
                           .where(ActivityPosition.instance_id.in_(instance_ids))
                           .order_by(ActivityPosition.instance_id, ActivityPosition.activity_id))
    for instance_id, activity_id in rows:
        found.setdefault(instance_id, []).append(activity_id)
    return found


def waiting_counts(session: Session, key: str, version: int | None = None) -> dict[str, int]:
    """How many active instances wait at each activity of a pathway (of one version, if given)."""
    q = (select(ActivityPosition.activity_id, func.count())
         .where(ActivityPosition.process_key == key).group_by(ActivityPosition.activity_id))
    if version is not None:
        q = q.join(ProcessInstance, ProcessInstance.id == ActivityPosition.instance_id).where(
            ProcessInstance.version == version)
    return {activity_id: n for activity_id, n in session.execute(q)}


def instances_per_version(session: Session, key: str) -> dict[int, dict[str, int]]:
    """{version: {state: count}} for one pathway."""
    rows = session.execute(select(ProcessInstance.version, ProcessInstance.state, func.count())
                           .where(ProcessInstance.key == key)
                           .group_by(ProcessInstance.version, ProcessInstance.state))
    out: dict[int, dict[str, int]] = {}
    for version, state, n in rows:
        out.setdefault(version, {})[state] = n
    return out


# -- diagram state of one instance ---------------------------------------------------------------
def taken_flows(flows: list[dict[str, Any]], completed: list[str], active: list[str]) -> list[str]:
    """Sequence flows the instance has travelled: from a completed element to a completed or active one.

    An approximation read off the activity history, which does not record flows; it is exact for the
    pathways' shapes (no element is reached twice by different flows while its source also ran)."""
    done, now = set(completed), set(active)
    return [f["id"] for f in flows if f["source"] in done and (f["target"] in done or f["target"] in now)]


# -- dashboard -----------------------------------------------------------------------------------
def open_tasks_by_group(session: Session, now: datetime) -> list[dict[str, Any]]:
    overdue = case((and_(HumanTask.due_at.is_not(None), HumanTask.due_at < now), 1), else_=0)
    unassigned = case((HumanTask.assignee.is_(None), 1), else_=0)
    rows = session.execute(
        select(HumanTaskGroup.group_name, func.count(), func.sum(overdue), func.sum(unassigned))
        .join(HumanTask, HumanTask.id == HumanTaskGroup.task_id)
        .where(HumanTask.state == "open")
        .group_by(HumanTaskGroup.group_name).order_by(HumanTaskGroup.group_name))
    return [{"group": g, "open": n, "overdue": int(o or 0), "unassigned": int(u or 0)} for g, n, o, u in rows]


def overdue_tasks(session: Session, now: datetime, limit: int = 200) -> list[dict[str, Any]]:
    """Open tasks past their due time, most overdue first; removals past `removal_sla` are flagged."""
    rows = session.scalars(select(HumanTask).where(HumanTask.state == "open", HumanTask.due_at.is_not(None),
                                                   HumanTask.due_at < now)
                           .order_by(HumanTask.due_at, HumanTask.id).limit(limit))
    out = []
    for t in rows:
        item = task_summary(t)
        item["overdueHours"] = round((now - as_utc(t.due_at)).total_seconds() / 3600, 1)
        item["removal"] = t.activity_id in REMOVAL_DUE_ACTIVITIES
        out.append(item)
    return out


def live_publications(session: Session, now: datetime, limit: int = 200) -> list[dict[str, Any]]:
    """Active cases with a disclosure (published) and no removal completed yet, oldest first."""
    removed = exists().where(HumanTask.instance_id == ProcessInstance.id, HumanTask.state == "completed",
                             HumanTask.activity_id.in_(REMOVAL_ACTIVITIES))
    published = func.min(DisclosureEntry.at).label("published_at")
    rows = session.execute(
        select(ProcessInstance.id, ProcessInstance.key, ProcessInstance.business_key, published)
        .join(DisclosureEntry, DisclosureEntry.instance_id == ProcessInstance.id)
        .where(ProcessInstance.state == "active", ~removed)
        .group_by(ProcessInstance.id, ProcessInstance.key, ProcessInstance.business_key)
        .order_by(published).limit(limit))
    out = []
    for instance_id, key, business_key, at in rows:
        at = as_utc(at)
        out.append({"id": instance_id, "key": key, "businessKey": business_key, "publishedAt": iso(at),
                    "ageDays": round((now - at).total_seconds() / 86400, 1)})
    return out


def cases_by_outcome(session: Session) -> list[dict[str, Any]]:
    """Cases per pathway, state and outcome (an active case's outcome is None)."""
    rows = session.execute(
        select(ProcessInstance.key, ProcessInstance.state, ProcessInstance.outcome, func.count())
        .group_by(ProcessInstance.key, ProcessInstance.state, ProcessInstance.outcome)
        .order_by(ProcessInstance.key, ProcessInstance.state, ProcessInstance.outcome))
    return [{"key": k, "state": s, "outcome": o, "count": n} for k, s, o, n in rows]


def _hours_between(session: Session, start, end):
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 24.0
    return func.extract("epoch", end - start) / 3600.0


def median_decision_hours(session: Session) -> dict[str, dict[str, Any]]:
    """Per pathway: the median hours from request (start) to the first decision, and how many cases.

    Portable across SQLite and PostgreSQL: count, then read the middle row(s) in duration order."""
    hours = _hours_between(session, ProcessInstance.started_at, ProcessInstance.decided_at)
    decided = ProcessInstance.decided_at.is_not(None)
    out = {}
    counts = session.execute(select(ProcessInstance.key, func.count()).where(decided)
                             .group_by(ProcessInstance.key).order_by(ProcessInstance.key))
    for key, n in counts:
        middle = session.scalars(select(hours).where(decided, ProcessInstance.key == key)
                                 .order_by(hours).offset((n - 1) // 2).limit(2 if n % 2 == 0 else 1)).all()
        out[key] = {"medianHours": round(sum(float(h) for h in middle) / len(middle), 1), "cases": n}
    return out


def dashboard(session: Session, now: datetime) -> dict[str, Any]:
    open_total = session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.state == "open"))
    return {"openTotal": open_total, "openByGroup": open_tasks_by_group(session, now),
            "overdue": overdue_tasks(session, now),
            "live": live_publications(session, now), "outcomes": cases_by_outcome(session),
            "medianDecision": median_decision_hours(session)}
