"""The read side: definitions, instances, tasks and audit trails as plain JSON-safe data.

Lists read projection rows only; a single instance's detail view deserializes that one workflow
(variables and activity history live there)."""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Select, and_, bindparam, exists, func, or_, select, true
from sqlalchemy.orm import Session, defer

from .db import as_utc
from .errors import NotAllowed, NotFound
from .forms import options_for
from .models import (
    ActivityPosition,
    AuditRecord,
    DefinitionPublication,
    HumanTask,
    HumanTaskGroup,
    ProcessDefinition,
    ProcessInstance,
)
from .projections import activity_history
from .specs import load_state
from .users import Actor

READ_ALL_GROUPS = {"manager"}
_SEEN = TaskState.COMPLETED | TaskState.READY | TaskState.WAITING | TaskState.STARTED


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return as_utc(value).astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


_definitions, _publications = ProcessDefinition.__table__, DefinitionPublication.__table__
#: A version is live once published (one deployed straight to live has no publication row); of those,
#: the live one has the latest published_at (a version deployed straight to live counts from its
#: deployed_at). Drafts are never ranked.
_PUBLISHED = func.coalesce(_publications.c.status, "published") == "published"
_LIVE_ORDER = (func.coalesce(_publications.c.published_at, _definitions.c.deployed_at).desc(),
               _definitions.c.version.desc())


def _live_ranked():
    """Published versions ranked per pathway, the live one first (see `_LIVE_ORDER`)."""
    return (select(_definitions.c.id,
                   func.row_number().over(partition_by=_definitions.c.key, order_by=_LIVE_ORDER).label("rank"))
            .outerjoin(_publications, _publications.c.definition_id == _definitions.c.id)
            .where(_PUBLISHED)
            .subquery())


#: The id of the live version of :key, without a window function.
_LIVE_ID = (select(_definitions.c.id)
            .outerjoin(_publications, _publications.c.definition_id == _definitions.c.id)
            .where(_definitions.c.key == bindparam("key"), _PUBLISHED)
            .order_by(*_LIVE_ORDER)
            .limit(1))
_LIVE_DEFINITION = select(ProcessDefinition).where(ProcessDefinition.id == _LIVE_ID.scalar_subquery().correlate(None))


def live_definition_id(session: Session, key: str) -> int | None:
    """The id of the live version of `key`, or None."""
    return session.scalar(_LIVE_ID, {"key": key})


def latest_definitions(session: Session, *, catalog: bool = True) -> list[ProcessDefinition]:
    """The live version of each pathway (what new cases start on); drafts are never listed.
    `catalog=False` leaves each definition's catalog (a large JSON document) unread."""
    ranked = _live_ranked()
    query = (select(ProcessDefinition).join(ranked, and_(ranked.c.id == ProcessDefinition.id, ranked.c.rank == 1))
             .order_by(ProcessDefinition.key))
    if not catalog:
        query = query.options(defer(ProcessDefinition.catalog, raiseload=True))
    return list(session.scalars(query))


def definition_summary(d: ProcessDefinition) -> dict[str, Any]:
    return {"id": f"{d.key}:{d.version}", "key": d.key, "name": d.name, "version": d.version,
            "deployedAt": iso(d.deployed_at), "deployedBy": d.deployed_by}


def find_definition(session: Session, key: str, version: int | None = None) -> ProcessDefinition | None:
    """The given version of `key` (draft or not), or its live version when `version` is None."""
    if not version:
        return session.scalars(_LIVE_DEFINITION, {"key": key}).first()
    return session.scalars(select(ProcessDefinition)
                           .where(ProcessDefinition.key == key, ProcessDefinition.version == version)).first()


def get_definition(session: Session, key: str, version: int | None = None) -> ProcessDefinition:
    definition = find_definition(session, key, version)
    if definition is None:
        raise NotFound(f"no process definition {key!r}" + (f" version {version}" if version else ""))
    return definition


