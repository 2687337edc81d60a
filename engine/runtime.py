"""The commands: start, claim, unclaim, complete, correlate a message, fire timers, cancel.

Every command runs inside the caller's transaction and follows one shape: lock the instance row,
re-read what the request depends on, check the actor and the task state, run SpiffWorkflow, then
save state, projections, audit and disclosure records. Any error raises before commit, so nothing
is half-written."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from . import audit
from .config import Settings
from .errors import (
    ConcurrentChange,
    Conflict,
    InvalidForm,
    NoInstanceWaits,
    NotAllowed,
    NotFound,
    TaskAlreadyCompleted,
    TaskClaimed,
    WorkflowFailure,
)
from .expressions import UnsafeExpression
from .forms import validate_form
from .media import MediaStore
from .models import DisclosureEntry, HumanTask, ProcessInstance, Subscription
from .projections import parse_due, save, waiting_events
from .queries import get_definition, instance_view, latest_definitions
from .specs import load_state, new_workflow
from .users import SYSTEM, Actor

#: Start variables the engine owns: a client can never set them.
ENGINE_VARIABLES = ("requested_by", "local_approval_required")
FORCE_DEFAULTS = ("copyright_notice", "conditions_of_use", "review_interval", "removal_sla")
DISCLOSURE_FIELDS = ("published_urls", "recipients", "transmission_method", "attendees")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Runtime:
    """Commands over one database. `clock` is injectable so tests control time without sleeping."""

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
        return instance_view(session, instance, workflow)

    # -- commands --------------------------------------------------------------------------
    def start(self, session: Session, key: str, business_key: str, variables: dict[str, Any], actor: Actor,
              *, html: bool = False) -> dict[str, Any]:
        definition = get_definition(session, key)
        catalog = definition.catalog
        if actor is not SYSTEM and not actor.in_any(catalog["starter_groups"]):
            raise NotAllowed(f"only {', '.join(catalog['starter_groups'])} may start {key}")
        start = catalog["start"]
        values = dict(variables or {})
        errors = {}
        if not isinstance(business_key, str) or not business_key.strip() or len(business_key) > 200:
            errors["businessKey"] = "A case reference (business key) of up to 200 characters is required."
        elif values.get("case_reference") not in (None, "", business_key):
            errors["case_reference"] = "Must equal the business key."
        business_key = business_key.strip() if isinstance(business_key, str) else ""
        if any(f["id"] == "case_reference" for f in start["form"]):
            values["case_reference"] = business_key
        try:  # report every problem at once: the business key's and the form's
            clean = validate_form(start["form"], values, rules=start.get("rules"), context={},
                                  settings_options=self.settings_options, media_exists=self.media.exists, html=html)
        except InvalidForm as exc:
            errors = {**exc.details, **errors}
        if errors:
            raise InvalidForm("Invalid start request.", errors)
        for name in FORCE_DEFAULTS:
            if clean.get(name) in (None, ""):
                clean[name] = getattr(self.settings, name)
        clean["requested_by"] = actor.username
        clean["local_approval_required"] = self.settings.custody_local_approval
        now = self.clock()

        workflow = new_workflow(definition)

        def begin():
            if start.get("message"):
                workflow.do_engine_steps()
                waiting = [w for w in waiting_events(workflow) if w[2] == start["message"]]
                task = waiting[0][0]
                task.set_data(**clean)
                workflow.send_event(BpmnEvent(task.task_spec.event_definition,
                                              {"payload": clean, "result_var": start["message"]}))
            else:
                workflow.get_tasks(state=TaskState.READY)[0].set_data(**clean)
        automatic = self._run(workflow, begin)
        instance = ProcessInstance(definition_id=definition.id, key=key, version=definition.version,
                                   business_key=business_key, state="active", started_at=now,
                                   started_by=actor.username, workflow_json="{}")
        instance.definition = definition
        session.add(instance)
        session.flush()
        audit.append(session, at=now, actor=actor.username,
                     group=actor.first_group_of(catalog["starter_groups"]), action="start",
                     instance_id=instance.id, business_key=business_key, activity_id=start["id"],
                     activity_name=start["name"], data=clean)
        self._audit_automatic(session, instance, automatic, now)
        return self._finish(session, instance, workflow, now)

    def claim(self, session: Session, task_id: str, actor: Actor) -> dict[str, Any]:
        row, instance = self._locked_task(session, task_id)
        if not actor.in_any(row.candidate_group_list):
            raise NotAllowed(f"task {row.activity_id} is for {row.candidate_groups}")
        if row.assignee and row.assignee != actor.username:
            raise TaskClaimed(f"task is claimed by {row.assignee}", {"assignee": row.assignee})
        if row.assignee != actor.username:
            row.assignee = actor.username
            self._audit_task(session, instance, row, actor, "claim", {})
        return {"id": row.id, "assignee": row.assignee}

    def unclaim(self, session: Session, task_id: str, actor: Actor) -> dict[str, Any]:
        row, instance = self._locked_task(session, task_id)
        if not actor.in_any(row.candidate_group_list):
            raise NotAllowed(f"task {row.activity_id} is for {row.candidate_groups}")
        if row.assignee and row.assignee != actor.username:
            raise TaskClaimed(f"task is claimed by {row.assignee}", {"assignee": row.assignee})
        if row.assignee:
            row.assignee = None
            self._audit_task(session, instance, row, actor, "unclaim", {})
        return {"id": row.id, "assignee": None}

    def _audit_task(self, session, instance, row, actor, action, data) -> None:
        audit.append(session, at=self.clock(), actor=actor.username,
                     group=actor.first_group_of(row.candidate_group_list), action=action,
                     instance_id=instance.id, business_key=instance.business_key,
                     activity_id=row.activity_id, activity_name=row.name, data=data)

    def complete(self, session: Session, task_id: str, actor: Actor, values: dict[str, Any],
                 *, html: bool = False) -> dict[str, Any]:
        row, instance = self._locked_task(session, task_id)
        if not actor.in_any(row.candidate_group_list):
            raise NotAllowed(f"task {row.activity_id} is for {row.candidate_groups}; you are not in those groups")
        if row.assignee and row.assignee != actor.username:
            raise NotAllowed(f"task is claimed by {row.assignee}", {"assignee": row.assignee})
        workflow = load_state(instance.workflow_json, instance.definition)
        task = workflow.get_task_from_id(UUID(task_id))
        if task is None or task.state != TaskState.READY:
            raise ConcurrentChange(f"task {task_id} is no longer ready")
        activity = instance.definition.catalog["activities"][row.activity_id]
        clean = validate_form(activity.get("form", []), values, rules=activity.get("rules"), context=task.data,
                              settings_options=self.settings_options, media_exists=self.media.exists, html=html)
        now = self.clock()

        def run():
            task.set_data(**clean)
            task.run()
        automatic = self._run(workflow, run)
        row.state, row.completed_at, row.completed_by = "completed", now, actor.username
        row.assignee = row.assignee or actor.username
        if "decision" in clean and instance.decided_at is None:
            instance.decided_at = now
        self._audit_task(session, instance, row, actor, "complete", clean)
        if activity.get("disclosure"):
            self._disclose(session, instance, activity, actor, clean, task.data, now)
        self._audit_automatic(session, instance, automatic, now)
        return self._finish(session, instance, workflow, now)

    def _disclose(self, session, instance, activity, actor, clean, data, now) -> None:
        media = data.get("redacted_media_items") or data.get("media_items") or []
        # Where it went: this form's answers, else an earlier step's (prepare_release chooses the
        # channels, recipients and transmission method that publish_release then carries out).
        where = {f: clean[f] if f in clean else data.get(f) for f in ("channels", *DISCLOSURE_FIELDS)}
        session.add(DisclosureEntry(
            at=now, actor=actor.username, instance_id=instance.id, business_key=instance.business_key,
            activity_id=activity["id"], description=activity["disclosure"], media_items=list(media),
            channels=list(where["channels"] or []),
            destinations=[u for f in DISCLOSURE_FIELDS for u in _as_list(where[f])],
            details={"copyright_notice": data.get("copyright_notice"),
                     "conditions_of_use": data.get("conditions_of_use"),
                     "submitted": clean},
        ))

    def correlate(self, session: Session, message: str, business_key: str, variables: dict[str, Any] | None,
                  actor: Actor) -> list[int]:
        """Deliver a message to every instance waiting for it under `business_key`; a start message
        starts a new instance instead. Raises NoInstanceWaits when nothing takes it."""
        variables = dict(variables or {})
        if not isinstance(message, str) or not message:
            raise InvalidForm("Invalid message.", {"messageName": "Required."})
        if not isinstance(business_key, str) or not business_key:
            raise InvalidForm("Invalid message.", {"businessKey": "Required."})
        bad = [k for k in variables if k in ENGINE_VARIABLES or k == "case_reference" or k.startswith("_")]
        if bad:
            raise InvalidForm("Invalid message variables.", {k: "Set by the engine; cannot be sent." for k in bad})
        instance_ids = session.scalars(
            select(Subscription.instance_id).where(Subscription.kind == "message", Subscription.name == message,
                                                   Subscription.business_key == business_key)
            .distinct().order_by(Subscription.instance_id)).all()
        if not instance_ids:
            starters = [d for d in latest_definitions(session)
                        if (d.catalog.get("start") or {}).get("message") == message]
            if starters:
                return [self.start(session, starters[0].key, business_key, variables, actor)["id"]]
            raise NoInstanceWaits(f"no instance waits for message {message!r} with business key {business_key!r}",
                                  {"messageName": message, "businessKey": business_key})
        correlated = []
        now = self.clock()
        for instance_id in instance_ids:
            instance = self.lock_instance(session, instance_id)
            workflow = load_state(instance.workflow_json, instance.definition)
            waiting = [w for w in waiting_events(workflow) if w[1] == "message" and w[2] == message]
            if instance.state != "active" or not waiting:
                continue
            task, _kind, _name, activity_id, _due = waiting[0]
            definition = _message_definition(task, message)

            def deliver(task=task, workflow=workflow, definition=definition):
                task.set_data(**variables)
                workflow.send_event(BpmnEvent(definition, {"payload": variables, "result_var": message}))
            try:
                automatic = self._run(workflow, deliver)
            except WorkflowFailure as exc:
                if isinstance(exc.__cause__, WorkflowException) and "not waiting" in str(exc.__cause__):
                    continue
                raise
            activity = instance.definition.catalog["activities"].get(activity_id, {})
            audit.append(session, at=now, actor=actor.username, group=next(iter(sorted(actor.groups)), None),
                         action="message", instance_id=instance.id, business_key=business_key,
                         activity_id=activity_id, activity_name=activity.get("name"),
                         data={"message": message, "variables": variables})
            self._audit_automatic(session, instance, automatic, now)
            self._finish(session, instance, workflow, now)
            correlated.append(instance.id)
        if not correlated:
            raise NoInstanceWaits(f"no instance waits for message {message!r} with business key {business_key!r}",
                                  {"messageName": message, "businessKey": business_key})
        return correlated

    def due_timer_instances(self, session: Session, now: datetime) -> list[int]:
        return list(session.scalars(
            select(Subscription.instance_id).where(Subscription.kind == "timer", Subscription.due_at <= now)
            .distinct().order_by(Subscription.instance_id)))

    def fire_timers(self, session: Session, instance_id: int, now: datetime) -> list[str]:
        """Fire the instance's timers due at `now`; return the activity ids that fired."""
        instance = self.lock_instance(session, instance_id)
        if instance.state != "active":
            return []
        workflow = load_state(instance.workflow_json, instance.definition)
        due = [w for w in waiting_events(workflow) if w[1] == "timer" and w[4] is not None and w[4] <= now]
        if not due:
            return []

        def fire():
            for task, *_rest in due:
                task.internal_data["event_fired"] = True
            workflow.refresh_timers()
        automatic = [t for t in self._run(workflow, fire) if not _is_timer(t)]  # audited just below
        catalog = instance.definition.catalog["activities"]
        for _task, _kind, _name, activity_id, due_at in due:
            audit.append(session, at=now, actor=SYSTEM.username, action="timer", instance_id=instance.id,
                         business_key=instance.business_key, activity_id=activity_id,
                         activity_name=catalog.get(activity_id, {}).get("name"),
                         data={"due": due_at.isoformat()})
        self._audit_automatic(session, instance, automatic, now)
        self._finish(session, instance, workflow, now)
        return [w[3] for w in due]

    def cancel(self, session: Session, instance_id: int, actor: Actor, reason: str) -> dict[str, Any]:
        if "manager" not in actor.groups:
            raise NotAllowed("only managers may cancel a case")
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidForm("A reason is required.", {"reason": "This field is required."})
        instance = self.lock_instance(session, instance_id)
        if instance.state != "active":
            raise Conflict(f"instance {instance_id} is already {instance.state}")
        workflow = load_state(instance.workflow_json, instance.definition)
        workflow.cancel()
        now = self.clock()
        instance.state, instance.ended_at, instance.outcome = "cancelled", now, "Cancelled"
        audit.append(session, at=now, actor=actor.username, group="manager", action="cancel",
                     instance_id=instance.id, business_key=instance.business_key,
                     data={"reason": reason.strip(), "rationale": reason.strip()})
        return self._finish(session, instance, workflow, now)


def _message_definition(task, message: str):
    definition = task.task_spec.event_definition
    for d in getattr(definition, "event_definitions", [definition]):
        if getattr(d, "name", None) == message:
            return d
    return definition


def _is_timer(task) -> bool:
    return isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition)


def _dmn_outputs(task) -> set[str]:
    engine = getattr(task.task_spec, "dmnEngine", None)
    table = getattr(engine, "decision_table", None)
    return {o.name for o in getattr(table, "outputs", [])}


def _as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]
