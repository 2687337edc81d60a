"""Release Desk engine: BPMN/DMN release pathways on SpiffWorkflow, persisted with SQLAlchemy.

No web code lives here (nothing imports Flask); the web app, the CLI and the timer worker all call
this package the same way:

    desk = ReleaseDesk(load_settings())
    with desk.transaction() as s:
        desk.runtime.complete(s, task_id, actor, {"decision": "approve", ...})
    with desk.read() as s:      # reads never wait on the write lock
        ...
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from .config import Settings, load_settings
from .db import make_engine, make_sessionmaker, read_only
from .errors import (
    CommandLimitExceeded,
    ConcurrentChange,
    Conflict,
    DeploymentRejected,
    EngineError,
    InvalidForm,
    NoInstanceWaits,
    NotAllowed,
    NotFound,
    TaskAlreadyCompleted,
    TaskClaimed,
    WorkflowFailure,
)
from .incidents import record_failure
from .runtime import Runtime, utcnow
from .users import SYSTEM, Actor

log = logging.getLogger("releasedesk.engine")

__all__ = [
    "Actor", "CommandLimitExceeded", "ConcurrentChange", "Conflict", "DeploymentRejected", "EngineError", "InvalidForm",
    "NoInstanceWaits", "NotAllowed", "NotFound", "ReleaseDesk", "SYSTEM", "Settings", "TaskAlreadyCompleted",
    "TaskClaimed", "WorkflowFailure", "load_settings",
]


class ReleaseDesk:
    """One database, its session factory and the runtime commands over it."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.db = make_engine(settings.database_url)
        self.Session = make_sessionmaker(self.db)
        self.ReadSession = make_sessionmaker(read_only(self.db))
        self.runtime = Runtime(settings, clock)

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.runtime.clock

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.Session() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A transaction for pages and API calls that only read: it never waits on (or takes) the
        write lock, so a long write elsewhere cannot stall a read."""
        with self.ReadSession() as session, session.begin():
            yield session

    def migrate(self) -> None:
        from .migrate import upgrade
        upgrade(self.db)

    def deploy_files(self, session: Session, paths: list[Path], actor: Actor = SYSTEM, source: str = "cli") -> dict:
        from .deployment import deploy
        files = [(p.name, p.read_bytes()) for p in paths]
        return deploy(session, files, actor, self.clock(), source=source)

    def deploy_workflows(self, session: Session, actor: Actor = SYSTEM) -> dict:
        folder = Path(self.settings.workflows_dir)
        paths = sorted(folder.glob("*.dmn")) + sorted(folder.glob("*.bpmn"))
        if not paths:
            return {"id": None, "definitions": []}
        return self.deploy_files(session, paths, actor, source="init")

    def fire_due_timers(self, now: datetime | None = None) -> list[tuple[int, list[str]]]:
        """Fire every timer due at `now`, one instance per transaction; return what fired."""
        now = now or self.clock()
        with self.transaction() as s:
            due = self.runtime.due_timer_instances(s, now)
        fired = []
        for instance_id in due:
            activities = self.fire_instance_timers(instance_id, now)
            if activities:
                fired.append((instance_id, activities))
        return fired

    def fire_instance_timers(self, instance_id: int, now: datetime) -> list[str]:
        """Fire one case's due timers in its own transaction. A failure rolls back that case only and
        becomes an incident on it (retried with back-off); it never stops the other cases."""
        try:
            with self.transaction() as s:
                return self.runtime.fire_timers(s, instance_id, now)
        except (ConcurrentChange, OperationalError) as exc:  # someone else moved the case, or a busy database
            log.warning("timers of case %s not fired this round: %s", instance_id, exc)
            return []
        except Exception as exc:
            log.warning("timers of case %s failed: %s", instance_id, exc)
            try:
                with self.transaction() as s:
                    record_failure(s, instance_id, exc, now, self.settings)
            except Exception:  # even then, the other cases go on
                log.exception("could not record the incident of case %s", instance_id)
            return []

    def purge_media_quarantine(self, now: datetime | None = None) -> list[str]:
        """Remove uploads that no case cites once older than `media_quarantine_hours` (the worker
        calls this every round); return their digests."""
        media = self.runtime.media
        with self.transaction() as s:
            gone = media.discard(s, media.stale(s, now or self.clock()))
        with self.read() as s:
            media.unlink(s, gone)
        return gone

    def dispose(self) -> None:
        self.db.dispose()
