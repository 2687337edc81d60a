"""Deployed definitions, read once per process.

A definition row never changes after deployment (a new diagram is a new version, a new row), so a
command needs neither to re-read its catalog nor its spec at every step: both are kept here, keyed by
id, for the life of the ReleaseDesk that owns the cache (one per database)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from .errors import NotFound
from .models import ProcessDefinition


@dataclass(frozen=True)
class Definition:
    """The immutable parts of a ProcessDefinition row that commands use. `content_hash` and
    `spec_json` make it usable wherever `specs.load_state`/`new_workflow` take a definition."""

    id: int
    key: str
    version: int
    name: str
    content_hash: str
    catalog: dict[str, Any]
    spec_json: str

    @property
    def activities(self) -> dict[str, Any]:
        return self.catalog["activities"]


class DefinitionCache:
    def __init__(self, limit: int = 512) -> None:
        self.limit = limit
        self._entries: dict[int, Definition] = {}

    def get(self, session: Session, definition_id: int) -> Definition:
        hit = self._entries.get(definition_id)
        if hit is None:
            row = session.scalar(select(ProcessDefinition).options(undefer(ProcessDefinition.spec_json))
                                 .where(ProcessDefinition.id == definition_id))
            if row is None:
                raise NotFound(f"no process definition {definition_id}")
            hit = Definition(row.id, row.key, row.version, row.name, row.content_hash, row.catalog, row.spec_json)
            if len(self._entries) >= self.limit:
                self._entries.pop(next(iter(self._entries)), None)
            self._entries[definition_id] = hit
        return hit

    def latest(self, session: Session, key: str) -> Definition:
        """The newest version of `key`: one indexed look-up of its id, then the cache."""
        definition_id = session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.key == key)
                                       .order_by(ProcessDefinition.version.desc()).limit(1))
        if definition_id is None:
            raise NotFound(f"no process definition {key!r}")
        return self.get(session, definition_id)
