"""Many clients holding connections open do not lock others out: `releasedesk serve` accepts up to
`--connection-limit` connections per process (default 1000; waitress's own default, 100, let 100
idle clients stall everyone else for minutes)."""
from __future__ import annotations

import os
import resource
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.browser.conftest import _free_port

from .test_multiprocess import wait_for_http

ROOT = Path(__file__).resolve().parents[2]


def serve(web_template, tmp_path, *options: str) -> tuple[subprocess.Popen, int]:
    db = tmp_path / "web.db"
    shutil.copyfile(web_template, db)
    port = _free_port()
    env = {**os.environ, "RELEASEDESK_DATABASE_URL": f"sqlite:///{db}", "RELEASEDESK_SECRET_KEY": "test-secret",
           "RELEASEDESK_MEDIA_DIR": str(tmp_path / "media"), "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--no-worker", "--port", str(port), *options],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return server, port


def answered_while_idle_connections_are_open(server: subprocess.Popen, port: int, idle_count: int) -> None:
    idle = []
    try:
        wait_for_http(port, server)
        for _ in range(idle_count):  # clients that connect and say nothing (or keep a connection alive)
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        time.sleep(0.2 + idle_count / 2000)  # let the server accept them all
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(b"GET /api/openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            first = conn.recv(64)
        assert first.startswith(b"HTTP/1.1 200"), first
        assert time.monotonic() - started < 5  # answered at once, not after idle connections time out
    finally:
        for conn in idle:
            conn.close()
        server.terminate()
        server.communicate(timeout=30)


def test_a_request_is_answered_while_150_idle_connections_are_open(web_template, tmp_path):
    answered_while_idle_connections_are_open(*serve(web_template, tmp_path), 150)


def test_connections_past_descriptor_1024_are_served(web_template, tmp_path):
    """select() cannot watch descriptor 1024 or above (waitress's default stopped the whole server
    there); the server watches its connections with poll()."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2500:
        pytest.skip(f"needs 2500 open files (hard limit {hard})")
    if soft != resource.RLIM_INFINITY and soft < 2500:
        resource.setrlimit(resource.RLIMIT_NOFILE, (2500, hard))  # the server inherits it
    try:
        answered_while_idle_connections_are_open(*serve(web_template, tmp_path, "--connection-limit", "1200"), 1100)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
