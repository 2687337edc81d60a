"""The diagram viewer ships inside the product (web/static/vendor/bpmn-js/, the version package-lock
names), and a server without it says so in words instead of drawing an empty box."""
from __future__ import annotations

import json

from tests.web.test_inbox import login
from web import manage_vendor

from .conftest import ROOT
from .test_api_integrations import REFERENCE, START

VENDOR = ROOT / "web" / "static" / "vendor" / "bpmn-js"


def test_committed_viewer_matches_the_lock_file():
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert (VENDOR / "VERSION").read_text().strip() == lock["packages"]["node_modules/bpmn-js"]["version"]
    for name in ("bpmn-navigated-viewer.production.min.js", "bpmn-modeler.production.min.js",
                 "assets/diagram-js.css", "assets/bpmn-js.css", "assets/bpmn-font/css/bpmn-embedded.css"):
        assert (VENDOR / name).is_file(), name


def test_case_page_says_plainly_when_the_viewer_is_missing(client, api, monkeypatch, tmp_path):
    case_id = api.post("/api/process-definitions/wanted_person/start", "rita", json={
        "businessKey": "WP-VEN-1", "variables": {**START, "media_items": [REFERENCE]}}).get_json()["id"]
    login(client, "max")
    page = client.get(f"/instances/{case_id}").get_data(as_text=True)
    assert 'id="diagram-missing"' not in page
    script = client.get("/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js")
    assert script.status_code == 200 and len(script.data) > 100_000

    monkeypatch.setattr(manage_vendor, "CANDIDATES", [tmp_path])  # an install without the assets
    page = client.get(f"/instances/{case_id}").get_data(as_text=True)
    assert 'id="diagram-missing"' in page and "diagram viewer (bpmn-js) is not installed" in page
    assert client.get("/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js").status_code == 404
    assert "not installed" in client.get("/definitions/wanted_person").get_data(as_text=True)
