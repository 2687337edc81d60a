"""Task commands: claim, unclaim, complete (with its disclosure-log entry)."""
from __future__ import annotations

from dataclasses import replace
from typing import Any
from uuid import UUID

from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from . import audit, evidence, incidents, notifications
from .errors import (
    ConcurrentChange,
    InvalidForm,
    NotAllowed,
    NotFound,
    TaskClaimed,
    WorkflowFailure,
)
from .forms import validate_form
from .models import DisclosureEntry, HumanTask, ProcessInstance
from .projections import projection
from .specs import load_state
from .steps import Steps
from .users import Actor, get_actor

DISCLOSURE_FIELDS = ("published_urls", "recipients", "transmission_method", "attendees")


class TaskCommands(Steps):
    def claim(self, session: Session, task_id: str, actor: Actor) -> dict[str, Any]:
        row, instance = self._task_to_hold(session, task_id, actor)
        if row.assignee != actor.username:
            row.assignee = actor.username
            self._audit_task(session, instance, row, actor, "claim", {})
        return {"id": row.id, "assignee": row.assignee}

    def unclaim(self, session: Session, task_id: str, actor: Actor) -> dict[str, Any]:
        row, instance = self._task_to_hold(session, task_id, actor)
        if row.assignee:
            row.assignee = None
            self._audit_task(session, instance, row, actor, "unclaim", {})
        return {"id": row.id, "assignee": None}

    def _task_to_hold(self, session: Session, task_id: str, actor: Actor) -> tuple[HumanTask, ProcessInstance]:
        """The locked task and its case, for claim and unclaim: the actor must be in the task's
        groups, and the task free or already theirs."""
        row, instance = self._locked_task(session, task_id)
        if not actor.in_any(row.candidate_group_list):
            raise NotAllowed(f"task {row.activity_id} is for {row.candidate_groups}")
        if row.assignee and row.assignee != actor.username:
            raise TaskClaimed(f"task is claimed by {row.assignee}", {"assignee": row.assignee})
        return row, instance

    def take_over(self, session: Session, task_id: str, actor: Actor, *,
                  expected: str | None = None) -> dict[str, Any]:
        """A member of the task's groups takes a task a colleague holds (after confirming on the
        page). `expected` is the holder the person saw: if it changed meanwhile, nothing happens."""
        row, instance = self._locked_task(session, task_id)
        if not actor.in_any(row.candidate_group_list):
            raise NotAllowed(f"task {row.activity_id} is for {row.candidate_groups}")
        previous = row.assignee
        if expected is not None and previous != (expected or None):
            raise TaskClaimed(f"task is now held by {previous or 'nobody'}", {"assignee": previous})
        if previous != actor.username:
            row.assignee = actor.username
            now = self.clock()
            self._audit_task(session, instance, row, actor, "take_over", {"from": previous})
            notifications.task_assigned(session, self.settings, row, to=actor.username, by=actor.username,
                                        previous=previous, now=now)
        return {"id": row.id, "assignee": row.assignee, "previous": previous}

    def assign(self, session: Session, task_id: str, actor: Actor, username: str) -> dict[str, Any]:
        """A manager gives a task to a named person who is in one of the task's groups."""
        if "manager" not in actor.groups:
            raise NotAllowed("only managers may assign tasks")
        row, instance = self._locked_task(session, task_id)
        try:
            person = get_actor(session, username or "")
        except NotFound:
            raise InvalidForm("Invalid assignment.", {"assignee": "No such user."}) from None
        if not person.in_any(row.candidate_group_list):
            raise InvalidForm("Invalid assignment.",
                              {"assignee": f"{username} is not in the task's groups ({row.candidate_groups})."})
        previous = row.assignee
        if previous != username:
            row.assignee = username
            now = self.clock()
            audit.append(session, at=now, actor=actor.username, group="manager", action="assign",
                         instance_id=instance.id, business_key=instance.business_key,
                         activity_id=row.activity_id, activity_name=row.name,
                         data={"from": previous, "to": username})
            notifications.task_assigned(session, self.settings, row, to=username, by=actor.username,
                                        previous=previous, now=now)
        return {"id": row.id, "assignee": row.assignee, "previous": previous}

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
        definition = self.definition_of(session, instance)
        workflow = load_state(instance.workflow_json, definition)
        task = workflow.get_task_from_id(UUID(task_id))
        if task is None or task.state != TaskState.READY:
            raise ConcurrentChange(f"task {task_id} is no longer ready")
        before = projection(workflow)
        activity = definition.activities[row.activity_id]
        now = self.clock()
        values = evidence.accept_references(session, activity.get("form", []), values, actor, now)
        attachable = self._attachable(session, actor, instance.id)  # own uploads, or the case's files
        clean = validate_form(activity.get("form", []), values, rules=activity.get("rules"), context=task.data,
                              settings_options=self.settings_options,
                              media_exists=evidence.media_exists(session, attachable), html=html,
                              limits=self.form_limits)

        def run():
            task.set_data(**clean)
            task.run()
        try:
            automatic = self._run(workflow, run)
        except WorkflowFailure as exc:  # names the case, so the failure can become an incident on it
            exc.details.setdefault("processInstanceId", instance.id)
            raise
        before = replace(before, ready=before.ready - {task_id})  # its row is marked completed just below
        row.state, row.completed_at, row.completed_by = "completed", now, actor.username
        row.assignee = row.assignee or actor.username
        told = []  # written with the notices of the tasks this step opens
        if "decision" in clean and instance.decided_at is None:
            instance.decided_at = now
            told = notifications.decision_notice(instance, activity=row.name, decision=clean["decision"],
                                                 by=actor.username)
        self._apply(session, instance, workflow, now)  # one UPDATE of the instance, flushed with the audit record
        self._audit_task(session, instance, row, actor, "complete", clean)
        evidence.cite(session, instance.id, activity.get("form", []), clean, now, row.activity_id, self.media.exists)
        if activity.get("disclosure"):
            self._disclose(session, instance, activity, actor, clean, task.data, now)
        self._audit_automatic(session, instance, automatic, now)
        incidents.resolve(session, instance, now, actor.username, kinds=("step",))
        return self._finish(session, instance, workflow, now, before, state_applied=True, told=told)

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



def _as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]

