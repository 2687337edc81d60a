"""Upgrading a database that already has cases with attachments: those uploads are cited at once,
so the new quarantine purge never removes a file a case uses."""
from __future__ import annotations

import importlib.util
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, text

from engine import ReleaseDesk
from engine.migrate import MIGRATIONS
from engine.models import MediaCitation
from tests.engine.driver import Case, media
from tests.engine.test_pathway_general_release import START


def _upgrade_0006():
    path = next(Path(MIGRATIONS, "versions").glob("0006_*.py"))
    spec = importlib.util.spec_from_file_location("migration_0006", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_uploads_already_in_cases_are_cited_by_the_upgrade(desk, actors):
    photo = media(desk, (3, 4, 5))
    case = Case(desk, "general_release", "GR-OLD", {**START, "media_items": [photo]}, actors["requester"])
    stray = media(desk, (6, 7, 8))
    with desk.transaction() as s:  # as before the upgrade: no citations at all
        s.execute(text("DELETE FROM media_citations"))
        s.execute(text(_upgrade_0006().CITE_EXISTING))  # what the upgrade runs on such a database
    with desk.read() as s:
        assert set(s.scalars(select(MediaCitation.digest).where(MediaCitation.instance_id == case.id))) == {photo}
    fresh = ReleaseDesk(desk.settings)
    try:
        assert fresh.purge_media_quarantine(fresh.clock() + timedelta(days=2)) == [stray]
        assert fresh.runtime.media.exists(photo)
    finally:
        fresh.dispose()
