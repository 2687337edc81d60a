"""Notifications through the outbox, sent to a real SMTP server (aiosmtpd) on loopback.

A step writes its notices in its own transaction; the worker (`deliver`) sends them later. These
tests crash the worker between claiming and sending, take the mail server away, and roll steps back,
and check by the messages the server received that nothing is lost and nothing is sent twice."""
from __future__ import annotations

import email
import email.policy
from datetime import datetime, timedelta, timezone

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from engine import Actor, InvalidForm, ReleaseDesk
from engine import notifications as notes
from engine.models import Notification
from engine.users import create_user
from tests.browser.conftest import _free_port

from .driver import Case, media
from .test_pathway_wanted_person import APPROVE, PUBLISH, START

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)
RITA = Actor("rita", frozenset({"requester"}))
SAM = Actor("sam", frozenset({"sio"}))


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"

    def subjects(self, to: str | None = None) -> list[str]:
        return [m["Subject"] for m in self.messages if to is None or to in m["X-Envelope-To"]]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def mailing(desk, smtp, clock):
    """A desk with email on (the loopback server), the injected clock, and people with addresses."""
    mail_desk = ReleaseDesk(desk.settings.with_overrides(smtp_host="127.0.0.1", smtp_port=smtp.port,
                                                         smtp_from="desk@force.example"), clock)
    with mail_desk.transaction() as s:
        for name, group, mode in (("sam", "sio", "immediate"), ("olly", "oic", "immediate"),
                                  ("rita", "requester", "immediate"), ("cat", "ccd", "digest")):
            create_user(s, name, "long enough password", [group])
            notes.set_preference(s, name, f"{name}@force.example", mode)
    yield mail_desk
    mail_desk.dispose()


def start(desk, key="WP-1") -> Case:
    return Case(desk, "wanted_person", key, {**START, "media_items": [media(desk)]}, RITA)


def test_a_new_task_is_emailed_once_to_its_groups(mailing, smtp):
    start(mailing)
    assert smtp.messages == []  # nothing leaves inside the step
    counts = notes.deliver(mailing)
    assert counts["sent"] == 2
    assert sorted(m["X-Envelope-To"] for m in smtp.messages) == ["olly@force.example", "sam@force.example"]
    message = smtp.messages[0]
    assert message["Subject"] == "New task: “Approve and verify release” for case WP-1"
    assert message["From"] == "desk@force.example" and message["Message-ID"].startswith("<rd-notification-")
    assert "http://127.0.0.1:5000/tasks/" in message.get_payload(decode=True).decode()
    assert notes.deliver(mailing)["sent"] == 0 and len(smtp.messages) == 2  # never twice


def test_a_rolled_back_step_tells_nobody(mailing, smtp):
    case = start(mailing)
    notes.deliver(mailing)
    before = len(smtp.messages)
    with pytest.raises(InvalidForm):  # approval without its rationale: the step is refused
        case.complete("approve_release", SAM, {**APPROVE, "rationale": ""})
    with mailing.read() as s:
        assert s.scalars(select(Notification).where(Notification.kind == "decided")).all() == []
    notes.deliver(mailing)
    assert len(smtp.messages) == before


def test_worker_crash_between_commit_and_send_loses_nothing_and_sends_once(mailing, smtp, clock):
    start(mailing)
    # The worker claims the due notices and dies before sending any of them.
    with mailing.transaction() as s:
        claimed = notes._claim(s, clock.now, ("pending",), 50)
        assert len(claimed) == 2
    assert smtp.messages == []
    # Another worker straight away: the claims are leased to the dead worker, so nothing is sent twice.
    assert notes.deliver(mailing)["sent"] == 0 and smtp.messages == []
    # Once the lease runs out, every claimed notice goes, exactly once.
    clock.now = T0 + notes.LEASE + timedelta(seconds=1)
    assert notes.deliver(mailing)["sent"] == 2
    assert sorted(m["X-Envelope-To"] for m in smtp.messages) == ["olly@force.example", "sam@force.example"]
    clock.now += timedelta(hours=1)
    notes.deliver(mailing)
    assert len(smtp.messages) == 2


