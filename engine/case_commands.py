"""Case commands: start a case, cancel it."""
from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit, evidence
from .db import INSERTS, backend
from .errors import (
    Conflict,
    DuplicateCase,
    InvalidForm,
    NotAllowed,
)
from .forms import validate_form
from .models import ProcessInstance
from .projections import EMPTY, apply_state, projection, waiting_events
from .queries import visible_to
from .specs import load_state, new_workflow
from .steps import Steps
from .users import SYSTEM, Actor

ENGINE_VARIABLES = ("requested_by", "local_approval_required")
FORCE_DEFAULTS = ("copyright_notice", "conditions_of_use", "review_interval", "removal_sla")


class CaseCommands(Steps):
    def start(self, session: Session, key: str, business_key: str, variables: dict[str, Any], actor: Actor,
              *, html: bool = False, by_message: bool = False) -> dict[str, Any]:
        """Start a case. `by_message`: the start message's declared senders were already checked
        (they, not the pathway's starter groups, say who may send `conviction_recorded`)."""
        definition = self.definitions.latest(session, key)
        catalog = definition.catalog
        if not by_message and actor is not SYSTEM and not actor.in_any(catalog["starter_groups"]):
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
            values = evidence.accept_references(session, start["form"], values, actor, self.clock())
            clean = validate_form(start["form"], values, rules=start.get("rules"), context={},
                                  settings_options=self.settings_options, html=html,
                                  media_exists=evidence.media_exists(session, self._attachable(session, actor, None)),
                                  limits=self.form_limits)
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
        automatic = self._run(workflow, begin, new=True)
        # Written by one INSERT below, not through the session (the case is new: nothing to track).
        instance = ProcessInstance(definition_id=definition.id, key=key, version=definition.version,
                                   business_key=business_key, state="active", started_at=now,
                                   started_by=actor.username, version_id=1)
        instance.open_incident = False  # a new case has none
        apply_state(instance, workflow, now, definition.activities)
        instance.id = _insert_unless_duplicate(session, instance)
        if instance.id is None:  # an active case has this reference (the index compares in lower case)
            self.refuse_duplicate(session, key, definition.name, business_key, actor)
            raise DuplicateCase(f"An active {definition.name} case already has the case reference {business_key}.",
                                {"businessKey": business_key}) from None
        audit.append(session, at=now, actor=actor.username,
                     group=actor.first_group_of(catalog["starter_groups"]), action="start",
                     instance_id=instance.id, business_key=business_key, activity_id=start["id"],
                     activity_name=start["name"], data=clean)
        self._audit_automatic(session, instance, automatic, now)
        evidence.cite(session, instance.id, start["form"], clean, now, start["id"], self.media.exists)
        return self._finish(session, instance, workflow, now, EMPTY, state_applied=True)

    def refuse_duplicate(self, session: Session, key: str, pathway: str, business_key: str, actor: Actor) -> None:
        """409 when an active case of the pathway has this reference (any letter case); the existing
        case's id is given only to a caller who may read it. The partial unique index backs this up
        against concurrent starts."""
        same = (ProcessInstance.key == key, ProcessInstance.state == "active",
                func.lower(ProcessInstance.business_key) == func.lower(business_key))
        existing = session.scalar(select(ProcessInstance.id).where(*same).limit(1))
        if existing is None:
            return
        details: dict[str, Any] = {"businessKey": business_key}
        if session.scalar(select(ProcessInstance.id).where(*same, visible_to(actor)).limit(1)) is not None:
            details["existingInstanceId"] = existing
        raise DuplicateCase(f"An active {pathway} case already has the case reference {business_key}.", details)

    def cancel(self, session: Session, instance_id: int, actor: Actor, reason: str) -> dict[str, Any]:
        if "manager" not in actor.groups:
            raise NotAllowed("only managers may cancel a case")
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidForm("A reason is required.", {"reason": "This field is required."})
        if len(reason) > self.settings.max_text_length:
            raise InvalidForm("The reason is too long.",
                              {"reason": f"Must be at most {self.settings.max_text_length:,} characters."})
        instance = self.lock_instance(session, instance_id)
        if instance.state != "active":
            raise Conflict(f"instance {instance_id} is already {instance.state}")
        workflow = load_state(instance.workflow_json, self.definition_of(session, instance))
        before = projection(workflow)
        workflow.cancel()
        now = self.clock()
        instance.state, instance.ended_at, instance.outcome = "cancelled", now, "Cancelled"
        self._apply(session, instance, workflow, now)
        audit.append(session, at=now, actor=actor.username, group="manager", action="cancel",
                     instance_id=instance.id, business_key=instance.business_key,
                     data={"reason": reason.strip(), "rationale": reason.strip()})
        return self._finish(session, instance, workflow, now, before, state_applied=True)


_INSERT_CASE = {name: insert(ProcessInstance.__table__).on_conflict_do_nothing()
                .returning(ProcessInstance.__table__.c.id) for name, insert in INSERTS.items()}


def _insert_unless_duplicate(session: Session, instance: ProcessInstance) -> int | None:
    """INSERT the new case's row and return its id; or insert nothing and return None when the
    partial unique index holds an active case of the pathway with its reference. Nothing fails, so
    the transaction stays usable to explain the refusal (no savepoint needed)."""
    row = {c.key: getattr(instance, c.key) for c in ProcessInstance.__table__.columns if c.key != "id"}
    return session.scalar(_INSERT_CASE[backend(session)], row)
