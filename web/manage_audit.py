"""The audit trail for managers: search it (user, action, dates, case), export what was found as CSV
or JSON, and verify chains, signed checkpoints and their exported copy exactly as `releasedesk audit
verify` does."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime

from flask import Response, render_template, request
from flask_login import login_required

from engine import queries as q

from .manage_common import bp, date_arg, desk, int_arg, require_manager

PAGE_SIZE = 100
EXPORT_BATCH = 1000
ACTIONS = ("start", "claim", "unclaim", "complete", "decision_table", "message", "timer", "end", "cancel",
           "deploy", "migrate", "download")
CSV_COLUMNS = ("seq", "at", "actor", "group", "action", "processInstanceId", "businessKey", "activityId",
               "activityName", "decision", "rationale", "data", "hash", "prevHash")


def _filters() -> dict:
    return {"actor": (request.values.get("user") or "").strip() or None,
            "action": request.values.get("action") or None,
            "since": date_arg("since"), "until": date_arg("until", end_of_day=True),
            "text": (request.values.get("q") or "").strip() or None,
            "instance_id": int_arg("instance", None, request.values)}


def _matches(record: dict, f: dict) -> bool:
    at = datetime.fromisoformat(record["at"].replace("Z", "+00:00"))
    return ((not f["actor"] or record["actor"] == f["actor"]) and (not f["action"] or record["action"] == f["action"])
            and (not f["since"] or at >= f["since"]) and (not f["until"] or at < f["until"])
            and (not f["text"] or f["text"] in (record["businessKey"], record["activityId"])))


def _records(session, f: dict, limit: int, offset: int) -> list[dict]:
    """Newest first. One case's trail is short: read it whole and filter here; the global search
    runs in SQL on the indexed columns."""
    if f["instance_id"] is not None:
        rows = [r for r in reversed(q.audit_trail(session, f["instance_id"])) if _matches(r, f)]
        return rows[offset:offset + limit]
    return q.search_audit(session, actor=f["actor"], action=f["action"], since=f["since"], until=f["until"],
                          text=f["text"], limit=limit, offset=offset)


def _args() -> dict:
    return {k: v for k, v in request.values.items() if k not in ("page", "csrf_token", "format") and v}


@bp.get("/audit")
@login_required
def audit():
    require_manager()
    return _render_audit()


def _render_audit(verify_result=None):
    f = _filters()
    page = max(1, int_arg("page", 1, request.values))
    with desk().transaction() as s:
        rows = _records(s, f, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
    has_next = len(rows) > PAGE_SIZE
    return render_template("manage/audit.html", records=rows[:PAGE_SIZE], page=page, has_next=has_next,
                           args=_args(), actions=ACTIONS, verify=verify_result)


@bp.post("/audit/verify")
@login_required
def audit_verify():
    """The same check as `releasedesk audit verify [--instance ID]`, shown on the audit page."""
    require_manager()
    result = desk().verify_audit(int_arg("instance", None, request.form))
    text, *notes = str(result).split("\n")
    return _render_audit({"ok": result.ok, "text": text, "notes": notes, "checked": result.checked,
                          "badSeq": result.bad_seq, "badCheckpoint": result.bad_checkpoint})


# A formula character (ASCII or full-width) at the start of a cell, or of any part of it that a
# spreadsheet opened with ";" as the separator would read as a cell of its own.
_FORMULA = re.compile(r"(^|;)(\s*)(?=[=+\-@\t\r\uff1d\uff0b\uff0d\uff20])")


def _csv_cell(value) -> str:
    """Text as written, except that a spreadsheet must never execute it: each formula character at
    the start of the cell or of a ";"-separated part gets a leading apostrophe."""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = "" if value is None else str(value)
    return _FORMULA.sub(lambda m: f"{m.group(1)}{m.group(2)}'", text)


@bp.get("/audit/export")
@login_required
def audit_export():
    """Every record matching the filters (not just one page), oldest first; JSON is verbatim."""
    require_manager()
    f = _filters()
    fmt = request.args.get("format", "csv")
    records: list[dict] = []
    with desk().transaction() as s:
        offset = 0
        while True:
            batch = _records(s, f, EXPORT_BATCH, offset)
            records.extend(batch)
            offset += EXPORT_BATCH
            if len(batch) < EXPORT_BATCH:
                break
    records.reverse()
    name = f"audit-{f['instance_id']}" if f["instance_id"] is not None else "audit"
    if fmt == "json":
        body = json.dumps(records, ensure_ascii=False, indent=1)
        response = Response(body, mimetype="application/json")
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.json"'
        return response
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in records:
        writer.writerow([_csv_cell(r.get(c)) for c in CSV_COLUMNS])
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response
