"""The locked step every command shares: lock the instance row, re-read what the request depends on,
run SpiffWorkflow, then save state, projections and audit records in the caller's transaction.
Any error raises before commit, so nothing is half-written."""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from . import audit, incidents, notifications
from .config import Settings
from .definitions import Definition, DefinitionCache
from .errors import (
    CommandLimitExceeded,
    ConcurrentChange,
    Conflict,
    NotFound,
    TaskAlreadyCompleted,
    WorkflowFailure,
)
from .expressions import UnsafeExpression
from .forms import FormLimits
from .media import MediaStore
from .models import HumanTask, Incident, ProcessInstance, Subscription
from .projections import Projection, apply_state, parse_due, write_projections
from .queries import instance_view
from .users import SYSTEM


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


#: Read with every lock: whether the case has an open incident (`ProcessInstance.open_incident`).
_OPEN_INCIDENT = exists().where(Incident.instance_id == ProcessInstance.id, Incident.resolved_at.is_(None))
#: The locks of one case, and of one task with its case (built once: the hottest statements).
_LOCK_INSTANCE = (select(ProcessInstance, _OPEN_INCIDENT).where(ProcessInstance.id == bindparam("instance_id"))
                  .with_for_update(of=ProcessInstance).execution_options(populate_existing=True))
_LOCK_TASK = (select(ProcessInstance, HumanTask, _OPEN_INCIDENT)
              .join(HumanTask, HumanTask.instance_id == ProcessInstance.id).where(HumanTask.id == bindparam("task_id"))
              .with_for_update(of=[ProcessInstance, HumanTask]).execution_options(populate_existing=True))


