"""Pages every signed-in person shares: the accessibility statement, and the wording helpers
(filters and globals) that keep designers' notes and ids off officers' pages."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from . import officer_text as text

bp = Blueprint("pages", __name__)


@bp.get("/accessibility")
def accessibility():
    return render_template("accessibility.html")


@bp.app_template_filter("officer_label")
def _officer_label(label: str) -> str:
    return text.split_label(label)[0]


@bp.app_template_filter("officer_label_hint")
def _officer_label_hint(label: str) -> tuple[str, str | None]:
    return text.split_label(label)


bp.add_app_template_filter(text.role_name, "role_name")
bp.add_app_template_filter(text.duration_words, "duration_words")
bp.add_app_template_filter(text.when_words, "when_words")
bp.add_app_template_filter(text.display_value, "display_value")
bp.add_app_template_filter(text.humanise, "humanise")
bp.add_app_template_global(text.error_text, "error_text")
bp.add_app_template_filter(text.officer_note, "officer_note")
bp.add_app_template_filter(text.group_fields, "group_fields")


@bp.app_context_processor
def _globals() -> dict:
    def unread_notifications() -> int:
        if not (current_user and current_user.is_authenticated):
            return 0
        from engine.notifications import unread_count
        with current_app.extensions["releasedesk"].read() as s:
            return unread_count(s, current_user.actor.username)
    return {"duration_choices": text.DURATION_CHOICES, "nav_endpoints": current_app.view_functions,
            "unread_notifications": unread_notifications}
