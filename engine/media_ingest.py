"""Streamed uploads: a large file (body-worn video runs to gigabytes) is written to disk in chunks
while it is hashed, so memory stays flat however big it is. The type is recognised from the first
bytes as they arrive, and a file of the wrong type or over the limit stops being written at once.

`IncomingMedia` is a write-only sink that a multipart parser (or any loop over a stream) feeds; once
the whole file is in, `finish` moves it under its digest and records it, exactly as `MediaStore`
does for small uploads from the pages."""
from __future__ import annotations

import hashlib
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

from .errors import EngineError
from .media import MediaStore, sniff
from .models import MediaItem

SNIFF_BYTES = 16
CHUNK = 1024 * 1024


class MediaTooLarge(EngineError):
    """The upload passed the configured `media_max_bytes`; `details["file"]` says the limit."""

    status = 413


class UnsupportedMedia(EngineError):
    """The first bytes are not JPEG, PNG or MP4."""

    status = 415


def too_large(max_bytes: int) -> MediaTooLarge:
    return MediaTooLarge("The upload is too large.", {"file": f"Larger than {max_bytes} bytes."})


def unsupported() -> UnsupportedMedia:
    return UnsupportedMedia("Unsupported file.", {"file": "Only JPEG, PNG and MP4 files are accepted."})


class IncomingMedia:
    """A temporary file beside the media store (same file system, so the final move is a rename)."""

    def __init__(self, store: MediaStore, max_bytes: int) -> None:
        self.store = store
        self.max_bytes = max_bytes
        incoming = store.root / ".incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=incoming, prefix="upload-")
        self.path = Path(name)
        self.fh: BinaryIO | None = os.fdopen(fd, "wb")
        self.hash = hashlib.sha256()
        self.size = 0
        self.head = b""
        self.content_type: str | None = None

    # -- the file-like surface a multipart parser writes to ------------------------------------
    def write(self, data: bytes) -> int:
        if self.fh is None:
            raise ValueError("upload already finished")
        self.size += len(data)
        if self.size > self.max_bytes:
            self.discard()
            raise too_large(self.max_bytes)
        if self.content_type is None and len(self.head) < SNIFF_BYTES:
            self.head += data[:SNIFF_BYTES]
            if len(self.head) >= SNIFF_BYTES:
                self._check_type()
        self.hash.update(data)
        self.fh.write(data)
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:  # the parser rewinds when a part ends
        return 0

    def tell(self) -> int:
        return self.size

    def read(self, size: int = -1) -> bytes:
        return b""

    def close(self) -> None:
        pass

    def _check_type(self) -> None:
        self.content_type = sniff(self.head)
        if self.content_type is None:
            self.discard()
            raise unsupported()

    # -- results ------------------------------------------------------------------------------
    def copy_from(self, stream: BinaryIO) -> None:
        """Feed the sink from a readable stream, one chunk at a time."""
        while chunk := stream.read(CHUNK):
            self.write(chunk)

    def discard(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None
        self.path.unlink(missing_ok=True)

    def finish(self, session: Session, filename: str, uploaded_by: str, now: datetime) -> MediaItem:
        """Move the file under its digest and record it (an identical file is stored once)."""
        if self.fh is None:
            raise ValueError("upload was discarded")
        if self.content_type is None:
            self._check_type()
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        self.fh = None
        digest = self.hash.hexdigest()
        target = self.store.path_for(digest)
        if target.exists():
            self.path.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.path, target)
        item = session.get(MediaItem, digest)
        if item is None:
            item = MediaItem(digest=digest, content_type=self.content_type, size=self.size,
                             filename=Path(filename or "upload").name[:200] or "upload", uploaded_by=uploaded_by,
                             uploaded_at=now)
            session.add(item)
            session.flush()
        return item
