"""The OpenAPI 3 description of /api, served at /api/openapi.json."""
from __future__ import annotations

from typing import Any

from .openapi_integrations import integration_paths

_ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _responses(ok_status: str, ok_schema: dict, *errors: int) -> dict:
    out: dict[str, Any] = {ok_status: {"description": "OK", **_json(ok_schema)}}
    texts = {400: "Invalid input (details per field)", 401: "Not authenticated", 403: "Not allowed",
             404: "Unknown id, key or business key", 409: "Conflict", 413: "Too large", 415: "Wrong media type"}
    for code in (401, *errors):
        out[str(code)] = {"description": texts[code], **_json(_ERROR)}
    return out


def _param(name: str, where: str = "query", kind: str = "string", required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required or where == "path", "schema": {"type": kind}}


def openapi_document() -> dict[str, Any]:
    ref = lambda name: {"$ref": f"#/components/schemas/{name}"}  # noqa: E731
    arr = lambda name: {"type": "array", "items": ref(name)}  # noqa: E731
    obj = {"type": "object", "additionalProperties": True}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Release Desk API", "version": "1.0",
                 "description": "Release pathways for police images and footage (APP Images and footage)."},
        "servers": [{"url": "/"}],
        "security": [{"basic": []}],
        "components": {
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error", "details"],
                          "properties": {"error": {"type": "string"}, "details": obj}},
                "Definition": {"type": "object", "properties": {k: {"type": t} for k, t in [
                    ("id", "string"), ("key", "string"), ("name", "string"), ("version", "integer"),
                    ("deployedAt", "string")]}},
                "Instance": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "key": {"type": "string"}, "version": {"type": "integer"},
                    "businessKey": {"type": "string"}, "state": {"type": "string",
                                                                "enum": ["active", "completed", "cancelled"]},
                    "startedAt": {"type": "string"}, "endedAt": {"type": "string", "nullable": True},
                    "activeActivities": {"type": "array", "items": {"type": "string"}},
                    "completedActivities": {"type": "array", "items": {"type": "string"}},
                    "variables": obj}},
                "Task": {"type": "object", "properties": {k: {"type": t} for k, t in [
                    ("id", "string"), ("name", "string"), ("activityId", "string"), ("processInstanceId", "integer"),
                    ("processKey", "string"), ("businessKey", "string"), ("assignee", "string"),
                    ("createdAt", "string"), ("dueAt", "string")]} | {
                    "candidateGroups": {"type": "array", "items": {"type": "string"}}}},
                "AuditRecord": {"type": "object", "properties": {k: {"type": t} for k, t in [
                    ("seq", "integer"), ("at", "string"), ("actor", "string"), ("group", "string"),
                    ("action", "string"), ("activityId", "string"), ("decision", "string"),
                    ("rationale", "string"), ("hash", "string"), ("prevHash", "string")]} | {"data": obj}},
            },
        },
        "paths": {
            "/api/process-definitions": {"get": {"summary": "Latest version of each process",
                                                 "responses": _responses("200", arr("Definition"))}},
            "/api/process-definitions/{key}/xml": {"get": {
                "summary": "BPMN XML of a definition", "parameters": [_param("key", "path"),
                                                                      _param("version", kind="integer")],
                "responses": {"200": {"description": "BPMN 2.0 XML",
                                      "content": {"application/xml": {"schema": {"type": "string"}}}},
                              "404": {"description": "Unknown key or version", **_json(_ERROR)}}}},
            "/api/deployments": {"post": {
                "summary": "Validate and deploy BPMN/DMN files (group designer)",
                "requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
                    "files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}},
                "responses": _responses("201", obj, 400, 403, 413)}},
            "/api/process-definitions/{key}/start": {"post": {
                "summary": "Start a case", "parameters": [_param("key", "path")],
                "requestBody": _json({"type": "object", "required": ["businessKey"], "properties": {
                    "businessKey": {"type": "string"}, "variables": obj}}),
                "responses": _responses("201", ref("Instance"), 400, 403, 404, 415)}},
            "/api/process-instances": {"get": {
                "summary": "Search cases", "parameters": [_param(n) for n in ("key", "businessKey", "state",
                                                                              "activityId")]
                + [_param("page", kind="integer"), _param("pageSize", kind="integer")],
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
                "requestBody": _json({"type": "object", "required": ["reason"],
                                      "properties": {"reason": {"type": "string"}}}),
                "responses": _responses("200", obj, 400, 403, 404, 409, 415)}},
            "/api/tasks": {"get": {
                "summary": "Open tasks the caller may act on (managers see all)",
                "parameters": [_param(n) for n in ("candidateGroup", "assignee", "processInstanceId",
                                                   "businessKey", "processKey")],
                "responses": _responses("200", arr("Task"))}},
            "/api/tasks/{id}": {"get": {
                "summary": "A task and its form", "parameters": [_param("id", "path")],
                "responses": _responses("200", ref("Task"), 403, 404)}},
            "/api/tasks/{id}/claim": {"post": {"summary": "Claim", "parameters": [_param("id", "path")],
                                               "responses": _responses("200", obj, 403, 404, 409)}},
            "/api/tasks/{id}/unclaim": {"post": {"summary": "Unclaim", "parameters": [_param("id", "path")],
                                                 "responses": _responses("200", obj, 403, 404, 409)}},
            "/api/tasks/{id}/complete": {"post": {
                "summary": "Complete with form values", "parameters": [_param("id", "path")],
                "requestBody": _json({"type": "object", "properties": {"variables": obj}}),
                "responses": _responses("200", {"type": "object", "properties": {
                    "processInstance": ref("Instance")}}, 400, 403, 404, 409, 415)}},
            "/api/messages": {"post": {
                "summary": "Correlate a message by name and business key (a start message starts a case)",
                "requestBody": _json({"type": "object", "required": ["messageName", "businessKey"], "properties": {
                    "messageName": {"type": "string"}, "businessKey": {"type": "string"}, "variables": obj}}),
                "responses": _responses("200", {"type": "object", "properties": {
                    "correlated": {"type": "array", "items": {"type": "integer"}}}}, 400, 404, 415)}},
            **integration_paths(_responses, _param, _json, obj),
        },
    }
