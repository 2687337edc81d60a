"""A task's page: who holds it and since when, its form, claim and release, take-over after
confirming, a manager's assignment, and the case's media (downloads audited, previews not)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import login_required
from sqlalchemy import func, select

from engine import InvalidForm, NotAllowed, evidence
from engine import audit as audit_log
from engine import queries as q
from engine.models import HumanTask, HumanTaskGroup, MediaItem
from engine.notifications import group_members

from . import access_log
from .auth import web_actor
from .inbox import bp, desk, form_values, kept_media, media_of
from .officer_text import due_in_words, name_decisions

HOLD_ACTIONS = ("claim", "take_over", "assign")


def _case_context(session, instance) -> dict:
    view = q.instance_view(session, instance)
    catalog = instance.definition.catalog
    start_fields = q.form_fields(catalog["start"]["form"] if catalog.get("start") else [])
    # What the requester said, minus blanks, attachments (shown as media) and unticked boxes.
    summary = [(f, view["variables"].get(f["id"])) for f in start_fields
               if view["variables"].get(f["id"]) not in (None, "", [], False)
               and not f.get("media") and f["id"] != "case_reference"]
    trail = q.audit_trail(session, instance.id)
    history = [r for r in trail if r["action"] in ("complete", "decision_table", "message", "timer", "start",
                                                   "cancel")]
    digests = []
    for name in ("media_items", "redacted_media_items"):
        for d in view["variables"].get(name) or []:
            if d not in digests:
                digests.append(d)
    media = media_of(session, digests)
    name_decisions(history, catalog)
    return {"view": view, "summary": summary, "history": history, "trail": trail,
            "media": [media[d] for d in digests if d in media], "pathway": instance.definition.name,
            "activities": {a["id"]: a for a in catalog["activities"].values()},
            "evidence_references": evidence.references(session, [d for d in digests if d not in media])}


def _held_since(trail: list[dict], task: dict) -> str | None:
    """When the current holder got the task: the latest claim, take-over or assignment of it."""
    for r in reversed(trail):
        if r["activityId"] == task["activityId"] and r["action"] in HOLD_ACTIONS and r["at"] >= task["createdAt"]:
            return r["at"]
    return None


@bp.get("/tasks/<task_id>")
@login_required
def task(task_id: str):
    return _render_task(task_id)


def _render_task(task_id: str, errors: dict | None = None, values=None, status: int = 200):
    actor = web_actor()
    with desk().read() as s:
        task = q.get_task(s, task_id, actor, desk().runtime.settings_options)
        instance = q.get_instance(s, task["processInstanceId"])
        context = _case_context(s, instance)
        media = kept_media(s, task["form"]["fields"], values)
        eligible = group_members(s, task["candidateGroups"]) if "manager" in actor.groups else []
    access_log.read_case(instance.id, instance.business_key, "task page")
    may_act = actor.in_any(task["candidateGroups"]) and task["state"] == "open"
    held_by_other = bool(task["assignee"]) and task["assignee"] != actor.username
    return render_template("task.html", task=task, errors=errors or {}, values=values or {}, kept=media,
                           may_act=may_act, held_by_other=held_by_other, eligible=eligible,
                           held_since=_held_since(context["trail"], task),
                           due_words=due_in_words(task["dueAt"], desk().clock()), **context), status


@bp.post("/tasks/<task_id>")
@login_required
def complete(task_id: str):
    actor = web_actor()
    with desk().read() as s:
        task = q.get_task(s, task_id, actor, desk().runtime.settings_options)
    # Permission before anything is read or stored: candidate group, not claimed by someone else.
    if not actor.in_any(task["candidateGroups"]):
        raise NotAllowed(f"“{task['name']}” is for {', '.join(task['candidateGroups'])}.")
    if task["assignee"] not in (None, actor.username):
        raise NotAllowed(f"“{task['name']}” is claimed by {task['assignee']}.")
    values, errors, shown = form_values(task["form"]["fields"], actor.username)
    try:
        with desk().transaction() as s:
            desk().runtime.complete(s, task_id, actor, values, html=True)
            if errors:  # refused here: roll back, but report the engine's problems as well
                raise InvalidForm("The form has errors.", {})
    except InvalidForm as exc:
        return _render_task(task_id, errors={**exc.details, **errors}, values=shown, status=400)
    flash(f"“{task['name']}” completed for case {task['businessKey']}.", "success")
    return redirect(url_for("inbox.inbox"))


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str):
    with desk().transaction() as s:
        desk().runtime.claim(s, task_id, web_actor())
    flash("You have claimed this task: it is now assigned to you.", "success")
    return redirect(url_for("inbox.task", task_id=task_id))


@bp.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim(task_id: str):
    with desk().transaction() as s:
        desk().runtime.unclaim(s, task_id, web_actor())
    flash("Task released back to the group.", "success")
    return redirect(url_for("inbox.task", task_id=task_id))


@bp.route("/tasks/<task_id>/take-over", methods=["GET", "POST"])
@login_required
def take_over(task_id: str):
    """Confirm, then take a task a colleague holds. The holder seen on the confirmation page is
    sent back, so a task that changed hands meanwhile is not taken from the wrong person."""
    actor = web_actor()
    with desk().read() as s:
        task = q.get_task(s, task_id, actor)
    if not actor.in_any(task["candidateGroups"]):
        raise NotAllowed("Only people in the task's groups may take it over.")
    if request.method == "POST":
        with desk().transaction() as s:
            result = desk().runtime.take_over(s, task_id, actor, expected=request.form.get("holder", ""))
        flash(f"You have taken over this task from {result['previous'] or 'the group'}. "
              f"{result['previous'] or 'Nobody'} has been told.", "success")
        return redirect(url_for("inbox.task", task_id=task_id))
    return render_template("take_over.html", task=task)


@bp.post("/tasks/<task_id>/assign")
@login_required
def assign(task_id: str):
    actor = web_actor()
    try:
        with desk().transaction() as s:
            result = desk().runtime.assign(s, task_id, actor, (request.form.get("assignee") or "").strip())
    except InvalidForm as exc:
        return _render_task(task_id, errors=exc.details, status=400)
    flash(f"Task assigned to {result['assignee']}; they have been told.", "success")
    return redirect(url_for("inbox.task", task_id=task_id))


@bp.get("/instances/<int:instance_id>/media/<digest>")
@login_required
def media(instance_id: int, digest: str):
    """An attachment of a case, for people with a task on it (or managers). `?preview=1` shows it
    inline on the task page and is not a download; anything else is a download and is audited."""
    actor = web_actor()
    preview = request.args.get("preview") == "1"
    with (desk().read() if preview else desk().transaction()) as s:
        instance = q.get_instance(s, instance_id)
        allowed = "manager" in actor.groups or s.scalar(
            select(func.count()).select_from(HumanTask)
            .where(HumanTask.instance_id == instance_id, HumanTask.groups.any(
                HumanTaskGroup.group_name.in_(sorted(actor.groups))))) > 0
        if not allowed:  # answered as an unknown case: walking ids reveals nothing
            abort(404)
        variables = q.instance_view(s, instance)["variables"]
        if digest not in (variables.get("media_items") or []) + (variables.get("redacted_media_items") or []):
            abort(404)
        item = s.get(MediaItem, digest)
        if item is None:
            abort(404)
        if not preview:
            audit_log.append(s, at=desk().clock(), actor=actor.username,
                             group=next(iter(sorted(actor.groups)), None), action="download",
                             instance_id=instance.id, business_key=instance.business_key,
                             data={"digest": digest, "filename": item.filename,
                                   "address": access_log.client_address()})
        content_type, filename = item.content_type, item.filename
    path = desk().runtime.media.path_for(digest)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=content_type, download_name=filename, as_attachment=not preview)
    response.headers["Cache-Control"] = "private, no-store"
    return response
