"""Shared set-up for the benchmark scripts: a fresh database (SQLite file or a PostgreSQL schema of
its own, dropped afterwards), the shipped workflows, three users and one attachment."""
from __future__ import annotations

import base64
import http.client
import json
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from engine import ReleaseDesk, load_settings
from engine.users import create_user
from web.demo import sample_png

PASSWORD = "benchmark-password"
PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
USERS = (("rita", "requester"), ("sam", "sio"), ("olly", "oic"), ("fay", "flo"), ("cat", "ccd"))


@contextmanager
def bench_database(backend: str) -> Iterator[tuple[str, Path]]:
    """(database URL, scratch folder); both removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="rd-bench-"))
    schema = None
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'bench.db'}"
    else:
        schema = f"rd_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{PG_BASE}?options=-csearch_path%3D{schema}"
    try:
        yield url, folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if schema:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def settings_for(url: str, folder: Path):
    return load_settings(database_url=url, media_dir=str(folder / "media"), secret_key="bench", testing=True)


def prepare(url: str, folder: Path) -> str:
    """Migrate, deploy, add the users; return the digest of one stored image."""
    desk = ReleaseDesk(settings_for(url, folder))
    desk.migrate()
    with desk.transaction() as s:
        desk.deploy_workflows(s)
        for name, group in USERS:
            create_user(s, name, PASSWORD, [group])
        for name, _group in USERS:  # the same image, uploaded by each user who may start a case with it
            digest = desk.runtime.media.store(s, sample_png(), "bench.png", name, desk.clock()).digest
    desk.dispose()
    return digest


@contextmanager
def bench_desk(backend: str) -> Iterator[tuple[ReleaseDesk, str]]:
    with bench_database(backend) as (url, folder):
        digest = prepare(url, folder)
        desk = ReleaseDesk(settings_for(url, folder))
        try:
            yield desk, digest
        finally:
            desk.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Client:
    """One user's keep-alive HTTP connection to the API, with HTTP Basic."""

    def __init__(self, port: int, user: str, password: str = PASSWORD) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body=None):
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=self.headers)
        response = self.conn.getresponse()
        data = response.read()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
        return json.loads(data)
