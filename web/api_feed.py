"""Read-only API for integrations: a pathway's start form (so a client can build its start request
without reading BPMN) and the event feed of audit records."""
from __future__ import annotations

from flask import Blueprint, g, jsonify

from engine import queries as q
from engine.events import MAX_LIMIT, events_after

from .api import api_auth, desk
from .errors import int_arg

bp = Blueprint("api_feed", __name__, url_prefix="/api")


@bp.get("/process-definitions/<key>/start-form")
@api_auth
def start_form(key: str):
    with desk().read() as s:
        definition = q.get_definition(s, key)
        catalog = definition.catalog
        start = catalog.get("start") or {}
        fields = q.form_fields(start.get("form", []), desk().runtime.settings_options)
        return jsonify({"key": definition.key, "version": definition.version, "name": definition.name,
                        "starterGroups": catalog.get("starter_groups", []), "message": start.get("message"),
                        "fields": fields})


@bp.get("/events")
@api_auth
def events():
    after = int_arg("after", 0, minimum=0, maximum=2 ** 62)
    limit = int_arg("limit", 100, minimum=1, maximum=MAX_LIMIT)
    with desk().read() as s:
        return jsonify(events_after(s, g.actor, after, limit, desk().clock()))
