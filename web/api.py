"""REST API under /api: JSON, HTTP Basic, Camunda-style resources (see README and /api/openapi.json)."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, Response, current_app, g, jsonify, request

from engine import DeploymentRejected, EngineError, InvalidForm, NotAllowed, NotFound
from engine import queries as q
from engine.deployment import deploy

from .auth import basic_auth_actor
from .errors import error_response, int_arg
from .openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api")


def desk():
    return current_app.extensions["releasedesk"]


def api_auth(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        actor = basic_auth_actor()
        if actor is None:
            return error_response(401, "Authentication required (HTTP Basic with your username and password).")
        g.actor = actor
        return view(*args, **kwargs)
    return wrapper


def json_body(required: bool = True) -> dict:
    if not request.data and not required:
        return {}
    if not request.is_json:
        raise _Unsupported()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidForm("The body must be a JSON object.", {"body": "Malformed or not an object."})
    return body


class _Unsupported(EngineError):
    status = 415

    def __init__(self) -> None:
        super().__init__("Send JSON with Content-Type: application/json.")


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.get("/process-definitions")
@api_auth
def list_definitions():
    with desk().read() as s:
        return jsonify([q.definition_summary(d) for d in q.latest_definitions(s)])


@bp.get("/process-definitions/<key>/xml")
@api_auth
def definition_xml(key: str):
    version = int_arg("version", 0) or None
    with desk().read() as s:
        definition = q.get_definition(s, key, version)
        content = definition.resource.content
    return Response(content, mimetype="application/xml")


@bp.post("/deployments")
@api_auth
def create_deployment():
    if "designer" not in g.actor.groups:
        raise NotAllowed("Only designers may deploy diagrams.")
    uploads = request.files.getlist("files")
    if not uploads:
        raise InvalidForm("No files.", {"problems": [{"file": None, "line": None, "element": None,
                                                      "message": "send one or more files in the field 'files'"}]})
    files = [(u.filename or "upload", u.read()) for u in uploads]
    draft = (request.form.get("draft") or "").lower() in ("true", "1", "yes", "on")
    try:
        with desk().transaction() as s:
            result = deploy(s, files, g.actor, desk().clock(), source="api", draft=draft)
    except DeploymentRejected as exc:
        return error_response(400, "The diagrams have problems; nothing was deployed.", {"problems": exc.problems})
    return jsonify({"id": result["id"], "definitions": [
        {"key": d["key"], "version": d["version"], **({"status": "draft"} if d.get("status") else {})}
        for d in result["definitions"]]}), 201


@bp.post("/process-definitions/<key>/start")
@api_auth
def start_instance(key: str):
    body = json_body()
    variables = body.get("variables")
    variables = {} if variables is None else variables
    if not isinstance(variables, dict):
        raise InvalidForm("Invalid start request.", {"variables": "Must be an object."})
    with desk().transaction() as s:
        view = desk().runtime.start(s, key, body.get("businessKey"), variables, g.actor)
    return jsonify({k: view[k] for k in ("id", "key", "version", "businessKey", "state")}), 201


@bp.get("/process-instances")
@api_auth
def list_instances():
    state = request.args.get("state") or None
    if state not in (None, "active", "completed", "cancelled"):
        raise InvalidForm("Invalid query parameter.", {"state": "One of active, completed, cancelled."})
    with desk().read() as s:
        return jsonify(q.list_instances(
            s, actor=g.actor, key=request.args.get("key") or None, business_key=request.args.get("businessKey") or None,
            state=state, activity_id=request.args.get("activityId") or None,
            page=int_arg("page", 1), page_size=int_arg("pageSize", 50)))


@bp.get("/process-instances/<int:instance_id>")
@api_auth
def get_instance(instance_id: int):
    with desk().read() as s:
        return jsonify(q.instance_view(s, q.readable_instance(s, instance_id, g.actor)))


@bp.get("/process-instances/<int:instance_id>/audit")
@api_auth
def instance_audit(instance_id: int):
    with desk().read() as s:
        return jsonify(q.audit_trail(s, instance_id, g.actor))


@bp.post("/process-instances/<int:instance_id>/cancel")
@api_auth
def cancel_instance(instance_id: int):
    body = json_body()
    with desk().transaction() as s:
        view = desk().runtime.cancel(s, instance_id, g.actor, body.get("reason"))
    return jsonify({"processInstance": view})


@bp.get("/tasks")
@api_auth
def list_tasks():
    assignee = request.args.get("assignee") or None
    if assignee == "me":
        assignee = g.actor.username
    instance_id = request.args.get("processInstanceId")
    with desk().read() as s:
        return jsonify(q.list_tasks(
            s, g.actor, candidate_group=request.args.get("candidateGroup") or None, assignee=assignee,
            instance_id=int(instance_id) if instance_id and instance_id.isdigit() else None,
            business_key=request.args.get("businessKey") or None,
            process_key=request.args.get("processKey") or None))


@bp.get("/tasks/<task_id>")
@api_auth
def get_task(task_id: str):
    with desk().read() as s:
        return jsonify(q.get_task(s, task_id, g.actor, desk().runtime.settings_options))


@bp.post("/tasks/<task_id>/claim")
@api_auth
def claim(task_id: str):
    with desk().transaction() as s:
        return jsonify(desk().runtime.claim(s, task_id, g.actor))


@bp.post("/tasks/<task_id>/unclaim")
@api_auth
def unclaim(task_id: str):
    with desk().transaction() as s:
        return jsonify(desk().runtime.unclaim(s, task_id, g.actor))


@bp.post("/tasks/<task_id>/complete")
@api_auth
def complete(task_id: str):
    body = json_body(required=False)
    variables = body.get("variables", {})
    with desk().transaction() as s:
        view = desk().runtime.complete(s, task_id, g.actor, variables)
    return jsonify({"processInstance": view})


@bp.post("/messages")
@api_auth
def correlate():
    body = json_body()
    variables = body.get("variables")
    variables = {} if variables is None else variables
    if not isinstance(variables, dict):
        raise InvalidForm("Invalid message.", {"variables": "Must be an object."})
    with desk().transaction() as s:
        ids = desk().runtime.correlate(s, body.get("messageName"), body.get("businessKey"), variables, g.actor)
    return jsonify({"correlated": ids})


# --- drafts and review ---
@bp.get("/process-definitions/<key>/versions")
@api_auth
def definition_versions(key: str):
    """Every version of a pathway with its status: draft, live or published (an earlier one)."""
    from engine.drafts import REVIEW_GROUPS, version_states
    if not g.actor.in_any(REVIEW_GROUPS):
        raise NotAllowed("Only designers and managers may list versions.")
    with desk().read() as s:
        versions = q.definition_versions(s, key)
        if not versions:
            raise NotFound(f"no process definition {key!r}")
        states = version_states(s, key)
        return jsonify([{**q.definition_summary(d), **states[d.version]} for d in versions])


@bp.post("/process-definitions/<key>/versions/<int:version>/publish")
@api_auth
def publish_version(key: str, version: int):
    """Publish a draft (someone other than its author) or an earlier version again (roll back)."""
    from engine.drafts import publish
    try:
        with desk().transaction() as s:
            return jsonify(publish(s, key, version, g.actor, desk().clock()))
    except DeploymentRejected as exc:
        return error_response(400, "The checks found problems; nothing was published.", {"problems": exc.problems})
