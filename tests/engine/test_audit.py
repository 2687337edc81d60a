"""The audit chains: intact after real work, and broken (naming the record) by any edit or deletion.
Every way of tampering, with checkpoints and their exported copy, is in tests/security/."""
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


def cli_env(monkeypatch, desk) -> None:
    """The CLI on the test's database, key and exported file (a test run, so the key is generated)."""
    monkeypatch.setenv("RELEASEDESK_DATABASE_URL", desk.settings.database_url)
    monkeypatch.setenv("RELEASEDESK_MEDIA_DIR", desk.settings.media_dir)
    monkeypatch.setenv("RELEASEDESK_TESTING", "1")


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
    assert trail[1]["prevHash"] == trail[0]["hash"]  # one chain per case


def test_editing_a_record_by_hand_is_detected(desk, mini, actors, monkeypatch, capsys):
    case = run_cases(desk, mini, actors)
    target = [r for r in case.audit() if r["action"] == "complete"][0]["seq"]
    with desk.transaction() as s:
        s.execute(text("UPDATE audit_records SET rationale = 'Edited later' WHERE seq = :seq"), {"seq": target})
    with desk.transaction() as s:
        result = verify(s)
    assert not result.ok and result.bad_seq == target
    cli_env(monkeypatch, desk)
    assert main(["audit", "verify"]) == 1
    assert f"record {target}" in capsys.readouterr().out


def test_deleting_a_record_is_detected(desk, mini, actors, monkeypatch, capsys):
    case = run_cases(desk, mini, actors)
    case.complete("publish_release", actors["ccd"], {"channels": ["force_website"]})
    start, complete, *_ = case.audit()
    with desk.transaction() as s:
        s.execute(text("DELETE FROM audit_records WHERE seq = :seq"), {"seq": complete["seq"]})
    with desk.transaction() as s:
        result = verify(s)
    assert not result.ok and result.bad_seq > complete["seq"]  # the record after the gap is named
    assert f"record 2 of case {case.id} before it is missing" in result.reason
    cli_env(monkeypatch, desk)
    assert main(["audit", "verify"]) == 1


def test_deleting_the_last_record_is_detected(desk, mini, actors):
    run_cases(desk, mini, actors)
    with desk.transaction() as s:
        last = s.execute(text("SELECT max(seq) FROM audit_records")).scalar()
        s.execute(text("DELETE FROM audit_records WHERE seq = :seq"), {"seq": last})
    with desk.transaction() as s:
        result = verify(s)
    assert not result.ok and result.bad_seq == last and "missing" in result.reason


def test_cli_verify_passes_on_a_fresh_run(desk, mini, actors, monkeypatch, capsys):
    run_cases(desk, mini, actors)
    cli_env(monkeypatch, desk)
    assert main(["audit", "verify"]) == 0
    assert "intact" in capsys.readouterr().out


def test_seq_is_one_global_order_without_gaps_across_cases(desk):
    from engine import audit
    seqs = []
    for n in range(6):
        with desk.transaction() as s:
            record = audit.append(s, at=desk.clock(), actor="max", action="download", instance_id=1 + n % 3)
        seqs.append((record.seq, record.stream, record.stream_seq))  # written as the transaction commits
    first = seqs[0][0]
    assert [seq for seq, _, _ in seqs] == list(range(first, first + 6))
    assert [(stream, place) for _, stream, place in seqs] == [
        ("case:1", 1), ("case:2", 1), ("case:3", 1), ("case:1", 2), ("case:2", 2), ("case:3", 2)]
    with desk.transaction() as s:
        assert verify(s).ok


def test_a_savepoint_that_rolls_back_takes_only_its_own_records(desk):
    """Records wait for the commit; one appended inside a savepoint is written with the savepoint,
    so rolling the savepoint back removes it and nothing appended before it."""
    from sqlalchemy import select

    from engine import audit
    from engine.models import AuditRecord
    with desk.transaction() as s:
        audit.append(s, at=desk.clock(), actor="max", action="download", instance_id=7, data={"n": "before"})
        try:
            with s.begin_nested():
                audit.append(s, at=desk.clock(), actor="max", action="download", instance_id=7, data={"n": "inside"})
                raise RuntimeError("refused")
        except RuntimeError:
            pass
        audit.append(s, at=desk.clock(), actor="max", action="download", instance_id=7, data={"n": "after"})
    with desk.read() as s:
        kept = [r.data["n"] for r in s.scalars(select(AuditRecord).where(AuditRecord.instance_id == 7)
                                               .order_by(AuditRecord.seq))]
    assert kept == ["before", "after"]
    assert desk.verify_audit(write_checkpoint=False).ok
