"""Media a case cites: uploads (by SHA-256 digest) and evidence references — items held in the
force's digital evidence management system, given as `{"system", "id", "sha256", "url"}` in place
of a digest. A reference is recorded and shown, never fetched; from then on it is cited by its
SHA-256 exactly like an upload, so decisions and disclosure-log entries name a digest either way.

Citations (which case cites which digest) are written when a start or task form is accepted, so the
download rule "people with a task on a case citing it" is one indexed query."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Integer, String, bindparam, exists, select
from sqlalchemy.orm import Session

from .db import INSERTS, backend
from .errors import InvalidForm, NotFound
from .models import (
    EvidenceCitation,
    EvidenceReference,
    HumanTask,
    HumanTaskGroup,
    MediaCitation,
    MediaItem,
    ProcessInstance,
)
from .users import Actor

SHA256 = re.compile(r"^[0-9a-f]{64}$")
URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)
LIMITS = {"system": 100, "id": 200, "url": 2000}
READ_ALL = {"manager"}


def media_field_ids(fields: list[dict[str, Any]]) -> list[str]:
    return [f["id"] for f in fields if f.get("properties", {}).get("media") == "true"
            or f.get("media") is True]


def _reference_problem(ref: dict[str, Any]) -> str | None:
    unknown = sorted(set(ref) - {"system", "id", "sha256", "url"})
    if unknown:
        return f"Unknown key(s) in an evidence reference: {', '.join(unknown)}."
    for key in ("system", "id", "sha256", "url"):
        if not isinstance(ref.get(key), str) or not ref[key].strip():
            return f"An evidence reference needs {key!r} (text)."
    for key, limit in LIMITS.items():
        if len(ref[key]) > limit:
            return f"Evidence reference {key!r} is longer than {limit} characters."
    if not SHA256.match(ref["sha256"].strip().lower()):
        return "Evidence reference 'sha256' must be 64 hexadecimal characters."
    if not URL.match(ref["url"].strip()):
        return "Evidence reference 'url' must be an http(s) address."
    return None


def accept_references(session: Session, fields: list[dict[str, Any]], values: dict[str, Any],
                      actor: Actor, now: datetime) -> dict[str, Any]:
    """Return `values` with every evidence reference in a media field replaced by its SHA-256,
    recording each reference. Raises InvalidForm naming the field on a malformed reference."""
    if not isinstance(values, dict):
        return values
    out = dict(values)
    errors: dict[str, str] = {}
    for fid in media_field_ids(fields):
        raw = values.get(fid)
        items = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else None
        if items is None or not any(isinstance(i, dict) for i in items):
            continue
        digests = []
        for item in items:
            if not isinstance(item, dict):
                digests.append(item)
                continue
            problem = _reference_problem(item)
            if problem:
                errors[fid] = problem
                break
            digests.append(record_reference(session, item, actor.username, now).digest)
        out[fid] = digests
    if errors:
        raise InvalidForm("The form has errors.", errors)
    return out


def record_reference(session: Session, ref: dict[str, str], recorded_by: str, now: datetime) -> EvidenceReference:
    digest = ref["sha256"].strip().lower()
    row = session.get(EvidenceReference, digest)
    if row is None:
        row = EvidenceReference(digest=digest, system=ref["system"].strip(), item_id=ref["id"].strip(),
                                url=ref["url"].strip(), recorded_by=recorded_by, recorded_at=now)
        session.add(row)
        session.flush()
    return row


def media_exists(session: Session, file_exists: Callable[[str], bool]) -> Callable[[str], bool]:
    """A digest is known if its file is stored or an evidence reference carries it."""
    def known(digest: str) -> bool:
        return file_exists(digest) or session.get(EvidenceReference, digest) is not None
    return known


def cite(session: Session, instance_id: int, fields: list[dict[str, Any]], clean: dict[str, Any],
         now: datetime, activity_id: str | None = None, file_exists: Callable[[str], bool] | None = None) -> None:
    """Record that the case cites every digest in the form's media fields: uploads in
    media_citations (which also takes them out of quarantine), evidence references in
    evidence_citations. One INSERT ... SELECT per kind, skipping citations already there, so a step
    with attachments costs one statement more (two with evidence references)."""
    digests = sorted({d for fid in media_field_ids(fields) for d in (clean.get(fid) or []) if isinstance(d, str)})
    if not digests:
        return
    on_disk = [d for d in digests if file_exists is None or file_exists(d)]
    elsewhere = [d for d in digests if d not in on_disk]
    if on_disk:
        session.execute(_CITE_UPLOADS[backend(session)], {"digests": on_disk, "instance_id": instance_id, "at": now})
    if elsewhere:
        session.execute(_CITE_REFERENCES[backend(session)], {"digests": elsewhere, "instance_id": instance_id,
                                                            "at": now, "activity_id": activity_id})


def _cite_from(insert, model, source) -> Any:
    """INSERT INTO <citations> SELECT the digests that exist in `source`, ignoring duplicates."""
    columns = [source.label("digest"), bindparam("instance_id", type_=Integer()).label("instance_id"),
               bindparam("at", type_=DateTime(timezone=True)).label("cited_at")]
    if model is EvidenceCitation:
        columns.append(bindparam("activity_id", type_=String()).label("activity_id"))
    rows = select(*columns).where(source.in_(bindparam("digests", expanding=True)))
    return insert(model.__table__).from_select([c.name for c in columns], rows).on_conflict_do_nothing()


_CITE_UPLOADS = {name: _cite_from(insert, MediaCitation, MediaItem.__table__.c.digest)
                 for name, insert in INSERTS.items()}
_CITE_REFERENCES = {name: _cite_from(insert, EvidenceCitation, EvidenceReference.__table__.c.digest)
                    for name, insert in INSERTS.items()}


def references(session: Session, digests: list[str]) -> list[EvidenceReference]:
    rows = {r.digest: r for r in session.scalars(select(EvidenceReference)
                                                  .where(EvidenceReference.digest.in_(digests)))}
    return [rows[d] for d in digests if d in rows]


def reference_view(ref: EvidenceReference) -> dict[str, str]:
    return {"system": ref.system, "id": ref.item_id, "sha256": ref.digest, "url": ref.url}


def readable_citation(session: Session, digest: str, actor: Actor) -> ProcessInstance | None:
    """A case citing `digest` on which the actor has (or had) a task, or any citing case for managers."""
    citing = (select(MediaCitation.instance_id).where(MediaCitation.digest == digest)
              .union(select(EvidenceCitation.instance_id).where(EvidenceCitation.digest == digest)))
    query = select(ProcessInstance).where(ProcessInstance.id.in_(citing))
    if not actor.groups & READ_ALL:
        query = query.where(exists().where(HumanTask.instance_id == ProcessInstance.id,
                                           HumanTaskGroup.task_id == HumanTask.id,
                                           HumanTaskGroup.group_name.in_(sorted(actor.groups))))
    return session.scalars(query.order_by(ProcessInstance.id).limit(1)).first()


def open_for(session: Session, digest: str,
             actor: Actor) -> tuple[MediaItem | EvidenceReference, ProcessInstance | None]:
    """The media and the case the actor reaches it through. Anyone else is told it does not exist
    (a refusal must not confirm that a digest is held)."""
    if not SHA256.match(digest or ""):
        raise NotFound("no such media")
    item: MediaItem | EvidenceReference | None = session.get(MediaItem, digest) or session.get(EvidenceReference,
                                                                                              digest)
    if item is None:
        raise NotFound("no such media")
    case = readable_citation(session, digest, actor)
    owner = item.uploaded_by if isinstance(item, MediaItem) else item.recorded_by
    if case is None and owner != actor.username and not actor.groups & READ_ALL:
        raise NotFound("no such media")
    return item, case
