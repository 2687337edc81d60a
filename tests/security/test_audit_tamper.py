"""Tampering with the audit record as someone who can write the database would, on SQLite and
PostgreSQL: every change is detected by `audit verify` (engine, CLI), which names the record or
checkpoint. The key and the exported checkpoint file are out of that person's reach."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, text, update

from engine import SYSTEM
from engine.audit import record_hash, stream_for
from engine.audit_checkpoints import CheckpointRefused, ExportAhead, checkpoint_hash, export_path
from engine.audit_keys import SigningKey
from engine.models import AuditCheckpoint, AuditCheckpointed, AuditRecord, AuditStream
from tests.engine.conftest import DIAGRAMS
from tests.engine.driver import Case
from tests.engine.test_audit import cli_env
from web.cli import main

from .audit_helpers import rehash_stream, rows_of, swap_stream_places


@pytest.fixture
def mini(desk) -> str:
    with desk.transaction() as s:
        desk.deploy_files(s, [DIAGRAMS / "mini_approval.bpmn"], SYSTEM)
    return "mini_approval"


@pytest.fixture
def cases(desk, mini, actors) -> tuple[Case, Case]:
    """Two cases with a few records each, and a signed, exported checkpoint over them."""
    first = Case(desk, mini, "CASE-1", {"summary": "first"}, actors["requester"])
    first.complete("approve_release", actors["sio"], {"decision": "approve", "rationale": "Proportionate",
                                                      "images_verified": True})
    first.complete("publish_release", actors["ccd"], {"channels": ["force_website"]})
    second = Case(desk, mini, "CASE-2", {"summary": "second"}, actors["requester"])
    second.complete("approve_release", actors["sio"], {"decision": "reject", "rationale": "Not yet"})
    assert desk.audit.checkpoint("test")["id"] == 1
    return first, second


def broken(desk, **kw):
    result = desk.verify_audit(write_checkpoint=False, **kw)
    assert not result.ok, str(result)
    return result


def test_untouched_record_verifies_and_each_verify_signs_and_exports_a_checkpoint(desk, cases):
    first, _ = cases
    result = desk.verify_audit()
    assert result.ok and result.checkpoints == 1 and "checkpoint 2 signed by ed25519:" in str(result)
    lines = [json.loads(line) for line in export_path(desk.settings).read_text().splitlines()]
    assert [cp["id"] for cp in lines] == [1, 2] and lines[1]["prev"] == lines[0]["hash"]
    assert stream_for(first.id, "x") in lines[0]["heads"]
    assert desk.verify_audit(first.id).ok


def test_edited_record_is_named(desk, cases):
    first, _ = cases
    target = [r for r in first.audit() if r["action"] == "complete"][0]["seq"]
    with desk.transaction() as s:
        s.execute(update(AuditRecord).where(AuditRecord.seq == target).values(rationale="Edited later"))
    result = broken(desk)
    assert result.bad_seq == target and "changed after it was written" in result.reason
    assert f"record {target}" in str(result)
    assert not desk.verify_audit(first.id, write_checkpoint=False).ok


def test_deleted_record_is_named_by_its_place_in_the_case(desk, cases):
    first, _ = cases
    start, middle, *rest = first.audit()
    with desk.transaction() as s:
        s.execute(delete(AuditRecord).where(AuditRecord.seq == middle["seq"]))
    result = broken(desk)
    assert f"record 2 of case {first.id} before it is missing" in result.reason
    assert result.bad_seq == rest[0]["seq"]


def test_records_reordered_within_a_case_are_detected(desk, cases):
    first, _ = cases
    a, b = first.audit()[1:3]
    with desk.transaction() as s:
        swap_stream_places(s, a["seq"], b["seq"])
    result = broken(desk)
    assert result.bad_seq in (a["seq"], b["seq"]) and f"case {first.id}" in result.reason


def test_records_reordered_across_cases_are_detected(desk, cases):
    """Swapping the global order of two records of different cases (their `seq`)."""
    first, second = cases
    a, b = first.audit()[1]["seq"], second.audit()[1]["seq"]
    with desk.transaction() as s:
        s.execute(update(AuditRecord).where(AuditRecord.seq == a).values(seq=-1))
        s.execute(update(AuditRecord).where(AuditRecord.seq == b).values(seq=a))
        s.execute(update(AuditRecord).where(AuditRecord.seq == -1).values(seq=b))
    result = broken(desk)
    assert result.bad_seq in (a, b) and "changed after it was written" in result.reason


def test_record_moved_to_another_case_is_detected(desk, cases):
    first, second = cases
    moved = second.audit()[-1]["seq"]
    with desk.transaction() as s:
        s.execute(update(AuditRecord).where(AuditRecord.seq == moved).values(instance_id=first.id))
    assert broken(desk).bad_seq == moved


def test_naive_insert_at_the_tail_of_a_case_is_detected(desk, cases):
    """A forged record with a correct hash appended to a case, without moving the stream's head."""
    first, _ = cases
    with desk.transaction() as s:
        last = rows_of(s, first.id)[-1]
        forged = AuditRecord(**{c: getattr(last, c) for c in ("at", "actor", "group_name", "action", "instance_id",
                                                              "business_key", "activity_id", "activity_name",
                                                              "data", "stream")})
        forged.seq, forged.stream_seq, forged.prev_hash = 10_000, last.stream_seq + 1, last.hash
        forged.decision, forged.rationale = "approve", "Forged"
        forged.hash = record_hash(forged)
        s.add(forged)
    result = broken(desk)
    assert "head moved" in result.reason and f"case {first.id}" in result.reason