class Steps:
    """Shared helpers of the command classes. `clock` is injectable so tests control time without sleeping."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.clock = clock
        self.media = MediaStore(settings.media_dir, settings.max_upload_bytes, settings.media_quota_bytes,
                                timedelta(hours=settings.media_quarantine_hours))
        self.definitions = DefinitionCache()

    # -- helpers ---------------------------------------------------------------------------
    def _attachable(self, session: Session, actor, instance_id: int | None) -> Callable[[str], bool]:
        """The form check for attachments: the actor's own uploads or the case's own files."""
        return lambda digest: self.media.may_attach(session, digest, actor.username, instance_id)

    @property
    def form_limits(self) -> FormLimits:
        s = self.settings
        return FormLimits(max_text=s.max_text_length, min_duration=timedelta(seconds=s.duration_min_seconds),
                          max_duration=timedelta(days=s.duration_max_days))

    @property
    def settings_options(self) -> dict[str, Any]:
        return {"transmission_methods": self.settings.transmission_methods}

    def definition_of(self, session: Session, instance: ProcessInstance) -> Definition:
        """The instance's definition from the per-process cache (rows never change once deployed)."""
        return self.definitions.get(session, instance.definition_id)

    def lock_instance(self, session: Session, instance_id: int) -> ProcessInstance:
        if not 0 < instance_id < 2 ** 63:
            raise NotFound(f"no process instance {instance_id}")
        found = session.execute(_LOCK_INSTANCE, {"instance_id": instance_id}).first()
        if found is None:
            raise NotFound(f"no process instance {instance_id}")
        instance, open_incident = found
        instance.open_incident = bool(open_incident)  # SQLite answers 0 or 1
        return instance

    def lock_waiting_instances(self, session: Session, message: str, business_key: str,
                               only_instance: int | None = None) -> list[ProcessInstance]:
        """Every instance waiting for `message` under `business_key`, locked in one statement in
        ascending id order: the one global lock order every command follows (a command that works on
        one instance locks just that one), so a message to several cases never deadlocks with a
        completion on one of them."""
        waiting = select(Subscription.instance_id).where(Subscription.kind == "message", Subscription.name == message,
                                                         Subscription.business_key == business_key)
        if only_instance is not None:
            waiting = waiting.where(Subscription.instance_id == only_instance)
        rows = session.execute(
            select(ProcessInstance, _OPEN_INCIDENT).where(ProcessInstance.id.in_(waiting)).order_by(ProcessInstance.id)
            .with_for_update(of=ProcessInstance).execution_options(populate_existing=True)).all()
        for instance, open_incident in rows:
            instance.open_incident = bool(open_incident)
        return [instance for instance, _ in rows]

    def _locked_task(self, session: Session, task_id: str) -> tuple[HumanTask, ProcessInstance]:
        """The task and its instance in one statement, both locked (instance first, then task, as
        every other command that touches tasks does), so what is checked below is current."""
        found = session.execute(_LOCK_TASK, {"task_id": task_id}).first()
        if found is None:
            raise NotFound(f"no task {task_id!r}")
        instance, row, open_incident = found
        instance.open_incident = bool(open_incident)
        if row.state == "completed":
            raise TaskAlreadyCompleted(f"task {task_id} was already completed by {row.completed_by}",
                                       {"completedBy": row.completed_by})
        if row.state != "open":
            raise Conflict(f"task {task_id} is no longer active ({row.state})")
        return row, instance

    def _run(self, workflow, action: Callable[[], None], *, new: bool = False) -> list:
        """Run `action` then the engine steps; collect automatic steps worth auditing.

        The run is bounded (settings `command_max_steps`, `command_max_tasks`, `command_max_seconds`):
        a diagram that loops, doubles itself or fans out into thousands of branches stops with
        CommandLimitExceeded, and the caller's transaction rolls everything back, so the write lock
        is held for a bounded time. `new` counts every task of a fresh workflow as created here."""
        automatic: list = []
        bounds = _Bounds(self.settings, 0 if new else _task_count(workflow))

        def did_complete(task):
            bounds.step(workflow)
            if task.task_spec.bpmn_id and (type(task.task_spec).__name__ in ("BusinessRuleTask", "EndEvent")
                                           or _is_timer(task)):
                automatic.append(task)
        try:
            action()
            bounds.check(workflow)
            workflow.do_engine_steps(will_complete_task=lambda _task: bounds.check(workflow),
                                     did_complete_task=did_complete)
            _refuse_truncated(workflow)
        except (SpiffWorkflowException, UnsafeExpression) as exc:
            task = getattr(exc, "task", None)
            details = {"task": getattr(getattr(task, "task_spec", None), "bpmn_id", None),
                       "line": getattr(exc, "line_number", None), "error": str(exc)}
            raise WorkflowFailure(f"the diagram failed while running: {exc}", details) from exc
        except (ArithmeticError, ValueError, TypeError, RecursionError) as exc:
            # e.g. a timer of P999999999D: SpiffWorkflow lets the OverflowError through unwrapped
            raise WorkflowFailure(f"the diagram failed while running: {type(exc).__name__}: {exc}",
                                  {"task": None, "line": None, "error": str(exc)}) from exc
        return automatic

    def _audit_automatic(self, session, instance, tasks, now) -> None:
        if not tasks:
            return
        catalog = self.definition_of(session, instance).activities
        for task in tasks:
            activity = catalog.get(task.task_spec.bpmn_id, {})
            if activity.get("type") == "businessRuleTask":
                outputs = {k: v for k, v in task.data.items() if k in _dmn_outputs(task)}
                audit.append(session, at=now, actor=SYSTEM.username, action="decision_table",
                             instance_id=instance.id, business_key=instance.business_key,
                             activity_id=activity["id"], activity_name=activity["name"], data=outputs)
            elif _is_timer(task):
                # A timer already due when the case reached it (e.g. a custody release for a conviction
                # day in the past) fires inside the engine step instead of through fire_timers.
                due = parse_due(task.internal_data.get("event_value"))
                audit.append(session, at=now, actor=SYSTEM.username, action="timer", instance_id=instance.id,
                             business_key=instance.business_key, activity_id=activity.get("id"),
                             activity_name=activity.get("name"), data={"due": due.isoformat() if due else None})
            else:
                audit.append(session, at=now, actor=SYSTEM.username, action="end", instance_id=instance.id,
                             business_key=instance.business_key, activity_id=activity.get("id"),
                             activity_name=activity.get("name"))

    def _apply(self, session, instance, workflow, now) -> None:
        """Put the workflow state on the instance row before the audit appends flush, so the row is
        written by one UPDATE."""
        apply_state(instance, workflow, now, self.definition_of(session, instance).activities)

    def _finish(self, session, instance, workflow, now, before: Projection | None = None,
                *, state_applied: bool = False, told: list[dict[str, Any]] = ()) -> dict[str, Any]:
        """Save the state and the projection rows that changed since `before` (the projection of the
        workflow as loaded), then flush once: the ORM batches what it can. Then the notices: of the
        tasks opened, and `told` (see `notifications.after_step`)."""
        catalog = self.definition_of(session, instance).activities
        try:
            if not state_applied:
                apply_state(instance, workflow, now, catalog)
            fresh = write_projections(session, instance, workflow, now, catalog, before)
        except (ArithmeticError, ValueError) as exc:  # a due date out of range, from a diagram's expression
            raise WorkflowFailure(f"the diagram failed while running: {type(exc).__name__}: {exc}",
                                  {"task": None, "line": None, "error": str(exc)}) from exc
        if instance.state != "active":  # an ended case has no timer left to fail
            incidents.resolve(session, instance, now)
        try:
            session.flush()
        except StaleDataError as exc:
            raise ConcurrentChange("the case was changed by someone else; reload and try again") from exc
        notifications.after_step(session, self.settings, instance, fresh, now, told=told)  # in the transaction: outbox
        return instance_view(session, instance, workflow)



