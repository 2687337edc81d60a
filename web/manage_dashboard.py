"""The managers' dashboard: workload per role, what is late, what is still published, outcomes and
decision times. Every figure is one SQL aggregate over projection tables (engine.reports)."""
from __future__ import annotations

from flask import render_template
from flask_login import login_required

from engine import incidents, reports

from .manage_charts import bar_chart, stacked_chart
from .manage_common import bp, desk, now, pathway_names, require_manager
from .officer_text import role_name


def _outcome_label(row: dict) -> str:
    if row["state"] == "active":
        return "In progress"
    return row["outcome"] or row["state"].capitalize()


@bp.get("/dashboard")
@login_required
def dashboard():
    require_manager()
    at = now()
    with desk().read() as s:
        data = reports.dashboard(s, at)
        names = pathway_names(s)
        open_incidents = incidents.list_open(s)
    outcomes: dict[str, list[tuple[str, int]]] = {}
    for row in data["outcomes"]:
        outcomes.setdefault(names.get(row["key"], row["key"]), []).append((_outcome_label(row), row["count"]))
    charts = {
        "groups": bar_chart([(role_name(r["group"]), r["open"]) for r in data["openByGroup"]]),
        "outcomes": stacked_chart(outcomes),
        "median": bar_chart([(names.get(k, k), v["medianHours"]) for k, v in data["medianDecision"].items()], " h"),
        "live": bar_chart([(r["businessKey"], r["ageDays"]) for r in data["live"][:15]], " d"),
    }
    totals = {"open": data["openTotal"], "overdue": len(data["overdue"]),
              "removals": sum(1 for t in data["overdue"] if t["removal"]), "live": len(data["live"]),
              "incidents": len(open_incidents)}
    return render_template("manage/dashboard.html", data=data, charts=charts, names=names, totals=totals, now=at,
                           incidents=open_incidents)
