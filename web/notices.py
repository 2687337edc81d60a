"""The signed-in person's notifications (newest first, unread marked) and how they want email."""
from __future__ import annotations

import re

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine import notifications as notes

from .auth import web_actor
from .redirects import safe_next

bp = Blueprint("notices", __name__)
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")
MODE_LABELS = {"immediate": "Email each notification as it happens",
               "digest": "Email a summary at most once an hour",
               "off": "Do not email me (show them here only)"}


def desk():
    return current_app.extensions["releasedesk"]


def _page(me: str, pref=None, errors: dict | None = None, status: int = 200):
    with desk().read() as s:
        rows = [{"id": n.id, "subject": n.subject, "body": n.body, "link": n.link, "kind": n.kind,
                 "at": n.created_at.isoformat(), "unread": n.read_at is None} for n in notes.list_for(s, me)]
        pref = pref or notes.preference(s, me)
    return render_template("notifications.html", items=rows, pref=pref, modes=MODE_LABELS, errors=errors or {},
                           email_on=bool(desk().settings.smtp_host)), status


@bp.get("/notifications")
@login_required
def notifications():
    return _page(web_actor().username)


@bp.post("/notifications/<int:notice_id>/open")
@login_required
def open_notice(notice_id: int):
    """Follow a notice's link, marking it read on the way (only the person's own notices, only
    links inside the service)."""
    me = web_actor().username
    with desk().transaction() as s:
        notes.mark_read(s, me, desk().clock(), [notice_id])
        notice = s.get(notes.Notification, notice_id)
        link = notice.link if notice is not None and notice.recipient == me else None
    return redirect(safe_next(link, url_for("notices.notifications")))


@bp.post("/notifications/read")
@login_required
def mark_read():
    with desk().transaction() as s:
        notes.mark_read(s, web_actor().username, desk().clock())
    flash("All notifications marked as read.", "success")
    return redirect(url_for("notices.notifications"))


@bp.post("/notifications/settings")
@login_required
def settings():
    me = web_actor().username
    email = (request.form.get("email") or "").strip()
    mode = request.form.get("mode") or ""
    errors = {}
    if email and not EMAIL.match(email):
        errors["email"] = "Enter an email address in the correct format, like name@example.police.uk"
    if mode not in MODE_LABELS:
        errors["mode"] = "Select how you want to be emailed"
    if errors:
        return _page(me, notes.NotificationPreference(username=me, email=email, mode=mode), errors, 400)
    with desk().transaction() as s:
        notes.set_preference(s, me, email or None, mode)
    flash("Your notification settings were saved.", "success")
    return redirect(url_for("notices.notifications"))
