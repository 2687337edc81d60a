"""Uploads: permission before anything is stored; a form refused for its answers keeps the officer's
upload (so nothing typed or uploaded is lost) in a quarantine of uploads no case cites, which counts
against a per-user quota and which the worker purges; an upload belongs to its uploader and to the
cases citing it."""
from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import InvalidForm, ReleaseDesk
from engine.models import MediaItem
from tests.engine.driver import Case, media
from tests.engine.test_pathway_general_release import START
from tests.web.test_api import start_wanted, task_id
from tests.web.test_inbox import login, token
from web.demo import sample_png


def _files(desk) -> list[Path]:
    root = Path(desk.settings.media_dir)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _rows(desk) -> int:
    with desk.read() as s:
        return s.scalar(select(func.count()).select_from(MediaItem))


def big_png(size: int = 2 * 1024 * 1024) -> bytes:
    """A PNG signature followed by padding: accepted by type, a few MiB on disk."""
    return sample_png() + b"\0" * size


def test_a_refused_start_form_keeps_its_upload_in_quarantine_until_purged(client, web_desk):
    login(client, "rita")
    form = {"csrf_token": token(client, "/start/wanted_person"), "case_reference": "WP-NO",
            "media_items": (io.BytesIO(big_png()), "photo.png")}  # required fields missing
    r = client.post("/start/wanted_person", data=form, content_type="multipart/form-data")
    assert r.status_code == 400
    assert len(_files(web_desk)) == 1 and _rows(web_desk) == 1  # kept for the corrected form
    with web_desk.read() as s:
        assert web_desk.runtime.media.quarantined_bytes(s, "rita") > 2 * 1024 * 1024  # no case cites it
    later = web_desk.clock() + timedelta(hours=web_desk.settings.media_quarantine_hours + 1)
    assert len(web_desk.purge_media_quarantine(later)) == 1
    assert _files(web_desk) == [] and _rows(web_desk) == 0


def test_a_task_form_from_someone_not_allowed_stores_nothing(client, api, web_desk):
    start_wanted(api, web_desk, "WP-PERM")
    before = (_files(web_desk), _rows(web_desk))
    login(client, "cat")  # the press office: not a candidate for the SIO's approval
    task = task_id(api, "sam", "approve_release", "WP-PERM")
    form = {"csrf_token": token(client, "/inbox"), "decision": "approve",
            "media_items": (io.BytesIO(big_png()), "extra.png")}
    r = client.post(f"/tasks/{task}", data=form, content_type="multipart/form-data")
    assert r.status_code == 403
    assert (_files(web_desk), _rows(web_desk)) == before


def test_attaching_someone_elses_upload_is_refused(desk, actors):
    other = media(desk, uploader="sam")  # the SIO's upload, for some other case
    with pytest.raises(InvalidForm) as refused, desk.transaction() as s:
        desk.runtime.start(s, "general_release", "GR-STEAL", {**START, "media_items": [other]}, actors["requester"])
    assert "media_items" in refused.value.details and "Unknown attachment" in refused.value.details["media_items"]
    own = media(desk, (9, 9, 9), uploader="rita")
    with desk.transaction() as s:
        assert desk.runtime.start(s, "general_release", "GR-OWN", {**START, "media_items": [own]},
                                  actors["requester"])["state"] == "active"


def test_attaching_someone_elses_upload_through_the_api_answers_400_naming_the_field(api, web_desk):
    with web_desk.transaction() as s:
        digest = web_desk.runtime.media.store(s, sample_png((1, 2, 3)), "x.png", "sam", web_desk.clock()).digest
    r = api.post("/api/process-definitions/general_release/start", "rita",
                 json={"businessKey": "GR-API", "variables": {**START, "media_items": [digest]}})
    assert r.status_code == 400 and "media_items" in r.get_json()["details"]


def test_quota_counts_uploads_not_yet_attached(web_desk, client):
    small = ReleaseDesk(web_desk.settings.with_overrides(media_quota_bytes=3 * 1024 * 1024))
    try:
        from web.app import create_app
        client = create_app(small.settings, desk=small).test_client()
        login(client, "rita")
        form = {"csrf_token": token(client, "/start/wanted_person"), "case_reference": "Q-1",
                "media_items": (io.BytesIO(big_png()), "a.png")}  # refused: required fields missing
        assert client.post("/start/wanted_person", data=form, content_type="multipart/form-data").status_code == 400
        assert len(_files(small)) == 1  # kept in quarantine, and counted against rita's quota
        form = {"csrf_token": token(client, "/start/wanted_person"), "case_reference": "Q-2",
                "media_items": (io.BytesIO(big_png(2 * 1024 * 1024 + 1)), "b.png")}
        page = client.post("/start/wanted_person", data=form, content_type="multipart/form-data")
        assert page.status_code == 400 and "limit is 3 MiB" in page.get_data(as_text=True)
        assert len(_files(small)) == 1  # the second upload was refused, not stored
        with pytest.raises(InvalidForm) as refused, small.transaction() as s:
            small.runtime.media.store(s, big_png(2 * 1024 * 1024 + 3), "third.png", "rita", small.clock())
        assert "limit is 3 MiB" in refused.value.details["file"]
        with small.transaction() as s:  # someone else's quota is their own
            small.runtime.media.store(s, big_png(2 * 1024 * 1024 + 2), "other.png", "sam", small.clock())
    finally:
        small.dispose()


def test_the_quarantine_is_purged_and_attached_files_stay(desk, actors):
    attached = media(desk, (1, 1, 1))
    case = Case(desk, "general_release", "GR-Q", {**START, "media_items": [attached]}, actors["requester"])
    stray = media(desk, (2, 2, 2))
    assert desk.purge_media_quarantine(desk.clock() + timedelta(hours=23)) == []  # still young
    assert desk.purge_media_quarantine(desk.clock() + timedelta(hours=25)) == [stray]
    assert not desk.runtime.media.exists(stray) and desk.runtime.media.exists(attached)
    with desk.read() as s:
        assert s.get(MediaItem, stray) is None and s.get(MediaItem, attached) is not None
    assert case.variables["media_items"] == [attached]


def test_the_same_bytes_uploaded_by_two_people_belong_to_both(desk, actors):
    mine = media(desk, (7, 7, 7), uploader="sam")
    assert media(desk, (7, 7, 7), uploader="rita") == mine  # stored once, by digest
    with desk.transaction() as s:
        assert desk.runtime.start(s, "general_release", "GR-SAME", {**START, "media_items": [mine]},
                                  actors["requester"])["state"] == "active"
