"""One root error type with typed subclasses; `web/` maps them to HTTP in one place.

Each class documents the attributes a caller may rely on."""
from __future__ import annotations

from typing import Any


class EngineError(Exception):
    """Root of every error the engine raises on purpose. `details` is JSON-safe."""

    status = 400

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(EngineError):
    """An unknown id, key or business key."""

    status = 404


class NotAllowed(EngineError):
    """The actor is authenticated but not in a group that may do this."""

    status = 403


class InvalidForm(EngineError):
    """Submitted values failed the form; `details` maps field id -> message."""

    status = 400


class Conflict(EngineError):
    """The request clashes with the current state (already completed, claimed, changed)."""

    status = 409


class TaskAlreadyCompleted(Conflict):
    pass


class TaskClaimed(Conflict):
    """The task is claimed by someone else; `details["assignee"]` names them."""


class ConcurrentChange(Conflict):
    """Another transaction changed the instance first; retrying with fresh data may succeed."""


class NoInstanceWaits(NotFound):
    """A message was sent that no instance waits for under that business key."""


class DeploymentRejected(EngineError):
    """A diagram failed validation. `details["problems"]` lists {file, line, element, message}."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        first = problems[0] if problems else {}
        summary = f"{len(problems)} problem(s); first: {first.get('file')}:{first.get('line')} " \
                  f"{first.get('element') or ''} {first.get('message')}".strip()
        super().__init__(summary, {"problems": problems})
        self.problems = problems


class WorkflowFailure(EngineError):
    """The diagram itself failed at run time (a bad expression); `details` names task and line."""

    status = 422


class Unavailable(EngineError):
    """The database could not do it just now (deadlock, serialization failure, lost connection, no
    free connection, read-only file); nothing was saved and the same request may be sent again after
    `details["retryAfter"]` seconds."""

    status = 503

    def __init__(self, message: str = "The service is busy; nothing was saved. Try again shortly.",
                 retry_after: int = 1) -> None:
        super().__init__(message, {"retryAfter": retry_after})
        self.retry_after = retry_after


class DuplicateCase(Conflict):
    """An active case of the pathway already has this case reference (compared case-insensitively).
    `details["existingInstanceId"]` names it when the caller may read it."""


class CommandLimitExceeded(WorkflowFailure):
    """One command ran past a bound (engine steps, tasks created, seconds); everything it did was
    rolled back. `details["limit"]` names the bound and `details["max"]` its value."""
