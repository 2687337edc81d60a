"""REST API under /api: JSON, HTTP Basic, Camunda-style resources (see README and /api/openapi.json)."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, current_app, g, jsonify, request

from engine import DeploymentRejected, EngineError, InvalidForm, NotAllowed, NotFound
from engine import queries as q
from engine.deployment import deploy

from . import access_log
from .auth import api_actor
from .errors import error_response, int_arg, xml_download
from .idempotency import run_once
from .openapi import openapi_json

bp = Blueprint("api", __name__, url_prefix="/api")


def desk():
    return current_app.extensions["releasedesk"]


def api_auth(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        actor = api_actor()
        if actor is None:
            return error_response(401, "Authentication required: an API token (Authorization: Bearer) or "
                                       "HTTP Basic with your username and password.")
        g.actor = actor
        return view(*args, **kwargs)
    return wrapper


def json_body(required: bool = True) -> dict:
    if not request.data and not required:
        return {}
    if not request.is_json:
        raise _Unsupported()
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the JSON parser goes
        body = None
    if not isinstance(body, dict):
        raise InvalidForm("The body must be a JSON object.", {"body": "Malformed or not an object."})
    if _has_nul(body):  # PostgreSQL cannot store it, and no field needs it
        raise InvalidForm("The body must not contain NUL characters.", {"body": "Contains \\u0000."})
    return body


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class _Unsupported(EngineError):
    status = 415

    def __init__(self) -> None:
        super().__init__("Send JSON with Content-Type: application/json.")


@bp.get("/openapi.json")
def openapi():
    return current_app.response_class(openapi_json(), mimetype="application/json")


@bp.get("/process-definitions")
@api_auth
def list_definitions():
    with desk().read() as s:
        return jsonify([q.definition_summary(d) for d in q.latest_definitions(s, catalog=False)])


@bp.get("/process-definitions/<key>/xml")
@api_auth
def definition_xml(key: str):
    version = int_arg("version")
    with desk().read() as s:
        definition = q.get_definition(s, key, version)
        content, shown = definition.resource.content, definition.version
    return xml_download(content, key, shown)


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

    def command(s):
        view = desk().runtime.start(s, key, body.get("businessKey"), variables, g.actor)
        return {k: view[k] for k in ("id", "key", "version", "businessKey", "state")}, 201
    return run_once(g.actor, body, command)


@bp.get("/process-instances")
@api_auth
def list_instances():
    state = request.args.get("state") or None
    if state not in (None, "active", "completed", "cancelled"):
        raise InvalidForm("Invalid query parameter.", {"state": "One of active, completed, cancelled."})
    with desk().read() as s:
        return jsonify(q.list_instances(
            s, actor=g.actor, key=request.args.get("key") or None, business_key=request.args.get("businessKey") or None,
            business_key_prefix=(request.args.get("businessKeyPrefix") or "")[:200] or None,
            state=state, activity_id=request.args.get("activityId") or None,
            page=int_arg("page", 1), page_size=int_arg("pageSize", 50, maximum=500)))


@bp.get("/process-instances/<int:instance_id>")
@api_auth
def get_instance(instance_id: int):
    with desk().read() as s:
        view = q.instance_view(s, q.readable_instance(s, instance_id, g.actor))
    access_log.read_case(instance_id, view["businessKey"], "instance")
    return jsonify(view)


@bp.get("/process-instances/<int:instance_id>/audit")
@api_auth
def instance_audit(instance_id: int):
    with desk().read() as s:
        trail = q.audit_trail(s, instance_id, g.actor)
    access_log.read_case(instance_id, trail[0]["businessKey"] if trail else None, "audit trail")
    show_reads = request.args.get("access") in ("1", "true")  # reads of the case are listed only on request
    return jsonify([r for r in trail if show_reads or r["action"] not in access_log.ACCESS_ACTIONS])


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
    instance_id = int_arg("processInstanceId")
    with desk().read() as s:
        return jsonify(q.list_tasks(
            s, g.actor, candidate_group=request.args.get("candidateGroup") or None, assignee=assignee,
            instance_id=instance_id,
            business_key=request.args.get("businessKey") or None,
            process_key=request.args.get("processKey") or None))


@bp.get("/tasks/<task_id>")
@api_auth
def get_task(task_id: str):
    with desk().read() as s:
        task = q.get_task(s, task_id, g.actor, desk().runtime.settings_options)
    access_log.read_case(task["processInstanceId"], task["businessKey"], "task")
    return jsonify(task)


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


@bp.post("/tasks/<task_id>/take-over")
@api_auth
def take_over(task_id: str):
    """Take a task a colleague holds; `{"holder": "..."}` (optional) refuses with 409 if it changed hands."""
    body = json_body(required=False)
    holder = body.get("holder")
    if holder is not None and not isinstance(holder, str):
        raise InvalidForm("Invalid request.", {"holder": "Must be a username or an empty string."})
    with desk().transaction() as s:
        return jsonify(desk().runtime.take_over(s, task_id, g.actor, expected=holder))


@bp.post("/tasks/<task_id>/assign")
@api_auth
def assign(task_id: str):
    """A manager assigns a task to a named user of the task's groups: `{"assignee": "..."}`."""
    assignee = json_body().get("assignee")
    if not isinstance(assignee, str) or not assignee:
        raise InvalidForm("Invalid request.", {"assignee": "A username is required."})
    with desk().transaction() as s:
        return jsonify(desk().runtime.assign(s, task_id, g.actor, assignee))


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

    def command(s):
        ids = desk().runtime.correlate(s, body.get("messageName"), body.get("businessKey"), variables, g.actor)
        return {"correlated": ids}, 200
    return run_once(g.actor, body, command)


@bp.get("/audit/public-key")
def audit_public_key():
    """The keys that verify signed audit checkpoints: public, so anyone holding an exported
    checkpoint can check it. No credentials needed; nothing here is secret."""
    from engine.audit_keys import public_b64, trusted_keys
    keys = trusted_keys(desk().settings)
    signing = desk().audit.signing_key()
    if signing is None and not keys:
        return error_response(404, "No audit signing key is configured.")
    return jsonify({"algorithm": "Ed25519",
                    "keyId": signing.key_id if signing else None,
                    "publicKey": public_b64(signing.public) if signing else None,
                    "trusted": [{"keyId": kid, "publicKey": public_b64(k)} for kid, k in sorted(keys.items())]})


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
