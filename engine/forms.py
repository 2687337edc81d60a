"""Validate submitted values against a task's camunda:formData and the task's own rules.

The result always contains every field of the form (blank optional fields become None, unchecked
booleans False), so gateways and later forms can rely on each variable existing. Values arrive from
JSON (typed) or from HTML forms (strings); both are accepted and normalised to JSON-safe values.

Every value is also checked against bounds (FormLimits), so a case can never hold a value that makes
its next step fail for good: a duration of P999999999D (a timer that can never be computed), a
date-time where a date is expected (a timer expression that appends a time), numbers past 64 bits,
megabytes of text, or lists of thousands of entries."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from .errors import InvalidForm
from .expressions import evaluate

_TRUE = {"true", "on", "1", "yes"}
_FALSE = {"false", "off", "0", "no", ""}
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_URL = re.compile(r"^https?://[^\s]+$", re.IGNORECASE)
_WHOLE = re.compile(r"^[+-]?[0-9]{1,19}$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
INT64 = (-(2 ** 63), 2 ** 63 - 1)
MAX_URL_CHARS = 2000


@dataclass(frozen=True)
class FormLimits:
    """Bounds on submitted values; the durations come from settings (force policy)."""

    max_text: int = 20_000  # characters in a text field without its own maxlength
    max_items: int = 100  # entries in a list field (attachments, web addresses, options)
    min_duration: timedelta = timedelta(minutes=1)
    max_duration: timedelta = timedelta(days=3660)
    min_year: int = 1900
    max_year: int = 2199


DEFAULT_LIMITS = FormLimits()


def duration_error(text: str, limits: FormLimits = DEFAULT_LIMITS) -> str | None:
    """Why `text` is not an acceptable ISO 8601 duration, or None when it is."""
    if not is_duration(text):
        return "Must be an ISO 8601 duration such as P30D or PT4H."
    now = datetime.now(timezone.utc)
    try:
        length = TimerEventDefinition.get_timedelta_from_start(TimerEventDefinition.parse_iso_duration(text), now)
    except (OverflowError, ValueError):
        length = None
    if length is None or length > limits.max_duration or length < limits.min_duration:
        return (f"Must be between {_describe(limits.min_duration)} and {_describe(limits.max_duration)}.")
    return None


def _describe(span: timedelta) -> str:
    if span.days and not span.seconds:
        return f"{span.days} day{'s' if span.days != 1 else ''}"
    minutes = int(span.total_seconds() // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def is_duration(text: str) -> bool:
    if not isinstance(text, str) or not text.upper().startswith("P"):
        return False
    try:
        TimerEventDefinition.parse_iso_duration(text)
        return True
    except Exception:
        return False


def _split(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in re.split(r"[\s,]+", str(value)) if part.strip()]


def options_for(field: dict[str, Any], settings_options: dict[str, Iterable[str]] | None) -> list[dict[str, str]]:
    source = field.get("properties", {}).get("optionsFrom")
    if source and settings_options and source in settings_options:
        return [{"id": o, "name": o.replace("_", " ").capitalize()} for o in settings_options[source]]
    return field.get("options", [])


def _coerce(field: dict[str, Any], raw: Any, options: list[dict[str, str]],
            media_exists=None, limits: FormLimits = DEFAULT_LIMITS) -> tuple[Any, str | None]:
    """Return (value, error). `raw` is not None and not blank here."""
    value, error = _coerce_type(field, raw, options, media_exists, limits)
    if error is None and isinstance(value, list) and len(value) > limits.max_items:
        return None, f"At most {limits.max_items} entries."
    return value, error


def _coerce_type(field, raw, options, media_exists, limits: FormLimits) -> tuple[Any, str | None]:
    ftype, props = field["type"], field.get("properties", {})
    if ftype == "boolean":
        if isinstance(raw, bool):
            return raw, None
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True, None
        if text in _FALSE:
            return False, None
        return None, "Must be true or false."
    if ftype == "long":
        if isinstance(raw, bool) or isinstance(raw, float) and not raw.is_integer():
            return None, "Must be a whole number."
        text = str(int(raw)) if isinstance(raw, float) else str(raw).strip()
        if not _WHOLE.match(text) or not INT64[0] <= int(text) <= INT64[1]:
            return None, "Must be a whole number (digits 0-9, within 64 bits)."
        value = int(text)
        if "min" in field and value < field["min"]:
            return None, f"Must be at least {field['min']:g}."
        if "max" in field and value > field["max"]:
            return None, f"Must be at most {field['max']:g}."
        return value, None
    if ftype == "date":
        return _coerce_date(str(raw).strip(), props.get("format") == "datetime", limits)
    if ftype == "enum":
        valid = {o["id"] for o in options}
        if props.get("multiple") == "true":
            chosen = _split(raw)
            bad = [c for c in chosen if c not in valid]
            if bad:
                return None, f"Unknown option(s): {', '.join(bad)}."
            return chosen, None
        if isinstance(raw, (list, dict)) or str(raw) not in valid:
            return None, "Choose one of: " + ", ".join(sorted(valid)) + "."
        return str(raw), None
    # string and its hints
    if props.get("media") == "true":
        digests = _split(raw)
        bad = [d for d in digests if not _DIGEST.match(d)]
        if bad:
            return None, "Attachments are referenced by their SHA-256 digest."
        missing = [d for d in digests if media_exists is not None and not media_exists(d)]
        if missing:
            return None, f"Unknown attachment(s): {', '.join(m[:12] for m in missing)}."
        return digests, None
    if props.get("format") == "url-list":
        urls = _split(raw)
        bad = [u for u in urls if not _URL.match(u) or len(u) > MAX_URL_CHARS]
        if bad:
            return None, f"Not a web address: {bad[0][:100]}"
        return urls, None
    if not isinstance(raw, str):
        return None, "Must be text."
    text = raw.strip()
    if props.get("format") == "duration":
        error = duration_error(text, limits)
        if error:
            return None, error
    if "minlength" in field and len(text) < field["minlength"]:
        return None, f"Must be at least {field['minlength']} characters."
    longest = min(field.get("maxlength", limits.max_text), limits.max_text)
    if len(text) > longest:
        return None, f"Must be at most {longest:,} characters."
    return text, None


def _coerce_date(text: str, moment: bool, limits: FormLimits) -> tuple[Any, str | None]:
    """A moment (format "datetime", e.g. when a person was found): a date-time is what is asked for.
    Otherwise a date only: timers build deadlines from these ("conviction_date + 'T23:59:59+00:00'"),
    so a date-time here would break the case's next step for good."""
    try:
        if moment:
            value = datetime.fromisoformat(text.replace("Z", "+00:00")) if len(text) <= 40 else None
        else:
            value = date.fromisoformat(text) if _DATE.match(text) else None
    except ValueError:
        value = None
    if value is None:
        return None, "Must be a date and time, such as 2026-11-26T14:00." if moment else "Must be a date as YYYY-MM-DD."
    if not limits.min_year <= value.year <= limits.max_year:
        return None, f"Must be a date between {limits.min_year} and {limits.max_year}."
    return value.isoformat(), None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def validate_form(
    fields: list[dict[str, Any]],
    values: dict[str, Any],
    *,
    rules: list[dict[str, str]] | None = None,
    context: dict[str, Any] | None = None,
    settings_options: dict[str, Iterable[str]] | None = None,
    media_exists=None,
    html: bool = False,
    limits: FormLimits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """Return clean values for every field, or raise InvalidForm with a message per field.

    `html=True` reads an absent boolean as False (an unticked checkbox sends nothing)."""
    if not isinstance(values, dict):
        raise InvalidForm("Variables must be a JSON object.", {"variables": "Must be an object."})
    errors: dict[str, str] = {}
    known = {f["id"] for f in fields}
    for name in values:
        if name not in known:
            errors[name] = "Unknown field: this form does not have it."
    clean: dict[str, Any] = {}
    for field in fields:
        fid = field["id"]
        raw = values.get(fid)
        options = options_for(field, settings_options)
        if field.get("readonly"):
            if fid in values and raw != field.get("default") and not _blank(raw):
                errors[fid] = "This field is read-only."
            raw = field.get("default")
        if field["type"] == "boolean" and raw is None and html:
            raw = False
        if _blank(raw) and field.get("default") not in (None, "") and fid not in values:
            raw = field["default"]
        if _blank(raw):
            if field.get("required"):
                errors[fid] = "This field is required."
            # An unanswered optional yes/no is a "no", as an unticked checkbox is.
            clean[fid] = False if field["type"] == "boolean" else None
            if field["type"] in ("enum",) and field.get("properties", {}).get("multiple") == "true":
                clean[fid] = []
            continue
        value, error = _coerce(field, raw, options, media_exists, limits)
        if error:
            errors[fid] = error
        else:
            clean[fid] = value
    if not errors and rules:
        names = dict(context or {})
        names.update(clean)
        for rule in rules:
            try:
                ok = bool(evaluate(rule["expression"], names))
            except Exception as exc:  # a rule naming a missing variable is a diagram bug
                ok, rule = False, {**rule, "message": f"{rule['message']} ({exc})"}
            if not ok:
                errors[rule["field"]] = rule["message"]
    if errors:
        raise InvalidForm("The form has errors.", errors)
    return clean
