"""Which database failures are worth a 503 and which are worth trying again at once, checked
against the real errors SQLite raises."""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import exc, text

from engine.db import is_transient, make_engine, worth_retrying


def test_a_busy_sqlite_database_is_transient_but_not_retried_at_once(tmp_path):
    path = tmp_path / "busy.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with engine.connect() as conn:
            # fail at once instead of after the 30 s busy timeout (set before the transaction begins)
            conn.connection.dbapi_connection.execute("PRAGMA busy_timeout=0")
            with pytest.raises(exc.OperationalError) as caught:
                conn.execute(text("INSERT INTO t VALUES (1)"))
        assert "locked" in str(caught.value)
        assert is_transient(caught.value)  # 503 with Retry-After ...
        assert not worth_retrying(caught.value)  # ... without waiting the busy timeout over again
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        engine.dispose()


def test_a_programming_error_is_not_transient(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn, pytest.raises(exc.OperationalError) as caught:
        conn.execute(text("SELECT * FROM no_such_table"))
    assert not is_transient(caught.value) and not worth_retrying(caught.value)
    engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_connections_a_server_restart_dropped_are_retried_not_failed(desk, mini, actors):
    """The pool does not ping at every checkout (a round trip per transaction): a connection the
    server dropped (a restart, an administrator) fails its first statement as a lost connection,
    which throws the whole pool's connections away. A command is tried again on a fresh one; a read
    is transient and worth retrying (the web retries it, or answers 503), never a 500."""
    def drop_pooled_connections():
        with desk.transaction() as s1, desk.transaction() as s2:  # two pooled connections, both dropped
            pids = [s.scalar(text("SELECT pg_backend_pid()")) for s in (s1, s2)]
        admin = make_engine(str(desk.db.url))
        with admin.begin() as conn:
            for pid in pids:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.dispose()

    drop_pooled_connections()
    tries = []

    def start(s):
        tries.append(1)
        return desk.runtime.start(s, mini, "RESTART-1", {}, actors["requester"])
    assert desk.attempt(start)["state"] == "active"
    assert len(tries) == 2  # the first try met a dropped connection

    drop_pooled_connections()
    with pytest.raises(exc.DBAPIError) as caught, desk.read() as s:
        s.execute(text("SELECT 1"))
    assert caught.value.connection_invalidated and is_transient(caught.value) and worth_retrying(caught.value)
    with desk.read() as s:  # the pool was renewed
        assert s.scalar(text("SELECT 1")) == 1
