"""Media over the API: `POST /api/media` streams a multipart upload to disk while hashing it, and
`GET /api/media/<digest>` hands it back to the people the pages would (a task on a case citing it,
its uploader, managers), auditing every download.

The multipart body is parsed here with a stream factory that writes each file part straight into
an `IncomingMedia` sink, so neither the whole file nor a spooled copy of it is ever held: the
server's memory stays flat for a multi-gigabyte body-worn video."""
from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request, send_file
from werkzeug.formparser import parse_form_data

from engine import InvalidForm, evidence
from engine import audit as audit_log
from engine.media_ingest import IncomingMedia, too_large
from engine.models import MediaItem

from .api import api_auth, desk

bp = Blueprint("api_media", __name__, url_prefix="/api")
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the file


@bp.post("/media")
@api_auth
def upload():
    settings = desk().settings
    limit = settings.media_max_bytes
    if not (request.mimetype or "").startswith("multipart/form-data"):
        raise InvalidForm("Send the file as multipart/form-data in the field 'file'.",
                          {"file": "Expected a multipart/form-data body."})
    if request.content_length is not None and request.content_length > limit + MULTIPART_OVERHEAD:
        raise too_large(limit)
    sinks: list[IncomingMedia] = []

    def stream_factory(total_content_length, content_type, filename, content_length=None):
        if sinks:  # one file per request; a second file part is refused before it is written
            raise InvalidForm("Send one file per request.", {"file": "Only one file is accepted."})
        sinks.append(IncomingMedia(desk().runtime.media, limit))
        return sinks[0]

    try:
        _, form, files = parse_form_data(request.environ, stream_factory=stream_factory,
                                         max_content_length=limit + MULTIPART_OVERHEAD,
                                         max_form_memory_size=64 * 1024)
        part = files.get("file")
        if part is None or not sinks:
            raise InvalidForm("No file.", {"file": "Send the file in the multipart field 'file'."})
        now = desk().clock()
        with desk().transaction() as s:
            item = sinks[0].finish(s, part.filename or "upload", g.actor.username, now)
            audit_log.append(s, at=now, actor=g.actor.username, group=next(iter(sorted(g.actor.groups)), None),
                             action="upload", data={"digest": item.digest, "filename": item.filename,
                                                    "size": item.size, "contentType": item.content_type})
            body = media_view(item)
    finally:
        for sink in sinks:
            sink.discard()  # no-op once finished; removes a partial file after any error
    return jsonify(body), 201


def media_view(item: MediaItem) -> dict:
    return {"digest": item.digest, "contentType": item.content_type, "size": item.size, "filename": item.filename}


@bp.get("/media/<digest>")
@api_auth
def download(digest: str):
    now = desk().clock()
    with desk().transaction() as s:
        item, case = evidence.open_for(s, digest, g.actor)
        is_file = isinstance(item, MediaItem)
        audit_log.append(s, at=now, actor=g.actor.username, group=next(iter(sorted(g.actor.groups)), None),
                         action="download", instance_id=case.id if case else None,
                         business_key=case.business_key if case else None,
                         data={"digest": digest, "filename": item.filename if is_file else None,
                               "evidenceReference": None if is_file else evidence.reference_view(item),
                               "via": "api"})
        if not is_file:
            # Held in the evidence system: say where, never fetch it.
            return jsonify({"digest": digest, "evidenceReference": evidence.reference_view(item)})
        content_type, filename = item.content_type, item.filename
    path = desk().runtime.media.path_for(digest)
    if not path.is_file():
        return Response(status=404)
    response = send_file(path, mimetype=content_type, download_name=filename, as_attachment=True,
                         conditional=True)
    response.headers["Cache-Control"] = "private, no-store"
    return response
