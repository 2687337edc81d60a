"""The locked step every command shares: lock the instance row, re-read what the request depends on,
run SpiffWorkflow, then save state, projections and audit records in the caller's transaction.
Any error raises before commit, so nothing is half-written."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from . import audit, notifications
from .config import Settings
from .errors import (
    ConcurrentChange,
    Conflict,
    NotFound,
    TaskAlreadyCompleted,
    WorkflowFailure,
)
from .expressions import UnsafeExpression
from .media import MediaStore
from .models import HumanTask, ProcessInstance
from .projections import parse_due, save
from .queries import instance_view
from .users import SYSTEM


def utcnow() -> datetime:
    return datetime.now(timezone.utc)



class Steps:
    """Shared helpers of the command classes. `clock` is injectable so tests control time without sleeping."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.clock = clock
        self.media = MediaStore(settings.media_dir, settings.max_upload_bytes)

    # -- helpers ---------------------------------------------------------------------------
    @property
    def settings_options(self) -> dict[str, Any]:
        return {"transmission_methods": self.settings.transmission_methods}

    def lock_instance(self, session: Session, instance_id: int) -> ProcessInstance:
        instance = session.scalar(select(ProcessInstance).where(ProcessInstance.id == instance_id)
                                  .with_for_update(of=ProcessInstance).execution_options(populate_existing=True))
        if instance is None:
            raise NotFound(f"no process instance {instance_id}")
        return instance

    def _locked_task(self, session: Session, task_id: str) -> tuple[HumanTask, ProcessInstance]:
        row = session.get(HumanTask, task_id)
        if row is None:
            raise NotFound(f"no task {task_id!r}")
        instance = self.lock_instance(session, row.instance_id)
        session.refresh(row)  # re-read under the lock: another transaction may have finished it
        if row.state == "completed":
            raise TaskAlreadyCompleted(f"task {task_id} was already completed by {row.completed_by}",
                                       {"completedBy": row.completed_by})
        if row.state != "open":
            raise Conflict(f"task {task_id} is no longer active ({row.state})")
        return row, instance

    def _run(self, workflow, action: Callable[[], None]) -> list:
        """Run `action` then the engine steps; collect automatic steps worth auditing."""
        automatic: list = []

        def did_complete(task):
            if task.task_spec.bpmn_id and (type(task.task_spec).__name__ in ("BusinessRuleTask", "EndEvent")
                                           or _is_timer(task)):
                automatic.append(task)
        try:
            action()
            workflow.do_engine_steps(did_complete_task=did_complete)
        except (SpiffWorkflowException, UnsafeExpression) as exc:
            task = getattr(exc, "task", None)
            details = {"task": getattr(getattr(task, "task_spec", None), "bpmn_id", None),
                       "line": getattr(exc, "line_number", None), "error": str(exc)}
            raise WorkflowFailure(f"the diagram failed while running: {exc}", details) from exc
        return automatic

    def _audit_automatic(self, session, instance, tasks, now) -> None:
        catalog = instance.definition.catalog["activities"]
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

    def _finish(self, session, instance, workflow, now) -> dict[str, Any]:
        save(session, instance, workflow, now)
        try:
            session.flush()
        except StaleDataError as exc:
            raise ConcurrentChange("the case was changed by someone else; reload and try again") from exc
        notifications.after_step(session, self.settings, instance, now)  # same transaction: the outbox
        return instance_view(session, instance, workflow)



def _is_timer(task) -> bool:
    return isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition)


def _dmn_outputs(task) -> set[str]:
    engine = getattr(task.task_spec, "dmnEngine", None)
    table = getattr(engine, "decision_table", None)
    return {o.name for o in getattr(table, "outputs", [])}

