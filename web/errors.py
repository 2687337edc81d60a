"""Every error becomes one shape: JSON `{"error", "details"}` under /api, a page elsewhere.
Engine errors map to HTTP here and only here; nothing leaks a stack trace to the client."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from engine import EngineError, InvalidForm

log = logging.getLogger("releasedesk.web")


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/api"


def error_response(status: int, message: str, details: dict | None = None):
    if wants_json():
        response = jsonify({"error": message, "details": details or {}})
        response.status_code = status  # no WWW-Authenticate: a browser must never cache API credentials
        return response
    return render_template("error.html", status=status, message=message, details=details or {}), status


def int_arg(name: str, default: int | None = None, source=None) -> int | None:
    """A whole-number request argument (query string unless `source` is given); 400 if not one."""
    raw = (source or request.args).get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidForm("Invalid request.", {name: "Must be a whole number."}) from None


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(EngineError)
    def engine_error(exc: EngineError):
        return error_response(exc.status, exc.message, exc.details)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return error_response(400, "The form expired or was not sent from this site; reload and try again.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        messages = {413: "The upload is too large.", 404: "Not found.", 405: "Method not allowed."}
        return error_response(exc.code or 500, messages.get(exc.code, exc.description or exc.name))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "Something went wrong on our side; nothing was saved.")
