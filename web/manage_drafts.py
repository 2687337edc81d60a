"""Review before live: the review page of a version (diff against the live version, the deploy
checks run again, who saved it), publishing by a second person, and the test run that walks a case
of a draft through its tasks in memory with the designer acting every role.

The test run keeps its state in the page: the steps taken so far travel in a hidden field and are
replayed by engine.sandbox on each request, so nothing is stored, not even in the session."""
from __future__ import annotations

import json

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine import Conflict, DeploymentRejected, InvalidForm, NotAllowed
from engine import queries as q
from engine.drafts import REVIEW_GROUPS, publish, review
from engine.sandbox import sandbox_run

from .auth import require_groups, web_actor
from .manage_common import bp, desk, now

MAX_STEPS_FIELD = 200_000  # characters of the hidden steps field


def _render_review(key: str, version: int, error: str | None = None, status: int = 200):
    with desk().read() as s:
        info = review(s, key, version)
    return render_template("manage/review.html", r=info, key=key, version=version, error=error), status


@bp.get("/designer/review/<key>/<int:version>")
@login_required
def designer_review(key: str, version: int):
    require_groups(*REVIEW_GROUPS)
    return _render_review(key, version)


@bp.post("/designer/publish/<key>/<int:version>")
@login_required
def designer_publish(key: str, version: int):
    """Publish a draft (or an earlier version again: a roll back)."""
    require_groups(*REVIEW_GROUPS)
    try:
        with desk().transaction() as s:
            publish(s, key, version, web_actor(), now())
    except NotAllowed as exc:
        return _render_review(key, version, exc.message, 403)
    except Conflict as exc:
        return _render_review(key, version, exc.message, 409)
    except DeploymentRejected:
        return _render_review(key, version, "The checks found problems; nothing was published.", 400)
    flash(f"Version {version} of {key} is live: new cases start on it.", "success")
    return redirect(url_for("manage.definition", key=key, version=version))


def _steps() -> list[dict]:
    raw = request.form.get("steps") or "[]"
    if len(raw) > MAX_STEPS_FIELD:
        raise InvalidForm("The test run is too long.", {"steps": "Start a new test run."})
    try:
        steps = json.loads(raw)
    except ValueError:
        raise InvalidForm("The test run could not be read.", {"steps": "Start a new test run."}) from None
    if not isinstance(steps, list) or not all(_well_formed(s) for s in steps):
        raise InvalidForm("The test run could not be read.", {"steps": "Start a new test run."})
    return steps


def _well_formed(step) -> bool:
    """A step as this page writes it: kind, activity and values of text (or lists of text)."""
    if not isinstance(step, dict) or not isinstance(step.get("kind"), str):
        return False
    values = step.get("values", {})
    return (isinstance(step.get("activity", ""), str) and isinstance(values, dict)
            and all(isinstance(v, str) or (isinstance(v, list) and all(isinstance(i, str) for i in v))
                    for v in values.values()))


def _values(fields: list[dict]) -> dict:
    values = {}
    for field in fields:
        fid = field["id"]
        if field.get("properties", {}).get("multiple") == "true":
            chosen = [v for v in request.form.getlist(fid) if v]
            if chosen:
                values[fid] = chosen
        elif fid in request.form:
            values[fid] = request.form.get(fid)
    return values


def _fields(fields: list[dict]) -> list[dict]:
    """Form fields as the officers' pages show them; attachments as text (a test run stores no file)."""
    shown = q.form_fields(fields, desk().runtime.settings_options)
    for f in shown:
        if f["media"]:
            f["media"], f["required"] = False, False
            f["label"] = f"{f['label']} (attachments: not needed in a test run)"
    return shown


@bp.route("/designer/test-run/<key>/<int:version>", methods=["GET", "POST"])
@login_required
def designer_test_run(key: str, version: int):
    require_groups(*REVIEW_GROUPS)
    actor = web_actor()
    with desk().read() as s:
        definition = q.get_definition(s, key, version)
        catalog = definition.catalog
        steps = _steps() if request.method == "POST" else []
        submitted: dict = {}
        if request.method == "POST" and request.form.get("action"):
            action, activity = request.form.get("action"), request.form.get("activity") or ""
            if action == "start":
                fields = catalog["start"].get("form", [])
            else:
                fields = catalog["activities"].get(activity, {}).get("form", []) if action == "task" else []
            submitted = _values(fields)
            steps = steps + [{"kind": action, "activity": activity, "values": submitted}]
        run = sandbox_run(definition, steps, desk().runtime.settings, actor.username)
        name = definition.name
    run["startFields"] = _fields(run["startForm"])
    for task in run["ready"]:
        task["fields"] = _fields(task["form"])
    rejected = run.get("rejected") or {}
    return render_template("manage/testrun.html", key=key, version=version, name=name, run=run,
                           steps_json=json.dumps(run["steps"]), errors=run["errors"],
                           rejected_activity=rejected.get("activity"), values=rejected.get("values") or {})