def definition_versions(session: Session, key: str) -> list[ProcessDefinition]:
    return list(session.scalars(select(ProcessDefinition).where(ProcessDefinition.key == key)
                                .order_by(ProcessDefinition.version.desc())))


def get_instance(session: Session, instance_id: int) -> ProcessInstance:
    if not 0 < instance_id < 2 ** 63:  # never reaches the database as an out-of-range integer
        raise NotFound(f"no process instance {instance_id}")
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"no process instance {instance_id}")
    return instance


def instance_summary(i: ProcessInstance) -> dict[str, Any]:
    return {"id": i.id, "key": i.key, "version": i.version, "businessKey": i.business_key, "state": i.state,
            "outcome": i.outcome, "startedAt": iso(i.started_at), "startedBy": i.started_by,
            "endedAt": iso(i.ended_at)}


def instance_view(session: Session, instance: ProcessInstance, workflow=None) -> dict[str, Any]:
    if workflow is None:
        workflow = load_state(instance.workflow_json, instance.definition)
    active, completed = activity_history(workflow)
    if instance.state != "active":
        active = []
    view = instance_summary(instance)
    view.update({"activeActivities": active, "completedActivities": completed,
                 "variables": dict(workflow.data or {}) if workflow.is_completed() else _latest_data(workflow)})
    return view


def _latest_data(workflow) -> dict[str, Any]:
    """Process variables as the most recently changed task sees them."""
    tasks = [t for t in workflow.get_tasks() if t.task_spec.bpmn_id]
    data: dict[str, Any] = {}
    for task in sorted(tasks, key=lambda t: t.last_state_change):
        if task.state & _SEEN:
            data.update(task.data)
    return data


def visible_to(actor: Actor):
    """SQL condition: instances `actor` may read. Managers read all; others read the cases they
    started and the cases where one of their groups has (or had) a task."""
    if actor.groups & READ_ALL_GROUPS:
        return true()
    has_task = exists().where(HumanTask.instance_id == ProcessInstance.id,
                              HumanTaskGroup.task_id == HumanTask.id,
                              HumanTaskGroup.group_name.in_(sorted(actor.groups)))
    return or_(ProcessInstance.started_by == actor.username, has_task)


def readable_instance(session: Session, instance_id: int, actor: Actor) -> ProcessInstance:
    """The instance if `actor` may read it. A case they may not see answers exactly as an unknown
    id does (NotFound, no reference), so walking ids reveals nothing."""
    instance = get_instance(session, instance_id)
    if session.scalar(select(ProcessInstance.id).where(ProcessInstance.id == instance_id, visible_to(actor))) is None:
        raise NotFound(f"no process instance {instance_id}")
    return instance


def reference_prefix(column, text: str):
    """Case-insensitive prefix match on a case reference. The range on lower(...) lets both
    databases enter the expression index; the LIKE keeps the match exact under any collation."""
    low = text.strip().lower()
    escaped = low.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    conditions = [func.lower(column) >= low, func.lower(column).like(escaped + "%", escape="\\")]
    if low:
        conditions.append(func.lower(column) < low[:-1] + chr(ord(low[-1]) + 1))
    return conditions


def instance_list_query(*, key: str | None = None, business_key: str | None = None, state: str | None = None,
                        business_key_prefix: str | None = None,
                        activity_id: str | None = None, activity_keys: list[str] | None = None,
                        started_from: datetime | None = None, started_to: datetime | None = None,
                        actor: Actor | None = None) -> Select:
    """Instances matching the filters, newest first (no paging).

    "Waiting at activity" is driven from the positions index (process_key, activity_id, instance_id)
    rather than an EXISTS per instance: with no pathway chosen, `activity_keys` lists the pathways to
    look in, so the index is still entered by its first column."""
    conditions = [] if actor is None else [visible_to(actor)]
    if key:
        conditions.append(ProcessInstance.key == key)
    if business_key:
        conditions.append(ProcessInstance.business_key == business_key)
    if business_key_prefix:
        conditions.extend(reference_prefix(ProcessInstance.business_key, business_key_prefix))
    if state:
        conditions.append(ProcessInstance.state == state)
    if started_from:
        conditions.append(ProcessInstance.started_at >= started_from)
    if started_to:
        conditions.append(ProcessInstance.started_at < started_to)
    if activity_id:
        keys = [key] if key else sorted(activity_keys or [])
        waiting = select(ActivityPosition.instance_id).where(ActivityPosition.process_key.in_(keys),
                                                             ActivityPosition.activity_id == activity_id)
        conditions.append(ProcessInstance.id.in_(waiting))
    return (select(ProcessInstance).where(*conditions)
            .order_by(ProcessInstance.started_at.desc(), ProcessInstance.id.desc()))


