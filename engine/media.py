"""Attachments (images and footage) on disk by SHA-256, never inside workflow data.

Only JPEG, PNG and MP4 are accepted, recognised by their leading bytes rather than by the name or
the type a browser claims."""
from __future__ import annotations

import hashlib
import os
import tempfile
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from .errors import InvalidForm
from .models import MediaItem

ALLOWED = {"image/jpeg": ".jpg", "image/png": ".png", "video/mp4": ".mp4"}


def sniff(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "video/mp4"
    return None


class MediaStore:
    def __init__(self, root: str, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes

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
        return item
