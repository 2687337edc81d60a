"""A small driver that walks a case through the engine the way users do: each step is its own
transaction, so every step is a save/restore round trip through the database."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from engine import Actor, ReleaseDesk, queries
from engine.models import DisclosureEntry
from web.demo import sample_png

LEGAL_CLEAR = {
    "subject_is_juvenile": False, "reporting_restrictions_lifted": False,
    "reporting_restrictions_in_place": False, "proceedings_active": False, "identity_in_issue": False,
    "sexual_offence_complainant_depicted": False, "court_order_prevents_release": False,
}


class Case:
    def __init__(self, desk: ReleaseDesk, key: str, business_key: str, variables: dict[str, Any],
                 actor: Actor) -> None:
        self.desk = desk
        with desk.transaction() as s:
            self.view = desk.runtime.start(s, key, business_key, variables, actor)
        self.id = self.view["id"]
        self.business_key = business_key

    def refresh(self) -> dict[str, Any]:
        with self.desk.transaction() as s:
            self.view = queries.instance_view(s, queries.get_instance(s, self.id))
        return self.view

    @property
    def state(self) -> str:
        return self.refresh()["state"]

    @property
    def variables(self) -> dict[str, Any]:
        return self.refresh()["variables"]

    def open_tasks(self) -> list[dict[str, Any]]:
        manager = Actor("auditor", frozenset({"manager"}))
        with self.desk.transaction() as s:
            return queries.list_tasks(s, manager, instance_id=self.id)

    def open_activities(self) -> list[str]:
        return sorted(t["activityId"] for t in self.open_tasks())

    def task(self, activity_id: str) -> dict[str, Any]:
        found = [t for t in self.open_tasks() if t["activityId"] == activity_id]
        assert found, f"{activity_id} is not open; open: {self.open_activities()}; view: {self.refresh()['activeActivities']}"
        return found[0]

    def complete(self, activity_id: str, actor: Actor, values: dict[str, Any]) -> dict[str, Any]:
        task = self.task(activity_id)
        with self.desk.transaction() as s:
            self.view = self.desk.runtime.complete(s, task["id"], actor, values)
        return self.view

    def send(self, message: str, variables: dict[str, Any] | None = None, actor: Actor | None = None) -> list[int]:
        """Send `message` as an officer allowed to (the OIC by default), with the note the pathways'
        messages require unless `variables` are given."""
        actor = actor or Actor("olly", frozenset({"oic", "sio"}))
        if variables is None:
            variables = {"note": "Reported by PC 123 at 10:05"} if message != "mini_done" else {}
        with self.desk.transaction() as s:
            return self.desk.runtime.correlate(s, message, self.business_key, variables or {}, actor)

    def advance(self, **delta) -> list:
        """Fire the timers that would be due after `delta` (days=, hours=) from now."""
        return self.desk.fire_due_timers(datetime.now(timezone.utc) + timedelta(**delta))

    def audit(self) -> list[dict[str, Any]]:
        with self.desk.transaction() as s:
            return queries.audit_trail(s, self.id)


def media(desk: ReleaseDesk, rgb: tuple[int, int, int] = (31, 58, 104), name: str = "image.png",
          uploader: str = "rita") -> str:
    """Store a small real PNG as an attachment uploaded by `uploader`; return its digest."""
    with desk.transaction() as s:
        return desk.runtime.media.store(s, sample_png(rgb), name, uploader, desk.clock()).digest


def disclosures(desk: ReleaseDesk, case: Case) -> list[DisclosureEntry]:
    with desk.transaction() as s:
        rows = list(s.scalars(select(DisclosureEntry).where(DisclosureEntry.instance_id == case.id)))
        s.expunge_all()
        return rows


def decisions(case: Case) -> list[tuple[str, str, str | None, str | None]]:
    """(activity, actor, decision, rationale) of each completed task, in order."""
    return [(r["activityId"], r["actor"], r["decision"], r["rationale"])
            for r in case.audit() if r["action"] == "complete"]
