"""Share links: issued for a released case, opened by the recipient without an account, conditions
shown and accepted before the download, every download in the disclosure log with who, when and
from where; expired and revoked links refused; a watermarked image differs from the original."""
from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import urlsplit

from PIL import Image, ImageChops

from engine.models import DisclosureEntry, ShareLink
from tests.engine.driver import LEGAL_CLEAR
from tests.web.test_inbox import login
from tests.web.test_inbox import token as csrf

from .conftest import jpeg_bytes
from .test_api_integrations import APPROVE, PUBLISH, REFERENCE, START


def released_case(api, business_key="WP-SH-1"):
    jpeg = jpeg_bytes((30, 90, 160), size=(240, 160))
    photo = api.post("/api/media", "rita", data={"file": (io.BytesIO(jpeg), "suspect.jpg")},
                     content_type="multipart/form-data").get_json()
    r = api.post("/api/process-definitions/wanted_person/start", "rita", json={
        "businessKey": business_key, "variables": {**START, **LEGAL_CLEAR, "media_items": [photo["digest"]],
                                                   "conditions_of_use": "For the wanted appeal only."}})
    case_id = r.get_json()["id"]
    for user, values in (("olly", APPROVE), ("cat", PUBLISH)):
        task = api.get(f"/api/tasks?businessKey={business_key}", user).get_json()[0]
        assert api.post(f"/api/tasks/{task['id']}/complete", user, json={"variables": values}).status_code == 200
    return case_id, photo["digest"], jpeg


