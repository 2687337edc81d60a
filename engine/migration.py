"""Move running instances of a pathway to a newer deployed version, when it is safe.

Safety is SpiffWorkflow's own rule (`SpiffWorkflow.bpmn.util.diff`): an instance may move when no
task it has completed or started was removed or changed in the new version. Waiting and ready tasks
may change: `migrate_workflow` resets them onto the new specs (a waiting task keeps its id, so its
inbox row, assignee and due time stay). One refinement: a completed task whose only change is its
name, documentation or lane does not block, because none of those changes what runs next.

A migration is checked completely in memory (diff, migrate, engine steps, a save/restore round trip
with the new spec) before anything is written, under the instance row lock; a refusal raises
MigrationRefused with the reason and leaves the instance untouched. Every migration is audited."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.util.diff import SpecDiff, diff_workflow, filter_tasks, migrate_workflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from . import audit
from .compaction import pruned_activities
from .errors import ConcurrentChange, Conflict, NotAllowed, Unavailable
from .expressions import UnsafeExpression
from .models import HumanTask, HumanTaskGroup, ProcessDefinition, ProcessInstance
from .projections import ready_user_tasks, save
from .queries import get_definition
from .specs import dump_state, load_state, new_workflow
from .users import Actor

MIGRATE_GROUPS = ("designer", "manager")
#: Spec attributes that do not change behaviour: a completed task changed only in these may move.
COSMETIC = {"bpmn_name", "documentation", "lane"}
_registry = BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG)


class MigrationRefused(Conflict):
    """The instance cannot move. `details`: instanceId, businessKey, fromVersion, toVersion, reason,
    and `blocking`: [{"activity", "state", "change"}] for the tasks that make it unsafe."""


@dataclass
class _Plan:
    instance: ProcessInstance
    target: ProcessDefinition
    workflow: Any = None
    reset: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)


def _refuse(instance: ProcessInstance, target_version: int | None, reason: str,
            blocking: list[dict] | None = None) -> MigrationRefused:
    return MigrationRefused(f"case {instance.business_key} cannot move to version {target_version}: {reason}", {
        "instanceId": instance.id, "businessKey": instance.business_key, "fromVersion": instance.version,
        "toVersion": target_version, "reason": reason, "blocking": blocking or []})


def _label(task) -> str:
    return task.task_spec.bpmn_id or task.task_spec.name


def _blocking(workflow, top, subs, spec_diff: SpecDiff) -> list[dict]:
    """Completed or started tasks that the new version removed or changed in a way that matters."""
    attrs = {spec.name: changes for spec, changes in spec_diff.changed.items()}
    found = []
    for diff in [top, *subs.values()]:
        mask = TaskState.COMPLETED | TaskState.STARTED
        for task in filter_tasks(diff.removed, state=mask):
            found.append({"activity": _label(task), "state": TaskState.get_name(task.state),
                          "change": "removed in the new version"})
        for task in filter_tasks([t for t in diff.changed if t not in diff.removed], state=mask):
            changes = attrs.get(task.task_spec.name)
            if changes is not None and set(changes) <= COSMETIC:
                continue
            found.append({"activity": _label(task), "state": TaskState.get_name(task.state),
                          "change": "changed: " + ", ".join(changes or ["definition"])})
    # Work done so long ago that its tasks were dropped from the state (compaction) counts the same.
    removed = {spec.name for spec in spec_diff.removed}
    for activity in pruned_activities(workflow):
        if any(f["activity"] == activity for f in found):
            continue
        if activity in removed:
            found.append({"activity": activity, "state": "COMPLETED", "change": "removed in the new version"})
        elif activity in attrs and not set(attrs[activity]) <= COSMETIC:
            found.append({"activity": activity, "state": "COMPLETED",
                          "change": "changed: " + ", ".join(attrs[activity] or ["definition"])})
    return found


def _plan(instance: ProcessInstance, target: ProcessDefinition) -> _Plan:
    """Everything short of writing: raise MigrationRefused, or return the migrated workflow."""
    if instance.state != "active":
        raise _refuse(instance, target.version, f"the case is {instance.state}; only running cases move")
    if target.key != instance.key:
        raise _refuse(instance, target.version, f"version belongs to {target.key}, not {instance.key}")
    if target.version <= instance.version:
        raise _refuse(instance, target.version, f"the case is already on version {instance.version}")
    workflow = load_state(instance.workflow_json, instance.definition.spec_json)
    new = new_workflow(target.spec_json)
    top, subs = diff_workflow(_registry, workflow, new.spec, new.subprocess_specs)
    missing = [sp_id for sp_id, d in subs.items() if d is None]
    if missing:
        raise _refuse(instance, target.version, "a running subprocess no longer exists in the new version")
    spec_diff = SpecDiff(_registry, workflow.spec, new.spec)
    blocking = _blocking(workflow, top, subs, spec_diff)
    if blocking:
        what = "; ".join(f"{b['activity']} ({b['state'].lower()}) {b['change']}" for b in blocking)
        raise _refuse(instance, target.version, f"work already done would change: {what}", blocking)

    waiting = workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
    plan = _Plan(instance, target, workflow, reset=sorted({_label(t) for t in waiting}),
                 changed=sorted({_label(t) for t in top.changed if t.state & (TaskState.READY | TaskState.WAITING)}))
    timers = {t.task_spec.name: t.internal_data["event_value"] for t in workflow.get_tasks(state=TaskState.WAITING)
              if "event_value" in t.internal_data}
    changed_specs = {spec.name for spec in spec_diff.changed}
    try:
        migrate_workflow(top, workflow, new.spec)
        for sp_id, diff in subs.items():
            subprocess = workflow.subprocesses[sp_id]
            migrate_workflow(diff, subprocess, new.subprocess_specs[subprocess.spec.name])
        workflow.subprocess_specs = new.subprocess_specs
        # A reset timer would start counting again from now; an unchanged one keeps its deadline.
        for task in workflow.get_tasks(state=TaskState.WAITING):
            if task.task_spec.name in timers and task.task_spec.name not in changed_specs:
                task.internal_data["event_value"] = timers[task.task_spec.name]
        workflow.do_engine_steps()
        load_state(dump_state(workflow), target.spec_json)  # the saved state must restore on the new spec
    except (SpiffWorkflowException, UnsafeExpression, KeyError, ValueError, TypeError) as exc:
        raise _refuse(instance, target.version, f"the migrated case would not run: {exc}") from exc
    activities = target.catalog["activities"]
    unknown = [t.task_spec.bpmn_id for t in ready_user_tasks(workflow) if t.task_spec.bpmn_id not in activities]
    if unknown:
        raise _refuse(instance, target.version, f"tasks not in the new version: {', '.join(unknown)}")
    return plan


def _target(session: Session, instance: ProcessInstance, to_version: int | None) -> ProcessDefinition:
    return get_definition(session, instance.key, to_version or instance.version + 1)


def check(session: Session, instance: ProcessInstance, to_version: int | None = None) -> dict[str, Any]:
    """Dry run (no lock, nothing written): {"id", "businessKey", "safe", "reason", "blocking", "reset"}."""
    target = _target(session, instance, to_version)
    result = {"id": instance.id, "businessKey": instance.business_key, "fromVersion": instance.version,
              "toVersion": target.version}
    try:
        plan = _plan(instance, target)
    except MigrationRefused as exc:
        return {**result, "safe": False, "reason": exc.details["reason"], "blocking": exc.details["blocking"],
                "reset": []}
    return {**result, "safe": True, "reason": None, "blocking": [], "reset": plan.reset, "changed": plan.changed}


def migrate_instance(session: Session, runtime, instance_id: int, actor: Actor, to_version: int | None = None,
                     now: datetime | None = None) -> dict[str, Any]:
    """Move one running instance to `to_version` (default: the next version) or raise MigrationRefused."""
    if not actor.in_any(MIGRATE_GROUPS):
        raise NotAllowed("only designers and managers may migrate cases")
    instance = runtime.lock_instance(session, instance_id)
    target = _target(session, instance, to_version)
    plan = _plan(instance, target)
    now = now or runtime.clock()
    from_version = instance.version
    instance.definition_id, instance.version = target.id, target.version
    instance.definition = target
    _refresh_open_tasks(session, instance, plan.workflow, target)
    save(session, instance, plan.workflow, now)
    audit.append(session, at=now, actor=actor.username, group=actor.first_group_of(MIGRATE_GROUPS),
                 action="migrate", instance_id=instance.id, business_key=instance.business_key,
                 data={"key": instance.key, "fromVersion": from_version, "toVersion": target.version,
                       "reset": plan.reset, "changed": plan.changed})
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConcurrentChange("the case was changed by someone else; reload and try again") from exc
    return {"id": instance.id, "businessKey": instance.business_key, "fromVersion": from_version,
            "toVersion": target.version, "reset": plan.reset, "changed": plan.changed}


def _refresh_open_tasks(session: Session, instance: ProcessInstance, workflow, target: ProcessDefinition) -> None:
    """Open inbox rows keep their task ids; give them the new version's name, lane and groups."""
    ready = {str(t.id): t for t in ready_user_tasks(workflow)}
    rows = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                   HumanTask.state == "open")).all()
    for row in rows:
        task = ready.get(row.id)
        if task is None:
            continue  # projections.save marks it cancelled
        activity = target.catalog["activities"][task.task_spec.bpmn_id]
        groups = activity.get("candidate_groups", [])
        row.activity_id, row.name, row.lane = activity["id"], activity["name"], activity.get("lane")
        row.candidate_groups = ",".join(groups)
        current = {g.group_name for g in row.groups}
        for g in [g for g in row.groups if g.group_name not in groups]:
            row.groups.remove(g)
        row.groups.extend(HumanTaskGroup(group_name=g) for g in groups if g not in current)


