"""Test runs: walk a case of any version (drafts included) through its tasks in memory, with the
designer acting every role. Nothing is written anywhere: no instance, no task row, no audit record,
no disclosure entry. The run is a list of steps (start values, each task's answers, messages sent,
timers fired) replayed from the start on every request, so the page holds the whole state and the
server keeps none. Forms are validated exactly as in live cases."""
from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from .case_commands import FORCE_DEFAULTS
from .config import Settings
from .errors import InvalidForm
from .event_commands import _message_definition
from .expressions import UnsafeExpression
from .forms import validate_form
from .projections import ready_user_tasks, waiting_events
from .specs import new_workflow

MAX_STEPS = 200


class _Failed(Exception):
    pass


def _relaxed(fields: list[dict]) -> list[dict]:
    """Attachment fields are optional in a test run: it stores no file, so it has no digest to give."""
    return [{**f, "required": False} if f.get("properties", {}).get("media") == "true" else f for f in fields]


def sandbox_run(definition, steps: list[dict[str, Any]], settings: Settings, designer: str) -> dict[str, Any]:
    """Replay `steps` on a fresh in-memory workflow of `definition`. Returns {"steps": the steps that
    applied, "log", "ready": [task with form], "waiting": [event], "completed", "outcome",
    "variables", "errors": field errors of the last step (which is then dropped), "failure"}."""
    catalog = definition.catalog
    options = {"transmission_methods": settings.transmission_methods}
    workflow = new_workflow(definition)
    applied: list[dict] = []
    log: list[dict] = []
    result: dict[str, Any] = {"errors": {}, "failure": None}
    for step in list(steps)[:MAX_STEPS]:
        try:
            entry = _apply(workflow, catalog, step, options, settings, designer)
        except InvalidForm as exc:
            result["errors"] = exc.details
            result["rejected"] = step
            break
        except _Failed as exc:
            result["failure"] = str(exc)
            break
        except (SpiffWorkflowException, UnsafeExpression, ValueError, TypeError, KeyError) as exc:
            task = getattr(exc, "task", None)
            where = getattr(getattr(task, "task_spec", None), "bpmn_id", None)
            result["failure"] = f"the diagram failed while running{f' at {where}' if where else ''}: {exc}"
            applied.append(step)
            break
        applied.append(step)
        log.append(entry)
    started = bool(applied)
    ready = [] if not started else [
        {"activity": t.task_spec.bpmn_id, "name": catalog["activities"][t.task_spec.bpmn_id]["name"],
         "groups": catalog["activities"][t.task_spec.bpmn_id].get("candidate_groups", []),
         "form": catalog["activities"][t.task_spec.bpmn_id].get("form", [])}
        for t in ready_user_tasks(workflow) if t.task_spec.bpmn_id in catalog["activities"]]
    waiting = [] if not started else [
        {"kind": kind, "name": name, "activity": activity_id,
         "activityName": catalog["activities"].get(activity_id, {}).get("name", activity_id)}
        for _t, kind, name, activity_id, _due in waiting_events(workflow)]
    completed = started and workflow.is_completed()
    result.update({
        "steps": applied, "log": log, "ready": ready, "waiting": waiting, "completed": completed,
        "outcome": _outcome(workflow, catalog) if completed else None,
        "variables": _variables(workflow) if started else {},
        "startForm": catalog["start"].get("form", []),
    })
    return result


def _apply(workflow, catalog, step, options, settings, designer) -> dict[str, Any]:
    kind = step.get("kind")
    values = step.get("values") or {}
    if kind == "start":
        start = catalog["start"]
        clean = validate_form(_relaxed(start.get("form", [])), values, rules=start.get("rules"), context={},
                              settings_options=options, html=True)
        for name in FORCE_DEFAULTS:
            if clean.get(name) in (None, ""):
                clean[name] = getattr(settings, name)
        clean["requested_by"] = designer
        clean["local_approval_required"] = settings.custody_local_approval
        if start.get("message"):
            workflow.do_engine_steps()
            task = next(w[0] for w in waiting_events(workflow) if w[2] == start["message"])
            task.set_data(**clean)
            workflow.send_event(BpmnEvent(task.task_spec.event_definition,
                                          {"payload": clean, "result_var": start["message"]}))
        else:
            workflow.get_tasks(state=TaskState.READY)[0].set_data(**clean)
        workflow.do_engine_steps()
        return {"kind": "start", "activity": start["id"], "name": start["name"], "values": clean}
    if kind == "task":
        task = next((t for t in ready_user_tasks(workflow) if t.task_spec.bpmn_id == step.get("activity")), None)
        if task is None:
            raise _Failed(f"task {step.get('activity')!r} is not waiting")
        activity = catalog["activities"][task.task_spec.bpmn_id]
        clean = validate_form(_relaxed(activity.get("form", [])), values, rules=activity.get("rules"),
                              context=task.data, settings_options=options, html=True)
        task.set_data(**clean)
        task.run()
        workflow.do_engine_steps()
        return {"kind": "task", "activity": activity["id"], "name": activity["name"],
                "groups": activity.get("candidate_groups", []), "values": clean}
    if kind in ("message", "timer"):
        found = [w for w in waiting_events(workflow) if w[1] == kind and w[3] == step.get("activity")]
        if not found:
            raise _Failed(f"nothing waits at {step.get('activity')!r}")
        task, _kind, name, activity_id, _due = found[0]
        if kind == "timer":
            task.internal_data["event_fired"] = True
            workflow.refresh_timers()
        else:
            workflow.send_event(BpmnEvent(_message_definition(task, name), {"payload": {}, "result_var": name}))
        workflow.do_engine_steps()
        label = catalog["activities"].get(activity_id, {}).get("name", activity_id)
        return {"kind": kind, "activity": activity_id, "name": label, "values": {}}
    raise _Failed(f"unknown step {kind!r}")


def _outcome(workflow, catalog) -> str | None:
    ends = [t for t in workflow.get_tasks(state=TaskState.COMPLETED)
            if catalog["activities"].get(t.task_spec.bpmn_id or "", {}).get("type") == "endEvent"]
    if not ends:
        return None
    last = max(ends, key=lambda t: t.last_state_change)
    return catalog["activities"][last.task_spec.bpmn_id]["name"]


def _variables(workflow) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for task in sorted(workflow.get_tasks(), key=lambda t: t.last_state_change):
        if task.task_spec.bpmn_id and task.state & (TaskState.COMPLETED | TaskState.READY | TaskState.WAITING):
            data.update(task.data)
    if workflow.is_completed():
        data.update(workflow.data or {})
    return data
