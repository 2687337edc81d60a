"""Validate submitted values against a task's camunda:formData and the task's own rules.

The result always contains every field of the form (blank optional fields become None, unchecked
booleans False), so gateways and later forms can rely on each variable existing. Values arrive from
JSON (typed) or from HTML forms (strings); both are accepted and normalised to JSON-safe values."""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from .errors import InvalidForm
from .expressions import evaluate

_TRUE = {"true", "on", "1", "yes"}
_FALSE = {"false", "off", "0", "no", ""}
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_URL = re.compile(r"^https?://[^\s]+$", re.IGNORECASE)


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
            media_exists=None) -> tuple[Any, str | None]:
    """Return (value, error). `raw` is not None and not blank here."""
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
        if isinstance(raw, bool):
            return None, "Must be a whole number."
        try:
            value = int(str(raw).strip())
        except ValueError:
            return None, "Must be a whole number."
        if "min" in field and value < field["min"]:
            return None, f"Must be at least {field['min']:g}."
        if "max" in field and value > field["max"]:
            return None, f"Must be at most {field['max']:g}."
        return value, None
    if ftype == "date":
        text = str(raw).strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text).isoformat(), None
            return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat(), None
        except ValueError:
            return None, "Must be a date (YYYY-MM-DD) or an ISO 8601 date-time."
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
        bad = [u for u in urls if not _URL.match(u)]
        if bad:
            return None, f"Not a web address: {bad[0]}"
        return urls, None
    if not isinstance(raw, str):
        return None, "Must be text."
    text = raw.strip()
    if props.get("format") == "duration" and not is_duration(text):
        return None, "Must be an ISO 8601 duration such as P30D or PT4H."
    if "minlength" in field and len(text) < field["minlength"]:
        return None, f"Must be at least {field['minlength']} characters."
    if "maxlength" in field and len(text) > field["maxlength"]:
        return None, f"Must be at most {field['maxlength']} characters."
    return text, None


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
        value, error = _coerce(field, raw, options, media_exists)
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
