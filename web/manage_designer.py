"""The designer area: upload and check diagrams, deploy them as new versions, compare versions, edit
in the browser with the bpmn-js modeler, and move running cases to a newer version.

Every deployment goes through engine.deployment.deploy, which checks the XSD schema and our lint
rules and refuses the whole upload (with file, line and element per problem) if anything is wrong."""
from __future__ import annotations

from flask import flash, jsonify, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select

from engine import Conflict, DeploymentRejected
from engine import queries as q
from engine.deployment import deploy
from engine.drafts import is_draft, version_states
from engine.migration import MIGRATE_GROUPS, active_on_version, check, migrate_version
from engine.models import DefinitionPublication, ProcessDefinition, Resource
from engine.users import GROUPS
from engine.versions import diff_versions, executable_process_ids
from engine.xmlsafe import UnsafeXml

from .auth import require_groups, web_actor
from .manage_common import DESIGNERS, bp, desk, int_arg, now, require_design_reader

PREVIEW_LIMIT = 200


def _overview(session) -> dict:
    definitions = q.latest_definitions(session)
    counts = {d.key: len(q.definition_versions(session, d.key)) for d in definitions}
    decisions = []
    seen: set[str] = set()
    for res in session.scalars(select(Resource).where(Resource.kind == "dmn").order_by(Resource.id.desc())):
        fresh = [d for d in res.decision_ids if d not in seen]
        seen.update(res.decision_ids)
        if fresh:
            decisions.append({"name": res.name, "decisions": fresh, "deployment": res.deployment_id})
    pub = DefinitionPublication
    drafts = list(session.scalars(
        select(ProcessDefinition).join(pub, pub.definition_id == ProcessDefinition.id)
        .where(DefinitionPublication.status == "draft").order_by(ProcessDefinition.key, ProcessDefinition.version)))
    return {"definitions": definitions, "version_counts": counts, "decisions": decisions, "drafts": drafts}


def _render_designer(problems=None, status: int = 200, checked: list | None = None):
    with desk().transaction() as s:
        context = _overview(s)
    return render_template("manage/designer.html", problems=problems or [], checked=checked, **context), status


@bp.get("/designer")
@login_required
def designer():
    require_design_reader()
    return _render_designer()


@bp.post("/designer/deploy")
@login_required
def designer_deploy():
    """Deploy the uploaded files, or with `check` only validate them (the transaction is rolled back)."""
    require_groups(*DESIGNERS)
    files = [(u.filename or "upload", u.read()) for u in request.files.getlist("files") if u and u.filename]
    only_check = "check" in request.form
    draft = bool(request.form.get("draft"))
    try:
        if only_check:
            with desk().Session() as s:
                s.begin()
                try:
                    result = deploy(s, files, web_actor(), now(), source="designer")
                finally:
                    s.rollback()
            return _render_designer(checked=result["definitions"])
        with desk().transaction() as s:
            result = deploy(s, files, web_actor(), now(), source="designer", draft=draft)
    except DeploymentRejected as exc:
        return _render_designer(exc.problems, 400)
    changed = [f"{d['key']} v{d['version']}" for d in result["definitions"] if d.get("changed")]
    what = "Saved as draft (needs review by someone else): " if draft else "Deployed "
    flash(what + ", ".join(changed) + "." if changed else "Nothing changed: no new version.",
          "success" if changed else "info")
    return _render_designer()


@bp.get("/designer/diff/<key>")
@login_required
def designer_diff(key: str):
    require_design_reader()
    with desk().transaction() as s:
        latest = q.get_definition(s, key)
        new = int_arg("to", latest.version)
        old = int_arg("from", max(1, new - 1))
        diff = diff_versions(s, key, old, new)
        versions = [d.version for d in q.definition_versions(s, key)]
        name = latest.name
    return render_template("manage/diff.html", diff=diff, key=key, name=name, versions=versions)


