"""After every engine step: save the workflow and rewrite what the rest of the product reads.

Human tasks, positions and waiting subscriptions are derived from the workflow and written in the
same transaction as its state, so the inbox, lists, message correlation and the timer worker read
indexed rows and never deserialize workflows."""
from __future__ import annotations

from datetime import datetime, time, timezone
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .expressions import evaluate
from .models import ActivityPosition, HumanTask, HumanTaskGroup, ProcessInstance, Subscription
from .specs import dump_state


def parse_due(value: Any) -> datetime | None:
    """A timer's or a task's due value (ISO date or date-time) as an aware UTC datetime."""
    if not value:
        return None
    text = str(value)
    if len(text) == 10:  # a date: due by the end of that day
        return datetime.combine(datetime.fromisoformat(text).date(), time(23, 59, 59), timezone.utc)
    dt = TimerEventDefinition.get_datetime(text.replace("Z", "+00:00"))
    return dt.astimezone(timezone.utc)


def task_due(activity: dict[str, Any], data: dict[str, Any], now: datetime) -> datetime | None:
    if activity.get("due_in"):
        duration = evaluate(activity["due_in"], data)
        parsed = TimerEventDefinition.parse_iso_duration(str(duration))
        return now + TimerEventDefinition.get_timedelta_from_start(parsed, now)
    if activity.get("due_date"):
        return parse_due(evaluate(activity["due_date"], data))
    return None


def waiting_events(workflow: BpmnWorkflow) -> list[tuple[Any, str, str, str, datetime | None]]:
    """(task, kind, name, activity id, due) for every message or timer the workflow waits for.

    An event-based gateway waits as one task holding several definitions; each becomes its own
    subscription named after the catch event behind the gateway."""
    found = []
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, MultipleEventDefinition):
            pairs = [(d, task.task_spec.outputs[i].bpmn_id if i < len(task.task_spec.outputs) else None)
                     for i, d in enumerate(definition.event_definitions)]
        else:
            pairs = [(definition, task.task_spec.bpmn_id)]
        for d, activity_id in pairs:
            if isinstance(d, TimerEventDefinition):
                found.append((task, "timer", d.name or "", activity_id or task.task_spec.name,
                              parse_due(task.internal_data.get("event_value"))))
            elif isinstance(d, MessageEventDefinition):
                found.append((task, "message", d.name, activity_id or task.task_spec.name, None))
    return found


def ready_user_tasks(workflow: BpmnWorkflow):
    return workflow.get_tasks(state=TaskState.READY, manual=True)


def save(session: Session, instance: ProcessInstance, workflow: BpmnWorkflow, now: datetime) -> None:
    catalog = instance.definition.catalog["activities"]
    instance.workflow_json = dump_state(workflow)
    if workflow.is_completed() and instance.state == "active":
        instance.state = "completed"
        instance.ended_at = now
        ends = [t for t in workflow.get_tasks(state=TaskState.COMPLETED)
                if catalog.get(t.task_spec.bpmn_id or "", {}).get("type") == "endEvent"]
        # An escalation branch (after a non-interrupting boundary event) finishing last is not the
        # case's outcome: "Escalation recorded" must not hide "Custody image released".
        ends = [t for t in ends if not _after_non_interrupting_boundary(t)] or ends
        if ends:
            last = max(ends, key=lambda t: t.last_state_change)
            instance.outcome = catalog[last.task_spec.bpmn_id]["name"]

    ready = {str(t.id): t for t in ready_user_tasks(workflow)}
    open_rows = session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.state == "open")
    ).all()
    for row in open_rows:
        if row.id not in ready:  # cancelled by a boundary event, a message or cancellation
            row.state = "cancelled"
            row.completed_at = now
    known = {row.id for row in open_rows}
    for task_id, task in ready.items():
        if task_id in known:
            continue
        activity = catalog[task.task_spec.bpmn_id]
        groups = activity.get("candidate_groups", [])
        row = HumanTask(
            id=task_id, instance_id=instance.id, process_key=instance.key, business_key=instance.business_key,
            activity_id=activity["id"], name=activity["name"], lane=activity.get("lane"),
            candidate_groups=",".join(groups), state="open", created_at=now,
            due_at=task_due(activity, task.data, now),
        )
        row.groups = [HumanTaskGroup(group_name=g) for g in groups]
        session.add(row)

    waiting = waiting_events(workflow) if instance.state == "active" else []
    session.execute(delete(Subscription).where(Subscription.instance_id == instance.id))
    for _task, kind, name, activity_id, due in waiting:
        session.add(Subscription(instance_id=instance.id, kind=kind, name=name, activity_id=activity_id,
                                 business_key=instance.business_key, due_at=due))

    previous = {p.activity_id: p.since for p in session.scalars(
        select(ActivityPosition).where(ActivityPosition.instance_id == instance.id))}
    session.execute(delete(ActivityPosition).where(ActivityPosition.instance_id == instance.id))
    if instance.state == "active":
        positions = {t.task_spec.bpmn_id for t in ready.values()} | {w[3] for w in waiting}
        for activity_id in sorted(a for a in positions if a):
            session.add(ActivityPosition(instance_id=instance.id, activity_id=activity_id,
                                         process_key=instance.key, since=previous.get(activity_id, now)))
    session.flush()


def _after_non_interrupting_boundary(task) -> bool:
    parent = task.parent
    while parent is not None:
        if getattr(parent.task_spec, "cancel_activity", True) is False:
            return True
        parent = parent.parent
    return False


def activity_history(workflow: BpmnWorkflow) -> tuple[list[str], list[str]]:
    """(active activity ids, completed activity ids) in the order they happened."""
    active, completed = [], []
    for task in sorted(workflow.get_tasks(), key=lambda t: t.last_state_change):
        bpmn_id = task.task_spec.bpmn_id
        if not bpmn_id:
            continue
        if task.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED) and bpmn_id not in active:
            active.append(bpmn_id)
        elif task.state == TaskState.COMPLETED and bpmn_id not in completed:
            completed.append(bpmn_id)
    return active, completed

