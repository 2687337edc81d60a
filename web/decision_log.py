"""Download a case's disclosure-ready decision log (PDF or CSV): from the API for people who may
read the case's audit trail, and from the pages for the same people. Each export is audited."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, g
from flask_login import login_required

from engine import InvalidForm, decision_log
from engine import audit as audit_log
from engine.queries import readable_instance
from engine.users import Actor

from .api import api_auth
from .auth import web_actor
from .integrations import ID

bp = Blueprint("decision_log", __name__)
FORMATS = {"pdf": "application/pdf", "csv": "text/csv"}


def desk():
    return current_app.extensions["releasedesk"]


def _export(instance_id: int, fmt: str, actor: Actor) -> Response:
    if fmt not in FORMATS:
        raise InvalidForm("Unknown format.", {"format": "pdf or csv"})
    now = desk().clock()
    with desk().transaction() as s:
        instance = readable_instance(s, instance_id, actor)
        log = decision_log.build(s, instance, actor.username, now)
        audit_log.append(s, at=now, actor=actor.username, group=next(iter(sorted(actor.groups)), None),
                         action="export", instance_id=instance.id, business_key=instance.business_key,
                         data={"document": f"decision-log.{fmt}"})
    body = decision_log.to_pdf(log) if fmt == "pdf" else decision_log.to_csv(log)
    response = Response(body, mimetype=FORMATS[fmt])
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in log.case["businessKey"])[:80]
    response.headers["Content-Disposition"] = f'attachment; filename="decision-log-{safe}.{fmt}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get(f"/api/process-instances/<{ID}:instance_id>/decision-log.<fmt>")
@api_auth
def api_export(instance_id: int, fmt: str):
    return _export(instance_id, fmt, g.actor)


@bp.get(f"/instances/<{ID}:instance_id>/decision-log.<fmt>")
@login_required
def page_export(instance_id: int, fmt: str):
    return _export(instance_id, fmt, web_actor())
