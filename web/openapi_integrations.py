"""OpenAPI paths for the integration endpoints (media, start forms, the event feed, share links,
decision logs), merged into /api/openapi.json."""
from __future__ import annotations

from typing import Any

from .integrations import ID_MAX  # ids past a 32-bit integer answer 404

MEDIA = {"type": "object", "properties": {"digest": {"type": "string"}, "contentType": {"type": "string"},
                                          "size": {"type": "integer"}, "filename": {"type": "string"}}}
FIELD = {"type": "object", "properties": {
    "id": {"type": "string"}, "label": {"type": "string"}, "type": {"type": "string"},
    "required": {"type": "boolean"}, "default": {}, "media": {"type": "boolean"},
    "options": {"type": "array", "items": {"type": "object", "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}}}}}}

LINK = {"type": "object", "properties": {
    **{k: {"type": "string"} for k in ("recipient", "recipientKind", "createdBy", "createdAt", "expiresAt",
                                       "revokedAt", "state", "url", "businessKey")},
    "id": {"type": "integer"}, "watermark": {"type": "boolean"},
    "digests": {"type": "array", "items": {"type": "string"}}}}


def integration_paths(responses, param, json_body, obj) -> dict[str, Any]:
    audit = {"$ref": "#/components/schemas/AuditRecord"}
    return {
        "/api/media": {"post": {
            "summary": "Upload an image or video (JPEG, PNG, MP4, recognised by its bytes); streamed to disk",
            "requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                                                         "properties": {"file": {
                                                                             "type": "string", "format": "binary"}}}}}},
            "responses": responses("201", MEDIA, 400, 413, 415)}},
        "/api/media/{digest}": {"get": {
            "summary": "Download media (people with a task on a case citing it, its uploader, managers); "
                       "audited. An evidence reference answers JSON saying where the item is held.",
            "parameters": [param("digest", "path")],
            "responses": {"200": {"description": "The file, or an evidence reference",
                                  "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                      "format": "binary"}},
                                              "application/json": {"schema": obj}}},
                          **{k: v for k, v in responses("200", obj, 404).items() if k != "200"}}}},
        "/api/process-definitions/{key}/start-form": {"get": {
            "summary": "The start form's fields, in the same shape as a task's form",
            "parameters": [param("key", "path")],
            "responses": responses("200", {"type": "object", "properties": {
                "fields": {"type": "array", "items": FIELD}}}, 404)}},
        "/api/events": {"get": {
            "summary": "Audit events of the caller's visible cases in order, paged by sequence number",
            "parameters": [{"name": "after", "in": "query", "required": False,
                            "schema": {"type": "integer", "minimum": 0, "maximum": 2 ** 62}},
                           {"name": "limit", "in": "query", "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}],
            "responses": responses("200", {"type": "object", "properties": {
                "items": {"type": "array", "items": audit}, "next": {"type": "integer"}}}, 400)}},
        "/api/process-instances/{id}/share-links": {
            "get": {"summary": "Share links of a case",
                    "parameters": [param("id", "path", "integer", maximum=ID_MAX)],
                    "responses": responses("200", {"type": "array", "items": LINK}, 403, 404)},
            "post": {"summary": "Issue a per-recipient link to a released case's media (groups ccd, manager); "
                               "the answer's url is shown once",
                     "parameters": [param("id", "path", "integer", maximum=ID_MAX)],
                     "requestBody": json_body({"type": "object", "required": ["recipient", "recipientKind"],
                                               "properties": {
                                                   "recipient": {"type": "string", "maxLength": 200},
                                                   "recipientKind": {"type": "string", "enum": [
                                                       "newsroom", "cps", "family", "other"]},
                                                   "digests": {"type": "array", "items": {"type": "string"}},
                                                   "watermark": {"type": "boolean"},
                                                   "expiresInDays": {"type": "integer", "minimum": 1}}}),
                     "responses": responses("201", LINK, 400, 403, 404, 409, 415)}},
        "/api/process-instances/{id}/decision-log.{format}": {"get": {
            "summary": "The case's disclosure-ready decision log (format pdf or csv), with audit hashes; audited",
            "parameters": [param("id", "path", "integer", maximum=ID_MAX),
                           {"name": "format", "in": "path", "required": True,
                            "schema": {"type": "string", "enum": ["pdf", "csv"]}}],
            "responses": {"200": {"description": "The document", "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                "text/csv": {"schema": {"type": "string"}}}},
                **{k: v for k, v in responses("200", obj, 400, 403, 404).items() if k != "200"}}}},
        "/api/share-links/{id}/revoke": {"post": {
            "summary": "Revoke a share link", "parameters": [param("id", "path", "integer", maximum=ID_MAX)],
            "responses": responses("200", LINK, 403, 404)}},
    }
