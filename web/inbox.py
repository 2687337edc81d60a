"""The officers' pages: inbox, task (claim, form, complete), start a case, attached media."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import func, select

from engine import InvalidForm, NotAllowed, evidence
from engine import audit as audit_log
from engine import queries as q
from engine.models import HumanTask, HumanTaskGroup, MediaItem

from .auth import web_actor

bp = Blueprint("inbox", __name__)


def desk():
    return current_app.extensions["releasedesk"]


@bp.get("/")
def index():
    return redirect(url_for("inbox.inbox"))


def _startable(session) -> list:
    actor = web_actor()
    return [d for d in q.latest_definitions(session) if actor.in_any(d.catalog["starter_groups"])]


@bp.get("/inbox")
@login_required
def inbox():
    actor = web_actor()
    now = datetime.now(timezone.utc)
    filters = {
        "process_key": request.args.get("pathway") or None,
        "business_key": (request.args.get("businessKey") or "").strip() or None,
    }
    show = request.args.get("show", "all")
    if show == "mine":
        filters["assignee"] = actor.username
    elif show == "unassigned":
        filters["unassigned"] = True
    elif show == "overdue":
        filters["overdue_at"] = now
    with desk().transaction() as s:
        tasks = q.list_tasks(s, actor, **filters)

        def count(**extra):
            return s.scalar(select(func.count()).select_from(q.task_query(actor, **extra).subquery()))
        counts = {"all": count(), "mine": count(assignee=actor.username), "unassigned": count(unassigned=True),
                  "overdue": count(overdue_at=now)}
        definitions = q.latest_definitions(s)
        startable = _startable(s)
    names = {d.key: d.name for d in definitions}
    for t in tasks:
        t["processName"] = names.get(t["processKey"], t["processKey"])
        t["overdue"] = bool(t["dueAt"]) and t["dueAt"] < q.iso(now)
    return render_template("inbox.html", tasks=tasks, counts=counts, show=show, definitions=definitions,
                           startable=startable, filters=request.args)


def _case_context(session, instance, actor):
    view = q.instance_view(session, instance)
    catalog = instance.definition.catalog
    start_fields = catalog["start"]["form"] if catalog.get("start") else []
    # What the requester said, minus blanks, attachments (shown as media) and unticked boxes.
    summary = [(f["label"], view["variables"].get(f["id"])) for f in start_fields
               if view["variables"].get(f["id"]) not in (None, "", [], False)
               and not f.get("properties", {}).get("media") and f["id"] != "case_reference"]
    history = [r for r in q.audit_trail(session, instance.id)
               if r["action"] in ("complete", "decision_table", "message", "timer", "start", "cancel")]
    digests = []
    for name in ("media_items", "redacted_media_items"):
        for d in view["variables"].get(name) or []:
            if d not in digests:
                digests.append(d)
    media = {m.digest: m for m in session.scalars(select(MediaItem).where(MediaItem.digest.in_(digests)))}
    return {"view": view, "summary": summary, "history": history,
            "media": [media[d] for d in digests if d in media], "pathway": instance.definition.name,
            "evidence_references": evidence.references(session, [d for d in digests if d not in media])}


@bp.get("/tasks/<task_id>")
@login_required
def task(task_id: str):
    return _render_task(task_id)


def _render_task(task_id: str, errors: dict | None = None, values: dict | None = None, status: int = 200):
    actor = web_actor()
    with desk().transaction() as s:
        task = q.get_task(s, task_id, actor, desk().runtime.settings_options)
        instance = q.get_instance(s, task["processInstanceId"])
        context = _case_context(s, instance, actor)
    may_act = actor.in_any(task["candidateGroups"]) and task["state"] == "open"
    return render_template("task.html", task=task, errors=errors or {}, values=values or {},
                           may_act=may_act, **context), status


def form_values(fields: list[dict], uploader: str) -> dict:
    """Read a task or start form from the request: multi-selects as lists, uploads stored by digest."""
    values = {}
    for field in fields:
        fid = field["id"]
        if field.get("media"):
            digests = [d for d in request.form.getlist(fid) if d]
            try:
                with desk().transaction() as s:
                    for upload in request.files.getlist(fid):
                        if upload and upload.filename:
                            item = desk().runtime.media.store(s, upload.read(), upload.filename, uploader,
                                                              datetime.now(timezone.utc))
                            digests.append(item.digest)
            except InvalidForm as exc:  # name the upload field, not a generic "file"
                raise InvalidForm(exc.message, {fid: next(iter(exc.details.values()), exc.message)}) from None
            if digests:
                values[fid] = digests
        elif field.get("multiple"):
            chosen = request.form.getlist(fid)
            if chosen:
                values[fid] = chosen
        elif fid in request.form:
            values[fid] = request.form.get(fid)
    return values


@bp.post("/tasks/<task_id>")
@login_required
def complete(task_id: str):
    actor = web_actor()
    with desk().transaction() as s:
        task = q.get_task(s, task_id, actor, desk().runtime.settings_options)
    try:
        values = form_values(task["form"]["fields"], actor.username)
        with desk().transaction() as s:
            desk().runtime.complete(s, task_id, actor, values, html=True)
    except InvalidForm as exc:
        return _render_task(task_id, errors=exc.details, values=request.form, status=400)
    flash(f"“{task['name']}” completed for {task['businessKey']}.", "success")
    return redirect(url_for("inbox.inbox"))


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str):
    with desk().transaction() as s:
        desk().runtime.claim(s, task_id, web_actor())
    flash("Task claimed: it is now assigned to you.", "info")
    return redirect(url_for("inbox.task", task_id=task_id))


@bp.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim(task_id: str):
    with desk().transaction() as s:
        desk().runtime.unclaim(s, task_id, web_actor())
    flash("Task released back to the group.", "info")
    return redirect(url_for("inbox.task", task_id=task_id))


@bp.route("/start/<key>", methods=["GET", "POST"])
@login_required
def start(key: str):
    actor = web_actor()
    with desk().transaction() as s:
        definition = q.get_definition(s, key)
        catalog = definition.catalog
    if not actor.in_any(catalog["starter_groups"]):
        raise NotAllowed(f"Only {', '.join(catalog['starter_groups'])} may start {definition.name}.")
    fields = q.form_fields(catalog["start"]["form"], desk().runtime.settings_options)
    errors, values, status = {}, {}, 200
    if request.method == "POST":
        try:
            values = form_values(fields, actor.username)
            business_key = (request.form.get("case_reference") or "").strip()
            with desk().transaction() as s:
                view = desk().runtime.start(s, key, business_key, values, actor, html=True)
            flash(f"Case {view['businessKey']} started: {definition.name}.", "success")
            return redirect(url_for("inbox.inbox"))
        except InvalidForm as exc:
            errors, values, status = exc.details, request.form, 400
            if "businessKey" in errors:
                errors.setdefault("case_reference", errors.pop("businessKey"))
    return render_template("start.html", definition=definition, fields=fields, errors=errors, values=values,
                           documentation=catalog["start"].get("documentation")), status


@bp.get("/instances/<int:instance_id>/media/<digest>")
@login_required
def media(instance_id: int, digest: str):
    """An attachment of a case, for people with a task on it (or managers). Every download is audited."""
    actor = web_actor()
    with desk().transaction() as s:
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
        audit_log.append(s, at=datetime.now(timezone.utc), actor=actor.username,
                         group=next(iter(sorted(actor.groups)), None), action="download", instance_id=instance.id,
                         business_key=instance.business_key, data={"digest": digest, "filename": item.filename})
        content_type, filename = item.content_type, item.filename
    path = desk().runtime.media.path_for(digest)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=content_type, download_name=filename, as_attachment=False)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.app_context_processor
def navigation():
    user = current_user if current_user and current_user.is_authenticated else None
    return {"current_actor": user.actor if user else None}
