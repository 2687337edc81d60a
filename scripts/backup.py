#!/usr/bin/env python3
"""Back up Release Desk: the database (pg_dump custom format for PostgreSQL, the SQLite online
backup API for SQLite) and then the media folder, into one new directory with a manifest of
SHA-256 checksums. Reads the same settings as the product (RELEASEDESK_DATABASE_URL,
RELEASEDESK_MEDIA_DIR or the RELEASEDESK_CONFIG file).

The database is copied first: a media file is on disk before the row that cites it commits, so
every file the copied database refers to is already there when the media folder is archived.

    python scripts/backup.py /var/backups/releasedesk/2026-11-26 [--schema NAME]
    python scripts/restore.py /var/backups/releasedesk/2026-11-26   # see restore.py"""
from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import subprocess
import sys
import tarfile
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout or an install

from sqlalchemy.engine import make_url  # noqa: E402

from engine import load_settings  # noqa: E402


def libpq_url(url: str) -> str:
    """postgresql+psycopg://... (SQLAlchemy) -> postgresql://... (pg_dump, pg_restore, psql)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def backup_database(url: str, target: Path, schema: str | None) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        out = target / "database.sqlite"
        with sqlite3.connect(parsed.database) as source, sqlite3.connect(out) as copy:
            source.backup(copy)
        return out.name
    out = target / "database.dump"
    command = ["pg_dump", "--format=custom", "--no-owner", "--file", str(out), "--dbname", libpq_url(url)]
    if schema:
        command += ["--schema", schema]
    subprocess.run(command, check=True)
    return out.name


def backup_media(media_dir: Path, target: Path) -> tuple[str, int]:
    out = target / "media.tar"
    count = 0
    with tarfile.open(out, "w") as tar:
        if media_dir.is_dir():
            for path in sorted(media_dir.rglob("*")):
                if path.is_file() and ".incoming" not in path.parts:  # unfinished uploads are not media
                    tar.add(path, arcname=str(path.relative_to(media_dir)))
                    count += 1
    return out.name, count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("destination", type=Path, help="a new directory for this backup")
    parser.add_argument("--schema", help="PostgreSQL: only this schema (default: the whole database)")
    args = parser.parse_args(argv)
    settings = load_settings()
    target: Path = args.destination
    target.mkdir(parents=True, exist_ok=False)
    database = backup_database(settings.database_url, target, args.schema)
    media, count = backup_media(Path(settings.media_dir), target)
    manifest = {"createdAt": datetime.now(timezone.utc).isoformat(), "database": database, "media": media,
                "mediaFiles": count, "schema": args.schema,
                "sha256": {name: sha256(target / name) for name in (database, media)}}
    (target / "MANIFEST.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"backup written to {target}: {database}, {media} ({count} media file(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
