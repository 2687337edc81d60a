"""Managers see incidents on the dashboard and the case page, and retry one by hand (audited);
other roles cannot."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import SYSTEM, ReleaseDesk
from engine.deployment import deploy
from engine.models import AuditRecord
from tests.conftest import PASSWORD
from tests.engine.driver import Case
from web.app import create_app

from .diagrams import timer_process
from .test_incidents import POISON


@pytest.fixture
def desk(web_desk):
    """Two hours from now, when the one-hour timers of the cases started below are due."""
    later = web_desk.clock() + timedelta(hours=2)
    desk = ReleaseDesk(web_desk.settings, clock=lambda: later)
    yield desk
    desk.dispose()


def _login(client, username: str):
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token}).status_code == 302


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _poisoned_case(web_desk, desk, actors, key: str) -> Case:
    """A case whose one-hour timer was fired (and failed) by the worker two hours later."""
    with web_desk.transaction() as s:
        deploy(s, [("poison.bpmn", timer_process("poison", POISON))], SYSTEM, web_desk.clock())
    case = Case(web_desk, "poison", key, {}, actors["requester"])
    desk.fire_due_timers()
    return case


def test_managers_see_incidents_and_retry_by_hand(web_desk, desk, actors):
    case = _poisoned_case(web_desk, desk, actors, "P-WEB")
    client = create_app(desk.settings, desk=desk).test_client()
    _login(client, "max")

    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert re.search(r'id="tile-incidents"><strong>1</strong> incidents', dashboard)
    assert "P-WEB" in dashboard and "After_poison" in dashboard and "whole numbers are limited" in dashboard

    page = client.get(f"/instances/{case.id}").get_data(as_text=True)
    incident_id = re.search(r'data-incident="(\d+)"', page).group(1)
    assert "Retry now" in page and "whole numbers are limited" in page

    answer = client.post(f"/incidents/{incident_id}/retry", data={"csrf_token": _token(page)})
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/instances/{case.id}#incidents")
    page = client.get(f"/instances/{case.id}").get_data(as_text=True)
    assert "failed again" in page and re.search(r"<td>2</td>", page)  # still failing: two attempts now
    with desk.read() as s:
        retries = s.scalars(select(AuditRecord).where(AuditRecord.action == "incident_retry")).all()
    assert [(r.actor, r.instance_id) for r in retries] == [("max", case.id)]


def test_other_roles_cannot_retry(web_desk, desk, actors):
    _poisoned_case(web_desk, desk, actors, "P-WEB2")
    client = create_app(desk.settings, desk=desk).test_client()
    _login(client, "sam")
    token = _token(client.get("/inbox").get_data(as_text=True))
    assert client.post("/incidents/1/retry", data={"csrf_token": token}).status_code == 403