def test_forged_record_inserted_with_recomputed_hashes_is_detected_by_the_checkpoint(desk, cases):
    """Insert a record in the middle of a case, re-hash the rest of its chain and move its head:
    the chain is consistent again, but no longer what checkpoint 1 signed."""
    first, _ = cases
    with desk.transaction() as s:
        rows = rows_of(s, first.id)
        for row in reversed(rows[1:]):  # make room at place 2
            s.execute(update(AuditRecord).where(AuditRecord.seq == row.seq).values(stream_seq=row.stream_seq + 1))
        template = rows[1]
        forged = AuditRecord(seq=10_000, stream=template.stream, stream_seq=2, at=template.at, actor="sam",
                             group_name="sio", action="complete", instance_id=first.id,
                             business_key=template.business_key, activity_id="approve_release",
                             activity_name=template.activity_name, decision="refuse", rationale="Forged",
                             data={"decision": "refuse"}, prev_hash="linked-below")
        forged.hash = "hashed-below"
        s.add(forged)
        s.flush()
        rehash_stream(s, template.stream)
    result = broken(desk)
    assert "checkpoint 1 signed a different record" in result.reason and f"case {first.id}" in result.reason


def test_wholesale_rehash_after_an_edit_is_detected(desk, cases):
    first, _ = cases
    target = first.audit()[1]["seq"]
    with desk.transaction() as s:
        s.execute(update(AuditRecord).where(AuditRecord.seq == target).values(rationale="Rewritten"))
        rehash_stream(s, stream_for(first.id, ""))
    result = broken(desk)
    assert "re-hashed" in result.reason and result.bad_seq is not None


def test_rehash_that_also_rewrites_checkpoints_fails_their_signatures(desk, cases):
    first, _ = cases
    with desk.transaction() as s:
        s.execute(update(AuditRecord).where(AuditRecord.seq == first.audit()[1]["seq"]).values(rationale="Rewritten"))
        stream = stream_for(first.id, "")
        rehash_stream(s, stream)
        head = s.get(AuditStream, stream)
        s.execute(update(AuditCheckpointed).where(AuditCheckpointed.stream == stream)
                  .values(length=head.length, hash=head.hash))
        cp = s.get(AuditCheckpoint, 1)
        cp.heads = {**cp.heads, stream: [head.length, head.hash]}
        cp.hash = checkpoint_hash(cp)
    result = broken(desk, exported_file="")  # even with no exported copy to compare with
    assert result.bad_checkpoint == 1 and "signature does not verify" in result.reason


def test_checkpoints_re_signed_with_another_key_are_refused(desk, cases):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    mallory = SigningKey(Ed25519PrivateKey.generate())
    with desk.transaction() as s:
        cp = s.get(AuditCheckpoint, 1)
        cp.key_id = mallory.key_id
        cp.hash = checkpoint_hash(cp)
        cp.signature = mallory.sign(cp.hash.encode())
    result = broken(desk, exported_file="")
    assert result.bad_checkpoint == 1 and "not a trusted key" in result.reason
    with pytest.raises(CheckpointRefused, match="checkpoint 1 is not signed by a trusted key"):
        desk.audit.checkpoint("test")  # the product never chains a new checkpoint onto a forged one


