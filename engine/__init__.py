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
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from .config import Settings, load_settings
from .db import is_transient, make_engine, make_sessionmaker, read_only, worth_retrying
from .errors import (
    CommandLimitExceeded,
    ConcurrentChange,
    Conflict,
    DeploymentRejected,
    DuplicateCase,
    EngineError,
    InvalidForm,
    NoInstanceWaits,
    NotAllowed,
    NotFound,
    TaskAlreadyCompleted,
    TaskClaimed,
    Unavailable,
    WorkflowFailure,
)
from .runtime import Runtime, utcnow
from .users import SYSTEM, Actor

if TYPE_CHECKING:
    from .audit_service import AuditService
    from .audit_verify import VerifyResult

log = logging.getLogger("releasedesk.engine")

__all__ = [
    "Actor", "CommandLimitExceeded", "ConcurrentChange", "Conflict", "DeploymentRejected", "DuplicateCase",
    "EngineError", "InvalidForm",
    "NoInstanceWaits", "NotAllowed", "NotFound", "ReleaseDesk", "SYSTEM", "Settings", "TaskAlreadyCompleted",
    "TaskClaimed", "Unavailable", "WorkflowFailure", "load_settings",
]

T = TypeVar("T")


class ReleaseDesk:
    """One database, its session factory and the runtime commands over it."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.db = make_engine(settings.database_url, pool_size=settings.db_pool_size,
                              max_overflow=settings.db_max_overflow, pool_timeout=settings.db_pool_timeout)
        self.Session = make_sessionmaker(self.db)
        self.ReadSession = make_sessionmaker(read_only(self.db))
        self.runtime = Runtime(settings, clock)
        self._audit: AuditService | None = None

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.runtime.clock

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.Session() as session, session.begin():
            yield session

    def attempt(self, command: Callable[[Session], T], attempts: int = 3) -> T:
        """Run `command(session)` in a transaction of its own, trying again (after a short, growing
        pause) when the database reports a deadlock, a serialization failure or a lost connection.
        Safe because a failed transaction wrote nothing and every command re-reads what it checks
        under its locks. What still fails raises `Unavailable` (HTTP 503 with Retry-After)."""
        for attempt in range(1, attempts + 1):
            try:
                with self.transaction() as session:
                    return command(session)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                if attempt == attempts or not worth_retrying(exc):
                    raise Unavailable() from exc
                time.sleep(random.uniform(0.01, 0.05) * attempt)
        raise AssertionError("unreachable")

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
        """Fire every timer due at `now`, one instance per transaction; return what fired.

        Due timers are claimed a small batch at a time (see `EventCommands.claim_due_timers`), so any
        number of workers on any hosts share the work; each timer still fires exactly once."""
        now = now or self.clock()
        lease = timedelta(seconds=self.settings.timer_claim_seconds)
        fired, idle = [], []
        while True:
            with self.transaction() as s:
                due = self.runtime.claim_due_timers(s, now, self.settings.timer_batch_size, lease)
            if not due:
                break
            pending = list(due)
            try:
                for instance_id in due:
                    activities = self.fire_instance_timers(instance_id, now)
                    pending.remove(instance_id)
                    if activities:
                        fired.append((instance_id, activities))
                    else:
                        idle.append(instance_id)
            except BaseException:
                with self.transaction() as s:  # the rest of the batch is not stuck behind the failure
                    self.runtime.release_timer_claims(s, pending + idle)
                raise
        if idle:  # claimed but nothing was due there after all: do not hold it for the claim time
            with self.transaction() as s:
                self.runtime.release_timer_claims(s, idle)
        return fired

    @property
    def audit(self) -> AuditService:
        """Checkpoints and verification of the audit record (see engine.audit_service)."""
        if self._audit is None:
            from .audit_service import AuditService
            self._audit = AuditService(self)
        return self._audit

    def checkpoint_audit_if_due(self) -> dict | None:
        """Called by worker loops: sign and export an audit checkpoint when one is due."""
        return self.audit.checkpoint_if_due()

    def verify_audit(self, instance_id: int | None = None, write_checkpoint: bool = True,
                     exported_file: str | None = None) -> VerifyResult:
        """`releasedesk audit verify`: chains, signed checkpoints and their exported copy."""
        return self.audit.verify(instance_id, write=write_checkpoint, exported_file=exported_file)

    def fire_instance_timers(self, instance_id: int, now: datetime) -> list[str]:
        """Fire one case's due timers in its own transaction. A failure rolls back that case only and
        becomes an incident on it (retried with back-off); it never stops the other cases."""
        from .incidents import record_failure
        try:
            with self.transaction() as s:
                return self.runtime.fire_timers(s, instance_id, now)
        except (ConcurrentChange, Unavailable, OperationalError) as exc:  # moved by someone else; busy database
            log.warning("timers of case %s not fired this round: %s", instance_id, exc)
            return []
        except Exception as exc:
            log.warning("timers of case %s failed: %s", instance_id, exc)
            with self.transaction() as s:
                record_failure(s, instance_id, exc, now, self.settings)
            return []

    def dispose(self) -> None:
        self.db.dispose()
