"""After every engine step: save the workflow and write what the rest of the product reads.

Human tasks, positions and waiting subscriptions are derived from the workflow and written in the
same transaction as its state, so the inbox, lists, message correlation and the timer worker read
indexed rows and never deserialize workflows. Only what changed is written: the projection of the
workflow as loaded is diffed against the projection after the step."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timezone
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from .compaction import compact, pruned_activities
from .db import as_utc
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


@dataclass(frozen=True)
class Projection:
    """What the projection tables hold for one instance, as derived from its workflow: the ready
    user task ids, the waiting subscriptions (kind, name, activity id, due) and the positions.

    Taken from the workflow as loaded (before a command runs) it equals what is stored, because every
    command writes projections from the workflow in the same transaction as its state. `save` diffs
    the workflow after the command against it, so a step writes only the rows that changed."""

    ready: frozenset[str] = frozenset()
    waiting: frozenset[tuple[str, str, str, datetime | None]] = frozenset()
    positions: frozenset[str] = frozenset()


EMPTY = Projection()


def projection(workflow: BpmnWorkflow, active: bool = True) -> Projection:
    if not active:
        return EMPTY
    ready = {str(t.id): t.task_spec.bpmn_id for t in ready_user_tasks(workflow)}
    waiting = frozenset((kind, name, activity_id, due) for _t, kind, name, activity_id, due in waiting_events(workflow))
    positions = frozenset(a for a in [*ready.values(), *(w[2] for w in waiting)] if a)
    return Projection(frozenset(ready), waiting, positions)


def stored_projection(session: Session, instance_id: int) -> Projection:
    """The projection as stored (three reads): for callers that cannot take it from the workflow as
    loaded, such as a migration, whose workflow changed spec before it is saved."""
    ready = session.scalars(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                       HumanTask.state == "open")).all()
    waiting = session.execute(select(Subscription.kind, Subscription.name, Subscription.activity_id,
                                     Subscription.due_at).where(Subscription.instance_id == instance_id)).all()
    positions = session.scalars(select(ActivityPosition.activity_id)
                                .where(ActivityPosition.instance_id == instance_id)).all()
    return Projection(frozenset(ready), frozenset((k, n, a, as_utc(d)) for k, n, a, d in waiting), frozenset(positions))


def apply_state(instance: ProcessInstance, workflow: BpmnWorkflow, now: datetime, catalog: dict[str, Any]) -> None:
    """Put the workflow's state on the instance row: its JSON and, once it ends, state and outcome.
    A running case's finished loop iterations are dropped first (`compaction`)."""
    if not workflow.is_completed():
        compact(workflow)
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


def save(session: Session, instance: ProcessInstance, workflow: BpmnWorkflow, now: datetime,
         catalog: dict[str, Any] | None = None, before: Projection | None = None) -> None:
    """Save the workflow state and write the projection rows that changed since `before` (what is
    stored; read from the tables when not given). Each kind of change is one batched statement."""
    catalog = catalog if catalog is not None else instance.definition.catalog["activities"]
    apply_state(instance, workflow, now, catalog)
    write_projections(session, instance, workflow, now, catalog, before)


#: The projection writes, built once; each kind of change is one (batched) statement.
_TASKS, _TASK_GROUPS = HumanTask.__table__, HumanTaskGroup.__table__
_SUBSCRIPTIONS, _POSITIONS = Subscription.__table__, ActivityPosition.__table__
_INSERT_TASKS, _INSERT_TASK_GROUPS = insert(_TASKS), insert(_TASK_GROUPS)
_INSERT_SUBSCRIPTIONS, _INSERT_POSITIONS = insert(_SUBSCRIPTIONS), insert(_POSITIONS)
_CANCEL_TASKS = (update(_TASKS).where(_TASKS.c.id.in_(bindparam("gone", expanding=True)), _TASKS.c.state == "open")
                 .values(state="cancelled", completed_at=bindparam("now")))
_MOVE_POSITION = (update(_POSITIONS).where(_POSITIONS.c.instance_id == bindparam("b_instance"),
                                           _POSITIONS.c.activity_id == bindparam("b_old"))
                  .values(activity_id=bindparam("b_new"), since=bindparam("b_since")))
_LEAVE_POSITIONS = delete(_POSITIONS).where(_POSITIONS.c.instance_id == bindparam("instance_id"),
                                            _POSITIONS.c.activity_id.in_(bindparam("left", expanding=True)))
_LEAVE_ALL_POSITIONS = delete(_POSITIONS).where(_POSITIONS.c.instance_id == bindparam("instance_id"))
_DROP_ALL_SUBSCRIPTIONS = delete(_SUBSCRIPTIONS).where(_SUBSCRIPTIONS.c.instance_id == bindparam("instance_id"))


