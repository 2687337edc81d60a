"""The Verify button on /audit runs the same checks as `releasedesk audit verify`: chains, signed
checkpoints and their exported copy; it names the bad checkpoint."""
from __future__ import annotations

from sqlalchemy import text

from engine import audit

from .test_inbox import login, token


def test_verify_button_signs_a_checkpoint_then_names_a_deleted_one(client, desk):
    with desk.transaction() as s:
        audit.append(s, at=desk.clock(), actor="max", action="download", instance_id=1)
    login(client, "max")
    page = client.post("/audit/verify", data={"csrf_token": token(client, "/audit")}).get_data(as_text=True)
    assert 'data-ok="true"' in page and "audit chain intact" in page and "checkpoint 1 signed by ed25519:" in page
    with desk.transaction() as s:
        s.execute(text("DELETE FROM audit_checkpoints"))
        s.execute(text("DELETE FROM audit_checkpointed"))
    page = client.post("/audit/verify", data={"csrf_token": token(client, "/audit")}).get_data(as_text=True)
    assert 'data-ok="false"' in page and "BROKEN at checkpoint 1" in page and "deleted?" in page


def test_verify_is_for_managers_only(client):
    login(client, "sam")
    assert client.post("/audit/verify", data={"csrf_token": token(client, "/inbox")}).status_code == 403
