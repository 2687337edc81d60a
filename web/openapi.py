"""The OpenAPI 3 description of /api, served at /api/openapi.json."""
from __future__ import annotations

import json
from functools import cache
from typing import Any

from .errors import INT64_MAX
from .openapi_integrations import integration_paths

_ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _responses(ok_status: str, ok_schema: dict, *errors: int) -> dict:
    """Every operation may answer 400 (a malformed parameter or body names what was wrong) and 401."""
    out: dict[str, Any] = {ok_status: {"description": "OK", **_json(ok_schema)}}
    texts = {400: "Invalid input (details per field)", 401: "Not authenticated", 403: "Not allowed",
             404: "Unknown id, key or business key (also a case the caller may not see)", 409: "Conflict",
             413: "Too large", 415: "Wrong media type",
             422: "The diagram failed while running, or ran past a bound (details name it), or an Idempotency-Key "
                  "was reused for a different request; nothing was saved",
             429: "Too many failed sign-in attempts: send again after Retry-After seconds",
             503: "Database busy or unreachable; nothing was saved: send again after Retry-After seconds"}
    for code in sorted({400, 401, *errors, 429, 503}):
        out[str(code)] = {"description": texts[code], **_json(_ERROR)}
    return out


def _param(name: str, where: str = "query", kind: str = "string", required: bool = False,
           maximum: int = INT64_MAX) -> dict:
    schema: dict[str, Any] = {"type": kind}
    if kind == "integer":  # ASCII digits, 1 to 2^63-1 (or the given maximum); anything else is a 400
        schema.update({"minimum": 1, "maximum": maximum})
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema}


#: Starts and messages may be retried safely: the same key and body answer the first success again.
_IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": False,
                "schema": {"type": "string", "maxLength": 200}}


@cache
def openapi_json() -> bytes:
    """The document as served. It cannot change while the process runs, and encoding its 40 KB took
    longer than anything else in the request: it is encoded once."""
    return (json.dumps(openapi_document(), sort_keys=True, separators=(",", ":")) + "\n").encode()


