"""The commands: start, claim, unclaim, complete, correlate a message, fire timers, cancel.

`Runtime` gathers the three families of commands, each in its own module along the seams the
product already has: case commands (start, cancel), task commands (claim, unclaim, complete) and
event commands (messages, timers). All share the locked-step helpers in `steps`."""
from __future__ import annotations

from .case_commands import ENGINE_VARIABLES, FORCE_DEFAULTS, CaseCommands
from .event_commands import EventCommands
from .steps import Steps, utcnow
from .task_commands import DISCLOSURE_FIELDS, TaskCommands

__all__ = ["DISCLOSURE_FIELDS", "ENGINE_VARIABLES", "FORCE_DEFAULTS", "Runtime", "Steps", "utcnow"]


class Runtime(CaseCommands, TaskCommands, EventCommands):
    """Commands over one database, in the caller's transaction."""
