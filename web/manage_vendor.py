"""Serves bpmn-js from the npm package that `make setup` installs: the machines that run Release
Desk have no internet, so nothing may come from a CDN. Only files inside bpmn-js's dist/ folder are
reachable (send_from_directory refuses paths that climb out of it)."""
from __future__ import annotations

from pathlib import Path

from flask import abort, send_from_directory

from .manage_common import bp

HERE = Path(__file__).resolve().parent
CANDIDATES = (HERE.parent / "node_modules" / "bpmn-js" / "dist", HERE / "static" / "vendor" / "bpmn-js")
ALLOWED_SUFFIXES = {".js", ".css", ".woff", ".woff2", ".ttf", ".eot", ".svg"}


def bpmn_js_dist() -> Path | None:
    return next((p for p in CANDIDATES if (p / "bpmn-viewer.production.min.js").is_file()), None)


@bp.get("/vendor/bpmn-js/<path:filename>")
def bpmn_js(filename: str):
    folder = bpmn_js_dist()
    if folder is None or Path(filename).suffix not in ALLOWED_SUFFIXES:
        abort(404)
    response = send_from_directory(folder, filename, max_age=86400)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
