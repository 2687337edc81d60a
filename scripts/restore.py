#!/usr/bin/env python3
"""Restore a backup made by scripts/backup.py into the database and media folder named by the
product's settings, then check it: every checksum in the manifest, every media file against its
digest, and the audit hash chain. Stop the web processes and the worker first; afterwards run
`releasedesk init` (it migrates a backup taken on an older version) and start them again.

    python scripts/restore.py /var/backups/releasedesk/2026-11-26 [--schema NAME]

PostgreSQL: the dump's objects are dropped and recreated (pg_restore --clean --if-exists).
SQLite: the database file is replaced. The media folder must be empty or absent, so a restore
never mixes two estates."""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backup import libpq_url, sha256  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from engine import ReleaseDesk, load_settings  # noqa: E402
from engine.audit import verify  # noqa: E402


class RestoreFailed(Exception):
    pass


def check_manifest(source: Path) -> dict:
    manifest = json.loads((source / "MANIFEST.json").read_text())
    for name, expected in manifest["sha256"].items():
        if sha256(source / name) != expected:
            raise RestoreFailed(f"{name} does not match its checksum in MANIFEST.json; not restoring")
    return manifest


def restore_database(url: str, source: Path, manifest: dict) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        target = Path(parsed.database)
        target.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(source / manifest["database"], target)
        return
    command = ["pg_restore", "--clean", "--if-exists", "--no-owner", "--exit-on-error",
               "--dbname", libpq_url(url), str(source / manifest["database"])]
    subprocess.run(command, check=True)


def check_media_dir_empty(media_dir: Path) -> None:
    if media_dir.exists() and any(p for p in media_dir.rglob("*") if p.is_file() and ".incoming" not in p.parts):
        raise RestoreFailed(f"{media_dir} already holds media; restore into an empty folder")


def restore_media(media_dir: Path, source: Path, manifest: dict) -> int:
    media_dir.mkdir(parents=True, exist_ok=True)
    with tarfile.open(source / manifest["media"]) as tar:
        tar.extractall(media_dir, filter="data")
    bad = [p for p in media_dir.rglob("*") if p.is_file() and ".incoming" not in p.parts and sha256(p) != p.name]
    if bad:
        raise RestoreFailed(f"media file(s) do not match their digest: {', '.join(str(p) for p in bad[:5])}")
    return sum(1 for p in media_dir.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="a directory written by scripts/backup.py")
    args = parser.parse_args(argv)
    settings = load_settings()
    try:
        manifest = check_manifest(args.source)
        check_media_dir_empty(Path(settings.media_dir))  # before anything is overwritten
        restore_database(settings.database_url, args.source, manifest)
        count = restore_media(Path(settings.media_dir), args.source, manifest)
    except (RestoreFailed, subprocess.CalledProcessError, OSError, KeyError, ValueError) as exc:
        print(f"restore failed: {exc}", file=sys.stderr)
        return 1
    desk = ReleaseDesk(settings)
    try:
        with desk.read() as s:
            result = verify(s)
    finally:
        desk.dispose()
    print(f"restored {manifest['database']} and {count} media file(s); {result}")
    if not result.ok:
        return 1
    print("next: `releasedesk init` (migrates an older backup), then start the web processes and the worker")
    return 0


if __name__ == "__main__":
    sys.exit(main())
