"""The officers' inbox (most urgent first, saved views), starting a case, and reading a task's form
from a request. The task pages themselves are in inbox_tasks.py on the same blueprint."""
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
from werkzeug.datastructures import MultiDict

from engine import InvalidForm, NotAllowed
from engine import queries as q
from engine.models import MediaItem, SavedFilter

from .auth import web_actor
from .officer_text import due_in_words, duration_to_iso

bp = Blueprint("inbox", __name__)
VIEWS = (("all", "All open"), ("mine", "Assigned to me"), ("unassigned", "Unassigned"), ("overdue", "Overdue"))
FILTER_KEYS = ("show", "pathway", "businessKey")


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
    now = desk().clock()
    filters = {
        "process_key": request.args.get("pathway") or None,
        "business_key": (request.args.get("businessKey") or "").strip() or None,
    }
    show = request.args.get("show", "all")
    if show not in dict(VIEWS):
        show = "all"
    if show == "mine":
        filters["assignee"] = actor.username
    elif show == "unassigned":
        filters["unassigned"] = True
    elif show == "overdue":
        filters["overdue_at"] = now
    with desk().read() as s:
        tasks = q.list_tasks(s, actor, order="urgency", **filters)

        def count(**extra):
            return s.scalar(select(func.count()).select_from(q.task_query(actor, **extra).subquery()))
        counts = {"all": count(), "mine": count(assignee=actor.username), "unassigned": count(unassigned=True),
                  "overdue": count(overdue_at=now)}
        definitions = q.latest_definitions(s)
        startable = _startable(s)
        saved = list(s.scalars(select(SavedFilter).where(SavedFilter.username == actor.username)
                               .order_by(SavedFilter.name)))
    names = {d.key: d.name for d in definitions}
    for t in tasks:
        t["processName"] = names.get(t["processKey"], t["processKey"])
        t["overdue"] = bool(t["dueAt"]) and t["dueAt"] < q.iso(now)
        t["dueWords"] = due_in_words(t["dueAt"], now)
    args = {k: request.args[k] for k in FILTER_KEYS if request.args.get(k)}
    return render_template("inbox.html", tasks=tasks, counts=counts, show=show, definitions=definitions,
                           startable=startable, filters=request.args, views=VIEWS, saved=saved, args=args)


@bp.post("/inbox/views")
@login_required
def save_view():
    """Save the current inbox filters under a name of the person's choosing."""
    name = (request.form.get("name") or "").strip()[:80]
    query = {k: request.form[k] for k in FILTER_KEYS if request.form.get(k)}
    if not name:
        flash("Give the view a name to save it.", "error")
        return redirect(url_for("inbox.inbox", **query))
    with desk().transaction() as s:
        row = s.scalar(select(SavedFilter).where(SavedFilter.username == web_actor().username,
                                                 SavedFilter.name == name))
        if row is None:
            row = SavedFilter(username=web_actor().username, name=name, created_at=desk().clock())
            s.add(row)
        row.query = query
    flash(f"View “{name}” saved.", "success")
    return redirect(url_for("inbox.inbox", **query))


@bp.post("/inbox/views/<int:view_id>/delete")
@login_required
def delete_view(view_id: int):
    with desk().transaction() as s:
        row = s.get(SavedFilter, view_id)
        if row is None or row.username != web_actor().username:
            abort(404)
        name = row.name
        s.delete(row)
    flash(f"View “{name}” deleted.", "success")
    return redirect(url_for("inbox.inbox"))


def form_values(fields: list[dict], uploader: str) -> tuple[dict, dict, MultiDict]:
    """Read a task or start form from the request.

    Returns (values for the engine, problems found here, what to show again if the form is refused).
    Uploads are stored at once (by digest), so a refused submission keeps them: the page shows
    them again with their references in hidden fields. Durations may be typed as "4 hours"."""
    values, errors = {}, {}
    shown = MultiDict(request.form)
    for field in fields:
        fid = field["id"]
        if field.get("media"):
            digests = [d for d in request.form.getlist(fid) if d]
            for upload in request.files.getlist(fid):
                if not (upload and upload.filename):
                    continue
                try:
                    with desk().transaction() as s:
                        item = desk().runtime.media.store(s, upload.read(), upload.filename, uploader,
                                                          datetime.now(timezone.utc))
                    digests.append(item.digest)
                except InvalidForm as exc:  # name the upload field, not a generic "file"
                    errors[fid] = f"{upload.filename}: {next(iter(exc.details.values()), exc.message)}"
            digests = list(dict.fromkeys(digests))
            shown.setlist(fid, digests)
            if digests:
                values[fid] = digests
        elif field.get("multiple"):
            chosen = request.form.getlist(fid)
            if chosen:
                values[fid] = chosen
        elif field.get("format") == "duration" and (request.form.get(fid) or "").strip():
            iso = duration_to_iso(request.form[fid])
            if iso is None:
                errors[fid] = "Enter a length of time such as 4 hours, 30 days or 2 weeks."
            else:
                values[fid] = iso
        elif fid in request.form:
            values[fid] = request.form.get(fid)
    return values, errors, shown


def media_of(session, digests) -> dict[str, MediaItem]:
    digests = [d for d in digests if isinstance(d, str)]
    return {m.digest: m for m in session.scalars(select(MediaItem).where(MediaItem.digest.in_(digests)))}


def kept_media(session, fields: list[dict], shown) -> dict[str, MediaItem]:
    digests = [d for f in fields if f.get("media") for d in (shown.getlist(f["id"]) if shown else [])]
    return media_of(session, digests) if digests else {}


@bp.route("/start/<key>", methods=["GET", "POST"])
@login_required
def start(key: str):
    actor = web_actor()
    with desk().read() as s:
        definition = q.get_definition(s, key)
        catalog = definition.catalog
    if not actor.in_any(catalog["starter_groups"]):
        raise NotAllowed(f"Only {', '.join(catalog['starter_groups'])} may start {definition.name}.")
    fields = q.form_fields(catalog["start"]["form"], desk().runtime.settings_options)
    errors, shown, status = {}, None, 200
    if request.method == "POST":
        values, errors, shown = form_values(fields, actor.username)
        business_key = (request.form.get("case_reference") or "").strip()
        try:
            with desk().transaction() as s:
                view = desk().runtime.start(s, key, business_key, values, actor, html=True)
                if errors:  # refused here: roll the start back, but report the engine's problems too
                    raise InvalidForm("Invalid start request.", {})
            flash(f"Case {view['businessKey']} started: {definition.name}.", "success")
            return redirect(url_for("inbox.inbox"))
        except InvalidForm as exc:
            details = dict(exc.details)
            if "businessKey" in details:
                details.setdefault("case_reference", details.pop("businessKey"))
            errors, status = {**details, **errors}, 400
    with desk().read() as s:
        media = kept_media(s, fields, shown)
    return render_template("start.html", definition=definition, fields=fields, errors=errors,
                           values=shown or {}, media=media,
                           documentation=catalog["start"].get("documentation")), status


@bp.get("/uploads/<digest>")
@login_required
def upload_preview(digest: str):
    """A file the signed-in person uploaded, shown again on a form that was refused."""
    with desk().read() as s:
        item = s.get(MediaItem, digest)
        if item is None or item.uploaded_by != web_actor().username:
            abort(404)
        content_type = item.content_type
    path = desk().runtime.media.path_for(digest)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=content_type, as_attachment=False)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.app_context_processor
def navigation():
    user = current_user if current_user and current_user.is_authenticated else None
    return {"current_actor": user.actor if user else None}


from . import inbox_tasks  # noqa: E402,F401  (task pages: routes on this blueprint)
