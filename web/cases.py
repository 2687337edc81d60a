"""Requesters and participants follow their cases: "My cases", one case's summary, and recording what
happened in the world (an arrest, a person found, an appeal withdrawn) from that page.

Reads come from engine.case_views; recording an event is the same `correlate` command the API's
`POST /api/messages` runs, limited to this one case, so senders and variables are enforced
identically (403, 400 naming the field) and audited like any completion."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine import DuplicateCase, InvalidForm, case_views
from engine import queries as q
from engine.messages import clean_variables

from .auth import web_actor
from .errors import error_response, int_arg, wants_json

bp = Blueprint("cases", __name__)
STATES = ("active", "completed", "cancelled")
def desk():
    return current_app.extensions["releasedesk"]


@bp.get("/cases")
@login_required
def my_cases():
    actor = web_actor()
    reference = (request.args.get("reference") or "").strip()[:200] or None
    state = request.args.get("state") or None
    if state not in (None, *STATES):
        raise InvalidForm("Invalid request.", {"state": "One of " + ", ".join(STATES) + "."})
    with desk().read() as s:
        result = case_views.my_cases(s, actor, reference=reference, state=state, page=int_arg("page", 1))
    now = desk().clock()
    for item in result["items"]:
        for step in item["waiting"]:
            step["sinceWords"] = case_views.since_words(step["since"], now)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("cases/list.html", result=result, reference=reference or "", state=state or "",
                           states=STATES, args=args)


@bp.get("/cases/<int:instance_id>")
@login_required
def case(instance_id: int):
    with desk().read() as s:
        summary = case_views.case_summary(s, instance_id, web_actor())
    now = desk().clock()
    for step in summary["waiting"]:
        step["sinceWords"] = case_views.since_words(step["since"], now)
    return render_template("cases/case.html", case=summary)


@bp.route("/cases/<int:instance_id>/messages/<name>", methods=["GET", "POST"])
@login_required
def record_event(instance_id: int, name: str):
    """Two steps, as GOV.UK's "check your answers": the form, then a confirmation page that shows
    what will be recorded; only the confirmed post changes the case."""
    actor = web_actor()
    with desk().read() as s:
        message = case_views.message_form(s, instance_id, name, actor)
    fields = q.form_fields(message["fields"])
    # Every posted field counts (a tampered form gets the API's 400 naming the extra field), blanks aside.
    values = {k: v for k, v in request.form.items() if k not in ("csrf_token", "confirmed") and v not in (None, "")}
    if request.method == "GET":
        return render_template("cases/message.html", message=message, fields=fields, values={}, errors={})
    try:
        clean = clean_variables({"variables": message["fields"]}, values, html=True)
    except InvalidForm as exc:
        return render_template("cases/message.html", message=message, fields=fields, values=request.form,
                               errors=exc.details), 400
    if request.form.get("confirmed") != "yes":
        shown = [(f["label"], _shown(f, clean.get(f["id"]))) for f in fields
                 if clean.get(f["id"]) not in (None, "", False)]
        return render_template("cases/confirm.html", message=message, fields=fields, values=values, shown=shown)
    try:
        with desk().transaction() as s:
            desk().runtime.correlate(s, name, message["case"]["businessKey"], values, actor, html=True,
                                     only_instance=instance_id)
    except InvalidForm as exc:  # the case changed between the two steps
        return render_template("cases/message.html", message=message, fields=fields, values=request.form,
                               errors=exc.details), 400
    flash(f"Recorded “{message['label']}” on case {message['case']['businessKey']}.", "success")
    return redirect(url_for("cases.case", instance_id=instance_id))


def _shown(field: dict, value):
    if field["type"] == "date" and isinstance(value, str):
        return value.replace("T", " ")[:16]
    if field["type"] == "enum":
        return next((o["name"] for o in field["options"] if o["id"] == value), value)
    if value is True:
        return "Yes"
    return value


@bp.app_errorhandler(DuplicateCase)
def duplicate_case(exc: DuplicateCase):
    """A start with a reference already active in that pathway: say so and link to the case."""
    if wants_json():
        return error_response(409, exc.message, exc.details)
    return render_template("cases/duplicate.html", message=exc.message,
                           existing=exc.details.get("existingInstanceId")), 409
