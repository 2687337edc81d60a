"""Officers' wording: plain-English labels, hints, durations and names instead of designers' notes.

Diagrams are written by designers, so their field labels sometimes carry notes meant for designers
("(ISO 8601 duration, blank: force default)"). Officers see the label alone, with the note turned
into a plain hint; durations are typed or shown as "4 hours", never as "PT4H"; option and activity
ids are always shown by their names."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

ROLE_NAMES = {
    "requester": "requester", "sio": "SIO", "oic": "OIC", "ccd": "corporate communications",
    "flo": "family liaison officer", "senior_ops": "senior officer", "head_of_comms": "head of communications",
    "designer": "designer", "manager": "manager", "admin": "administrator", "system": "the system",
}
_NOTE = re.compile(r"\s*\(([^()]*)\)\s*$")
_TECH = re.compile(r",\s*ISO 8601(?: duration)?(?=\s*\(|$)", re.IGNORECASE)  # "Review interval, ISO 8601 (...)"
_UNITS = {"minute": ("M", True), "hour": ("H", True), "day": ("D", False), "week": ("W", False),
          "month": ("M", False), "year": ("Y", False)}
_WORDS = re.compile(r"^\s*(\d{1,4})\s*(minute|min|hour|hr|day|week|month|year)s?\s*$", re.IGNORECASE)
_ISO = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")
DURATION_CHOICES = ("1 hour", "4 hours", "24 hours", "7 days", "14 days", "30 days", "90 days")


def role_name(group: str) -> str:
    return ROLE_NAMES.get(group, group.replace("_", " "))


def split_label(label: str, field_type: str | None = None) -> tuple[str, str | None]:
    """(label, hint) with a trailing designer's note turned into plain hint text."""
    label = _TECH.sub("", label or "")
    match = _NOTE.search(label)
    if not match:
        return label, None
    note = match.group(1).lower()
    hints = []
    if "blank" in note and "default" in note:
        hints.append("Leave blank to use the force's usual setting.")
    elif "blank if none" in note:
        hints.append("Leave blank if there is none.")
    elif not any(word in note for word in ("iso 8601", "digest", "e.g. p", "sha-256")):
        hints.append(match.group(1)[0].upper() + match.group(1)[1:] + ".")
    return label[:match.start()].rstrip(), " ".join(hints) or None


def duration_to_iso(text: str) -> str | None:
    """"4 hours", "30 days", "2 weeks" (or an ISO 8601 duration) as ISO 8601; None if not one."""
    text = (text or "").strip()
    if _ISO.match(text.upper()) and len(text) > 1 and text.upper() not in ("P", "PT"):
        return text.upper()
    match = _WORDS.match(text)
    if not match:
        return None
    number, unit = int(match.group(1)), match.group(2).lower()
    unit = {"min": "minute", "hr": "hour"}.get(unit, unit)
    letter, in_time = _UNITS[unit]
    return f"PT{number}{letter}" if in_time else f"P{number}{letter}"


def duration_words(value: Any) -> str:
    """"PT4H" as "4 hours"; anything that is not an ISO 8601 duration is returned unchanged."""
    match = _ISO.match(str(value or "").upper())
    if not value or not match:
        return "" if value is None else str(value)
    names = ("year", "month", "week", "day", "hour", "minute", "second")
    parts = [f"{int(n)} {name}{'' if int(n) == 1 else 's'}" for n, name in zip(match.groups(), names, strict=True) if n]
    return ", ".join(parts) or str(value)


def due_in_words(due: str | None, now: datetime) -> str:
    """"due in 3 h", "overdue by 20 min", for an ISO date-time."""
    if not due:
        return ""
    when = datetime.fromisoformat(due.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    seconds = (when - now).total_seconds()
    span = _span(abs(seconds))
    return f"overdue by {span}" if seconds < 0 else f"due in {span}"


def _span(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return "less than a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h" + (f" {minutes % 60} min" if hours < 3 and minutes % 60 else "")
    return f"{hours // 24} days"


def when_words(value: str | None) -> str:
    """An ISO date-time as "26 Nov 2026, 14:05" (UTC)."""
    if not value:
        return ""
    when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc)
    return when.strftime("%-d %b %Y, %H:%M")


def display_value(value: Any, field: dict | None = None) -> str:
    """A case variable as an officer reads it: option names, Yes/No, durations in words."""
    options = {o["id"]: o["name"] for o in (field or {}).get("options") or []}
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return ", ".join(display_value(v, field) for v in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{humanise(k)}: {display_value(v)}" for k, v in value.items())
    text = str(value)
    if text in options:
        return options[text]
    if (field or {}).get("format") == "duration" or _ISO.match(text) and len(text) > 2:
        return duration_words(text)
    if _SNAKE.match(text):  # an option or outcome id with no name to hand: at least words
        return humanise(text)
    return text


def name_decisions(records: list[dict], catalog: dict) -> None:
    """Give each audit record `decisionName`: its decision by the option's name, never its id."""
    for r in records:
        form = {f["id"]: f for f in catalog["activities"].get(r["activityId"] or "", {}).get("form", [])}
        r["decisionName"] = display_value(r["decision"], form.get("decision")) if r["decision"] else None


def humanise(identifier: str) -> str:
    """A variable or option id as words: `use_custody_image` → "Use custody image"."""
    words = str(identifier).replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def error_text(field: dict, message: str) -> str:
    """GOV.UK error wording for a missing answer ("Enter the offence"), else the engine's message."""
    if message != "This field is required.":
        return message
    label = split_label(field.get("label") or field.get("id", ""))[0]
    what = label[:1].lower() + label[1:] if label[1:2].islower() or len(label) < 2 else label
    if field.get("media"):
        return f"Upload {what}"
    if field.get("type") == "enum":
        return f"Select {what}"
    if field.get("type") == "boolean":
        return f"Tick “{label}” to continue"
    return f"Enter {what}"


_IDS = {"removal_sla": "the removal deadline", "review_interval": "the review interval"}
_IDENTIFIER = re.compile(r"\b(?:[a-z]+_[a-z0-9_]+|[a-z]+[A-Z][A-Za-z]*)\b")


def officer_note(text: str | None) -> str:
    """A diagram's documentation as officers should read it: known setting names in words, and any
    sentence still naming engine ids or properties left out (those are notes for designers)."""
    if not text:
        return ""
    for name, words in _IDS.items():
        text = text.replace(name, words)
    sentences = re.split(r"(?<=[.!?])\s+", text.strip())
    return " ".join(s for s in sentences if not _IDENTIFIER.search(s.replace("APP", "")))


def group_fields(fields: list[dict]) -> list[tuple[str, list[dict]]]:
    """Runs of three or more optional yes/no questions become one "tick all that apply" group (a
    fieldset with a legend, as GOV.UK checkboxes are); every other field stands alone."""
    groups: list[tuple[str, list[dict]]] = []
    run: list[dict] = []

    def flush() -> None:
        if len(run) >= 3:
            groups.append(("checks", list(run)))
        else:
            groups.extend(("single", [f]) for f in run)
        run.clear()
    for field in fields:
        if field.get("type") == "boolean" and not field.get("required") and not field.get("readonly"):
            run.append(field)
            continue
        flush()
        groups.append(("single", [field]))
    flush()
    return groups