def write_projections(session: Session, instance: ProcessInstance, workflow: BpmnWorkflow, now: datetime,
                      catalog: dict[str, Any], before: Projection | None = None) -> list[dict[str, Any]]:
    """Write what changed since `before`; return the human-task rows inserted (the tasks this step
    opened), for the notices that go with them."""
    if before is None:
        before = stored_projection(session, instance.id)
    active = instance.state == "active"
    ready = {str(t.id): t for t in ready_user_tasks(workflow)}
    after = projection(workflow, active)

    gone = sorted(before.ready - set(ready))
    if gone:  # cancelled by a boundary event, a message or cancellation (a completed row is no longer open)
        session.execute(_CANCEL_TASKS, {"gone": gone, "now": now})
    new_tasks, new_groups = [], []
    for task_id, task in ready.items():
        if task_id in before.ready:
            continue
        activity = catalog[task.task_spec.bpmn_id]
        groups = activity.get("candidate_groups", [])
        new_tasks.append({
            "id": task_id, "instance_id": instance.id, "process_key": instance.key,
            "business_key": instance.business_key, "activity_id": activity["id"], "name": activity["name"],
            "lane": activity.get("lane"), "candidate_groups": ",".join(groups), "assignee": None, "state": "open",
            "created_at": now, "due_at": task_due(activity, task.data, now), "completed_at": None,
            "completed_by": None})
        new_groups.extend({"task_id": task_id, "group_name": g} for g in groups)
    if new_tasks:
        session.execute(_INSERT_TASKS, new_tasks)
    if new_groups:
        session.execute(_INSERT_TASK_GROUPS, new_groups)

    _write_subscriptions(session, instance, before.waiting, after.waiting)
    _write_positions(session, instance, before.positions, after.positions, now)
    return new_tasks


def _write_subscriptions(session: Session, instance: ProcessInstance, before, after) -> None:
    if not after and before:
        session.execute(_DROP_ALL_SUBSCRIPTIONS, {"instance_id": instance.id})
        return
    removed, added = before - after, after - before
    if removed:
        session.execute(delete(Subscription).where(Subscription.instance_id == instance.id, or_(*[
            and_(Subscription.kind == kind, Subscription.name == name, Subscription.activity_id == activity_id)
            for kind, name, activity_id, _due in sorted(removed, key=str)])))
    if added:
        session.execute(_INSERT_SUBSCRIPTIONS, [
            {"instance_id": instance.id, "kind": kind, "name": name, "activity_id": activity_id,
             "business_key": instance.business_key, "due_at": due} for kind, name, activity_id, due in
            sorted(added, key=str)])


def _write_positions(session: Session, instance: ProcessInstance, before, after, now: datetime) -> None:
    """Unchanged positions keep their `since`; a position that moved on (one left, one entered) is
    one UPDATE, the commonest step of all."""
    if not after and before:
        session.execute(_LEAVE_ALL_POSITIONS, {"instance_id": instance.id})
        return
    left, entered = sorted(before - after), sorted(after - before)
    moves = list(zip(left, entered, strict=False))
    if moves:
        session.execute(_MOVE_POSITION, [{"b_instance": instance.id, "b_old": old, "b_new": new, "b_since": now}
                                         for old, new in moves])
    if len(left) > len(moves):
        session.execute(_LEAVE_POSITIONS, {"instance_id": instance.id, "left": left[len(moves):]})
    if len(entered) > len(moves):
        session.execute(_INSERT_POSITIONS, [
            {"instance_id": instance.id, "activity_id": a, "process_key": instance.key, "since": now}
            for a in entered[len(moves):]])


def _after_non_interrupting_boundary(task) -> bool:
    parent = task.parent
    while parent is not None:
        if getattr(parent.task_spec, "cancel_activity", True) is False:
            return True
        parent = parent.parent
    return False


def activity_history(workflow: BpmnWorkflow) -> tuple[list[str], list[str]]:
    """(active activity ids, completed activity ids) in the order they happened (activities whose
    tasks were dropped by `compaction` first)."""
    active, completed = [], list(pruned_activities(workflow))
    for task in sorted(workflow.get_tasks(), key=lambda t: t.last_state_change):
        bpmn_id = task.task_spec.bpmn_id
        if not bpmn_id:
            continue
        if task.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED) and bpmn_id not in active:
            active.append(bpmn_id)
        elif task.state == TaskState.COMPLETED and bpmn_id not in completed:
            completed.append(bpmn_id)
    return active, completed

