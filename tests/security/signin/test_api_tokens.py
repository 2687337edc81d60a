"""Integrations get their own API tokens: created on the command line and shown once, scoped to
groups, stored only as a digest, revocable at once; the audit trail names the client."""
from __future__ import annotations

from sqlalchemy import select, text

from engine.models import ApiToken, AuditRecord, HumanTask
from web.cli import main

from .conftest import approve_task_id, start_case


def run_cli(monkeypatch, capsys, db_url, tmp_path, *argv) -> tuple[int, str, str]:
    monkeypatch.setenv("RELEASEDESK_DATABASE_URL", db_url)
    monkeypatch.setenv("RELEASEDESK_MEDIA_DIR", str(tmp_path / "media"))
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_token_lifecycle(client, sec_desk, db_url, tmp_path, monkeypatch, capsys):
    code, out, _ = run_cli(monkeypatch, capsys, db_url, tmp_path, "token", "add", "oic-desk", "--group", "oic")
    assert code == 0
    token = out.strip().splitlines()[-1]
    assert token.startswith("rdt_") and len(token) > 40

    # Stored as a digest only: the token appears in no column of any token row.
    with sec_desk.read() as s:
        row = s.scalar(select(ApiToken).where(ApiToken.name == "oic-desk"))
        assert row.token_hash != token and token not in str(s.execute(text("SELECT * FROM api_tokens")).all())

    instance_id = start_case(sec_desk)
    task_id = approve_task_id(sec_desk, instance_id)
    assert client.get("/api/tasks", headers=bearer(token)).status_code == 200
    assert client.post(f"/api/tasks/{task_id}/claim", headers=bearer(token)).status_code == 200
    with sec_desk.read() as s:
        assert s.get(HumanTask, task_id).assignee == "token:oic-desk"

    # Scoped to its groups: a requester's token may not act on the OIC's task.
    code, out, _ = run_cli(monkeypatch, capsys, db_url, tmp_path, "token", "add", "intake", "--group", "requester")
    intake = out.strip().splitlines()[-1]
    assert client.post(f"/api/tasks/{task_id}/unclaim", headers=bearer(intake)).status_code == 403

    # Listing never shows a token, only its first characters.
    code, out, _ = run_cli(monkeypatch, capsys, db_url, tmp_path, "token", "list")
    assert code == 0 and "oic-desk" in out and token not in out and token[:10] in out

    code, _, _ = run_cli(monkeypatch, capsys, db_url, tmp_path, "token", "revoke", "oic-desk")
    assert code == 0
    r = client.get("/api/tasks", headers=bearer(token))
    assert r.status_code == 401
    assert client.get("/api/tasks", headers=bearer(token[:-1] + "x")).status_code == 401
    assert "revoked" in run_cli(monkeypatch, capsys, db_url, tmp_path, "token", "list")[1]
    # A second token with the same name is refused (names identify clients in the record).
    assert run_cli(monkeypatch, capsys, db_url, tmp_path, "token", "add", "oic-desk", "--group", "oic")[0] == 1

    with sec_desk.read() as s:
        actions = [(r.action, r.data.get("token")) for r in s.scalars(
            select(AuditRecord).where(AuditRecord.action.in_(["token_add", "token_revoke"])).order_by(AuditRecord.seq))]
    assert actions == [("token_add", "oic-desk"), ("token_add", "intake"), ("token_revoke", "oic-desk")]
