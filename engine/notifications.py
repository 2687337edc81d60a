"""Notifications: what people are told, and the outbox that emails it.

Each notice is a row written in the same transaction as the step that causes it (a new task for a
group, an assignment, a take-over, a decision), so a rolled-back step tells nobody and a committed
one is never lost. The in-app list reads these rows. Email is sent later by the worker
(`deliver`): it claims due rows (pending → sending, with a lease), sends them, then marks them sent;
a failed send is retried with back-off, and a claim whose worker died is taken again when its lease
runs out. The one window that cannot be closed without two-phase commit with the mail server (sent,
then the worker dies before marking) resends once; each message carries a Message-ID derived from
the notice, so mail clients show it once."""
from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from sqlalchemy import bindparam, func, insert, null, or_, select, union_all, update
from sqlalchemy.orm import Session

from .config import Settings
from .models import (
    HumanTask,
    Notification,
    NotificationPreference,
    ProcessInstance,
    User,
    UserGroup,
)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
DUE_SOON = timedelta(hours=1)
BATCH = 50


# -- writing notices (inside the step's transaction) ---------------------------------------
#: Statements built once, on the tables (no ORM entities to load): people's email preferences,
#: notices already written (dedupe keys), the active members of some groups with their
#: preferences together with named people's preferences (group NULL), and the insert of notices.
_users, _groups, _prefs, _notices = (m.__table__ for m in (User, UserGroup, NotificationPreference, Notification))
_PREFERENCES = select(_prefs.c.username, _prefs.c.email, _prefs.c.mode) \
    .where(_prefs.c.username.in_(bindparam("names", expanding=True)))
_SEEN = select(_notices.c.dedupe_key).where(_notices.c.dedupe_key.in_(bindparam("keys", expanding=True)))
_MEMBERS = (select(_users.c.username, _groups.c.group_name, _prefs.c.email, _prefs.c.mode)
            .join(_groups, _groups.c.user_id == _users.c.id)
            .outerjoin(_prefs, _prefs.c.username == _users.c.username)
            .where(_groups.c.group_name.in_(bindparam("groups", expanding=True)), _users.c.active.is_(True)))
_PEOPLE = union_all(_MEMBERS, select(_prefs.c.username, null(), _prefs.c.email, _prefs.c.mode)
                    .where(_prefs.c.username.in_(bindparam("names", expanding=True))))
_INSERT = insert(_notices)


def notify(session: Session, settings: Settings, recipients: Iterable[str], *, kind: str, subject: str,
           body: str, now: datetime, link: str | None = None, instance_id: int | None = None,
           task_id: str | None = None, dedupe: str | None = None) -> int:
    """Write one notice per recipient; return how many were written. With `dedupe`, a recipient
    who already has a notice with that key gets nothing (the worker's scans run again and again)."""
    names = sorted(set(recipients))
    if not names:
        return 0
    with session.no_autoflush:  # the step's own row changes are flushed once, at its end
        prefs = {name: (email, mode) for name, email, mode in session.execute(_PREFERENCES, {"names": names})}
        if dedupe:
            seen = set(session.scalars(_SEEN, {"keys": [f"{dedupe}:{n}" for n in names]}))
            names = [n for n in names if f"{dedupe}:{n}" not in seen]
        if names:
            session.execute(_INSERT, [
                _notice(settings, name, *prefs.get(name, (None, None)), kind=kind, subject=subject, body=body,
                        now=now, link=link, instance_id=instance_id, task_id=task_id,
                        dedupe_key=f"{dedupe}:{name}" if dedupe else None) for name in names])
    return len(names)


def _notice(settings: Settings, recipient: str, email: str | None, mode: str | None, *, kind: str, subject: str,
            body: str, now: datetime, link: str | None, instance_id: int | None, task_id: str | None,
            dedupe_key: str | None = None) -> dict[str, Any]:
    """One row of `notifications`, emailed as the recipient's preferences say."""
    state, to = _email_delivery(settings, email, mode)
    return {"recipient": recipient, "kind": kind, "subject": subject[:300], "body": body, "link": link,
            "instance_id": instance_id, "task_id": task_id, "dedupe_key": dedupe_key, "created_at": now,
            "email_state": state, "email_to": to, "attempts": 0}


def group_members(session: Session, groups: Iterable[str]) -> list[str]:
    return list(session.scalars(select(User.username).join(UserGroup).where(
        UserGroup.group_name.in_(sorted(set(groups))), User.active.is_(True)).distinct()))


def _task_words(row: HumanTask) -> str:
    return _words(row.name, row.business_key)


def _words(name: str, business_key: str) -> str:
    return f"“{name}” for case {business_key}"


