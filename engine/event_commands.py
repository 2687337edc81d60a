"""Event commands: correlate a message by name and business key, fire due timers."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import WorkflowException
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, incidents
from .case_commands import ENGINE_VARIABLES
from .errors import (
    InvalidForm,
    NoInstanceWaits,
    WorkflowFailure,
)
from .models import Subscription
from .projections import waiting_events
from .queries import latest_definitions
from .specs import load_state
from .steps import Steps, _is_timer
from .users import SYSTEM, Actor


class EventCommands(Steps):
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
        if instance.state != "active" or incidents.waiting_for_retry(session, instance_id, now):
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
        incidents.resolve(session, instance.id, now, kinds=("timer",))
        return [w[3] for w in due]


def _message_definition(task, message: str):
    definition = task.task_spec.event_definition
    for d in getattr(definition, "event_definitions", [definition]):
        if getattr(d, "name", None) == message:
            return d
    return definition

