"""Serves bpmn-js to the diagram pages. The machines that run Release Desk have no internet, so
nothing may come from a CDN: the viewer and modeler files are committed under
web/static/vendor/bpmn-js/ (refreshed from node_modules by scripts/vendor_bpmn_js.py) and so travel
inside the wheel; a source checkout's node_modules is the fallback. Only files inside that folder
are reachable (send_from_directory refuses paths that climb out of it).

When neither is present the pages say so in words instead of showing an empty diagram box."""
from __future__ import annotations

from pathlib import Path

from flask import abort, send_from_directory

from .manage_common import bp

HERE = Path(__file__).resolve().parent
CANDIDATES = [HERE / "static" / "vendor" / "bpmn-js", HERE.parent / "node_modules" / "bpmn-js" / "dist"]
ALLOWED_SUFFIXES = {".js", ".css", ".woff", ".woff2", ".ttf", ".eot", ".svg"}
MISSING_MESSAGE = ("The diagram viewer (bpmn-js) is not installed on this server, so the diagram cannot be drawn. "
                   "Reinstall Release Desk from its wheel, or run `npm ci` in a source checkout.")


def bpmn_js_dist() -> Path | None:
    return next((p for p in CANDIDATES if (p / "bpmn-navigated-viewer.production.min.js").is_file()), None)


@bp.context_processor  # the managers' diagram pages only: not a file check on every page
def diagram_assets():
    return {"bpmn_js_missing": MISSING_MESSAGE if bpmn_js_dist() is None else None}


@bp.get("/vendor/bpmn-js/<path:filename>")
def bpmn_js(filename: str):
    folder = bpmn_js_dist()
    if folder is None or Path(filename).suffix not in ALLOWED_SUFFIXES:
        abort(404)
    response = send_from_directory(folder, filename, max_age=86400)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
