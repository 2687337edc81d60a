"""What requesters and participants read about their cases: "My cases" and one case's summary.

A requester follows every case they started; anyone whose group has (or had) a task on a case may
open its summary; managers read all. The list reads projection rows only (instances, positions,
human tasks, audit records); the summary adds that one case's start values and the messages it
waits for. Case references are looked up case-insensitively and by prefix."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from .errors import NotAllowed, NotFound
from .messages import declaration_for, may_send
from .models import ActivityPosition, AuditRecord, HumanTask, ProcessInstance, Subscription
from .queries import READ_ALL_GROUPS, find_definition, instance_view, iso, reference_prefix, visible_to
from .users import Actor

STATE_WORDS = {"active": "In progress", "completed": "Finished", "cancelled": "Cancelled"}
DECISION_ACTIONS = ("complete", "message", "cancel")
EVENT_TYPES = ("intermediateCatchEvent", "boundaryEvent", "eventBasedGateway", "receiveTask")


def my_cases_query(actor: Actor, *, reference: str | None = None, state: str | None = None) -> Select:
    """Cases the actor started or has a part in (a manager: the ones they started), newest first."""
    if actor.groups & READ_ALL_GROUPS:
        condition = ProcessInstance.started_by == actor.username
    else:
        condition = visible_to(actor)
    q = select(ProcessInstance).where(condition)
    if reference:
        q = q.where(*reference_prefix(ProcessInstance.business_key, reference))
    if state:
        q = q.where(ProcessInstance.state == state)
    return q.order_by(ProcessInstance.started_at.desc(), ProcessInstance.id.desc())


def my_cases(session: Session, actor: Actor, *, reference: str | None = None, state: str | None = None,
             page: int = 1, page_size: int = 25) -> dict[str, Any]:
    query = my_cases_query(actor, reference=reference, state=state)
    page, page_size = max(1, page), min(max(1, page_size), 100)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = list(session.scalars(query.offset((page - 1) * page_size).limit(page_size)))
    where = waiting_steps(session, rows)
    decisions = latest_decisions(session, [r.id for r in rows])
    items = []
    for row in rows:
        decision = decisions.get(row.id)
        if decision:
            activity = row.definition.catalog["activities"].get(decision["activityId"] or "", {})
            decision["decision"] = _option_name(activity, "decision", decision["decision"])
        items.append({"id": row.id, "businessKey": row.business_key, "key": row.key,
                      "pathway": row.definition.name, "state": row.state, "stateWords": state_words(row),
                      "startedAt": iso(row.started_at), "startedBy": row.started_by,
                      "mine": row.started_by == actor.username,
                      "waiting": where.get(row.id, []), "lastDecision": decision})
    return {"items": items, "total": total, "page": page, "pageSize": page_size,
            "pages": max(1, -(-total // page_size))}


def state_words(row: ProcessInstance) -> str:
    words = STATE_WORDS.get(row.state, row.state)
    if row.state == "completed" and row.outcome:
        return f"{words}: {row.outcome}"
    return words


def waiting_steps(session: Session, rows: list[ProcessInstance]) -> dict[int, list[dict[str, Any]]]:
    """Per case, each step it waits at: its name, who holds it (role, and the assignee) and since when."""
    ids = [r.id for r in rows if r.state == "active"]
    if not ids:
        return {}
    catalogs = {r.id: r.definition.catalog["activities"] for r in rows}
    tasks = session.scalars(select(HumanTask).where(HumanTask.instance_id.in_(ids), HumanTask.state == "open")
                            .order_by(HumanTask.created_at))
    found: dict[int, list[dict[str, Any]]] = {}
    for t in tasks:
        found.setdefault(t.instance_id, []).append(
            {"activityId": t.activity_id, "name": t.name, "kind": "task", "groups": t.candidate_group_list,
             "assignee": t.assignee, "since": iso(t.created_at), "dueAt": iso(t.due_at)})
    positions = session.execute(select(ActivityPosition.instance_id, ActivityPosition.activity_id,
                                       ActivityPosition.since).where(ActivityPosition.instance_id.in_(ids)))
    subscriptions: dict[int, list[tuple[str, str, datetime | None]]] = {}
    for instance_id, kind, activity_id, due in session.execute(
            select(Subscription.instance_id, Subscription.kind, Subscription.activity_id, Subscription.due_at)
            .where(Subscription.instance_id.in_(ids)).order_by(Subscription.id)):
        subscriptions.setdefault(instance_id, []).append((kind, activity_id, due))
    flows = {r.id: r.definition.catalog["flows"] for r in rows}
    events: dict[int, list[tuple[str, str, str]]] = {}  # instance -> (activity id, since, what it awaits)
    for instance_id, activity_id, since in positions:
        activity = catalogs[instance_id].get(activity_id, {})
        # Boundary events belong to the task they sit on, which is listed already.
        if activity.get("type") not in EVENT_TYPES or activity.get("type") == "boundaryEvent":
            continue
        behind = {activity_id} | {f["target"] for f in flows[instance_id] if f["source"] == activity_id}
        for kind, awaited_id, due in subscriptions.get(instance_id, []):
            if awaited_id in behind:
                name = catalogs[instance_id].get(awaited_id, {}).get("name") or awaited_id
                if kind == "timer" and due:
                    name = f"{name.lower()} ({iso(due)[:16].replace('T', ' ')} UTC)"
                events.setdefault(instance_id, []).append((activity_id, iso(since), name))
    for instance_id, waits in events.items():
        names = sorted(dict.fromkeys(name for _, _, name in waits), key=lambda n: n.endswith("UTC)"))  # timers last
        awaiting = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
        found.setdefault(instance_id, []).append(
            {"activityId": waits[0][0], "name": "Waiting for news", "kind": "event", "groups": [],
             "assignee": None, "since": min(since for _, since, _ in waits), "dueAt": None, "awaiting": awaiting})
    return found


def latest_decisions(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    newest = (select(func.max(AuditRecord.seq)).where(AuditRecord.instance_id.in_(ids),
                                                     AuditRecord.decision.is_not(None))
              .group_by(AuditRecord.instance_id))
    rows = session.scalars(select(AuditRecord).where(AuditRecord.seq.in_(newest)))
    return {r.instance_id: {"activityId": r.activity_id, "activityName": r.activity_name, "decision": r.decision,
                            "rationale": r.rationale, "at": iso(r.at), "actor": r.actor} for r in rows}


def readable_case(session: Session, instance_id: int, actor: Actor) -> ProcessInstance:
    """The case, if the actor may read it; otherwise NotFound, exactly as for a case that does not
    exist (the answer never reveals a reference)."""
    row = session.scalar(select(ProcessInstance).where(ProcessInstance.id == instance_id, visible_to(actor)))
    if row is None:
        raise NotFound(f"no case {instance_id}")
    return row


def case_summary(session: Session, instance_id: int, actor: Actor) -> dict[str, Any]:
    row = readable_case(session, instance_id, actor)
    view = instance_view(session, row)
    catalog = row.definition.catalog
    start_fields = catalog["start"]["form"] if catalog.get("start") else []
    request = [(f["label"], _shown(f, view["variables"].get(f["id"]))) for f in start_fields
               if view["variables"].get(f["id"]) not in (None, "", [], False)
               and not f.get("properties", {}).get("media") and f["id"] != "case_reference"]
    trail = session.scalars(select(AuditRecord).where(AuditRecord.instance_id == row.id,
                                                      AuditRecord.action.in_(DECISION_ACTIONS + ("start",)))
                            .order_by(AuditRecord.seq))
    history = []
    for r in trail:
        activity = catalog["activities"].get(r.activity_id or "", {})
        history.append({"at": iso(r.at), "action": r.action, "actor": r.actor, "group": r.group_name,
                        "activityName": r.activity_name or r.action, "rationale": r.rationale,
                        "decision": _option_name(activity, "decision", r.decision),
                        "message": (r.data or {}).get("message") if r.action == "message" else None})
    return {"id": row.id, "businessKey": row.business_key, "key": row.key, "version": row.version,
            "pathway": row.definition.name, "state": row.state, "stateWords": state_words(row),
            "startedAt": iso(row.started_at), "startedBy": row.started_by, "endedAt": iso(row.ended_at),
            "request": request, "waiting": waiting_steps(session, [row]).get(row.id, []), "history": history,
            "messages": sendable_messages(session, row, actor)}


def sendable_messages(session: Session, row: ProcessInstance, actor: Actor, *, allowed_only: bool = True
                      ) -> list[dict[str, Any]]:
    """The messages this case waits for now (and, by default, the actor may send): one button each."""
    if row.state != "active":
        return []
    waiting = session.execute(select(Subscription.name, Subscription.activity_id)
                              .where(Subscription.instance_id == row.id, Subscription.kind == "message")
                              .order_by(Subscription.name)).all()
    latest = find_definition(session, row.key)
    out: dict[str, dict[str, Any]] = {}
    for name, activity_id in waiting:
        decl = declaration_for(row.definition, name, latest)
        if name in out or decl is None or decl["start"]:
            continue
        allowed = may_send(decl, actor)
        if allowed_only and not allowed:
            continue
        activity = row.definition.catalog["activities"].get(activity_id, {})
        out[name] = {"name": name, "label": activity.get("name") or name.replace("_", " ").capitalize(),
                     "fields": decl["variables"], "allowed": allowed}
    return list(out.values())


def message_form(session: Session, instance_id: int, message: str, actor: Actor) -> dict[str, Any]:
    """The message of the case the actor may send now: NotFound when the case is not theirs to read
    or does not wait for it, NotAllowed when their groups may not send it."""
    row = readable_case(session, instance_id, actor)
    for m in sendable_messages(session, row, actor, allowed_only=False):
        if m["name"] == message:
            if not m["allowed"]:
                raise NotAllowed(f"Your groups may not record {m['label']!r}.", {"messageName": message})
            return {**m, "case": {"id": row.id, "businessKey": row.business_key, "pathway": row.definition.name}}
    raise NotFound(f"case {instance_id} does not wait for {message!r}")


def _option_name(activity: dict[str, Any], field_id: str, value: str | None) -> str | None:
    for f in activity.get("form", []):
        if f["id"] == field_id:
            for o in f.get("options", []):
                if o["id"] == value:
                    return o["name"]
    return value


def _shown(field: dict[str, Any], value: Any) -> Any:
    if field.get("type") == "enum":
        names = {o["id"]: o["name"] for o in field.get("options", [])}
        if isinstance(value, list):
            return [names.get(v, v) for v in value]
        return names.get(value, value)
    return value


def since_words(since: str | None, now: datetime) -> str:
    """"3 h", "2 days": how long a step has waited, for people (the page also gives the exact time)."""
    if not since:
        return ""
    then = datetime.fromisoformat(since.replace("Z", "+00:00"))
    minutes = max(0, int((now - then).total_seconds() // 60))
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} days"
