"""Database engine and sessions. The caller owns the session lifecycle:

    with db.session() as s, s.begin():
        ...

SQLite runs in WAL mode and starts every writing transaction with BEGIN IMMEDIATE, so two writers
queue instead of failing half-way; a read-only transaction (`read_only(engine)`, used by
`ReleaseDesk.read()`) starts with a plain BEGIN and never waits for the write lock, since WAL
readers see the last committed state. PostgreSQL relies on row locks (SELECT ... FOR UPDATE) and the
optimistic version column on process instances; its read-only transactions are READ ONLY."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, echo: bool = False) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            dbapi_conn.isolation_level = None  # let SQLAlchemy emit BEGIN itself
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # pragma: no cover - trivial
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


#: Execution option that marks a connection's transactions as read-only.
READ_ONLY = "releasedesk_read_only"


def read_only(engine: Engine) -> Engine:
    """The same pool, for transactions that only read: SQLite's deferred BEGIN (no write lock),
    PostgreSQL's READ ONLY (a stray write fails loudly instead of slipping through)."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(**{READ_ONLY: True, "postgresql_readonly": True})
    return engine.execution_options(**{READ_ONLY: True})


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
