"""Events the workflow does not record by itself leave an audit record with who, when, from which
address and what: sign-in, failed sign-in, sign-out, user and group changes, uploads, audit
exports, and every read of a case's data through the API or the pages."""
from __future__ import annotations

import io

from sqlalchemy import select

from engine.audit import verify
from engine.models import AuditRecord
from tests.engine.driver import LEGAL_CLEAR
from web.demo import sample_png

from .conftest import approve_task_id, basic, csrf, sign_in, sign_out, start_case
from .test_password_policy import cli  # noqa: F401  (fixture)


def records(desk, *actions) -> list[AuditRecord]:
    with desk.read() as s:
        return list(s.scalars(select(AuditRecord).where(AuditRecord.action.in_(actions)).order_by(AuditRecord.seq)))


def test_sign_in_failure_and_sign_out_are_recorded(client, sec_desk):
    assert sign_in(client, "olly", "not the password at all").status_code == 401
    sign_in(client, "olly")
    sign_out(client)
    rows = records(sec_desk, "sign_in", "sign_in_failed", "sign_out")
    assert [(r.action, r.actor) for r in rows] == [("sign_in_failed", "olly"), ("sign_in", "olly"),
                                                   ("sign_out", "olly")]
    assert all(r.data["address"] == "127.0.0.1" and r.at is not None for r in rows)
    assert rows[0].data["reason"] == "wrong password" and rows[1].data["method"] == "password"


def test_user_and_group_changes_are_recorded(cli, sec_desk):  # noqa: F811
    assert cli("user", "add", "pat", "--group", "sio", "--password-stdin", stdin="maple kettle orbit")[0] == 0
    assert cli("user", "groups", "pat", "--group", "oic", "--group", "sio")[0] == 0
    assert cli("user", "disable", "pat")[0] == 0
    rows = records(sec_desk, "user_add", "user_groups", "user_disable")
    assert [(r.action, r.data["username"]) for r in rows] == [("user_add", "pat"), ("user_groups", "pat"),
                                                             ("user_disable", "pat")]
    assert rows[1].data["before"] == ["sio"] and rows[1].data["after"] == ["oic", "sio"]
    assert all(r.actor.startswith("cli") for r in rows)


def test_reads_of_case_data_are_recorded(client, sec_desk):
    instance_id = start_case(sec_desk)
    task_id = approve_task_id(sec_desk, instance_id)
    assert client.get(f"/api/process-instances/{instance_id}", headers=basic("max")).status_code == 200
    assert client.get(f"/api/process-instances/{instance_id}/audit", headers=basic("max")).status_code == 200
    assert client.get(f"/api/tasks/{task_id}", headers=basic("olly")).status_code == 200
    sign_in(client, "olly")
    assert client.get(f"/tasks/{task_id}").status_code == 200
    sign_out(client)
    sign_in(client, "max")
    assert client.get(f"/instances/{instance_id}").status_code == 200
    rows = records(sec_desk, "read")
    assert [(r.actor, r.data["what"], r.data["via"]) for r in rows] == [
        ("max", "instance", "api"), ("max", "audit trail", "api"), ("olly", "task", "api"),
        ("olly", "task page", "web"), ("max", "case page", "web")]
    assert all(r.instance_id == instance_id and r.business_key == "WP-SEC-1" and r.data["address"] for r in rows)
    # The case's own trail lists its reads only when asked, and the chain still verifies.
    plain = client.get(f"/api/process-instances/{instance_id}/audit", headers=basic("max")).get_json()
    assert "read" not in {r["action"] for r in plain}
    full = client.get(f"/api/process-instances/{instance_id}/audit?access=1", headers=basic("max")).get_json()
    assert {r["action"] for r in full} >= {"read", "start"}
    with sec_desk.read() as s:
        assert verify(s).ok


def test_uploads_and_audit_exports_are_recorded(client, sec_desk):
    sign_in(client, "rita")
    form = {"csrf_token": csrf(client, "/start/wanted_person"), "case_reference": "WP-UP-1",
            "summary": "Wanted for burglary", "person_description": "Male, 30s", "offence": "Burglary",
            "necessity_justification": "Evading arrest",
            "media_items": (io.BytesIO(sample_png()), "suspect.png"),
            **{k: "false" for k in LEGAL_CLEAR}}
    r = client.post("/start/wanted_person", data=form, content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    sign_out(client)
    sign_in(client, "max")
    assert client.get("/audit/export?format=csv&action=start").status_code == 200
    upload, export = records(sec_desk, "upload")[0], records(sec_desk, "audit_export")[0]
    assert upload.actor == "rita" and upload.data["filename"] == "suspect.png" and len(upload.data["digest"]) == 64
    assert upload.data["address"] == "127.0.0.1"
    assert export.actor == "max" and export.data["format"] == "csv" and export.data["records"] == 1
    assert export.data["filters"] == {"action": "start"}