def test_mail_server_down_retries_with_back_off(mailing, smtp, clock):
    start(mailing)
    down = ReleaseDesk(mailing.settings.with_overrides(smtp_port=_free_port()), clock)  # nothing listens
    counts = notes.deliver(down)
    assert counts == {"written": 0, "sent": 0, "failed": 2}
    with mailing.read() as s:
        rows = s.scalars(select(Notification).where(Notification.email_state != "none")).all()
        assert {(r.email_state, r.attempts) for r in rows} == {("pending", 1)}
        assert all(r.last_error for r in rows)
        retry_at = min(r.next_attempt_at for r in rows).replace(tzinfo=timezone.utc)
    assert retry_at == T0 + timedelta(minutes=2)
    clock.now = T0 + timedelta(minutes=1)  # before the back-off: not tried again
    assert notes.deliver(mailing)["sent"] == 0
    clock.now = T0 + timedelta(minutes=3)  # the server is back (the real one) and the wait is over
    assert notes.deliver(mailing)["sent"] == 2 and len(smtp.messages) == 2
    down.dispose()


def test_requester_hears_of_the_decision_and_digests_wait(mailing, smtp, clock):
    case = start(mailing)
    case.complete("approve_release", SAM, APPROVE)  # opens "publish" for the press office (digest)
    notes.deliver(mailing)
    assert "Decision on case WP-1: approve" in smtp.subjects("rita@force.example")
    assert smtp.subjects("cat@force.example") == []  # cat asked for a digest
    clock.now = T0 + timedelta(minutes=61)
    second = start(mailing, "WP-2")
    second.complete("approve_release", SAM, APPROVE)  # a second publish notice for the digest
    notes.deliver(mailing)  # the first publish notice is 61 minutes old: the digest goes now
    digests = [m for m in smtp.messages if "cat@force.example" in m["X-Envelope-To"]]
    assert len(digests) == 1 and digests[0]["Subject"] == "Release Desk: 2 notifications"
    body = digests[0].get_payload(decode=True).decode()
    assert "WP-1" in body and "WP-2" in body
    notes.deliver(mailing)
    assert len([m for m in smtp.messages if "cat@force.example" in m["X-Envelope-To"]]) == 1


def test_due_soon_and_overdue_are_told_once(mailing, smtp, clock):
    case = start(mailing)
    case.complete("approve_release", SAM, APPROVE)
    case.complete("publish_appeal", Actor("cat", frozenset({"ccd"})), PUBLISH)
    case.send("person_apprehended")  # remove_appeal for the press office: due within removal_sla (4 hours)
    with mailing.transaction() as s:
        notes.set_preference(s, "cat", "cat@force.example", "immediate")
    clock.now = T0 + timedelta(hours=3, minutes=30)
    notes.deliver(mailing)
    notes.deliver(mailing)
    assert len([s for s in smtp.subjects() if s.startswith("Due within the hour")]) == 1
    clock.now += timedelta(hours=1)
    notes.deliver(mailing)
    notes.deliver(mailing)
    overdue = [m for m in smtp.messages if m["Subject"].startswith("Overdue: ")]
    assert len(overdue) == 1 and "Remove" in overdue[0]["Subject"]


def test_email_is_off_by_default(desk):
    with desk.transaction() as s:
        create_user(s, "sam", "long enough password", ["sio"])
        notes.set_preference(s, "sam", "sam@force.example", "immediate")
    start(desk)
    with desk.read() as s:
        rows = s.scalars(select(Notification)).all()
        assert [(r.recipient, r.email_state) for r in rows] == [("sam", "none")]  # listed in the app only
    assert notes.deliver(desk) == {"written": 0, "sent": 0, "failed": 0}


def test_the_worker_loop_sends_the_outbox(mailing, smtp):
    """`releasedesk worker` (and `serve`) run this loop: timers, then notifications."""
    import threading
    import time

    from web.cli import run_worker

    start(mailing)
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(mailing, 0.05, stop), daemon=True)
    worker.start()
    deadline = time.monotonic() + 10
    while len(smtp.messages) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    worker.join(5)
    assert sorted(m["X-Envelope-To"] for m in smtp.messages) == ["olly@force.example", "sam@force.example"]
