"""The managers' and designers' pages through the test client: access per group, the case list's
filters and paging, the case and pathway diagrams' data, the dashboard, the designer (upload with
problems, check, deploy, diff, modeler save), migration pages and the audit views."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from engine import Actor
from engine.models import AuditRecord, ProcessInstance
from tests.bench.bench_instances import seed
from tests.conftest import ROOT
from tests.engine.test_pathway_wanted_person import APPROVE, START, live_appeal, media

from .test_inbox import login, logout, token

ACTORS = {"requester": Actor("rita", frozenset({"requester"})), "oic": Actor("olly", frozenset({"oic"})),
          "ccd": Actor("cat", frozenset({"ccd"}))}
WANTED = (ROOT / "workflows" / "wanted_person.bpmn").read_bytes()
PAGES = ("/dashboard", "/instances", "/audit", "/designer", "/definitions/wanted_person")


def html(response) -> str:
    return response.get_data(as_text=True)


def removal_case(desk, key="WP-1"):
    """A wanted-person appeal whose suspect was arrested: waiting at remove_appeal."""
    case = live_appeal(desk, ACTORS, key)
    case.send("person_apprehended")
    assert case.open_activities() == ["remove_appeal"]
    return case


def data_json(page: str, name: str):
    return json.loads(re.search(rf"data-{name}='([^']*)'", page).group(1))


def test_pages_by_group(client):
    for path in PAGES:
        assert client.get(path).status_code == 302  # sign in first
    login(client, "rita")
    assert [client.get(p).status_code for p in PAGES] == [403] * len(PAGES)
    logout(client)
    login(client, "dee")
    assert [client.get(p).status_code for p in PAGES] == [403, 403, 403, 200, 200]
    nav = html(client.get("/designer"))
    assert 'href="/designer"' in nav and 'href="/dashboard"' not in nav
    logout(client)
    login(client, "max")
    assert [client.get(p).status_code for p in PAGES] == [200] * len(PAGES)
    nav = html(client.get("/dashboard"))
    for link in ("/dashboard", "/instances", "/audit", "/designer", "/definitions/wanted_person"):
        assert f'href="{link}"' in nav


def test_case_list_filters(client, desk):
    removal = removal_case(desk, "WP-1")
    fresh = live_appeal(desk, ACTORS, "WP-2")
    login(client, "max")
    page = html(client.get("/instances"))
    assert "WP-1" in page and "WP-2" in page and "2 cases" in page
    page = html(client.get("/instances?businessKey=WP-1"))
    assert "WP-1" in page and "WP-2" not in page
    page = html(client.get("/instances?businessKey=wp-"))  # any letter case, a prefix
    assert "WP-1" in page and "WP-2" in page
    page = html(client.get("/instances?activity=remove_appeal"))
    assert f'data-instance="{removal.id}"' in page and f'data-instance="{fresh.id}"' not in page
    assert "remove_appeal" in page  # the "waiting at" column
    page = html(client.get("/instances?pathway=wanted_person&state=completed"))
    assert "No case matches" in page
    page = html(client.get("/instances?pathway=general_release"))
    assert "No case matches" in page
    today = desk.clock().date()
    assert "WP-2" in html(client.get(f"/instances?from={today}&to={today}"))
    assert "No case matches" in html(client.get(f"/instances?to={today - timedelta(days=1)}"))
    assert client.get("/instances?from=yesterday").status_code == 400


def test_case_list_pages_on_the_server(client, desk):
    with desk.transaction() as s:
        seed(s, 120)
    login(client, "max")
    first = html(client.get("/instances?pathway=wanted_person"))
    total = int(re.search(r'id="total">([\d,]+) case', first).group(1).replace(",", ""))
    with desk.transaction() as s:
        assert total == s.scalar(select(func.count()).where(ProcessInstance.key == "wanted_person")) == 20
    seeded = html(client.get("/instances"))
    assert "120 cases" in seeded and "Page 1 of 3" in seeded
    rows = lambda page: re.findall(r'<tr data-instance="(\d+)"', page)  # noqa: E731
    assert len(rows(seeded)) == 50
    second = html(client.get("/instances?page=2"))
    last = html(client.get("/instances?page=3"))
    assert len(rows(second)) == 50 and len(rows(last)) == 20
    assert len(set(rows(seeded)) | set(rows(second)) | set(rows(last))) == 120
    assert 'href="/instances?page=3" rel="next"' in second


def test_case_page_diagram_data_variables_and_history(client, desk):
    case = removal_case(desk)
    login(client, "max")
    page = html(client.get(f"/instances/{case.id}"))
    active, completed = data_json(page, "active"), data_json(page, "completed")
    assert "remove_appeal" in active
    assert {"approve_release", "publish_appeal", "legal_screen"} <= set(completed)
    flows = data_json(page, "flows")
    assert {"Flow_approved", "Flow_to_remove_appeal"} <= set(flows) and "Flow_rejected" not in flows
    assert 'data-xml-url="/definitions/wanted_person/diagram.bpmn?version=1"' in page
    panel = page[page.index('id="variables-list"'):]
    panel = panel[:panel.index("</dl>")]
    assert "Why releasing the photograph is necessary and proportionate" in panel  # variables by their labels
    assert "necessity_justification" not in panel and 'tabindex="0"' in page and 'role="region"' in page
    assert 'data-activity="approve_release" data-action="complete"' in page  # audit trail rows
    assert "/static/manage-diagram.js" in page and "<script>" not in page  # no inline script (CSP)
    xml = client.get("/definitions/wanted_person/diagram.bpmn?version=1")
    assert xml.status_code == 200 and xml.mimetype == "application/xml" and b"remove_appeal" in xml.data


def test_cancel_from_the_case_page(client, desk):
    case = live_appeal(desk, ACTORS)
    login(client, "max")
    r = client.post(f"/instances/{case.id}/cancel", data={"csrf_token": token(client, f"/instances/{case.id}"),
                                                          "reason": "Duplicate request"})
    assert r.status_code == 302 and case.state == "cancelled"


def test_pathway_page_counts_waiting_cases(client, desk):
    removal_case(desk, "WP-1")
    removal_case(desk, "WP-2")
    live_appeal(desk, ACTORS, "WP-3")
    login(client, "max")
    page = html(client.get("/definitions/wanted_person"))
    counts = data_json(page, "counts")
    assert counts["remove_appeal"] == 2 and counts["Event_apprehended"] == 1
    assert 'data-instances-url="/instances?pathway=wanted_person&amp;state=active&amp;activity="' in page
    assert re.search(r'data-activity="remove_appeal">.*?activity=remove_appeal">2</a>', page, re.S)


def test_bpmn_js_is_served_from_node_modules(client):
    for name in ("bpmn-navigated-viewer.production.min.js", "bpmn-modeler.production.min.js",
                 "assets/bpmn-js.css", "assets/diagram-js.css", "assets/bpmn-font/css/bpmn-embedded.css"):
        r = client.get(f"/vendor/bpmn-js/{name}")
        assert r.status_code == 200, name
    assert client.get("/vendor/bpmn-js/../package.json").status_code == 404
    assert client.get("/vendor/bpmn-js/%2e%2e/package.json").status_code == 404
    assert client.get("/vendor/bpmn-js/nothing.js").status_code == 404


def test_dashboard_figures(client, desk, app):
    removal_case(desk, "WP-1")
    live_appeal(desk, ACTORS, "WP-2")
    later = desk.clock() + timedelta(days=2)
    desk.runtime.clock = lambda: later  # removal_sla (PT4H) has long passed
    login(client, "max")
    page = html(client.get("/dashboard"))
    assert re.search(r'id="tile-removals"><strong>1</strong>', page)
    assert "removal past SLA" in page
    assert re.search(r'<tr data-group="ccd"><td>corporate communications</td><td>1</td>', page)  # roles by name
    assert page.count('data-instance="') == 2 and "2.0 days" in page  # both appeals still live
    assert 'id="chart-outcomes"' in page and 'data-segment="In progress" data-count="2"' in page
    assert '<tr data-key="wanted_person">' in page  # median time to decision


def broken_bpmn() -> bytes:
    text = WANTED.decode()
    text = text.replace('camunda:candidateGroups="ccd">', ">", 1)  # publish_appeal: nobody could work it
    text = text.replace('<camunda:formField id="removed_at" label="Removed on" type="date">',
                        '<camunda:formField id="removed_at" label="Removed on">')
    text = text.replace('name="person_apprehended"', 'name=""')
    return text.encode()


def upload(client, files, **extra):
    data = {"csrf_token": token(client, "/designer"), **extra,
            "files": [(io.BytesIO(content), name) for name, content in files]}
    return client.post("/designer/deploy", data=data, content_type="multipart/form-data")


def test_designer_shows_problems_with_file_line_and_element(client, desk):
    login(client, "dee")
    r = upload(client, [("wanted_person.bpmn", broken_bpmn())], deploy="1")
    page = html(r)
    assert r.status_code == 400 and "nothing was deployed" in page
    assert '<tr data-element="publish_appeal"><td>wanted_person.bpmn</td><td>' in page
    assert "candidateGroups" in page and "removed_at" in page and "message has no name" in page
    assert re.search(r'<td>wanted_person.bpmn</td><td>\d+</td>', page)
    with desk.transaction() as s:
        assert s.scalar(select(func.max(ProcessInstance.id))) is None
    r = upload(client, [("broken.bpmn", b"<definitions")], deploy="1")
    assert r.status_code == 400 and "not well-formed" in html(r)


def test_designer_checks_then_deploys_a_new_version(client, desk):
    login(client, "dee")
    changed = WANTED.replace(b'name="Inform media"', b'name="Inform the media"')
    r = upload(client, [("wanted_person.bpmn", changed)], check="1")
    assert r.status_code == 200 and "No problems found" in html(r) and "version 2" in html(r)
    assert client.get("/definitions/wanted_person?version=2").status_code == 404  # only checked
    r = upload(client, [("wanted_person.bpmn", changed)], deploy="1")
    assert r.status_code == 200 and "Deployed wanted_person v2" in html(r)
    page = html(client.get("/definitions/wanted_person"))
    assert re.search(r'data-version="2".*?<td>dee</td>', page, re.S)  # who deployed it
    diff = html(client.get("/designer/diff/wanted_person?from=1&to=2"))
    assert '<tr data-element="inform_media">' in diff and "Inform the media" in diff
    assert "<del>Inform media</del>" in diff
    r = upload(client, [("wanted_person.bpmn", changed)], deploy="1")
    assert "Nothing changed" in html(r)
    logout(client)
    login(client, "max")  # managers read the designer pages but do not deploy
    assert client.get("/designer").status_code == 200
    assert client.post("/designer/deploy", data={"csrf_token": token(client, "/designer")}).status_code == 403


def save_xml(client, key: str, content: bytes):
    csrf = token(client, f"/designer/edit/{key}")
    return client.post(f"/designer/edit/{key}", data=content, content_type="application/xml",
                       headers={"X-CSRFToken": csrf})


def test_modeler_saves_a_new_version_or_reports_problems(client, desk):
    login(client, "dee")
    page = html(client.get("/designer/edit/wanted_person"))
    assert 'data-save-url="/designer/edit/wanted_person"' in page and "bpmn-modeler.production.min.js" in page
    r = save_xml(client, "wanted_person", WANTED.replace(b'name="Remove appeal"', b'name="Take the appeal down"'))
    assert r.status_code == 200 and r.get_json()["version"] == 2 and r.get_json()["changed"] is True
    r = save_xml(client, "wanted_person", broken_bpmn())
    assert r.status_code == 400 and {p["element"] for p in r.get_json()["problems"]} >= {"publish_appeal"}
    r = save_xml(client, "wanted_person", WANTED.replace(b'id="wanted_person"', b'id="other_key"'))
    assert r.status_code == 400 and "keep the id" in r.get_json()["problems"][0]["message"]
    r = save_xml(client, "wanted_person", b'<!DOCTYPE x [<!ENTITY a "b">]><x/>')
    assert r.status_code == 400
    r = client.post("/designer/edit/wanted_person", data=WANTED, content_type="application/xml")
    assert r.status_code == 400  # no CSRF token


def test_migration_pages(client, desk):
    before = live_appeal(desk, ACTORS, "WP-1")
    waiting = removal_case(desk, "WP-2")
    login(client, "dee")
    upload(client, [("wanted_person.bpmn", WANTED.replace(b'name="Inform media"', b'name="Inform the media"'))],
           deploy="1")
    page = html(client.get("/designer/migrate/wanted_person?from=1&to=2"))
    assert page.count('class="ok"') == 2 and "safe" in page
    r = client.post("/designer/migrate/wanted_person",
                    data={"csrf_token": token(client, "/designer"), "from": "1", "to": "2"})
    assert r.status_code == 200 and 'id="migration-result"' in html(r)
    assert before.refresh()["version"] == 2 and waiting.refresh()["version"] == 2
    assert client.get("/instances").status_code == 403  # designers migrate; case pages are the managers'


def test_migrating_one_case_refused_with_reason(client, desk):
    case = live_appeal(desk, ACTORS)
    login(client, "dee")
    changed = WANTED.replace(b'label="Risk assessment"', b'label="Risk assessment (new)"')
    upload(client, [("wanted_person.bpmn", changed)], deploy="1")
    logout(client)
    login(client, "max")
    page = f"/instances/{case.id}"
    r = client.post(f"{page}/migrate", data={"csrf_token": token(client, page), "version": "2"},
                    follow_redirects=True)
    assert "Not migrated" in html(r) and "approve_release" in html(r)
    assert case.refresh()["version"] == 1


def test_audit_search_export_and_verify(client, desk):
    case = removal_case(desk)
    other = live_appeal(desk, ACTORS, "WP-2")
    login(client, "max")
    page = html(client.get("/audit?user=olly&action=complete"))
    assert page.count('data-action="complete" data-actor="olly"') == 2 and 'data-actor="cat"' not in page
    page = html(client.get(f"/audit?instance={case.id}"))
    assert "WP-2" not in page and 'data-action="message"' in page
    today = desk.clock().date()
    assert "No audit record matches" in html(client.get(f"/audit?until={today - timedelta(days=1)}"))
    assert 'data-action="start"' in html(client.get(f"/audit?since={today}&q=WP-2"))

    r = client.get(f"/audit/export?format=csv&instance={case.id}")
    assert r.mimetype == "text/csv" and "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert [row["action"] for row in rows][:2] == ["start", "decision_table"]
    assert all(row["businessKey"] == "WP-1" for row in rows)
    assert json.loads(rows[0]["data"])["case_reference"] == "WP-1"
    exported = client.get("/audit/export?format=json&action=start").get_json()
    assert [r["businessKey"] for r in exported] == ["WP-1", "WP-2"]  # oldest first, every match
    assert exported[0]["hash"] and exported[1]["prevHash"]

    r = client.post("/audit/verify", data={"csrf_token": token(client, "/audit")})
    assert 'data-ok="true"' in html(r) and "audit chain intact" in html(r)
    with desk.transaction() as s:
        s.execute(update(AuditRecord).where(AuditRecord.instance_id == other.id, AuditRecord.action == "start")
                  .values(rationale="edited afterwards"))
    r = client.post("/audit/verify", data={"csrf_token": token(client, "/audit")})
    assert 'data-ok="false"' in html(r) and "BROKEN" in html(r)


@pytest.mark.parametrize("value, cell", [("=HYPERLINK(1)", "'=HYPERLINK(1)"), ("plain", "plain")])
def test_csv_cells_cannot_run_as_formulas(value, cell):
    from web.manage_audit import _csv_cell
    assert _csv_cell(value) == cell


def test_start_form_is_unchanged_for_managers(client, desk):
    """The case page reads variables from the workflow: a manager sees what the requester entered."""
    digest = media(desk)
    from tests.engine.driver import Case
    case = Case(desk, "wanted_person", "WP-9", {**START, "media_items": [digest]}, ACTORS["requester"])
    case.complete("approve_release", ACTORS["oic"], APPROVE)
    login(client, "max")
    page = html(client.get(f"/instances/{case.id}"))
    assert START["offence"] in page and "approve_release" in data_json(page, "completed")


def test_no_inline_script_in_manager_templates():
    for path in Path(ROOT / "web" / "templates" / "manage").glob("*.html"):
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path.name
        assert " on" + "click=" not in text, path.name