def after_step(session: Session, settings: Settings, instance: ProcessInstance, fresh: list[dict[str, Any]],
               now: datetime, exclude: str | None = None, told: list[dict[str, Any]] = ()) -> None:
    """Tell each group member about the tasks this step opened (`fresh`: the human-task rows the
    projection writer inserted), and named people what else the step did (`told`, e.g. a
    `decision_notice`). One query reads the members of every group concerned and the named people
    with their preferences, one statement writes every notice."""
    if not fresh and not told:
        return
    groups = sorted({g for row in fresh for g in row["candidate_groups"].split(",") if g})
    members: dict[str | None, dict[str, tuple[str | None, str | None]]] = {}
    for username, group, email, mode in session.execute(
            _PEOPLE, {"groups": groups, "names": sorted({n["recipient"] for n in told})}):
        members.setdefault(group, {})[username] = (email, mode)  # group None: a named person
    named = members.get(None, {})
    notices = [_notice(settings, n["recipient"], *named.get(n["recipient"], (None, None)), now=now,
                       **{k: v for k, v in n.items() if k != "recipient"}) for n in told]
    for row in fresh:
        people = {name: pref for g in row["candidate_groups"].split(",") for name, pref in members.get(g, {}).items()
                  if name != exclude}
        words = _words(row["name"], row["business_key"])
        notices.extend(_notice(settings, name, email, mode, kind="new_task", subject=f"New task: {words}",
                               body=f"A task for your group is waiting: {words}.", now=now,
                               link=f"/tasks/{row['id']}", instance_id=instance.id, task_id=row["id"])
                       for name, (email, mode) in sorted(people.items()))
    if notices:
        session.execute(_INSERT, notices)


def _email_delivery(settings: Settings, email: str | None, mode: str | None) -> tuple[str, str | None]:
    """(email state, address): email only when mail is configured and the person gave an address."""
    if settings.smtp_host and email and mode not in (None, "off"):
        return ("digest" if mode == "digest" else "pending"), email
    return "none", None


def task_assigned(session: Session, settings: Settings, row: HumanTask, *, to: str, by: str,
                  previous: str | None, now: datetime) -> None:
    """The new holder hears it was given to them; the previous holder hears it was taken."""
    if to != by:
        notify(session, settings, [to], kind="assigned", subject=f"Assigned to you: {_task_words(row)}",
               body=f"{by} assigned {_task_words(row)} to you.", now=now, link=f"/tasks/{row.id}",
               instance_id=row.instance_id, task_id=row.id)
    if previous and previous not in (to, by):
        verb = "took over" if to == by else f"assigned to {to}"
        notify(session, settings, [previous], kind="taken_over",
               subject=f"No longer yours: {_task_words(row)}",
               body=f"{by} {verb} {_task_words(row)}, which you held.", now=now,
               link=f"/tasks/{row.id}", instance_id=row.instance_id, task_id=row.id)


def decision_notice(instance: ProcessInstance, *, activity: str, decision: Any, by: str) -> list[dict[str, Any]]:
    """Whoever asked for the case hears of a decision on it (unless they took it themselves): the
    notice, for `after_step` to write with the step's others."""
    if instance.started_by in (by, "system"):
        return []
    words = str(decision).replace("_", " ")
    return [{"recipient": instance.started_by, "kind": "decided",
             "subject": f"Decision on case {instance.business_key}: {words}",
             "body": f"{by} recorded “{words}” at “{activity}” on case {instance.business_key}.",
             "link": None, "instance_id": instance.id, "task_id": None}]


def scan_due(session: Session, settings: Settings, now: datetime) -> int:
    """Due within the hour, and overdue: once per task and person (the dedupe key)."""
    written = 0
    rows = session.scalars(select(HumanTask).where(
        HumanTask.state == "open", HumanTask.due_at.is_not(None), HumanTask.due_at <= now + DUE_SOON)
        .order_by(HumanTask.due_at).limit(500))
    for row in rows:
        due = row.due_at if row.due_at.tzinfo else row.due_at.replace(tzinfo=now.tzinfo)
        kind = "overdue" if due <= now else "due_soon"
        people = [row.assignee] if row.assignee else group_members(session, row.candidate_group_list)
        subject = ("Overdue: " if kind == "overdue" else "Due within the hour: ") + _task_words(row)
        written += notify(session, settings, people, kind=kind, subject=subject, body=subject + ".", now=now,
                          link=f"/tasks/{row.id}", instance_id=row.instance_id, task_id=row.id,
                          dedupe=f"{kind}:{row.id}")
    return written


# -- reading (the in-app list) ---------------------------------------------------------------
def unread_count(session: Session, username: str) -> int:
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.recipient == username, Notification.read_at.is_(None))) or 0


def list_for(session: Session, username: str, limit: int = 100) -> list[Notification]:
    return list(session.scalars(select(Notification).where(Notification.recipient == username)
                                .order_by(Notification.id.desc()).limit(limit)))


def mark_read(session: Session, username: str, now: datetime, ids: Iterable[int] | None = None) -> None:
    q = update(Notification).where(Notification.recipient == username, Notification.read_at.is_(None))
    if ids is not None:
        q = q.where(Notification.id.in_(list(ids)))
    session.execute(q.values(read_at=now))


def preference(session: Session, username: str) -> NotificationPreference:
    return session.get(NotificationPreference, username) or NotificationPreference(
        username=username, email=None, mode="immediate")


