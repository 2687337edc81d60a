"""Security tests: each one is an attack or a hostile value that once hurt the service."""
from __future__ import annotations

import threading

import pytest

from engine import SYSTEM
from engine.deployment import deploy
from tests.browser.conftest import _free_port


@pytest.fixture
def deploy_xml(desk):
    """Deploy one diagram given as bytes; returns its process key."""
    def _deploy(name: str, content: bytes) -> dict:
        with desk.transaction() as s:
            return deploy(s, [(name, content)], SYSTEM, desk.clock(), source="test")
    return _deploy


@pytest.fixture
def serve():
    """Serve a desk over real HTTP (waitress on a free loopback port); returns the base URL."""
    servers = []

    def _serve(desk) -> str:
        from waitress.server import create_server

        from web.app import create_app
        server = create_server(create_app(desk.settings, desk=desk), host="127.0.0.1", port=_free_port(), threads=4)
        threading.Thread(target=server.run, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.effective_port}"
    yield _serve
    for server in servers:
        server.close()


def sign_in(base: str, username: str, password: str):
    """A requests session signed in through the login form (with its CSRF token), as a browser would."""
    import re

    import requests
    session = requests.Session()
    form = session.get(f"{base}/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    answer = session.post(f"{base}/login", data={"username": username, "password": password, "csrf_token": token},
                          timeout=10, allow_redirects=False)
    assert answer.status_code == 302, answer.status_code
    return session


@pytest.fixture
def client(web_desk):
    from web.app import create_app
    return create_app(web_desk.settings, desk=web_desk).test_client()


@pytest.fixture
def api(client):
    from tests.web.conftest import Api
    return Api(client)
