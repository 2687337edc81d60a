"""Database engine and sessions. The caller owns the session lifecycle:

    with db.session() as s, s.begin():
        ...

SQLite runs in WAL mode and starts every writing transaction with BEGIN IMMEDIATE, so two writers
queue instead of failing half-way; a read-only transaction (`read_only(engine)`, used by
`ReleaseDesk.read()`) starts with a plain BEGIN and never waits for the write lock, since WAL
readers see the last committed state. PostgreSQL relies on row locks (SELECT ... FOR UPDATE) and the
optimistic version column on process instances; its read-only transactions are READ ONLY.

Failures that are nobody's fault and pass on their own (a deadlock, a serialization failure, a lost
connection, a full pool, a database that was read-only) are `transient`: commands that are safe to
repeat are retried (`ReleaseDesk.attempt`), and what still fails answers 503 with Retry-After. A
connection that found the database read-only is thrown away, so writes recover as soon as the file
is writable again, without a restart.

The pool does not ping a connection at every checkout (one round trip more per transaction): a
connection the server dropped fails its first statement as a lost connection, SQLAlchemy then
discards every pooled connection, and the failure is transient, so the command is tried again on a
fresh connection (or answers 503)."""
from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

#: SQLSTATEs worth another try: serialization failure, deadlock, lock not available, admin shutdown,
#: connection failures.
TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03", "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001"}
_SQLITE_TRANSIENT = ("database is locked", "readonly database", "disk i/o error", "unable to open database")


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` is a database failure that trying again later can cure."""
    if isinstance(exc, sa_exc.TimeoutError):  # no free connection in the pool
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in TRANSIENT_SQLSTATES:
        return True
    text = str(orig).lower()
    return isinstance(exc, sa_exc.OperationalError) and any(t in text for t in _SQLITE_TRANSIENT + (
        "server closed the connection", "connection refused", "terminating connection", "could not connect"))


def worth_retrying(exc: BaseException) -> bool:
    """Transient and quick to try again: a deadlock or serialization failure (the database already
    rolled back one side) or a connection lost mid-way. Not a wait that already timed out (SQLite's
    busy lock, a full pool): trying again would only make the caller wait as long again."""
    if not is_transient(exc) or isinstance(exc, sa_exc.TimeoutError):
        return False
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) in ("40001", "40P01"):
        return True
    text = str(orig).lower()
    if "readonly" in text:  # the file is still read-only for now: no use asking again at once
        return False
    lost = ("server closed the connection", "terminating connection", "connection refused")
    return bool(getattr(exc, "connection_invalidated", False)) or any(t in text for t in lost)


_QUEUED = "releasedesk_writer_queue"
_queues: dict[str, threading.Lock] = {}
_queues_lock = threading.Lock()


def _writer_queue(database: str) -> threading.Lock:
    """One queue per SQLite file in this process, shared by every engine on it."""
    key = str(Path(database).resolve()) if database != ":memory:" else f":memory:{len(_queues)}"
    with _queues_lock:
        return _queues.setdefault(key, threading.Lock())


def _leave_queue(info: dict) -> None:
    queue = info.pop(_QUEUED, None)
    if queue is not None:
        queue.release()


def make_engine(url: str, echo: bool = False, *, pool_size: int = 10, max_overflow: int = 10,
                pool_timeout: float = 10) -> Engine:
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

        queue = _writer_queue(parsed.database or ":memory:")

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # pragma: no cover - trivial
            if conn.get_execution_options().get(READ_ONLY):
                conn.exec_driver_sql("BEGIN")
                return
            # Writers of this process queue here, and the next one starts the moment the last one
            # ends; SQLite's own busy handler polls with growing sleeps, which left the slowest 1 %
            # of writes waiting over a second with 8 clients. Writers in other processes still
            # meet SQLite's lock. A writer that cannot get its turn within the busy timeout (a
            # transaction nested in another on this thread) goes on to SQLite's lock as before.
            if _QUEUED not in conn.info and queue.acquire(timeout=30):
                conn.info[_QUEUED] = queue
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        @event.listens_for(engine, "commit")
        @event.listens_for(engine, "rollback")
        def _sqlite_end(conn):  # pragma: no cover - trivial
            if not conn.invalidated:  # an invalidated connection leaves through the pool's invalidate event
                _leave_queue(conn.info)

        @event.listens_for(engine.pool, "checkin")
        @event.listens_for(engine.pool, "invalidate")
        def _sqlite_returned(_dbapi_conn, record, *_args):  # pragma: no cover - safety net
            _leave_queue(record.info)

        @event.listens_for(engine, "handle_error")
        def _sqlite_read_only(context):
            # SQLite opens a file it cannot write read-only and keeps it so: discard such connections
            # (the whole pool), so the next transaction reopens the file and writes once it can.
            if "readonly database" in str(context.original_exception).lower():
                context.is_disconnect = True

        return engine
    return create_engine(url, echo=echo, pool_size=pool_size, max_overflow=max_overflow,
                         pool_timeout=pool_timeout)


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


def as_utc(value: datetime | None) -> datetime | None:
    """A datetime read back from the database as an aware UTC one: SQLite returns naive
    datetimes, which were written as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def backend(session: Session) -> str:
    """"postgresql" or "sqlite": the key of statements built once per backend (see `INSERTS`)."""
    return session.get_bind().dialect.name


#: Each backend's own `insert` construct, which offers ON CONFLICT (spelt alike on both).
INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
