"""Idempotency keys on both backends: the first answer is kept in the command's own transaction, so it
exists exactly when the command's effects do; a rolled-back command leaves no key behind."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine import Actor
from engine.idempotency import IdempotencyKeyReused, fingerprint, remember, replay

RITA = Actor("rita", frozenset({"requester"}))
TRIBUTE = {"deceased_name": "Alex Example", "family_consent": True}


def start_once(desk, key: str, reference: str):
    digest = fingerprint("POST", "/api/process-definitions/tribute_image/start", {"businessKey": reference})
    with desk.transaction() as s:
        now = desk.clock()
        answered = replay(s, RITA, key, digest, now)
        if answered is not None:
            return answered
        view = desk.runtime.start(s, "tribute_image", reference, TRIBUTE, RITA)
        remember(s, RITA, key, digest, 201, {"id": view["id"]}, now)
        return 201, {"id": view["id"]}


def test_replay_returns_the_first_answer_and_a_changed_request_is_refused(desk):
    first = start_once(desk, "k-1", "TR-IK-1")
    assert start_once(desk, "k-1", "TR-IK-1") == first
    with pytest.raises(IdempotencyKeyReused):
        start_once(desk, "k-1", "TR-IK-2")


def test_a_failed_command_keeps_no_key(desk):
    digest = fingerprint("POST", "/x", {})
    with pytest.raises(RuntimeError), desk.transaction() as s:
        remember(s, RITA, "k-2", digest, 200, {"ok": True}, desk.clock())
        raise RuntimeError("the command failed after the key was written")
    with desk.transaction() as s:
        assert replay(s, RITA, "k-2", digest, desk.clock()) is None


def test_keys_expire_after_a_day(desk):
    digest = fingerprint("POST", "/x", {})
    with desk.transaction() as s:
        remember(s, RITA, "k-3", digest, 200, {"ok": True}, desk.clock() - timedelta(hours=25))
    with desk.transaction() as s:
        assert replay(s, RITA, "k-3", digest, desk.clock()) is None
        remember(s, RITA, "k-3", digest, 200, {"ok": "again"}, desk.clock())
    with desk.transaction() as s:
        assert replay(s, RITA, "k-3", digest, desk.clock()) == (200, {"ok": "again"})
