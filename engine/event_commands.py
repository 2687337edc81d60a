"""Event commands: correlate a message by name and business key, fire due timers."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import WorkflowException
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from . import audit, incidents
from .case_commands import ENGINE_VARIABLES
from .errors import (
    InvalidForm,
    NoInstanceWaits,
    NotAllowed,
    WorkflowFailure,
)
from .messages import clean_variables, declaration_for, guard_case_data, may_send, sender_group
from .models import Subscription
from .projections import projection, waiting_events
from .queries import latest_definitions
from .specs import load_state
from .steps import Steps, _is_timer
from .users import SYSTEM, Actor


class EventCommands(Steps):
    def correlate(self, session: Session, message: str, business_key: str, variables: dict[str, Any] | None,
                  actor: Actor, *, html: bool = False, only_instance: int | None = None) -> list[int]:
        """Deliver a message to every instance waiting for it under `business_key`; a start message
        starts a new instance instead. Raises NoInstanceWaits when nothing takes it.

        Who may send it and what it may carry come from the diagram (engine.messages). The sender
        is checked against the pathways' declarations before any case is looked up, so a refusal
        says nothing about which cases exist; every check raises before anything is written.
        `only_instance` limits delivery to one case (a case page tells only that case)."""
        variables = {} if variables is None else variables
        if not isinstance(message, str) or not message:
            raise InvalidForm("Invalid message.", {"messageName": "Required."})
        if not isinstance(business_key, str) or not business_key.strip():
            raise InvalidForm("Invalid message.", {"businessKey": "Required."})
        if not isinstance(variables, dict):
            raise InvalidForm("Invalid message.", {"variables": "Must be an object."})
        bad = [k for k in variables if k in ENGINE_VARIABLES or k.startswith("_")]
        if bad:
            raise InvalidForm("Invalid message variables.", {k: "Set by the engine; cannot be sent." for k in bad})
        latest = {d.key: d for d in latest_definitions(session)}
        declared = {key: decl for key, d in latest.items() if (decl := declaration_for(d, message)) is not None}
        known = declared or any(message in d.catalog.get("messages", []) for d in latest.values())
        if known and not any(may_send(decl, actor) for decl in declared.values()):
            raise NotAllowed(f"Your groups may not send the message {message!r}.", {"messageName": message})
        _check_variables([d for d in declared.values() if not d["start"] and may_send(d, actor)], variables, html)
        instances = self.lock_waiting_instances(session, message, business_key, only_instance)
        if not instances and only_instance is None:
            starters = [(key, decl) for key, decl in sorted(declared.items())
                        if decl["start"] and (latest[key].catalog.get("start") or {}).get("message") == message]
            if starters:
                key, decl = starters[0]
                if not may_send(decl, actor):
                    raise NotAllowed(f"Your groups may not send the message {message!r}.", {"messageName": message})
                return [self.start(session, key, business_key, variables, actor, html=html, by_message=True)["id"]]
            raise NoInstanceWaits(f"no instance waits for message {message!r} with business key {business_key!r}",
                                  {"messageName": message, "businessKey": business_key})
        correlated = []
        now = self.clock()
        for instance in instances:
            if instance.state != "active":
                continue
            pathway = self.definition_of(session, instance)
            workflow = load_state(instance.workflow_json, pathway)
            waiting = [w for w in waiting_events(workflow) if w[1] == "message" and w[2] == message]
            if not waiting:
                continue
            decl = declaration_for(pathway, message, latest.get(instance.key))
            if not may_send(decl, actor):
                raise NotAllowed(f"Your groups may not send the message {message!r}.", {"messageName": message})
            clean = clean_variables(decl, variables, html=html)
            guard_case_data(pathway.catalog, clean)
            before = projection(workflow)
            task, _kind, _name, activity_id, _due = waiting[0]
            definition = _message_definition(task, message)

            def deliver(task=task, workflow=workflow, definition=definition, clean=clean):
                # As process variables, and together under the message's name (Camunda's result_var).
                task.set_data(**clean)
                workflow.send_event(BpmnEvent(definition, {"payload": dict(clean), "result_var": message}))
            try:
                automatic = self._run(workflow, deliver)
            except WorkflowFailure as exc:
                if isinstance(exc.__cause__, WorkflowException) and "not waiting" in str(exc.__cause__):
                    continue
                raise
            self._apply(session, instance, workflow, now)
            activity = pathway.activities.get(activity_id, {})
            data: dict[str, Any] = {"message": message, "variables": clean}
            if clean.get("note"):
                data["rationale"] = clean["note"]
            audit.append(session, at=now, actor=actor.username, group=sender_group(decl, actor) or
                         next(iter(sorted(actor.groups)), None), action="message", instance_id=instance.id,
                         business_key=instance.business_key, activity_id=activity_id,
                         activity_name=activity.get("name"), data=data)
            self._audit_automatic(session, instance, automatic, now)
            self._finish(session, instance, workflow, now, before, state_applied=True)
            correlated.append(instance.id)
        if not correlated:
            raise NoInstanceWaits(f"no instance waits for message {message!r} with business key {business_key!r}",
                                  {"messageName": message, "businessKey": business_key})
        return correlated

    def claim_due_timers(self, session: Session, now: datetime, limit: int = 10,
                         lease: timedelta = timedelta(minutes=5)) -> list[int]:
        """Claim up to `limit` due timers no other worker holds, earliest first, until `now + lease`;
        return their instance ids. On PostgreSQL the rows are picked with FOR UPDATE SKIP LOCKED, so
        workers claiming at the same moment take different timers instead of queueing; on SQLite
        the write lock already serialises claims. A claim only shares out the work: firing locks the
        instance and re-reads its due timers, so a timer fires once even if a claim lapses."""
        free = or_(Subscription.claimed_until.is_(None), Subscription.claimed_until <= now)
        pick = (select(Subscription.id).where(Subscription.kind == "timer", Subscription.due_at <= now, free)
                .order_by(Subscription.due_at, Subscription.id).limit(limit)
                .with_for_update(skip_locked=True))
        claimed = session.scalars(
            update(Subscription).where(Subscription.id.in_(pick)).values(claimed_until=now + lease)
            .returning(Subscription.instance_id).execution_options(synchronize_session=False)).all()
        return sorted(set(claimed))

    def release_timer_claims(self, session: Session, instance_ids: list[int]) -> None:
        """Give back claims not worked (the worker is stopping or failed), for others to take now."""
        if instance_ids:
            session.execute(update(Subscription).where(Subscription.kind == "timer",
                                                       Subscription.instance_id.in_(instance_ids))
                            .values(claimed_until=None).execution_options(synchronize_session=False))

    def fire_timers(self, session: Session, instance_id: int, now: datetime) -> list[str]:
        """Fire the instance's timers due at `now`; return the activity ids that fired."""
        instance = self.lock_instance(session, instance_id)
        if instance.state != "active":
            return []
        incident = (incidents.open_incident(session, instance_id, "timer")  # read once: checked, closed on success
                    if instance.open_incident else None)
        if incidents.backing_off(incident, now):
            return []
        definition = self.definition_of(session, instance)
        workflow = load_state(instance.workflow_json, definition)
        due = [w for w in waiting_events(workflow) if w[1] == "timer" and w[4] is not None and w[4] <= now]
        if not due:
            return []
        before = projection(workflow)

        def fire():
            for task, *_rest in due:
                task.internal_data["event_fired"] = True
            workflow.refresh_timers()
        automatic = [t for t in self._run(workflow, fire) if not _is_timer(t)]  # audited just below
        self._apply(session, instance, workflow, now)
        catalog = definition.activities
        for _task, _kind, _name, activity_id, due_at in due:
            audit.append(session, at=now, actor=SYSTEM.username, action="timer", instance_id=instance.id,
                         business_key=instance.business_key, activity_id=activity_id,
                         activity_name=catalog.get(activity_id, {}).get("name"),
                         data={"due": due_at.isoformat()})
        self._audit_automatic(session, instance, automatic, now)
        self._finish(session, instance, workflow, now, before, state_applied=True)
        if incident is not None:
            incidents.close(incident, now)
        return [w[3] for w in due]


def _check_variables(declarations: list[dict[str, Any]], variables: dict[str, Any], html: bool) -> None:
    """Refuse bad variables (400 naming them) before any case is looked up, so the answer does not
    depend on whether a case waits; each case's own version checks them again on delivery."""
    first_error = None
    for decl in declarations:
        try:
            clean_variables(decl, variables, html=html)
            return
        except InvalidForm as exc:
            first_error = first_error or exc
    if first_error is not None:
        raise first_error


def _message_definition(task, message: str):
    definition = task.task_spec.event_definition
    for d in getattr(definition, "event_definitions", [definition]):
        if getattr(d, "name", None) == message:
            return d
    return definition