def test_share_link_created_downloaded_logged_then_expired_and_revoked(api, desk, app):
    r = api.post("/api/process-definitions/wanted_person/start", "rita", json={
        "businessKey": "WP-SH-0", "variables": {**START, **LEGAL_CLEAR, "media_items": [REFERENCE]}})
    r = api.post(f"/api/process-instances/{r.get_json()['id']}/share-links", "max",
                 json={"recipient": "Daily Bugle", "recipientKind": "newsroom"})
    assert r.status_code == 400 and "no stored media" in r.get_json()["details"]["digests"]
    case_id, digest, jpeg = released_case(api)
    r = api.post("/api/process-definitions/wanted_person/start", "rita", json={
        "businessKey": "WP-SH-00", "variables": {**START, **LEGAL_CLEAR, "media_items": [digest]}})
    r = api.post(f"/api/process-instances/{r.get_json()['id']}/share-links", "max",
                 json={"recipient": "Daily Bugle", "recipientKind": "newsroom"})
    assert r.status_code == 409 and "released" in r.get_json()["error"]  # not yet released

    assert api.post(f"/api/process-instances/{case_id}/share-links", "fay",
                    json={"recipient": "x", "recipientKind": "family"}).status_code == 403
    r = api.post(f"/api/process-instances/{case_id}/share-links", "cat",
                 json={"recipient": "", "recipientKind": "tabloid", "expiresInDays": 99})
    assert r.status_code == 400 and {"recipient", "recipientKind", "expiresInDays"} <= set(r.get_json()["details"])

    r = api.post(f"/api/process-instances/{case_id}/share-links", "cat",
                 json={"recipient": "Newsroom, Daily Bugle", "recipientKind": "newsroom"})
    assert r.status_code == 201, r.get_json()
    link = r.get_json()
    assert link["state"] == "active" and link["digests"] == [digest]
    path = urlsplit(link["url"]).path
    token = path.rsplit("/", 1)[1]
    assert len(token) >= 40
    with desk.read() as s:
        row = s.get(ShareLink, link["id"])
        assert token not in (row.token_hash,) and len(row.token_hash) == 64  # only a hash is kept

    client = app.test_client()  # the recipient: no account
    page = client.get(path)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "For the wanted appeal only." in text and "© Police" in text
    assert client.get(path[:-4] + "AAAA").status_code == 404
    download = f"{path}/download/{digest}"
    r = client.post(download, data={"csrf_token": csrf(client, path)})
    assert r.status_code == 400 and "accept the conditions" in r.get_data(as_text=True)
    r = client.post(download, data={"csrf_token": csrf(client, path), "accept_conditions": "yes"},
                    headers={"User-Agent": "NewsroomBrowser/1.0"}, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert r.status_code == 200 and r.data == jpeg

    with desk.read() as s:
        logged = [e for e in s.query(DisclosureEntry).filter_by(instance_id=case_id, activity_id="share_link")
                  .order_by(DisclosureEntry.id)]
        assert [e.description for e in logged] == ["Share link issued to Newsroom, Daily Bugle",
                                                   "Downloaded through the share link to Newsroom, Daily Bugle"]
        got = logged[1]
        assert got.media_items == [digest] and got.destinations == ["Newsroom, Daily Bugle (newsroom)"]
        assert (got.details["remoteAddr"], got.details["userAgent"]) == ("192.0.2.7", "NewsroomBrowser/1.0")
        assert got.details["conditions_of_use"] == "For the wanted appeal only."
    audit = api.get(f"/api/process-instances/{case_id}/audit", "max").get_json()
    assert [r["action"] for r in audit if r["activityId"] == "share_link"] == ["share_issue", "share_download"]

    # Expired: fifteen days on, the page and the download both refuse.
    token_csrf = csrf(client, path)
    real_clock = desk.runtime.clock
    desk.runtime.clock = lambda: real_clock() + timedelta(days=15)
    try:
        assert client.get(path).status_code == 410
        r = client.post(download, data={"csrf_token": token_csrf, "accept_conditions": "yes"})
        assert r.status_code == 410 and "expired" in r.get_data(as_text=True)
        assert api.get(f"/api/process-instances/{case_id}/share-links", "cat").get_json()[0]["state"] == "expired"
    finally:
        desk.runtime.clock = real_clock

    # Revoked: a second link opens, then is revoked and refused.
    second = api.post(f"/api/process-instances/{case_id}/share-links", "cat",
                      json={"recipient": "CPS Area North", "recipientKind": "cps", "expiresInDays": 3}).get_json()
    second_path = urlsplit(second["url"]).path
    assert client.get(second_path).status_code == 200
    assert api.post(f"/api/share-links/{second['id']}/revoke", "fay").status_code == 403
    r = api.post(f"/api/share-links/{second['id']}/revoke", "cat")
    assert r.status_code == 200 and r.get_json()["state"] == "revoked"
    assert client.get(second_path).status_code == 410
    r = client.post(f"{second_path}/download/{digest}", data={"csrf_token": token_csrf, "accept_conditions": "yes"})
    assert r.status_code == 410 and "withdrawn" in r.get_data(as_text=True)


def test_watermarked_image_differs_from_the_original(api, app):
    case_id, digest, jpeg = released_case(api, "WP-SH-2")
    link = api.post(f"/api/process-instances/{case_id}/share-links", "cat",
                    json={"recipient": "The family", "recipientKind": "family", "watermark": True}).get_json()
    path = urlsplit(link["url"]).path
    client = app.test_client()
    r = client.post(f"{path}/download/{digest}", data={"csrf_token": csrf(client, path), "accept_conditions": "yes"})
    assert r.status_code == 200 and r.mimetype == "image/jpeg"
    assert r.data != jpeg
    original, stamped = Image.open(io.BytesIO(jpeg)).convert("RGB"), Image.open(io.BytesIO(r.data)).convert("RGB")
    assert original.size == stamped.size
    difference = ImageChops.difference(original, stamped).convert("L").point(lambda v: 255 if v > 40 else 0)
    changed = difference.histogram()[255]
    assert changed > original.size[0] * original.size[1] // 50  # visibly stamped, not just re-encoded


def test_press_office_page_issues_shows_once_and_revokes(client, api):
    case_id, digest, _ = released_case(api, "WP-SH-3")
    login(client, "cat")
    listing = client.get("/shares").get_data(as_text=True)
    assert f'href="/instances/{case_id}/shares"' in listing and "WP-SH-3" in listing
    page = client.get(f"/instances/{case_id}/shares")
    assert page.status_code == 200 and "suspect.jpg" in page.get_data(as_text=True)
    r = client.post(f"/instances/{case_id}/shares", data={
        "csrf_token": csrf(client, f"/instances/{case_id}/shares"), "recipient": "Evening Post",
        "recipient_kind": "newsroom", "digests": digest, "days": "7"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "/share/" in html and "Evening Post" in html
    assert "/share/" not in client.get(f"/instances/{case_id}/shares").get_data(as_text=True)  # shown once
    link_id = api.get(f"/api/process-instances/{case_id}/share-links", "cat").get_json()[0]["id"]
    r = client.post(f"/instances/{case_id}/shares/{link_id}/revoke",
                    data={"csrf_token": csrf(client, f"/instances/{case_id}/shares")}, follow_redirects=True)
    assert "revoked" in r.get_data(as_text=True)
    login_page = client.post("/logout", data={"csrf_token": csrf(client, "/inbox")})
    assert login_page.status_code == 302
    login(client, "fay")
    assert client.get(f"/instances/{case_id}/shares").status_code == 403
    assert client.get("/shares").status_code == 403


def test_an_image_that_cannot_be_stamped_is_not_sent_unstamped(api, app, desk):
    import struct
    import zlib

    released_case(api, "WP-SH-4")
    # A PNG whose header claims 60,000 x 60,000 pixels: stamping it would need gigabytes.
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    bomb = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))
    big = api.post("/api/media", "rita", data={"file": (io.BytesIO(bomb), "big.png")},
                   content_type="multipart/form-data").get_json()["digest"]
    case_id = api.post("/api/process-definitions/wanted_person/start", "rita", json={
        "businessKey": "WP-SH-5", "variables": {**START, **LEGAL_CLEAR, "media_items": [big]}}).get_json()["id"]
    for user, values in (("olly", APPROVE), ("cat", PUBLISH)):
        task = api.get("/api/tasks?businessKey=WP-SH-5", user).get_json()[0]
        assert api.post(f"/api/tasks/{task['id']}/complete", user, json={"variables": values}).status_code == 200
    link = api.post(f"/api/process-instances/{case_id}/share-links", "cat",
                    json={"recipient": "The family", "recipientKind": "family", "watermark": True}).get_json()
    path = urlsplit(link["url"]).path
    client = app.test_client()
    r = client.post(f"{path}/download/{big}", data={"csrf_token": csrf(client, path), "accept_conditions": "yes"})
    assert r.status_code == 422 and "cannot be watermarked" in r.get_data(as_text=True)
    assert r.mimetype == "text/html"
    audit = api.get(f"/api/process-instances/{case_id}/audit", "max").get_json()
    assert [r["action"] for r in audit if r["activityId"] == "share_link"] == ["share_issue"]  # nothing sent
