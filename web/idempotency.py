"""`Idempotency-Key` for the API's starts and messages: the same key and body answer the first
success again; the same key with another body is 422 (see engine.idempotency)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, jsonify, request

from engine import idempotency


def run_once(actor, body: dict[str, Any], command: Callable[[Any], tuple[dict[str, Any], int]]):
    """Run `command(session)` in one transaction, remembering its answer under the request's
    Idempotency-Key (when sent) in that same transaction; answer a replay without running it."""
    desk = current_app.extensions["releasedesk"]
    raw = request.headers.get("Idempotency-Key")
    key = idempotency.check_key(raw) if raw is not None else None
    digest = idempotency.fingerprint(request.method, request.path, body) if key else ""
    with desk.transaction() as s:
        now = desk.clock()
        if key:
            replayed = idempotency.replay(s, actor, key, digest, now)
            if replayed is not None:
                status, answer = replayed
                response = jsonify(answer)
                response.status_code = status
                response.headers["Idempotent-Replayed"] = "true"
                return response
        answer, status = command(s)
        if key:
            idempotency.remember(s, actor, key, digest, status, answer, now)
    response = jsonify(answer)
    response.status_code = status
    return response
