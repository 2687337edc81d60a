"""Attachments (images and footage) on disk by SHA-256, never inside workflow data.

Only JPEG, PNG and MP4 are accepted, recognised by their leading bytes rather than by the name or
the type a browser claims.

An upload belongs to its uploader and to the cases that cite it (media_citations): a form may
attach only the actor's own uploads or files the case already has, so nobody can pull another
user's upload for another case into their own. An upload no case cites is in quarantine: it
counts against its uploader's quota (setting `media_quota_bytes`) and the worker purges it once it
is older than `media_quarantine_hours`. A refused submission removes what it just stored."""
from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import bindparam, delete, exists, func, or_, select
from sqlalchemy.orm import Session

from .errors import InvalidForm
from .models import MediaCitation, MediaItem, MediaUploader

ALLOWED = {"image/jpeg": ".jpg", "image/png": ".png", "video/mp4": ".mp4"}

#: May `username` attach upload `digest` on case `instance_id` (None: a new case)? Their own upload
#: (first or later uploader), or a file the case cites; no row when nobody uploaded it.
_items, _uploaders, _citations = MediaItem.__table__, MediaUploader.__table__, MediaCitation.__table__
_MAY_ATTACH = select(or_(
    _items.c.uploaded_by == bindparam("username"),
    exists().where(_uploaders.c.digest == _items.c.digest, _uploaders.c.username == bindparam("username")),
    exists().where(_citations.c.digest == _items.c.digest, _citations.c.instance_id == bindparam("instance_id")),
)).where(_items.c.digest == bindparam("digest"))


def sniff(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "video/mp4"
    return None


class MediaStore:
    def __init__(self, root: str, max_bytes: int, quota_bytes: int | None = None,
                 quarantine: timedelta = timedelta(hours=24)) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.quota_bytes = quota_bytes
        self.quarantine = quarantine

    def path_for(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def exists(self, digest: str) -> bool:
        return self.path_for(digest).is_file()

    def store(self, session: Session, content: bytes, filename: str, uploaded_by: str, now: datetime) -> MediaItem:
        if len(content) > self.max_bytes:
            raise InvalidForm("File too large.", {"file": f"Larger than {self.max_bytes // (1024 * 1024)} MiB."})
        content_type = sniff(content[:16])
        if content_type is None:
            raise InvalidForm("Unsupported file.", {"file": "Only JPEG, PNG and MP4 files are accepted."})
        digest = hashlib.sha256(content).hexdigest()
        if self.quota_bytes is not None and session.get(MediaItem, digest) is None:
            used = self.quarantined_bytes(session, uploaded_by)
            if used + len(content) > self.quota_bytes:
                mib = 1024 * 1024
                raise InvalidForm("Upload quota reached.", {"file": (
                    f"Your uploads not yet attached to a case take {used / mib:.1f} MiB; the limit is "
                    f"{self.quota_bytes / mib:.0f} MiB. Attach or wait for them to expire, then try again.")})
        target = self.path_for(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
            os.replace(tmp, target)
        item = session.get(MediaItem, digest)
        if item is None:
            item = MediaItem(digest=digest, content_type=content_type, size=len(content),
                             filename=Path(filename or "upload").name[:200], uploaded_by=uploaded_by,
                             uploaded_at=now)
            session.add(item)
            session.flush()
            item.new_upload = True  # not a column: tells the caller to discard it if the submission fails
        elif item.uploaded_by != uploaded_by and session.get(MediaUploader, (digest, uploaded_by)) is None:
            session.add(MediaUploader(digest=digest, username=uploaded_by, uploaded_at=now))
            session.flush()
        return item

    # -- ownership, citations, quarantine ----------------------------------------------------------
    def may_attach(self, session: Session, digest: str, username: str, instance_id: int | None) -> bool:
        """The actor's own upload, or a file the case already cites; and still on disk. One query."""
        allowed = session.scalar(_MAY_ATTACH, {"digest": digest, "username": username, "instance_id": instance_id})
        return bool(allowed) and self.exists(digest)

    def quarantined_bytes(self, session: Session, username: str) -> int:
        cited = exists().where(MediaCitation.digest == MediaItem.digest)
        return session.scalar(select(func.coalesce(func.sum(MediaItem.size), 0))
                              .where(MediaItem.uploaded_by == username, ~cited)) or 0

    def discard(self, session: Session, digests: Iterable[str]) -> list[str]:
        """Remove uploads no case cites (rows now; call `unlink` after commit); return what went."""
        cited = exists().where(MediaCitation.digest == MediaItem.digest)
        gone = list(session.scalars(select(MediaItem.digest).where(MediaItem.digest.in_(list(digests)), ~cited)))
        if gone:
            session.execute(delete(MediaItem).where(MediaItem.digest.in_(gone)))
        return gone

    def stale(self, session: Session, now: datetime, limit: int = 500) -> list[str]:
        """Quarantined uploads older than the quarantine age."""
        cited = exists().where(MediaCitation.digest == MediaItem.digest)
        return list(session.scalars(select(MediaItem.digest).where(MediaItem.uploaded_at < now - self.quarantine,
                                                                   ~cited).limit(limit)))

    def unlink(self, session: Session, digests: Iterable[str]) -> None:
        """Delete files whose row is gone (checked again: the same bytes may have been uploaded anew)."""
        for digest in digests:
            if session.get(MediaItem, digest) is None:
                self.path_for(digest).unlink(missing_ok=True)
