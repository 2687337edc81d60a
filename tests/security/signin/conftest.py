"""Security tests: each attacks one gap the way an outsider or a colleague would, through HTTP, the
command line or real Chromium, on a real database (both backends where storage is involved)."""
from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta, timezone

import pytest

from engine import Actor, ReleaseDesk
from engine.users import create_user
from tests.browser.conftest import _free_port
from tests.conftest import PASSWORD, _settings
from tests.engine.driver import LEGAL_CLEAR
from tests.web.conftest import basic  # noqa: F401  (the signin tests import it from here)
from web.app import create_app
from web.demo import sample_png

PEOPLE = {"rita": ["requester"], "sam": ["sio"], "olly": ["oic"], "max": ["manager"]}


class Clock:
    """Real time unless moved on: sessions' idle limits are tested without sleeping."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, **kw) -> None:
        self.offset += timedelta(**kw)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sec_desk(db_url, tmp_path, clock):
    """A desk on SQLite and on PostgreSQL with the shipped workflows and four people."""
    desk = ReleaseDesk(_settings(db_url, tmp_path), clock=clock)
    with desk.transaction() as s:
        for name, groups in PEOPLE.items():
            create_user(s, name, PASSWORD, groups)
    yield desk
    desk.dispose()


@pytest.fixture
def app(sec_desk):
    return create_app(sec_desk.settings, desk=sec_desk)


@pytest.fixture
def client(app):
    return app.test_client()


def csrf(client, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, username: str, password: str = PASSWORD, **kw):
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf(client)}, **kw)


def sign_out(client):
    return client.post("/logout", data={"csrf_token": csrf(client, "/inbox")})


def start_case(desk, key: str = "WP-SEC-1") -> int:
    """A wanted-person case waiting for the OIC's approval."""
    rita = Actor("rita", frozenset({"requester"}))
    with desk.transaction() as s:
        digest = desk.runtime.media.store(s, sample_png(), "suspect.png", "rita", desk.clock()).digest
        view = desk.runtime.start(s, "wanted_person", key, {
            "summary": "Wanted for burglary", "person_description": "Male, 30s", "offence": "Burglary",
            "necessity_justification": "Evading arrest", "media_items": [digest], **LEGAL_CLEAR}, rita)
    return view["id"]


def approve_task_id(desk, instance_id: int) -> str:
    from engine import queries as q
    with desk.read() as s:
        tasks = q.list_tasks(s, Actor("x", frozenset({"manager"})), instance_id=instance_id)
    return [t for t in tasks if t["activityId"] == "approve_release"][0]["id"]


@pytest.fixture
def serve():
    """Serve an app with waitress on a free loopback port: `url = serve(app)`."""
    from waitress.server import create_server
    servers = []

    def start(app, threads: int = 4, port: int | None = None) -> str:
        server = create_server(app, host="127.0.0.1", port=port or _free_port(), threads=threads)
        threading.Thread(target=server.run, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.effective_port}"
    yield start
    for server in servers:
        server.close()