def list_instances(session: Session, *, page: int = 1, page_size: int = 50, **filters: Any) -> dict[str, Any]:
    """One page of instances for the API (filters as `instance_list_query`)."""
    if filters.get("activity_id") and not filters.get("key"):
        filters["activity_keys"] = sorted(session.scalars(select(ProcessDefinition.key).distinct()))
    query = instance_list_query(**filters)
    page, page_size = max(1, page), min(max(1, page_size), 500)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    offset = (page - 1) * page_size
    # A page past the end is empty; one past 64 bits could not even be asked of the database.
    rows = session.scalars(query.offset(offset).limit(page_size)) if offset < total else []
    return {"items": [instance_summary(i) for i in rows], "total": total, "page": page, "pageSize": page_size}


def task_summary(t: HumanTask) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "activityId": t.activity_id, "processInstanceId": t.instance_id,
            "processKey": t.process_key, "businessKey": t.business_key, "candidateGroups": t.candidate_group_list,
            "assignee": t.assignee, "createdAt": iso(t.created_at), "dueAt": iso(t.due_at), "lane": t.lane,
            "state": t.state}


#: The filters of task lists, each with its bound parameter (`_open_tasks` builds each combination once).
_TASK_FILTERS = {
    "groups": exists().where(HumanTaskGroup.task_id == HumanTask.id,
                             HumanTaskGroup.group_name.in_(bindparam("groups", expanding=True))),
    "candidate_group": exists().where(HumanTaskGroup.task_id == HumanTask.id,
                                      HumanTaskGroup.group_name == bindparam("candidate_group")),
    "assignee": HumanTask.assignee == bindparam("assignee"),
    "unassigned": HumanTask.assignee.is_(None),
    "instance_id": HumanTask.instance_id == bindparam("instance_id"),
    "business_key": HumanTask.business_key == bindparam("business_key"),
    "process_key": HumanTask.process_key == bindparam("process_key"),
    "overdue_at": and_(HumanTask.due_at.is_not(None), HumanTask.due_at < bindparam("overdue_at")),
}
_TASK_ORDERS = {
    "urgency": (HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.created_at, HumanTask.id),
    "created": (HumanTask.created_at, HumanTask.id),
}


@lru_cache(maxsize=256)
def _open_tasks(filters: tuple[str, ...], order: str | None = None) -> Select:
    """Open tasks under the named filters; with an `order`, sorted and limited to :limit rows."""
    q = select(HumanTask).where(HumanTask.state == "open", *(_TASK_FILTERS[f] for f in filters))
    if order is not None:
        q = q.order_by(*_TASK_ORDERS[order]).limit(bindparam("limit"))
    return q


def _task_filters(actor: Actor, *, candidate_group: str | None = None, assignee: str | None = None,
                  instance_id: int | None = None, business_key: str | None = None, process_key: str | None = None,
                  unassigned: bool = False, overdue_at: datetime | None = None) -> dict[str, Any]:
    """The filters that apply, by name, with their values: the actor's groups (unless they read
    all), then each filter given."""
    given = {"groups": None if actor.groups & READ_ALL_GROUPS else sorted(actor.groups),
             "candidate_group": candidate_group or None, "assignee": assignee or None,
             "unassigned": True if unassigned else None, "instance_id": instance_id,
             "business_key": business_key or None, "process_key": process_key or None, "overdue_at": overdue_at}
    return {name: value for name, value in given.items() if value is not None}