def active_on_version(session: Session, key: str, version: int) -> list[int]:
    return list(session.scalars(select(ProcessInstance.id).where(
        ProcessInstance.key == key, ProcessInstance.version == version, ProcessInstance.state == "active")
        .order_by(ProcessInstance.id)))


def migrate_version(session: Session, runtime, key: str, from_version: int, to_version: int,
                    actor: Actor) -> dict[str, Any]:
    """Move every running instance of `key` on `from_version`; each in its own savepoint, so one
    refusal does not undo the others. Returns {"migrated": [...], "refused": [...]}."""
    if not actor.in_any(MIGRATE_GROUPS):
        raise NotAllowed("only designers and managers may migrate cases")
    get_definition(session, key, to_version)
    migrated, refused = [], []
    for instance_id in active_on_version(session, key, from_version):
        try:
            with session.begin_nested():
                migrated.append(migrate_instance(session, runtime, instance_id, actor, to_version))
        except MigrationRefused as exc:
            refused.append({"id": instance_id, "businessKey": exc.details["businessKey"],
                            "reason": exc.details["reason"]})
    return {"key": key, "fromVersion": from_version, "toVersion": to_version, "migrated": migrated,
            "refused": refused}


def migrate_cases(desk, key: str, from_version: int, to_version: int, actor: Actor, *,
                  progress: Callable[[dict[str, Any]], None] | None = None, page: int = 100) -> dict[str, Any]:
    """Move every running case of `key` on `from_version` to `to_version`, each case in a transaction
    of its own (`desk.attempt`: retried on a transient failure), so officers keep working while a
    large migration runs: no lock is held across cases and no case waits on another.

    Resumable: a case that moved is no longer on `from_version`, so running it again after an
    interruption carries on with the cases still to do. `progress` is called after every case with
    {"done", "total", "migrated", "refused", "failed", "last"}. Returns the same shape as
    `migrate_version`, plus "failed": cases the database could not move just now (try again)."""
    if not actor.in_any(MIGRATE_GROUPS):
        raise NotAllowed("only designers and managers may migrate cases")
    with desk.read() as s:
        get_definition(s, key, to_version)
        total = len(active_on_version(s, key, from_version))
    migrated, refused, failed = [], [], []
    last, done = 0, 0
    while True:
        with desk.read() as s:  # the next page of ids, in ascending order
            ids = list(s.scalars(select(ProcessInstance.id).where(
                ProcessInstance.key == key, ProcessInstance.version == from_version,
                ProcessInstance.state == "active", ProcessInstance.id > last).order_by(ProcessInstance.id).limit(page)))
        if not ids:
            break
        for instance_id in ids:
            last = instance_id
            try:
                migrated.append(desk.attempt(lambda s, i=instance_id: migrate_instance(
                    s, desk.runtime, i, actor, to_version)))
            except MigrationRefused as exc:
                refused.append({"id": instance_id, "businessKey": exc.details["businessKey"],
                                "reason": exc.details["reason"]})
            except Unavailable as exc:
                failed.append({"id": instance_id, "reason": exc.message})
            done += 1
            if progress is not None:
                progress({"done": done, "total": total, "migrated": len(migrated), "refused": len(refused),
                          "failed": len(failed), "last": instance_id})
    return {"key": key, "fromVersion": from_version, "toVersion": to_version, "migrated": migrated,
            "refused": refused, "failed": failed}
