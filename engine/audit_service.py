"""Audit operations over a whole ReleaseDesk: sign a checkpoint when one is due, verify everything
against the trusted keys and the exported file. Each step owns its transactions, as the timer
worker does, so the CLI, the worker loop and the managers' page call the same code."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.exc import IntegrityError

from .audit_checkpoints import (
    CheckpointRefused,
    ExportAhead,
    check_export_not_ahead,
    check_last_is_signed,
    export_path,
    export_pending,
    exported_form,
    last_checkpoint,
    read_exported,
    write_checkpoint,
)
from .audit_keys import MISSING_KEY_HELP, SigningKey, load_signing_key, require_signing_key, trusted_keys
from .audit_verify import VerifyResult, verify
from .db import as_utc, is_postgres

if TYPE_CHECKING:
    from . import ReleaseDesk

log = logging.getLogger("releasedesk.audit")

__all__ = ["AuditService", "CheckpointRefused", "ExportAhead", "VerifyResult"]


class AuditService:
    def __init__(self, desk: ReleaseDesk) -> None:
        self.desk = desk
        self.settings = desk.settings
        self._key: SigningKey | None = None
        self._key_loaded = False
        self._last_try: datetime | None = None
        self._warned = False
        self._trusted: dict[str, Ed25519PublicKey] | None = None

    def trusted_keys(self) -> dict[str, Ed25519PublicKey]:
        if self._trusted is None:
            self._trusted = trusted_keys(self.settings)
        return self._trusted

    def signing_key(self) -> SigningKey | None:
        if not self._key_loaded:
            self._key, self._key_loaded = load_signing_key(self.settings), True
        return self._key

    def checkpoint(self, reason: str = "manual", always: bool = True, min_age: timedelta | None = None
                   ) -> dict[str, Any] | None:
        """Sign and export a checkpoint now; None when nothing changed (and not `always`) or when
        another process signed one less than `min_age` ago."""
        key = self.signing_key() or require_signing_key(self.settings)
        now = self.desk.clock()
        try:
            with self.desk.transaction() as s:
                last = last_checkpoint(s)
                if min_age is not None and last is not None and as_utc(last.at) > now - min_age:
                    return None
                check_last_is_signed(last, self.trusted_keys())
                check_export_not_ahead(s, self.settings)
                cp = write_checkpoint(s, key, now, reason, always)
                written = exported_form(cp) if cp is not None else None
        except IntegrityError:  # another process wrote this checkpoint number first; it covers us
            return None
        if written is not None:
            with self.desk.read() as s:
                export_pending(s, self.settings)
        return written

    def checkpoint_if_due(self) -> dict[str, Any] | None:
        """For the worker loop: at most one checkpoint per `audit_checkpoint_seconds` (across all
        processes), only when some stream moved. Without a key in production, say so once."""
        interval = self.settings.audit_checkpoint_seconds
        if interval <= 0:
            return None
        if self.signing_key() is None:
            if not self._warned:
                log.warning("audit checkpoints are OFF: %s", MISSING_KEY_HELP)
                self._warned = True
            return None
        now = self.desk.clock()
        period = timedelta(seconds=interval)
        if self._last_try is not None and now - self._last_try < period:
            return None
        self._last_try = now
        return self.checkpoint("interval", always=False, min_age=period)

    def verify(self, instance_id: int | None = None, *, write: bool = True,
               exported_file: str | None = None) -> VerifyResult:
        """Check chains, signatures and the exported copy; when all holds (and `write`), sign a
        checkpoint so what was just verified is anchored too."""
        keys = trusted_keys(self.settings)
        path = (export_path(self.settings) if exported_file is None
                else Path(exported_file) if exported_file else None)
        exported = None
        if path is not None:  # read before the database, so a checkpoint written meanwhile is not "deleted"
            exported = read_exported(path) if path.exists() else []
        with self.desk.read() as s:
            if is_postgres(s):  # one snapshot for every query (SQLite's reads have one)
                s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            result = verify(s, instance_id, keys=keys, exported=exported, export_source=str(path))
        if path is None:
            result.notes.append("note: checkpoints are not exported (audit_export_file is empty), so a deleted "
                                "last checkpoint cannot be detected")
        if not result.ok or not write:
            return result
        if self.signing_key() is None:
            result.notes.append(f"note: no checkpoint written: {MISSING_KEY_HELP}")
            return result
        try:
            cp = self.checkpoint("verify", always=True)
        except CheckpointRefused as exc:  # pragma: no cover - verify above already named the cause
            result.notes.append(f"note: {exc}")
            return result
        if cp is not None:
            where = f" and exported to {path}" if path is not None else ""
            result.notes.append(f"checkpoint {cp['id']} signed by {cp['key']}{where}")
        return result