def test_truncated_tail_with_rewound_head_is_detected(desk, cases):
    """Delete a case's last records and set its head back: only the signed checkpoint knows."""
    first, _ = cases
    with desk.transaction() as s:
        rows = rows_of(s, first.id)
        keep = rows[:-2]
        s.execute(delete(AuditRecord).where(AuditRecord.seq.in_([r.seq for r in rows[-2:]])))
        s.execute(update(AuditStream).where(AuditStream.stream == keep[-1].stream)
                  .values(length=len(keep), hash=keep[-1].hash, last_seq=keep[-1].seq))
    result = broken(desk)
    assert "tail truncated" in result.reason and "checkpoint 1" in result.reason
    assert f"case {first.id}" in result.reason and result.bad_seq == rows[-3].seq


def test_rewound_head_that_grew_again_is_detected(desk, cases, actors):
    """Truncate a case and rewind its head; the product appends again and signs the lower head."""
    _, second = cases
    with desk.transaction() as s:
        rows = rows_of(s, second.id)
        s.execute(delete(AuditRecord).where(AuditRecord.seq.in_([r.seq for r in rows[1:]])))
        s.execute(update(AuditStream).where(AuditStream.stream == rows[0].stream)
                  .values(length=1, hash=rows[0].hash, last_seq=rows[0].seq))
        s.execute(update(AuditCheckpointed).where(AuditCheckpointed.stream == rows[0].stream)
                  .values(length=1, hash=rows[0].hash))
    with desk.transaction() as s:
        from engine import audit
        audit.append(s, at=desk.clock(), actor="max", action="download", instance_id=second.id)
    assert desk.audit.checkpoint("test")["id"] == 2
    result = broken(desk)
    assert result.bad_checkpoint == 2 and "head rewound" in result.reason


def test_deleted_last_checkpoint_is_detected_from_the_exported_copy(desk, cases):
    with desk.transaction() as s:
        s.execute(delete(AuditCheckpoint).where(AuditCheckpoint.id == 1))
        s.execute(delete(AuditCheckpointed))
    result = broken(desk)
    assert result.bad_checkpoint == 1 and "not in the database (deleted?)" in result.reason
    with pytest.raises(ExportAhead):  # and no new checkpoint is signed over the loss
        desk.audit.checkpoint("test")


def test_deleted_middle_checkpoint_is_detected(desk, cases, actors):
    first, _ = cases
    with desk.transaction() as s:
        from engine import audit
        audit.append(s, at=desk.clock(), actor="max", action="download", instance_id=first.id)
    assert desk.audit.checkpoint("test")["id"] == 2
    with desk.transaction() as s:
        s.execute(delete(AuditCheckpoint).where(AuditCheckpoint.id == 1))
    result = broken(desk)
    assert result.bad_checkpoint == 1 and "checkpoint 1 is missing" in result.reason


def test_altered_checkpoint_bookkeeping_is_detected(desk, cases):
    """Marking a stream as already checkpointed further than it was would let later checkpoints
    skip its new records: verification compares the bookkeeping with the signed checkpoints."""
    first, _ = cases
    with desk.transaction() as s:
        s.execute(update(AuditCheckpointed).where(AuditCheckpointed.stream == stream_for(first.id, ""))
                  .values(length=99))
    assert "bookkeeping" in broken(desk).reason


def test_records_after_the_last_checkpoint_are_covered_by_their_case_chain(desk, cases, actors):
    _, second = cases
    with desk.transaction() as s:
        from engine import audit
        record = audit.append(s, at=desk.clock(), actor="max", action="download", instance_id=second.id)
    late = record.seq
    assert desk.verify_audit(write_checkpoint=False).ok
    with desk.transaction() as s:
        s.execute(update(AuditRecord).where(AuditRecord.seq == late).values(actor="someone-else"))
    assert broken(desk).bad_seq == late


def test_cli_names_the_bad_record_and_exits_1(desk, cases, monkeypatch, capsys):
    first, _ = cases
    cli_env(monkeypatch, desk)
    assert main(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert "intact" in out and "checkpoint 2 signed by" in out
    with desk.transaction() as s:
        s.execute(text("DELETE FROM audit_checkpoints WHERE id = 2"))
    assert main(["audit", "verify"]) == 1
    assert "BROKEN at checkpoint 2" in capsys.readouterr().out


def test_a_whole_case_removed_from_the_record_is_detected(desk, cases):
    """Every record of a case, its head and its bookkeeping row deleted: the checkpoint still names it."""
    _, second = cases
    stream = stream_for(second.id, "")
    with desk.transaction() as s:
        s.execute(delete(AuditRecord).where(AuditRecord.stream == stream))
        s.execute(delete(AuditStream).where(AuditStream.stream == stream))
        s.execute(delete(AuditCheckpointed).where(AuditCheckpointed.stream == stream))
    result = broken(desk)
    assert f"case {second.id}" in result.reason
