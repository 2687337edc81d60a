"""Every error becomes one shape: JSON `{"error", "details"}` under /api, a page elsewhere.
Engine errors map to HTTP here and only here; nothing leaks a stack trace to the client."""
from __future__ import annotations

import logging
import random
import re
import time

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from engine import EngineError, InvalidForm, Unavailable
from engine.db import is_transient, worth_retrying

log = logging.getLogger("releasedesk.web")


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/api"


def error_response(status: int, message: str, details: dict | None = None):
    if wants_json():
        response = jsonify({"error": message, "details": details or {}})
        response.status_code = status
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Basic realm="Release Desk"'
        if status == 503:
            response.headers["Retry-After"] = str((details or {}).get("retryAfter", 1))
        return response
    headers = {"Retry-After": str((details or {}).get("retryAfter", 1))} if status == 503 else {}
    return render_template("error.html", status=status, message=message, details=details or {}), status, headers


INT64_MAX = 2 ** 63 - 1
_WHOLE = re.compile(r"^[0-9]{1,19}$")


def int_arg(name: str, default: int | None = None, source=None, *, minimum: int = 1,
            maximum: int = INT64_MAX) -> int | None:
    """A whole-number request argument (query string unless `source` is given) within
    [minimum, maximum]; 400 naming the argument otherwise. Only ASCII digits count: int() would also
    take "١٢٣", "1_000" or " 7", and a number past 64 bits fails inside the database."""
    raw = (source or request.args).get(name)
    if raw in (None, ""):
        return default
    if not _WHOLE.match(raw) or not minimum <= int(raw) <= maximum:
        bound = f"from {minimum} to {maximum}" if maximum != INT64_MAX else f"of at least {minimum}"
        raise InvalidForm("Invalid request.", {name: f"Must be a whole number {bound}."})
    return int(raw)


def retry_transient(app: Flask, attempts: int = 3) -> None:
    """Run a request again when the database answered with a transient failure (deadlock,
    serialization failure, lost connection). Safe for reads, and for API calls, each of which is one
    transaction that rolled back whole; other requests answer 503 with Retry-After at once."""
    dispatch = app.dispatch_request

    def dispatch_request():
        for attempt in range(1, attempts + 1):
            try:
                return dispatch()
            except Exception as exc:
                safe = request.method in ("GET", "HEAD") or wants_json()
                if attempt == attempts or not safe or not worth_retrying(exc):
                    raise
                log.warning("retrying %s %s after %s", request.method, request.path, type(exc).__name__)
                time.sleep(random.uniform(0.01, 0.05) * attempt)
    app.dispatch_request = dispatch_request


def register_error_handlers(app: Flask) -> None:
    retry_transient(app)

    @app.errorhandler(EngineError)
    def engine_error(exc: EngineError):
        return error_response(exc.status, exc.message, exc.details)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return error_response(400, "The form expired or was not sent from this site; reload and try again.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        messages = {413: "The upload is too large.", 404: "Not found.", 405: "Method not allowed."}
        response = error_response(exc.code or 500, messages.get(exc.code, exc.description or exc.name))
        allow = dict(exc.get_headers()).get("Allow")
        if allow:  # a 405 names the methods that would work (RFC 9110)
            response = app.make_response(response)
            response.headers["Allow"] = allow
        return response

    @app.before_request
    def refuse_nul_characters():
        """A NUL in a path or query value can never be valid here, and PostgreSQL refuses it deep
        inside a query: answer 400 at the door instead."""
        if "\x00" in request.path:
            return error_response(400, "Invalid request.", {"path": "Must not contain NUL characters."})
        for name, value in request.args.items(multi=True):
            if "\x00" in name or "\x00" in value:
                field = name.replace("\x00", "")
                return error_response(400, "Invalid request.", {field: "Must not contain NUL characters."})
        return None

    @app.errorhandler(SQLAlchemyError)
    def database_error(exc: SQLAlchemyError):
        if is_transient(exc):
            log.warning("database busy on %s %s: %s", request.method, request.path, exc)
            busy = Unavailable()
            return error_response(busy.status, busy.message, busy.details)
        return unexpected(exc)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "Something went wrong on our side; nothing was saved.")


def xml_download(content: bytes, key: str, version: int):
    """A diagram's XML as a download, never rendered inline: served inline, an SVG or XHTML part
    of an uploaded diagram could run in the site's origin."""
    from flask import Response
    response = Response(content, mimetype="application/xml")
    safe_key = re.sub(r"[^A-Za-z0-9_.-]", "_", key)[:100]
    response.headers["Content-Disposition"] = f'attachment; filename="{safe_key}-v{version}.bpmn"'
    return response