class _Bounds:
    """Counts one command's engine steps, tasks created and time; raises when one runs out."""

    def __init__(self, settings: Settings, tasks_before: int) -> None:
        self.settings = settings
        self.tasks_before = tasks_before
        self.steps = 0
        self.deadline = time.monotonic() + settings.command_max_seconds

    def step(self, workflow) -> None:
        self.steps += 1
        self.check(workflow)

    def check(self, workflow) -> None:
        s = self.settings
        if self.steps > s.command_max_steps:
            self._exceeded("engine_steps", s.command_max_steps, "engine steps")
        if _task_count(workflow) - self.tasks_before > s.command_max_tasks:
            self._exceeded("tasks_created", s.command_max_tasks, "tasks created")
        if time.monotonic() > self.deadline:
            self._exceeded("seconds", s.command_max_seconds, "seconds")

    @staticmethod
    def _exceeded(limit: str, maximum: int, what: str):
        raise CommandLimitExceeded(
            f"the diagram ran past the limit of {maximum} {what} for one action; nothing was saved",
            {"limit": limit, "max": maximum})


def _task_count(workflow) -> int:
    return len(workflow.tasks) + sum(len(sp.tasks) for sp in workflow.subprocesses.values())


def _refuse_truncated(workflow) -> None:
    """SpiffWorkflow stops looking 1000 tasks deep: a long loop then looks finished although its
    tasks are not. Such a case must fail loudly, never be marked completed."""
    if workflow.is_completed() and any(not t.has_state(TaskState.FINISHED_MASK) for t in workflow.tasks.values()):
        raise CommandLimitExceeded("the case ran deeper than the engine can follow; nothing was saved",
                                   {"limit": "depth", "max": 1000})


def _is_timer(task) -> bool:
    return isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition)


def _dmn_outputs(task) -> set[str]:
    engine = getattr(task.task_spec, "dmnEngine", None)
    table = getattr(engine, "decision_table", None)
    return {o.name for o in getattr(table, "outputs", [])}

