"""Share links: the safe transmission of a released case's media to one named recipient (a
newsroom, the CPS, a family) with the copyright notice and conditions of use attached.

A link is a random 256-bit token; only its SHA-256 is stored, so neither the database nor the
numbering of links lets anyone guess or rebuild one. Each link expires (force setting
`share_link_days`, default 14), can be revoked, and every issue, revocation and download is
written to the disclosure log and the audit trail (who, when, from where)."""
from __future__ import annotations

import hashlib
import io
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit
from .db import as_utc
from .errors import Conflict, EngineError, InvalidForm, NotAllowed, NotFound
from .models import DisclosureEntry, MediaCitation, MediaItem, ProcessInstance, ShareLink
from .queries import instance_view, iso, readable_instance, visible_to
from .users import Actor

RECIPIENT_KINDS = ("newsroom", "cps", "family", "other")
SHARERS = {"ccd", "manager"}
SHARE_ACTIVITY = "share_link"


class LinkClosed(EngineError):
    """The link expired or was revoked; it will never open again."""

    status = 410


@dataclass
class IssuedLink:
    link: ShareLink
    token: str  # shown once to the person who issued it; never stored


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()



def released(session: Session, instance_id: int) -> bool:
    """A case is released once a publish/release step wrote a disclosure-log entry."""
    return session.scalar(select(DisclosureEntry.id).where(
        DisclosureEntry.instance_id == instance_id, DisclosureEntry.activity_id != SHARE_ACTIVITY).limit(1)) is not None


def shareable_media(session: Session, instance_id: int) -> list[MediaItem]:
    """Stored files the case cites (evidence-system items are not ours to send)."""
    return list(session.scalars(select(MediaItem).join(MediaCitation, MediaCitation.digest == MediaItem.digest)
                                .where(MediaCitation.instance_id == instance_id)
                                .order_by(MediaCitation.cited_at, MediaItem.digest)))


def _variables(session: Session, instance: ProcessInstance) -> dict[str, Any]:
    return instance_view(session, instance)["variables"]


def issue(session: Session, instance_id: int, actor: Actor, *, recipient: Any, recipient_kind: Any,
          digests: Any = None, watermark: Any = False, days: Any = None, max_days: int, now: datetime) -> IssuedLink:
    if not actor.groups & SHARERS:
        raise NotAllowed("Only the press office (ccd) or managers may send media by link.")
    instance = readable_instance(session, instance_id, actor)
    errors: dict[str, str] = {}
    if not isinstance(recipient, str) or not recipient.strip() or len(recipient.strip()) > 200:
        errors["recipient"] = "Name the recipient (up to 200 characters)."
    if recipient_kind not in RECIPIENT_KINDS:
        errors["recipientKind"] = "One of: " + ", ".join(RECIPIENT_KINDS) + "."
    if not isinstance(watermark, bool):
        errors["watermark"] = "Must be true or false."
    if days is None:
        days = max_days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= max_days:
        errors["expiresInDays"] = f"A whole number of days from 1 to {max_days}."
    available = {m.digest for m in shareable_media(session, instance.id)}
    if digests is None:
        chosen = sorted(available)
    elif not isinstance(digests, list) or not all(isinstance(d, str) for d in digests):
        chosen, errors["digests"] = [], "A list of media digests cited by this case."
    else:
        chosen = list(dict.fromkeys(digests))
        unknown = [d for d in chosen if d not in available]
        if unknown:
            errors["digests"] = f"Not media of this case: {', '.join(d[:12] for d in unknown)}."
    if not chosen and "digests" not in errors:
        errors["digests"] = "This case has no stored media to send."
    if errors:
        raise InvalidForm("Invalid share link.", errors)
    if not released(session, instance.id):
        raise Conflict("Media can be sent by link only after the case has been released.",
                          {"case": "No release has been recorded yet."})
    variables = _variables(session, instance)
    token = secrets.token_urlsafe(32)
    link = ShareLink(token_hash=token_hash(token), instance_id=instance.id, business_key=instance.business_key,
                     recipient=recipient.strip(), recipient_kind=recipient_kind, digests=chosen, watermark=watermark,
                     conditions_of_use=variables.get("conditions_of_use") or "",
                     copyright_notice=variables.get("copyright_notice") or "",
                     created_by=actor.username, created_at=now, expires_at=now + timedelta(days=days))
    session.add(link)
    session.flush()
    data = {"link": link.id, "recipient": link.recipient, "recipientKind": link.recipient_kind, "digests": chosen,
            "watermark": watermark, "expiresAt": iso(link.expires_at)}
    _log(session, link, actor.username, actor.first_group_of(sorted(SHARERS)), now, "share_issue",
         f"Share link issued to {link.recipient}", data)
    return IssuedLink(link, token)


def revoke(session: Session, link_id: int, actor: Actor, now: datetime) -> ShareLink:
    if not actor.groups & SHARERS:
        raise NotAllowed("Only the press office (ccd) or managers may revoke a share link.")
    link = session.get(ShareLink, link_id)
    if link is None:
        raise NotFound(f"no share link {link_id}")
    readable_instance(session, link.instance_id, actor)
    if link.revoked_at is None:
        link.revoked_at, link.revoked_by = now, actor.username
        _log(session, link, actor.username, actor.first_group_of(sorted(SHARERS)), now, "share_revoke",
             f"Share link to {link.recipient} revoked", {"link": link.id, "recipient": link.recipient})
    return link


