"""Media over real HTTP to the real `releasedesk serve` (a subprocess, so its memory is its own):
a JPEG and a 300 MB MP4 are uploaded, a wanted-person case starts with the JPEG, the OIC downloads
it and an unrelated officer is refused. The server's peak memory must not grow with the upload."""
from __future__ import annotations

import hashlib
import http.client
import json
import uuid
from urllib.parse import urlsplit

from tests.engine.driver import LEGAL_CLEAR

from .conftest import basic, jpeg_bytes

MP4_SIZE = 300 * 1024 * 1024
CHUNK = 1024 * 1024


def mp4_chunks(size: int):
    """A generated MP4 (an `ftyp` box, then filler), produced chunk by chunk, never held whole."""
    head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    yield head
    sent, block = len(head), bytes(range(256)) * (CHUNK // 256)
    while sent < size:
        piece = block[: min(CHUNK, size - sent)]
        sent += len(piece)
        yield piece


def post_file(url: str, user: str, filename: str, chunks, size: int, content_type: str):
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            f"Content-Type: {content_type}\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    parts = url and urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)

    def body():
        yield head
        yield from chunks
        yield tail
    conn.request("POST", "/api/media", body=body(), headers={
        **basic(user), "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(head) + size + len(tail))})
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, payload, response


def call(url: str, method: str, path: str, user: str, body=None):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    headers = basic(user)
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(body)
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, payload, response


def download_size(url: str, path: str, user: str) -> tuple[int, int]:
    """Read a download in chunks (the test client must not hold 300 MB either)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    conn.request("GET", path, headers=basic(user))
    response = conn.getresponse()
    total = 0
    while chunk := response.read(CHUNK):
        total += len(chunk)
    conn.close()
    return response.status, total


def test_upload_jpeg_and_300mb_mp4_memory_flat_then_case_access(server_process):
    url = server_process.url
    jpeg = jpeg_bytes()
    status, payload, _ = post_file(url, "rita", "suspect.jpg", [jpeg], len(jpeg), "image/jpeg")
    assert status == 201, payload
    photo = json.loads(payload)
    assert photo == {"digest": hashlib.sha256(jpeg).hexdigest(), "contentType": "image/jpeg",
                     "size": len(jpeg), "filename": "suspect.jpg"}

    # Everything the server loads once (imports, password hashing) has happened; from here its peak
    # resident memory may not grow with a 300 MB body.
    before = server_process.status("VmHWM")
    expected = hashlib.sha256()
    for piece in mp4_chunks(MP4_SIZE):
        expected.update(piece)
    status, payload, _ = post_file(url, "rita", "bwv.mp4", mp4_chunks(MP4_SIZE), MP4_SIZE, "video/mp4")
    assert status == 201, payload
    video = json.loads(payload)
    assert (video["digest"], video["size"], video["contentType"]) == (expected.hexdigest(), MP4_SIZE, "video/mp4")
    growth = server_process.status("VmHWM") - before
    assert growth < 40 * 1024 * 1024, f"server peak memory grew by {growth / 2**20:.1f} MiB for a 300 MiB upload"

    # Start a wanted-person case with the photograph, over the API.
    status, payload, _ = call(url, "POST", "/api/process-definitions/wanted_person/start", "rita", {
        "businessKey": "WP-LIVE-1", "variables": {
            "summary": "Wanted for robbery", "person_description": "Male, 30s", "offence": "Robbery",
            "necessity_justification": "Evading arrest", "media_items": [photo["digest"]], **LEGAL_CLEAR}})
    assert status == 201, payload

    status, payload, response = call(url, "GET", f"/api/media/{photo['digest']}", "olly")
    assert status == 200 and payload == jpeg
    assert response.getheader("Content-Type") == "image/jpeg"
    status, payload, _ = call(url, "GET", f"/api/media/{photo['digest']}", "fay")  # a FLO: no task on it
    assert status == 404 and json.loads(payload)["error"]
    status, _, _ = call(url, "GET", f"/api/media/{video['digest']}", "olly")  # not cited by any of his cases
    assert status == 404
    status, length = download_size(url, f"/api/media/{video['digest']}", "rita")  # the uploader may
    assert (status, length) == (200, MP4_SIZE)
    growth = server_process.status("VmHWM") - before
    assert growth < 40 * 1024 * 1024, f"server peak memory grew by {growth / 2**20:.1f} MiB serving 300 MiB"

    case_id = json.loads(call(url, "GET", "/api/process-instances?businessKey=WP-LIVE-1", "max")[1])["items"][0]["id"]
    audit = json.loads(call(url, "GET", f"/api/process-instances/{case_id}/audit", "max")[1])
    downloads = [(r["actor"], r["data"]["digest"]) for r in audit if r["action"] == "download"]
    assert downloads == [("olly", photo["digest"])]
