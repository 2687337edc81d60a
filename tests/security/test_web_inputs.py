"""Odd input at the HTTP edge: every query parameter answers 400 naming itself (never 500), a 405
names the allowed methods, a case the caller may not see is indistinguishable from an unknown one,
redirects stay on the site, diagram XML is a download, and CSV cells never run as formulas."""
from __future__ import annotations

import csv
import io

import pytest

from tests.web.test_api import start_wanted
from tests.web.test_inbox import login

HUGE = str(2 ** 64)


@pytest.mark.parametrize(("path", "param"), [
    ("/api/process-instances?page={}", "page"),
    ("/api/process-instances?pageSize={}", "pageSize"),
    ("/api/tasks?processInstanceId={}", "processInstanceId"),
    ("/api/process-definitions/wanted_person/xml?version={}", "version"),
])
@pytest.mark.parametrize("value", [HUGE, "١٢", "²", "0", "-1", "1_0", " 7", "9" * 400])
def test_query_numbers_answer_400_naming_the_parameter(api, path, param, value):
    r = api.get(path.format(value), "max")
    assert r.status_code == 400, (path, value, r.status_code)
    assert param in r.get_json()["details"]


def test_page_size_beyond_the_documented_maximum_is_refused(api):
    assert api.get("/api/process-instances?pageSize=501", "max").status_code == 400
    assert api.get("/api/process-instances?pageSize=500", "max").status_code == 200


@pytest.mark.parametrize("path", [f"/api/process-instances/{HUGE}", f"/api/process-instances/{HUGE}/audit",
                                  f"/api/process-instances/{2 ** 80}"])
def test_ids_beyond_64_bits_are_unknown_not_errors(api, path):
    r = api.get(path, "max")
    assert r.status_code == 404 and r.get_json()["error"]


def test_nul_characters_are_refused_at_the_door(api):
    assert api.get("/api/process-instances?businessKey=a%00b", "max").status_code == 400
    r = api.post("/api/messages", "max", json={"messageName": "x\u0000", "businessKey": "k"})
    assert r.status_code == 400 and "body" in r.get_json()["details"]


def test_405_names_the_allowed_methods(api, client):
    r = client.delete("/api/tasks")
    assert r.status_code == 405 and "GET" in r.headers["Allow"]
    r = client.get("/api/messages")
    assert r.status_code == 405 and r.headers["Allow"].replace(" ", "").split(",").count("POST") == 1


def test_a_case_the_caller_may_not_see_answers_404_without_its_reference(api, web_desk):
    assert start_wanted(api, web_desk, "SECRET-REF-1").status_code == 201
    unknown = api.get("/api/process-instances/999999", "fay")
    for path in ("/api/process-instances/1", "/api/process-instances/1/audit"):
        hidden = api.get(path, "fay")  # a family liaison officer with no task on this case
        assert hidden.status_code == 404 == unknown.status_code
        assert "SECRET-REF-1" not in hidden.get_data(as_text=True)
        assert hidden.get_json()["error"] == "no process instance 1"
    assert api.get("/api/process-instances/1", "sam").status_code == 200  # the SIO has a task on it


def test_a_case_media_link_the_caller_may_not_see_answers_404(api, client, web_desk):
    start_wanted(api, web_desk, "SECRET-REF-2")
    digest = api.get("/api/process-instances/1", "max").get_json()["variables"]["media_items"][0]
    login(client, "fay")
    r = client.get(f"/instances/1/media/{digest}")
    assert r.status_code == 404 and "SECRET-REF-2" not in r.get_data(as_text=True)


@pytest.mark.parametrize("target", ["/%09/evil.example/", "/%0d/evil.example/", "//evil.example/",
                                    "/\\evil.example/", "https://evil.example/", "/%5cevil.example"])
def test_sign_in_never_redirects_off_site(client, target):
    from tests.web.test_inbox import token
    r = client.post(f"/login?next={target}", data={"username": "sam", "password": "correct horse battery",
                                                   "csrf_token": token(client, "/login")})
    assert r.status_code == 302
    location = r.headers["Location"]
    assert location == "/inbox", location


def test_sign_in_keeps_a_same_site_next(client):
    from tests.web.test_inbox import token
    r = client.post("/login?next=/inbox%3Fshow%3Dmine", data={"username": "sam", "password": "correct horse battery",
                                                              "csrf_token": token(client, "/login")})
    assert r.headers["Location"] == "/inbox?show=mine"


def test_diagram_xml_is_a_download_never_inline(api, client):
    r = api.get("/api/process-definitions/wanted_person/xml", "max")
    assert r.status_code == 200 and r.headers["Content-Disposition"].startswith("attachment;")
    assert 'filename="wanted_person-v1.bpmn"' in r.headers["Content-Disposition"]
    login(client, "max")
    r = client.get("/definitions/wanted_person/diagram.bpmn")
    assert r.status_code == 200 and r.headers["Content-Disposition"].startswith("attachment;")


def test_csv_export_neutralises_semicolon_and_full_width_formulas(api, client, web_desk):
    start_wanted(api, web_desk, "CSV-1")
    case_id = api.get("/api/process-instances?businessKey=CSV-1", "max").get_json()["items"][0]["id"]
    r = api.post(f"/api/process-instances/{case_id}/cancel", "max",
                 json={"reason": "ok;=HYPERLINK(\"http://evil.example\");＝cmd|' /C calc'!A0"})
    assert r.status_code == 200, r.get_json()
    login(client, "max")
    rows = list(csv.DictReader(io.StringIO(client.get(f"/audit/export?format=csv&instance={case_id}")
                                           .get_data(as_text=True))))
    cancel = [row for row in rows if row["action"] == "cancel"][0]
    for part in cancel["rationale"].split(";"):
        assert part.lstrip()[:1] not in ("=", "+", "-", "@", "＝", "＋", "－", "＠"), cancel["rationale"]
    assert "'=HYPERLINK" in cancel["rationale"] and "'＝cmd" in cancel["rationale"]