def openapi_document() -> dict[str, Any]:
    ref = lambda name: {"$ref": f"#/components/schemas/{name}"}  # noqa: E731
    arr = lambda name: {"type": "array", "items": ref(name)}  # noqa: E731
    obj = {"type": "object", "additionalProperties": True}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Release Desk API", "version": "1.0",
                 "description": "Release pathways for police images and footage (APP Images and footage)."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"basic": []}],  # tokens for integrations, Basic for people
        "components": {
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"},
                                "bearer": {"type": "http", "scheme": "bearer",
                                           "description": "an API token from `releasedesk token add`"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error", "details"],
                          "properties": {"error": {"type": "string"}, "details": obj}},
                "Definition": {"type": "object", "properties": {k: {"type": t} for k, t in [
                    ("id", "string"), ("key", "string"), ("name", "string"), ("version", "integer"),
                    ("deployedAt", "string"), ("deployedBy", "string")]}},
                "Instance": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "key": {"type": "string"}, "version": {"type": "integer"},
                    "outcome": {"type": "string", "nullable": True},
                    "businessKey": {"type": "string"}, "state": {"type": "string",
                                                                "enum": ["active", "completed", "cancelled"]},
                    "startedAt": {"type": "string"}, "endedAt": {"type": "string", "nullable": True},
                    "activeActivities": {"type": "array", "items": {"type": "string"}},
                    "completedActivities": {"type": "array", "items": {"type": "string"}},
                    "variables": obj}},
                "Task": {"type": "object", "properties": {k: {"type": t} for k, t in [
                    ("id", "string"), ("name", "string"), ("activityId", "string"), ("processInstanceId", "integer"),
                    ("processKey", "string"), ("businessKey", "string"), ("createdAt", "string")]} | {
                    k: {"type": "string", "nullable": True} for k in ("assignee", "dueAt", "lane")} | {
                    "candidateGroups": {"type": "array", "items": {"type": "string"}}}},
                "AuditRecord": {"type": "object", "properties": {k: {"type": t} for k, t in [
                    ("seq", "integer"), ("at", "string"), ("actor", "string"), ("action", "string"),
                    ("hash", "string"), ("prevHash", "string")]} | {
                    k: {"type": "string", "nullable": True} for k in ("group", "activityId", "activityName",
                                                                     "decision", "rationale", "businessKey")} | {
                    "data": obj}},
            },
        },
        "paths": {
            "/api/process-definitions": {"get": {"summary": "Latest version of each process",
                                                 "responses": _responses("200", arr("Definition"))}},
            "/api/process-definitions/{key}/xml": {"get": {
                "summary": "BPMN XML of a definition", "parameters": [_param("key", "path"),
                                                                      _param("version", kind="integer")],
                "responses": {"200": {"description": "BPMN 2.0 XML, as a download (Content-Disposition: attachment)",
                                      "content": {"application/xml": {"schema": {"type": "string"}}}},
                              **{k: v for k, v in _responses("200", obj, 404).items() if k != "200"}}}},
            "/api/process-definitions/{key}/versions": {"get": {
                "summary": "Every version with its status (draft, live, published); groups designer, manager",
                "parameters": [_param("key", "path")],
                "responses": _responses("200", {"type": "array", "items": obj}, 403, 404)}},
            "/api/process-definitions/{key}/versions/{version}/publish": {"post": {
                "summary": "Publish a draft (not by its author) or an earlier version again; groups designer, manager",
                "parameters": [_param("key", "path"), _param("version", "path", "integer")],
                "responses": _responses("200", obj, 400, 403, 404, 409)}},
            "/api/deployments": {"post": {
                "summary": "Validate and deploy BPMN/DMN files (group designer); draft=true stores drafts that "
                           "go live only when someone else publishes them",
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                    "type": "object", "required": ["files"], "properties": {
                        "files": {"type": "array", "minItems": 1,
                                  "items": {"type": "string", "format": "binary"}},
                        "draft": {"type": "string", "enum": ["true", "false"]}}}}}},
                "responses": _responses("201", obj, 400, 403, 413)}},
            "/api/process-definitions/{key}/start": {"post": {
                "summary": "Start a case (409 when an active case of the pathway has that business key)",
                "parameters": [_param("key", "path"), _IDEMPOTENCY],
                "requestBody": {"required": True, **_json({
                    "type": "object", "required": ["businessKey"],
                    "properties": {"businessKey": {"type": "string"}, "variables": obj}})},
                "responses": _responses("201", ref("Instance"), 400, 403, 404, 409, 415, 422)}},
            "/api/process-instances": {"get": {
                "summary": "Search cases", "parameters": [_param(n) for n in ("key", "businessKey", "businessKeyPrefix",
                                                                              "state", "activityId")]
                + [_param("page", kind="integer"), _param("pageSize", kind="integer", maximum=500)],
                "responses": _responses("200", {"type": "object", "properties": {
                    "items": arr("Instance"), "total": {"type": "integer"}}}, 400)}},
            "/api/process-instances/{id}": {"get": {
                "summary": "One case with activities and variables", "parameters": [_param("id", "path", "integer")],
                "responses": _responses("200", ref("Instance"), 403, 404)}},
            "/api/process-instances/{id}/audit": {"get": {
                "summary": "The case's audit trail, oldest first", "parameters": [_param("id", "path", "integer")],
                "responses": _responses("200", arr("AuditRecord"), 403, 404)}},
            "/api/process-instances/{id}/cancel": {"post": {
                "summary": "Cancel a case (group manager)", "parameters": [_param("id", "path", "integer")],
                "requestBody": {"required": True, **_json({"type": "object", "required": ["reason"],
                                                           "properties": {"reason": {"type": "string"}}})},
                "responses": _responses("200", obj, 400, 403, 404, 409, 415, 422)}},
            "/api/tasks": {"get": {
                "summary": "Open tasks the caller may act on (managers see all)",
                "parameters": [_param(n) for n in ("candidateGroup", "assignee", "businessKey", "processKey")]
                + [_param("processInstanceId", kind="integer")],
                "responses": _responses("200", arr("Task"))}},
            "/api/tasks/{id}": {"get": {
                "summary": "A task and its form", "parameters": [_param("id", "path")],
                "responses": _responses("200", ref("Task"), 403, 404)}},
            "/api/tasks/{id}/claim": {"post": {"summary": "Claim", "parameters": [_param("id", "path")],
                                               "responses": _responses("200", obj, 403, 404, 409)}},
            "/api/tasks/{id}/unclaim": {"post": {"summary": "Unclaim", "parameters": [_param("id", "path")],
                                                 "responses": _responses("200", obj, 403, 404, 409)}},
            "/api/tasks/{id}/take-over": {"post": {
                "summary": "Take over a task a colleague holds (caller in the task's groups)",
                "parameters": [_param("id", "path")],
                "requestBody": _json({"type": "object", "properties": {"holder": {"type": "string"}}}),
                "responses": _responses("200", obj, 400, 403, 404, 409)}},
            "/api/tasks/{id}/assign": {"post": {
                "summary": "Assign a task to a user of its groups (managers)", "parameters": [_param("id", "path")],
                "requestBody": _json({"type": "object", "required": ["assignee"],
                                      "properties": {"assignee": {"type": "string"}}}),
                "responses": _responses("200", obj, 400, 403, 404, 409, 415)}},
            "/api/tasks/{id}/complete": {"post": {
                "summary": "Complete with form values", "parameters": [_param("id", "path")],
                "requestBody": _json({"type": "object", "properties": {"variables": obj}}),
                "responses": _responses("200", {"type": "object", "properties": {
                    "processInstance": ref("Instance")}}, 400, 403, 404, 409, 415, 422)}},
            "/api/messages": {"post": {
                "summary": "Correlate a message by name and business key (a start message starts a case); "
                           "403 when the caller's groups may not send it, 400 naming any undeclared variable",
                "parameters": [_IDEMPOTENCY],
                "requestBody": {"required": True, **_json({
                    "type": "object", "required": ["messageName", "businessKey"], "properties": {
                        "messageName": {"type": "string"}, "businessKey": {"type": "string"}, "variables": obj}})},
                "responses": _responses("200", {"type": "object", "properties": {
                    "correlated": {"type": "array", "items": {"type": "integer"}}}}, 400, 403, 404, 409, 415, 422)}},
            "/api/audit/public-key": {"get": {
                "summary": "The Ed25519 public keys that verify signed audit checkpoints (no credentials needed)",
                "security": [],
                "responses": _responses("200", {"type": "object", "properties": {
                    "algorithm": {"type": "string"}, "keyId": {"type": "string", "nullable": True},
                    "publicKey": {"type": "string", "nullable": True},
                    "trusted": {"type": "array", "items": {"type": "object", "properties": {
                        "keyId": {"type": "string"}, "publicKey": {"type": "string"}}}}}}, 404)}},
            **integration_paths(_responses, _param, _json, obj),
        },
    }