@bp.get("/designer/edit/<key>")
@login_required
def designer_edit(key: str):
    require_groups(*DESIGNERS)
    with desk().transaction() as s:
        d = q.get_definition(s, key, int_arg("version"))
        latest = q.get_definition(s, key)
        name, version, filename = d.name, d.version, d.resource.name
        states = version_states(s, key)
    drafts = sorted(v for v, st in states.items() if st["status"] == "draft" and v != version)
    return render_template("manage/modeler.html", key=key, name=name, version=version, latest=latest.version,
                           filename=filename, groups=list(GROUPS), drafts=drafts,
                           is_draft=states[version]["status"] == "draft")


@bp.post("/designer/edit/<key>")
@login_required
def designer_save(key: str):
    """Save the modeler's XML as a draft version of `key` (JSON in, JSON out, for fetch): it passes
    every deploy check but goes live only when someone else publishes it."""
    require_groups(*DESIGNERS)
    content = request.get_data(cache=False)
    with desk().transaction() as s:
        filename = q.get_definition(s, key).resource.name
    try:
        ids = executable_process_ids(content)
    except UnsafeXml as exc:
        return _refused([{"file": filename, "line": exc.line, "element": None, "message": str(exc)}])
    if key not in ids:
        return _refused([{"file": filename, "line": None, "element": key,
                          "message": f"the executable process must keep the id {key!r} "
                                     f"(found: {', '.join(ids) or 'none'})"}])
    try:
        with desk().transaction() as s:
            result = deploy(s, [(filename, content)], web_actor(), now(), source="modeler", draft=True)
    except DeploymentRejected as exc:
        return _refused(exc.problems)
    mine = next(d for d in result["definitions"] if d["key"] == key)
    return jsonify({"ok": True, "key": key, "version": mine["version"], "changed": mine.get("changed", False),
                    "status": "draft" if mine.get("changed") else None,
                    "url": url_for("manage.designer_review", key=key, version=mine["version"]),
                    "testRunUrl": url_for("manage.designer_test_run", key=key, version=mine["version"])})


def _refused(problems: list[dict]):
    response = jsonify({"ok": False, "error": "The diagram has problems; nothing was saved.",
                        "problems": problems})
    response.status_code = 400
    return response


def _migration_args(key: str, session) -> tuple[int, int]:
    latest = q.get_definition(session, key)
    source = int_arg("from", max(1, latest.version - 1), request.values)
    target = int_arg("to", latest.version, request.values)
    q.get_definition(session, key, source)
    if is_draft(session, q.get_definition(session, key, target)):
        raise Conflict(f"version {target} is a draft: publish it before moving cases to it")
    return source, target


@bp.route("/designer/migrate/<key>", methods=["GET", "POST"])
@login_required
def designer_migrate(key: str):
    """GET: which running cases of version N can move to version M, and why not where they cannot.
    POST: move every one that can (each checked again under its lock)."""
    require_groups(*MIGRATE_GROUPS)
    checks, total, result = [], 0, None
    with desk().transaction() as s:
        source, target = _migration_args(key, s)
        if request.method == "POST" and request.form.get("confirm") != "yes":
            flash("Tick the confirmation box to move the cases.", "error")
        if request.method == "POST" and request.form.get("confirm") == "yes":
            result = migrate_version(s, desk().runtime, key, source, target, web_actor())
        if result is None:
            ids = active_on_version(s, key, source)
            checks, total = [check(s, q.get_instance(s, i), target) for i in ids[:PREVIEW_LIMIT]], len(ids)
        name = q.get_definition(s, key).name
        versions = [d.version for d in q.definition_versions(s, key)]
    if result:
        flash(f"{len(result['migrated'])} case(s) moved to version {target}; {len(result['refused'])} refused.",
              "success" if result["migrated"] else "info")
    return render_template("manage/migrate.html", key=key, name=name, source=source, target=target,
                           checks=checks, total=total, versions=versions, result=result)
