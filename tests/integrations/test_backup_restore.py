"""Backup and restore with scripts/backup.py and scripts/restore.py, on PostgreSQL (pg_dump and
pg_restore of the product's schema) and SQLite: a case with a photograph is backed up, the
database and media folder are lost, the restore brings both back, the audit chain verifies, the
photograph is intact, and the case carries on."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import create_engine, text

from engine import ReleaseDesk, load_settings
from engine import queries as q
from engine.audit import verify
from engine.users import create_user
from tests.conftest import ACTORS, PG_BASE, _pg_available
from tests.engine.driver import LEGAL_CLEAR

from .conftest import ROOT, jpeg_bytes
from .test_api_integrations import APPROVE, PUBLISH, START


def script(name: str, *args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / name), *args], capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.fixture(params=["sqlite", "postgresql"])
def estate(request, tmp_path):
    """A database URL of its own (a fresh PostgreSQL schema, or a SQLite file) and its PG schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'live' / 'releasedesk.db'}", None
        return
    if not _pg_available():
        if os.environ.get("RELEASEDESK_TEST_PG") == "required":
            pytest.fail("PostgreSQL is required but unreachable")
        pytest.skip("PostgreSQL not reachable")
    schema = f"rd_restore_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{PG_BASE}?options=-csearch_path%3D{schema}", schema
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def test_backup_then_restore_after_losing_database_and_media(estate, tmp_path):
    url, schema = estate
    (tmp_path / "live").mkdir(exist_ok=True)
    media_dir = tmp_path / "live" / "media"
    settings = load_settings(database_url=url, media_dir=str(media_dir), testing=True, secret_key="k")
    desk = ReleaseDesk(settings)
    desk.migrate()
    with desk.transaction() as s:
        desk.deploy_workflows(s)
        create_user(s, "rita", "a long enough passphrase", ["requester"])
        photo = desk.runtime.media.store(s, jpeg_bytes(), "suspect.jpg", "rita", desk.clock()).digest
    with desk.transaction() as s:
        case = desk.runtime.start(s, "wanted_person", "WP-BACKUP-1",
                                  {**START, **LEGAL_CLEAR, "media_items": [photo]}, ACTORS["requester"])
    with desk.transaction() as s:
        task = q.list_tasks(s, ACTORS["oic"], instance_id=case["id"])[0]
        desk.runtime.complete(s, task["id"], ACTORS["oic"], APPROVE)
    with desk.read() as s:
        audit_before = q.audit_trail(s, case["id"])
    desk.dispose()

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("RELEASEDESK_")},
           "RELEASEDESK_DATABASE_URL": url, "RELEASEDESK_MEDIA_DIR": str(media_dir)}
    backup = tmp_path / "backups" / "nightly"
    made = script("backup.py", str(backup), *(["--schema", schema] if schema else []), env=env)
    assert made.returncode == 0, made.stderr
    assert (backup / "MANIFEST.json").is_file() and "1 media file(s)" in made.stdout

    # Disaster: the database and the media folder are gone.
    if schema:
        admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    else:
        for path in (tmp_path / "live").glob("releasedesk.db*"):
            path.unlink()
    shutil.rmtree(media_dir)

    # A tampered backup is refused before anything is touched.
    tampered = tmp_path / "backups" / "tampered"
    shutil.copytree(backup, tampered)
    with open(tampered / "media.tar", "ab") as fh:
        fh.write(b"\0" * 512)
    refused = script("restore.py", str(tampered), env=env)
    assert refused.returncode == 1 and "checksum" in refused.stderr and not media_dir.exists()

    restored = script("restore.py", str(backup), env=env)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "audit chain intact" in restored.stdout

    desk = ReleaseDesk(settings)
    try:
        desk.migrate()  # `releasedesk init` after a restore: nothing to do on the same version
        with desk.read() as s:
            assert q.audit_trail(s, case["id"]) == audit_before
            assert verify(s).ok
        assert desk.runtime.media.path_for(photo).read_bytes() == jpeg_bytes()
        with desk.transaction() as s:  # the case carries on where it stopped
            task = q.list_tasks(s, ACTORS["ccd"], instance_id=case["id"])[0]
            assert task["activityId"] == "publish_appeal"
            desk.runtime.complete(s, task["id"], ACTORS["ccd"], PUBLISH)
    finally:
        desk.dispose()

    again = script("restore.py", str(backup), env=env)  # never over an estate that holds media
    assert again.returncode == 1 and "already holds media" in again.stderr
    desk = ReleaseDesk(settings)
    try:
        with desk.read() as s:  # and the refused restore left the database alone
            assert "publish_appeal" in q.instance_view(s, q.get_instance(s, case["id"]))["completedActivities"]
    finally:
        desk.dispose()