def task_query(actor: Actor, **filters) -> Select:
    """Open tasks `actor` may see, filtered (see `_task_filters`), as a statement with its values bound."""
    given = _task_filters(actor, **filters)
    return _open_tasks(tuple(given)).params(given)


def list_tasks(session: Session, actor: Actor, limit: int = 500, order: str = "created",
               **filters) -> list[dict[str, Any]]:
    """Open tasks, oldest first; `order="urgency"` puts overdue first, then due soonest, then oldest."""
    given = _task_filters(actor, **filters)
    query = _open_tasks(tuple(given), "urgency" if order == "urgency" else "created")
    return [task_summary(t) for t in session.scalars(query, {**given, "limit": limit})]


def may_read_task(actor: Actor, row: HumanTask) -> bool:
    return bool(actor.groups & READ_ALL_GROUPS) or actor.in_any(row.candidate_group_list)


def get_task(session: Session, task_id: str, actor: Actor, settings_options: dict | None = None) -> dict[str, Any]:
    row = session.get(HumanTask, task_id)
    if row is None:
        raise NotFound(f"no task {task_id!r}")
    if not may_read_task(actor, row):
        raise NotAllowed(f"task {row.activity_id} is for {row.candidate_groups}")
    instance = session.get(ProcessInstance, row.instance_id)
    activity = instance.definition.catalog["activities"][row.activity_id]
    view = task_summary(row)
    view["form"] = {"fields": form_fields(activity.get("form", []), settings_options)}
    view["documentation"] = activity.get("documentation") or ""
    view["completedBy"] = row.completed_by
    return view


def form_fields(fields: list[dict[str, Any]], settings_options: dict | None = None) -> list[dict[str, Any]]:
    out = []
    for f in fields:
        props = f.get("properties", {})
        out.append({
            "id": f["id"], "label": f["label"], "type": f["type"], "required": bool(f.get("required")),
            "readonly": bool(f.get("readonly")), "default": f.get("default"),
            "options": options_for(f, settings_options),
            "multiple": props.get("multiple") == "true", "multiline": props.get("multiline") == "true",
            "media": props.get("media") == "true", "format": props.get("format"),
            **{k: f[k] for k in ("min", "max", "minlength", "maxlength") if k in f},
        })
    return out


def audit_summary(r: AuditRecord) -> dict[str, Any]:
    return {"seq": r.seq, "at": iso(r.at), "actor": r.actor, "group": r.group_name, "action": r.action,
            "processInstanceId": r.instance_id, "businessKey": r.business_key, "activityId": r.activity_id,
            "activityName": r.activity_name, "decision": r.decision, "rationale": r.rationale, "data": r.data,
            "hash": r.hash, "prevHash": r.prev_hash}


def audit_trail(session: Session, instance_id: int, actor: Actor | None = None) -> list[dict[str, Any]]:
    if actor is None:
        get_instance(session, instance_id)
    else:
        readable_instance(session, instance_id, actor)
    rows = session.scalars(select(AuditRecord).where(AuditRecord.instance_id == instance_id)
                           .order_by(AuditRecord.seq))
    return [audit_summary(r) for r in rows]


def search_audit(session: Session, *, actor: str | None = None, action: str | None = None,
                 since: datetime | None = None, until: datetime | None = None, text: str | None = None,
                 limit: int = 500, offset: int = 0) -> list[dict[str, Any]]:
    q = select(AuditRecord)
    if actor:
        q = q.where(AuditRecord.actor == actor)
    if action:
        q = q.where(AuditRecord.action == action)
    if since:
        q = q.where(AuditRecord.at >= since)
    if until:
        q = q.where(AuditRecord.at < until)
    if text:
        q = q.where(or_(AuditRecord.business_key == text, AuditRecord.activity_id == text))
    q = q.order_by(AuditRecord.seq.desc()).offset(offset).limit(limit)
    return [audit_summary(r) for r in session.scalars(q)]
