"""Blueprints for integrations: media over the API, start forms, the event feed, share links and
the disclosure-ready decision log. Registered in one call so the app factory stays small."""
from __future__ import annotations

from flask import Flask

ID_MAX = 2 ** 31 - 1
ID = f"int(max={ID_MAX})"  # route converter: ids past a 32-bit integer are unknown (404), never a database error


def register(app: Flask, csrf) -> None:
    from . import api_feed, api_media, api_shares, decision_log, shares

    for module in (api_media, api_feed, api_shares, shares, decision_log):
        app.register_blueprint(module.bp)
        if module.bp.url_prefix == "/api":
            csrf.exempt(module.bp)  # HTTP Basic on every request, never a cookie