def open_link(session: Session, token: str, now: datetime) -> ShareLink:
    """The live link for `token`; 404 when unknown, 410 when expired or revoked."""
    link = session.scalar(select(ShareLink).where(ShareLink.token_hash == token_hash(token or "")))
    if link is None:
        raise NotFound("This link is not valid.")
    if link.revoked_at is not None:
        raise LinkClosed("This link has been withdrawn by the police force that sent it.")
    if as_utc(link.expires_at) <= now:
        raise LinkClosed("This link has expired. Ask the press office that sent it for a new one.")
    return link


def link_media(session: Session, link: ShareLink) -> list[MediaItem]:
    rows = {m.digest: m for m in session.scalars(select(MediaItem).where(MediaItem.digest.in_(link.digests)))}
    return [rows[d] for d in link.digests if d in rows]


def record_download(session: Session, link: ShareLink, item: MediaItem, *, remote_addr: str | None,
                    user_agent: str | None, watermarked: bool, now: datetime) -> None:
    data = {"link": link.id, "recipient": link.recipient, "recipientKind": link.recipient_kind,
            "digest": item.digest, "filename": item.filename, "watermarked": watermarked,
            "remoteAddr": remote_addr, "userAgent": (user_agent or "")[:300]}
    _log(session, link, f"link:{link.recipient}"[:80], None, now, "share_download",
         f"Downloaded through the share link to {link.recipient}", data, media=[item.digest])


def _log(session, link, actor_name, group, now, action, description, data, media=None) -> None:
    audit.append(session, at=now, actor=actor_name, group=group, action=action, instance_id=link.instance_id,
                 business_key=link.business_key, activity_id=SHARE_ACTIVITY, activity_name="Share link", data=data)
    session.add(DisclosureEntry(
        at=now, actor=actor_name, instance_id=link.instance_id, business_key=link.business_key,
        activity_id=SHARE_ACTIVITY, description=description[:300], media_items=media or list(link.digests),
        channels=["share_link"], destinations=[f"{link.recipient} ({link.recipient_kind})"],
        details={**data, "copyright_notice": link.copyright_notice, "conditions_of_use": link.conditions_of_use}))


def link_view(link: ShareLink, now: datetime) -> dict[str, Any]:
    state = ("revoked" if link.revoked_at else "expired" if as_utc(link.expires_at) <= now else "active")
    return {"id": link.id, "processInstanceId": link.instance_id, "businessKey": link.business_key,
            "recipient": link.recipient, "recipientKind": link.recipient_kind, "digests": link.digests,
            "watermark": link.watermark, "createdBy": link.created_by, "createdAt": iso(link.created_at),
            "expiresAt": iso(link.expires_at), "revokedAt": iso(link.revoked_at), "revokedBy": link.revoked_by,
            "state": state}


def released_cases(session: Session, actor: Actor, limit: int = 200) -> list[dict[str, Any]]:
    """Released cases the actor may read, most recently released first, with their live links."""
    last = (select(DisclosureEntry.instance_id, func.max(DisclosureEntry.at).label("released_at"))
            .where(DisclosureEntry.activity_id != SHARE_ACTIVITY, DisclosureEntry.instance_id.is_not(None))
            .group_by(DisclosureEntry.instance_id).subquery())
    rows = session.execute(select(ProcessInstance, last.c.released_at)
                           .join(last, last.c.instance_id == ProcessInstance.id).where(visible_to(actor))
                           .order_by(last.c.released_at.desc(), ProcessInstance.id.desc()).limit(limit)).all()
    return [{"id": i.id, "businessKey": i.business_key, "key": i.key, "state": i.state,
             "releasedAt": iso(released_at)} for i, released_at in rows]


def links_for(session: Session, instance_id: int, actor: Actor) -> list[ShareLink]:
    readable_instance(session, instance_id, actor)
    return list(session.scalars(select(ShareLink).where(ShareLink.instance_id == instance_id)
                                .order_by(ShareLink.created_at.desc(), ShareLink.id.desc())))


class WatermarkFailed(EngineError):
    """The image could not be stamped (unreadable, or too many pixels to stamp safely); it is not
    sent unstamped instead."""

    status = 422


MAX_WATERMARK_PIXELS = 50_000_000


def watermark_image(content: bytes, content_type: str, text: str) -> bytes:
    """Stamp `text` visibly across an image, repeated so that cropping cannot remove it."""
    from PIL import Image, ImageDraw, ImageFont

    refused = WatermarkFailed("This image cannot be watermarked, so it is not sent; ask the press office "
                              "for another copy.")
    try:
        with Image.open(io.BytesIO(content)) as original:
            if original.size[0] * original.size[1] > MAX_WATERMARK_PIXELS:
                raise refused
            image = original.convert("RGBA")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise refused from exc
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    size = max(12, min(image.size) // 12)
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # older Pillow: fixed-size default font
        font = ImageFont.load_default()
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    step_x, step_y = max(right - left + size, 1), max((bottom - top) * 3, size * 2)
    for row, y in enumerate(range(0, image.size[1], step_y)):
        offset = (row % 2) * step_x // 2
        for x in range(-step_x + offset, image.size[0], step_x):
            draw.text((x + 1, y + 1), text, font=font, fill=(0, 0, 0, 110))
            draw.text((x, y), text, font=font, fill=(255, 255, 255, 150))
    stamped = Image.alpha_composite(image, overlay)
    out = io.BytesIO()
    if content_type == "image/png":
        stamped.save(out, "PNG")
    else:
        stamped.convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()
