"""Cost per step: the SQL statements each command sends, counted on both backends.

Every command reads only what it uses and writes only the rows that changed: one statement locks
the instance (and, for task commands, the task) and reads both, with whether the case has an open
incident (only then does a step close incidents); the instance row is written by one
UPDATE; projection rows (human tasks, positions, subscriptions) are diffed against the workflow as
loaded and written in one batched statement per kind of change; definitions come from a per-process
cache. Transaction control (BEGIN, COMMIT) is not counted.

Budgets, per command on a warm process (the first command on a definition also reads it once),
not counting the audit trail, plus at most three statements for the trail, however many records
the command appends:

| command | budget besides trail, notices, attachments | audit trail | total today |
|---|---|---|---|
| start (wanted person: start, decision table; one INSERT ... SELECT cites its photograph) | 5 | 3 | 13 |
| claim | 2 | 3 | 5 |
| complete (task to task; one UPDATE closes a failed step's incident, if the lock found one) | 6 | 3 | 11 |
| complete with a disclosure entry and new waiting events | 7 | 3 | 10 |
| correlate a message (one more to read the senders the pathways declare) | 9 | 3 | 13 |
| fire a due timer (claim the batch, fire, find nothing more) | 8 | 3 | 12 |

A command's audit records are written as its transaction commits, in three statements for the
case's chain: take the chain's head and the records' global seqs in one upsert, insert every
record in one statement, record the new head hash. No append takes a lock shared across cases. A
step that opens tasks also tells the groups' members (the notifications outbox), and a decision
tells the requester: one read of the people concerned with their preferences, one insert of every
notice, whatever the number of tasks or people. A form that carries attachments checks that the actor may
attach each (their own upload, or a file the case already cites) and records the citations: at most
four statements."""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event

from .driver import Case, media
from .test_pathway_wanted_person import APPROVE, INFORM, PUBLISH, REMOVE, START

#: command -> statements other than audit appends
BUDGET = {"start": 5, "claim": 2, "complete": 6, "complete+disclosure": 7, "correlate": 9, "fire timer": 8}
PER_AUDIT_STREAM = 3  # take the head (and the seqs), insert the records, set the head
AUDIT = re.compile(r"\b(audit_head|audit_records|audit_\w+)\b")
#: the notices of a step (tasks it opens, a decision told to whoever asked for the case): one read of
#: the people concerned, one insert of the notices
NOTICES = re.compile(r"\bFROM users JOIN user_groups\b|\bFROM notification_preferences\b|^INSERT INTO notifications\b")
NOTICES_MAX = 2
#: attachments a form carries: may the actor attach them (their upload, or the case's), cite them
ATTACHMENTS = re.compile(r"\b(FROM|INTO) (media_items|media_citations|media_uploaders)\b")
ATTACHMENTS_MAX = 4
CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)", re.I)


class Counter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def total(self) -> int:
        return len(self.statements)

    @property
    def other(self) -> list[str]:
        return [s for s in self.statements
                if not AUDIT.search(s) and not NOTICES.search(s) and not ATTACHMENTS.search(s)]

    def check(self, command: str) -> None:
        other = BUDGET[command]
        streams = sum(s.startswith("INSERT INTO audit_streams") for s in self.statements)
        assert streams == 1, f"{command}: wrote {streams} audit chains, not the case's one"
        inserts = sum(s.startswith("INSERT INTO audit_records") for s in self.statements)
        assert inserts == 1, f"{command}: {inserts} statements inserting audit records, not one"
        audit = sum(bool(AUDIT.search(s)) for s in self.statements)
        assert audit <= PER_AUDIT_STREAM, f"{command}: {audit} audit statements > {PER_AUDIT_STREAM}"
        notices = sum(bool(NOTICES.search(s)) for s in self.statements)
        assert notices <= NOTICES_MAX, f"{command}: {notices} statements for notices > {NOTICES_MAX}"
        attachments = sum(bool(ATTACHMENTS.search(s)) for s in self.statements)
        assert attachments <= ATTACHMENTS_MAX, f"{command}: {attachments} statements for attachments > {ATTACHMENTS_MAX}"
        total = other + audit + notices + attachments
        listing = "\n".join(self.statements)
        assert len(self.other) <= other, f"{command}: {len(self.other)} non-audit statements > {other}:\n{listing}"
        assert self.total <= total, f"{command}: {self.total} statements > {total}:\n{listing}"
        assert not any("human_task_groups" in s and s.lstrip().upper().startswith("SELECT")
                       for s in self.statements), f"{command} loaded task groups it does not use:\n{listing}"


@pytest.fixture
def count(desk):
    @contextmanager
    def counting():
        counter = Counter()

        def record(conn, cursor, statement, parameters, context, executemany):
            if not CONTROL.match(statement):
                counter.statements.append(" ".join(statement.split()))
        event.listen(desk.db, "before_cursor_execute", record)
        try:
            yield counter
        finally:
            event.remove(desk.db, "before_cursor_execute", record)
    return counting


def _warm(desk, actors, digest) -> None:
    """One case first, so the counted commands meet a process that has already read the definition."""
    Case(desk, "wanted_person", "WARM-1", {**START, "media_items": [digest]}, actors["requester"])


def test_each_command_stays_within_its_statement_budget(desk, actors, count):
    digest = media(desk)
    _warm(desk, actors, digest)
    with count() as c:
        case = Case(desk, "wanted_person", "WP-COUNT", {**START, "media_items": [digest]}, actors["requester"])
    c.check("start")

    task = case.task("approve_release")
    with count() as c, desk.transaction() as s:
        desk.runtime.claim(s, task["id"], actors["oic"])
    c.check("claim")

    with count() as c, desk.transaction() as s:
        desk.runtime.complete(s, task["id"], actors["oic"], APPROVE)
    c.check("complete")
    assert case.open_activities() == ["publish_appeal"]

    task = case.task("publish_appeal")
    with count() as c, desk.transaction() as s:
        desk.runtime.complete(s, task["id"], actors["ccd"], PUBLISH)
    c.check("complete+disclosure")

    with count() as c:
        assert case.send("person_apprehended") == [case.id]
    c.check("correlate")
    assert case.open_activities() == ["remove_appeal"]

    with count() as c:
        fired = desk.fire_due_timers(desk.clock() + timedelta(hours=5))
    c.check("fire timer")
    assert fired == [(case.id, ["Event_removal_sla"])]

    task = case.task("remove_appeal")
    with count() as c, desk.transaction() as s:
        desk.runtime.complete(s, task["id"], actors["ccd"], REMOVE)
    c.check("complete")
    task = case.task("inform_media")
    with count() as c, desk.transaction() as s:
        desk.runtime.complete(s, task["id"], actors["ccd"], INFORM)
    c.check("complete")
    assert "inform_media" not in case.open_activities()  # the escalation raised by the timer stays open

