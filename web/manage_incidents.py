"""Incidents for managers: "Retry now" after a fix. The lists are on the dashboard and the case page."""
from __future__ import annotations

from flask import flash, redirect, url_for
from flask_login import login_required

from engine import incidents

from .auth import web_actor
from .manage_common import bp, desk, now, require_manager


@bp.post("/incidents/<int:incident_id>/retry")
@login_required
def retry_incident(incident_id: int):
    """Due at once (audited), then tried straight away; a failure stays an incident with the new error."""
    require_manager()
    at = now()
    with desk().transaction() as s:
        incident = incidents.request_retry(s, incident_id, web_actor(), at)
        instance_id = incident.instance_id
    fired = desk().fire_instance_timers(instance_id, at)
    with desk().read() as s:
        still = incidents.open_incident(s, instance_id)
        error = still.error if still is not None else None
    if error is None:
        flash("Retried: the case moved on" + (f" ({', '.join(fired)} fired)." if fired else "."), "success")
    else:
        flash(f"Retried, but it failed again: {error[:300]}", "error")
    return redirect(url_for("manage.instance", instance_id=instance_id) + "#incidents")
