"""The service rides out a database that cannot be written for a while, and answers 503 with
Retry-After (never 500) while it cannot: here, SQLite's file made read-only (immutable, so even a
root test run cannot write it) before the server starts, then writable again without a restart."""
from __future__ import annotations

import shutil
import subprocess
from contextlib import contextmanager

import pytest

from engine import ReleaseDesk
from tests.conftest import _settings
from web.app import create_app

from .conftest import Api
from .test_api import APPROVE, start_wanted, task_id


@contextmanager
def immutable(path):
    """chattr +i: no process may write the file (root included) until chattr -i."""
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)]).returncode != 0:
        pytest.skip("chattr +i is not permitted here")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_started_read_only_then_writable_recovers_writes_without_restart(web_template, tmp_path):
    db = tmp_path / "web.db"
    shutil.copyfile(web_template, db)
    settings = _settings(f"sqlite:///{db}", tmp_path)
    first = ReleaseDesk(settings)
    api = Api(create_app(settings, desk=first).test_client())
    assert start_wanted(api, first).status_code == 201
    task = task_id(api, "sam", "approve_release")
    first.dispose()  # the last connection checkpoints the WAL into the file

    with immutable(db):  # (every API call, reads too, records its sign-in: all answer 503 meanwhile)
        desk = ReleaseDesk(settings)  # the server starts while the file is read-only
        api = Api(create_app(settings, desk=desk).test_client())
        r = api.post(f"/api/tasks/{task}/complete", "sam", json={"variables": APPROVE})
        assert r.status_code == 503, r.get_data(as_text=True)
        assert r.headers["Retry-After"] == "1"
        assert "nothing was saved" in r.get_json()["error"]
    r = api.post(f"/api/tasks/{task}/complete", "sam", json={"variables": APPROVE})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert task_id(api, "cat", "publish_appeal")
    desk.dispose()
