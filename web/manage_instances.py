"""Cases: the searchable list, one case's diagram with its history, cancel and migrate; and a pathway's
diagram with how many cases wait at each activity.

The list reads projection rows only (engine.reports); a case page deserializes that one workflow
for its variables and activity history."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine import Actor, incidents, reports
from engine import queries as q
from engine.drafts import version_states
from engine.migration import MIGRATE_GROUPS, MigrationRefused, migrate_instance

from . import access_log
from .auth import require_groups, web_actor
from .errors import xml_download
from .manage_common import (
    bp,
    date_arg,
    desk,
    int_arg,
    pathway_names,
    require_design_reader,
    require_manager,
)
from .officer_text import display_value, humanise, name_decisions

WAITING_TYPES = ("userTask", "intermediateCatchEvent", "boundaryEvent", "eventBasedGateway", "receiveTask")
MANAGER = Actor("manager-view", frozenset({"manager"}))


def _waiting_options(definitions, key: str | None) -> list[tuple[str, str]]:
    """(activity id, label) for the "waiting at" filter: the chosen pathway's, or every pathway's."""
    options: dict[str, str] = {}
    for d in definitions:
        if key and d.key != key:
            continue
        for a in d.catalog["activities"].values():
            if a["type"] in WAITING_TYPES:
                label = a["name"] if key else f"{a['name']} ({d.name})"
                options.setdefault(a["id"], label)
    return sorted(options.items(), key=lambda kv: kv[1].lower())


@bp.get("/instances")
@login_required
def instances():
    require_manager()
    state = request.args.get("state") or None
    if state not in (None, *reports.INSTANCE_STATES):
        state = None
    filters = {
        "key": request.args.get("pathway") or None,
        "business_key_prefix": (request.args.get("businessKey") or "").strip()[:200] or None,  # any case, a prefix
        "state": state,
        "activity_id": request.args.get("activity") or None,
        "started_from": date_arg("from"),
        "started_to": date_arg("to", end_of_day=True),
    }
    with desk().transaction() as s:
        result = reports.instance_page(s, page=int_arg("page", 1), page_size=50, **filters)
        definitions = q.latest_definitions(s)
    names = {d.key: d.name for d in definitions}
    activity_names = {(d.key, a["id"]): a["name"] for d in definitions for a in d.catalog["activities"].values()}
    for item in result["items"]:  # "waiting at" by activity names, never ids
        item["waitingAt"] = [activity_names.get((item["key"], a), humanise(a)) for a in item["waitingAt"]]
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("manage/instances.html", result=result, names=names, definitions=definitions,
                           waiting=_waiting_options(definitions, filters["key"]), args=args,
                           states=reports.INSTANCE_STATES)


@bp.get("/instances/<int:instance_id>")
@login_required
def instance(instance_id: int):
    require_manager()
    with desk().read() as s:
        row = q.get_instance(s, instance_id)
        view = q.instance_view(s, row)
        catalog = row.definition.catalog
        waiting = reports.positions_of(s, [instance_id]).get(instance_id, [])
        active = list(dict.fromkeys(view["activeActivities"] + waiting))
        trail = q.audit_trail(s, instance_id)
        tasks = q.list_tasks(s, MANAGER, instance_id=instance_id)
        newer = [d.version for d in q.definition_versions(s, row.key) if d.version > row.version]
        pathway = row.definition.name
        open_incidents = incidents.list_open(s, instance_id)
    access_log.read_case(instance_id, view["businessKey"], "case page")
    taken = reports.taken_flows(catalog["flows"], view["completedActivities"], active)
    names = {a["id"]: a["name"] for a in catalog["activities"].values()}
    fields = {f["id"]: f for a in catalog["activities"].values() for f in q.form_fields(a.get("form", []))}
    name_decisions(trail, catalog)
    variables = [(fields[k]["label"] if k in fields else humanise(k), display_value(v, fields.get(k)))
                 for k, v in sorted(view["variables"].items())]
    return render_template("manage/instance.html", view=view, active=active, taken=taken, trail=trail,
                           tasks=tasks, newer=newer, pathway=pathway, names=names, incidents=open_incidents,
                           variables=variables,
                           may_migrate=web_actor().in_any(MIGRATE_GROUPS))


@bp.post("/instances/<int:instance_id>/cancel")
@login_required
def cancel_instance(instance_id: int):
    require_manager()
    with desk().transaction() as s:
        view = desk().runtime.cancel(s, instance_id, web_actor(), request.form.get("reason") or "")
    flash(f"Case {view['businessKey']} cancelled.", "success")
    return redirect(url_for("manage.instance", instance_id=instance_id))


@bp.post("/instances/<int:instance_id>/migrate")
@login_required
def migrate_one(instance_id: int):
    require_groups(*MIGRATE_GROUPS)
    to_version = int_arg("version", None, request.form)
    try:
        with desk().transaction() as s:
            result = migrate_instance(s, desk().runtime, instance_id, web_actor(), to_version)
        flash(f"Case {result['businessKey']} moved from version {result['fromVersion']} to "
              f"{result['toVersion']}.", "success")
    except MigrationRefused as exc:
        flash(f"Not migrated: {exc.details['reason']}", "error")
    return redirect(url_for("manage.instance", instance_id=instance_id))


@bp.get("/definitions/<key>")
@login_required
def definition(key: str):
    require_design_reader()
    version = int_arg("version")
    with desk().transaction() as s:
        d = q.get_definition(s, key, version)
        versions = q.definition_versions(s, key)
        per_version = reports.instances_per_version(s, key)
        counts = reports.waiting_counts(s, key, d.version)
        catalog, name, shown = d.catalog, d.name, d.version
        names = pathway_names(s)
        states = version_states(s, key)
        live = q.find_definition(s, key)
    activities = [a for a in catalog["activities"].values() if a["type"] in WAITING_TYPES]
    return render_template("manage/definition.html", key=key, name=name, version=shown, versions=versions,
                           per_version=per_version, counts=counts, activities=activities, names=names,
                           latest=live.version if live is not None else shown, states=states,
                           is_manager="manager" in web_actor().groups)


@bp.get("/definitions/<key>/diagram.bpmn")
@login_required
def definition_xml(key: str):
    """The BPMN XML of one version, for bpmn-js (the REST API's copy needs HTTP Basic)."""
    require_design_reader()
    with desk().read() as s:
        definition = q.get_definition(s, key, int_arg("version"))
        content, version = definition.resource.content, definition.version
    return xml_download(content, key, version)
