"""Fixtures for the integration surfaces: the Flask app over a private SQLite copy (as tests/web),
and the real `releasedesk serve` in a subprocess, so its memory can be measured on its own."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser.conftest import _free_port
from tests.web.conftest import Api, basic
from web.app import create_app

ROOT = Path(__file__).resolve().parents[2]


def jpeg_bytes(colour=(200, 40, 40), size=(64, 48)) -> bytes:
    from PIL import Image, ImageDraw
    image = Image.new("RGB", size, colour)
    ImageDraw.Draw(image).rectangle([8, 8, 30, 30], fill=(250, 250, 250))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture
def desk(web_desk):
    return web_desk


@pytest.fixture
def app(desk):
    return create_app(desk.settings, desk=desk)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api(client) -> Api:
    return Api(client)


class ServerProcess:
    def __init__(self, proc: subprocess.Popen, url: str) -> None:
        self.proc, self.url = proc, url

    def status(self, key: str) -> int:
        """A /proc/PID/status figure in bytes (VmRSS: now; VmHWM: the peak so far)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(key)


@pytest.fixture
def server_process(web_desk, tmp_path):
    """`releasedesk serve` on a free loopback port, over the same database and media folder."""
    settings = web_desk.settings
    port = _free_port()
    env = {**os.environ, "RELEASEDESK_DATABASE_URL": settings.database_url, "RELEASEDESK_MEDIA_DIR": settings.media_dir,
           "RELEASEDESK_SECRET_KEY": "test-secret-key", "RELEASEDESK_TESTING": "true", "PYTHONPATH": str(ROOT)}
    env.pop("RELEASEDESK_CONFIG", None)
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--port", str(port), "--no-worker"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/api/openapi.json", timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp_path / "server.log").read_text()) from None
            time.sleep(0.1)
    yield ServerProcess(proc, url)
    proc.terminate()
    proc.wait(10)
    log.close()
    shutil.rmtree(settings.media_dir, ignore_errors=True)  # hundreds of megabytes of test video


__all__ = ["basic", "jpeg_bytes"]
