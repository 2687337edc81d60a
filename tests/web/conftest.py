"""Web tests: the real Flask app over a real SQLite database (a copy of a template that already has
the workflows deployed and one user per role), driven through the test client over HTTP semantics."""
from __future__ import annotations

import base64

import pytest

from tests.conftest import PASSWORD
from web.app import create_app


@pytest.fixture
def desk(web_desk):
    return web_desk


@pytest.fixture
def app(desk):
    app = create_app(desk.settings, desk=desk)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def basic(username: str, password: str = PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class Api:
    """Thin JSON client: `api.post("/api/...", "sam", json=...)`."""

    def __init__(self, client) -> None:
        self.client = client

    def get(self, path: str, user: str, **kw):
        return self.client.get(path, headers=basic(user), **kw)

    def post(self, path: str, user: str, **kw):
        return self.client.post(path, headers=basic(user), **kw)


@pytest.fixture
def api(client) -> Api:
    return Api(client)