def set_preference(session: Session, username: str, email: str | None, mode: str) -> NotificationPreference:
    pref = session.get(NotificationPreference, username)
    if pref is None:
        pref = NotificationPreference(username=username)
        session.add(pref)
    pref.email, pref.mode = email, mode
    session.flush()
    return pref


# -- delivering email (the worker) ---------------------------------------------------------
Send = Callable[[EmailMessage], None]


def smtp_sender(settings: Settings) -> Send:
    def send(message: EmailMessage) -> None:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            smtp.send_message(message)
    return send


def _message(settings: Settings, to: str, subject: str, text: str, key: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    domain = settings.smtp_from.rpartition("@")[2] or "release-desk"
    message["Message-ID"] = f"<{key}@{domain}>" if key else make_msgid()
    message.set_content(text)
    return message


def _claim(session: Session, now: datetime, states: tuple[str, ...], limit: int) -> list[Notification]:
    """Rows due for sending, marked `sending` with a lease; an expired lease (its worker died) is
    claimed again."""
    rows = list(session.scalars(select(Notification).where(
        or_(Notification.email_state.in_(states),
            (Notification.email_state == "sending") & (Notification.next_attempt_at <= now)),
        or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now))
        .order_by(Notification.id).limit(limit).with_for_update()))
    for row in rows:
        row.email_state = "sending"
        row.next_attempt_at = now + LEASE
        row.attempts += 1
    return rows


def deliver(desk, now: datetime | None = None, send: Send | None = None) -> dict[str, int]:
    """Scan for due/overdue tasks, then email what is due. Returns counts (sent, failed, written)."""
    settings: Settings = desk.settings
    now = now or desk.clock()
    counts = {"written": 0, "sent": 0, "failed": 0}
    with desk.transaction() as s:
        counts["written"] = scan_due(s, settings, now)
    if not settings.smtp_host and send is None:
        return counts
    send = send or smtp_sender(settings)
    with desk.transaction() as s:
        claimed = [(r.id, r.email_to, r.subject, r.body, r.link, r.attempts)
                   for r in _claim(s, now, ("pending",), BATCH)]
    for nid, to, subject, body, link, attempts in claimed:
        text = body + (f"\n\nOpen it: {settings.public_url.rstrip('/')}{link}\n" if link else "\n")
        text += "\nYou can change how you are notified under Notifications in Release Desk.\n"
        message = _message(settings, to, subject, text, f"rd-notification-{nid}")
        _attempt(desk, [nid], attempts, now, lambda message=message: send(message), counts)
    _deliver_digests(desk, settings, now, send, counts)
    return counts


def _attempt(desk, ids: list[int], attempts: int, now: datetime, action: Callable[[], None],
             counts: dict[str, int], retry_state: str = "pending") -> None:
    """Run one send; mark the rows sent, or due again after a back-off (failed after MAX_ATTEMPTS)."""
    try:
        action()
    except (OSError, smtplib.SMTPException) as exc:
        failed = attempts >= MAX_ATTEMPTS
        with desk.transaction() as s:
            s.execute(update(Notification).where(Notification.id.in_(ids)).values(
                email_state="failed" if failed else retry_state,
                next_attempt_at=now + timedelta(minutes=min(2 ** attempts, 120)),
                last_error=str(exc)[:300]))
        counts["failed"] += len(ids)
        return
    with desk.transaction() as s:
        s.execute(update(Notification).where(Notification.id.in_(ids)).values(
            email_state="sent", sent_at=now, next_attempt_at=None, last_error=None))
    counts["sent"] += len(ids)


def _deliver_digests(desk, settings: Settings, now: datetime, send: Send, counts: dict[str, int]) -> None:
    """One email per person listing their digest notices, once the oldest has waited digest_minutes."""
    cutoff = now - timedelta(minutes=settings.digest_minutes)
    with desk.transaction() as s:
        people = list(s.scalars(select(Notification.recipient).where(
            Notification.email_state == "digest", Notification.created_at <= cutoff,
            or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now)).distinct()))
    for person in people:
        with desk.transaction() as s:
            rows = list(s.scalars(select(Notification).where(
                Notification.recipient == person, Notification.email_state == "digest",
                or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now))
                .order_by(Notification.id).with_for_update()))
            if not rows:
                continue
            for r in rows:
                r.next_attempt_at, r.attempts = now + LEASE, r.attempts + 1
            ids, to, attempts = [r.id for r in rows], rows[0].email_to, max(r.attempts for r in rows)
            lines = [f"- {r.subject}" + (f" ({settings.public_url.rstrip('/')}{r.link})" if r.link else "")
                     for r in rows]
        subject = f"Release Desk: {len(ids)} notification{'s' if len(ids) != 1 else ''}"
        text = "Since your last summary:\n\n" + "\n".join(lines) + "\n"
        message = _message(settings, to, subject, text, f"rd-digest-{ids[0]}-{ids[-1]}")
        _attempt(desk, ids, attempts, now, lambda message=message: send(message), counts, retry_state="digest")

