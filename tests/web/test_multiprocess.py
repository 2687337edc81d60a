"""Several web processes against one PostgreSQL: `releasedesk serve --workers 2` (gunicorn) answers
concurrent completions of one task with exactly one success and 409 for the rest."""
from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from engine import ReleaseDesk
from engine.users import create_user
from tests.browser.conftest import _free_port
from tests.conftest import PASSWORD, _settings
from web.app import create_app

from .conftest import Api
from .test_api import APPROVE, start_wanted, task_id

ROOT = Path(__file__).resolve().parents[2]


class HttpApi:
    """The same calls as the test client's Api, over real HTTP."""

    def __init__(self, port: int) -> None:
        self.port = port

    def request(self, method: str, path: str, user: str, body=None) -> tuple[int, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        token = base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()
        headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            conn.close()


def wait_for_http(port: int, server: subprocess.Popen, seconds: float = 25) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stdout.read()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not start listening")


def worker_pids(master: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(entry.name))
    return pids


@pytest.fixture
def pg_desk(db_url, tmp_path):
    desk = ReleaseDesk(_settings(db_url, tmp_path))
    with desk.transaction() as s:
        for username, groups in {"rita": ["requester"], "sam": ["sio"], "olly": ["oic"], "cat": ["ccd"]}.items():
            create_user(s, username, PASSWORD, groups)
    yield desk
    desk.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_two_web_processes_give_one_success_and_409_for_the_rest(pg_desk, db_url, tmp_path):
    port = _free_port()
    env = {**os.environ, "RELEASEDESK_DATABASE_URL": db_url, "RELEASEDESK_SECRET_KEY": "test-secret",
           "RELEASEDESK_MEDIA_DIR": str(tmp_path / "media"), "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--workers", "2", "--threads", "4",
                               "--port", str(port), "--no-worker"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_http(port, server)
        api = HttpApi(port)
        deadline = time.monotonic() + 20  # gunicorn listens first, then forks its workers
        while len(worker_pids(server.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(worker_pids(server.pid)) == 2
        local = Api(create_app(pg_desk.settings, desk=pg_desk).test_client())
        assert start_wanted(local, pg_desk).status_code == 201
        task = task_id(local, "sam", "approve_release")

        users = ["sam", "olly"] * 4
        for user in set(users):  # sign each user in once per process first, as a busy client would be
            assert api.request("GET", f"/api/tasks/{task}", user)[0] == 200
        barrier = threading.Barrier(len(users))
        statuses: list[int] = []

        def complete(user):
            barrier.wait()
            statuses.append(api.request("POST", f"/api/tasks/{task}/complete", user, {"variables": APPROVE})[0])
        threads = [threading.Thread(target=complete, args=(u,)) for u in users]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(statuses) == [200] + [409] * (len(users) - 1), statuses
        status, tasks = api.request("GET", "/api/tasks?businessKey=WP-1", "cat")
        assert status == 200 and [t["activityId"] for t in tasks] == ["publish_appeal"]
    finally:
        server.terminate()
        server.communicate(timeout=30)
