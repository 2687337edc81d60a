"""The audit chain: intact after real work, and broken (naming the record) by any edit or deletion."""
from __future__ import annotations

from sqlalchemy import text

from engine.audit import verify
from web.cli import main

from .driver import Case


def run_cases(desk, mini, actors) -> Case:
    case = Case(desk, mini, "CASE-1", {"summary": "first"}, actors["requester"])
    case.complete("approve_release", actors["sio"], {"decision": "approve", "rationale": "Proportionate",
                                                     "images_verified": True})
    Case(desk, mini, "CASE-2", {}, actors["requester"])
    return case


def test_chain_verifies_after_work(desk, mini, actors):
    case = run_cases(desk, mini, actors)
    with desk.transaction() as s:
        result = verify(s)
        assert result.ok and result.checked >= 4
        assert verify(s, case.id).ok
    trail = case.audit()
    assert [r["action"] for r in trail] == ["start", "complete"]
    assert trail[1]["actor"] == "sam" and trail[1]["group"] == "sio"
    assert trail[1]["decision"] == "approve" and trail[1]["rationale"] == "Proportionate"
    assert trail[1]["prevHash"] != trail[0]["prevHash"]


def test_editing_a_record_by_hand_is_detected(desk, mini, actors, monkeypatch, capsys):
    case = run_cases(desk, mini, actors)
    target = [r for r in case.audit() if r["action"] == "complete"][0]["seq"]
    with desk.transaction() as s:
        s.execute(text("UPDATE audit_records SET rationale = 'Edited later' WHERE seq = :seq"), {"seq": target})
    with desk.transaction() as s:
        result = verify(s)
    assert not result.ok and result.bad_seq == target
    monkeypatch.setenv("RELEASEDESK_DATABASE_URL", desk.settings.database_url)
    assert main(["audit", "verify"]) == 1
    assert f"record {target}" in capsys.readouterr().out


def test_deleting_a_record_is_detected(desk, mini, actors, monkeypatch, capsys):
    run_cases(desk, mini, actors)
    with desk.transaction() as s:
        s.execute(text("DELETE FROM audit_records WHERE seq = 2"))
    with desk.transaction() as s:
        result = verify(s)
    assert not result.ok and result.bad_seq == 2
    monkeypatch.setenv("RELEASEDESK_DATABASE_URL", desk.settings.database_url)
    assert main(["audit", "verify"]) == 1


def test_deleting_the_last_record_is_detected(desk, mini, actors):
    run_cases(desk, mini, actors)
    with desk.transaction() as s:
        last = s.execute(text("SELECT max(seq) FROM audit_records")).scalar()
        s.execute(text("DELETE FROM audit_records WHERE seq = :seq"), {"seq": last})
    with desk.transaction() as s:
        assert not verify(s).ok


def test_cli_verify_passes_on_a_fresh_run(desk, mini, actors, monkeypatch, capsys):
    run_cases(desk, mini, actors)
    monkeypatch.setenv("RELEASEDESK_DATABASE_URL", desk.settings.database_url)
    assert main(["audit", "verify"]) == 0
    assert "intact" in capsys.readouterr().out
