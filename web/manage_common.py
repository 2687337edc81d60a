"""What every managers' and designers' page shares: the blueprint, access rules and query parsing.

The pages live in manage_*.py modules (dashboard, cases, definitions, designer, audit) that add their
routes to this one blueprint, so endpoint names stay `manage.<page>` for templates and links."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from flask import Blueprint, current_app, request

from engine import InvalidForm
from engine import queries as q

from .auth import require_groups
from .errors import int_arg  # noqa: F401  (re-exported for the page modules)

bp = Blueprint("manage", __name__)

MANAGERS = ("manager",)
DESIGN_READERS = ("designer", "manager")
DESIGNERS = ("designer",)


def desk():
    return current_app.extensions["releasedesk"]


def now() -> datetime:
    return desk().clock()


def require_manager() -> None:
    require_groups(*MANAGERS)


def require_design_reader() -> None:
    require_groups(*DESIGN_READERS)


def date_arg(name: str, end_of_day: bool = False) -> datetime | None:
    """A yyyy-mm-dd query argument as the UTC start of that day (or of the next day, for 'to' bounds)."""
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise InvalidForm("Invalid request.", {name: "Use a date as yyyy-mm-dd."})
    start = datetime.combine(day, time(0, 0), timezone.utc)
    return start + timedelta(days=1) if end_of_day else start


def pathway_names(session) -> dict[str, str]:
    return {d.key: d.name for d in q.latest_definitions(session)}


@bp.context_processor
def _pathway_menu() -> dict:
    """The "Pathways" menu of the second navigation bar, on every page of this blueprint."""
    with desk().read() as s:
        return {"manage_pathways": sorted(pathway_names(s).items(), key=lambda kv: kv[1])}
