"""Share links over the API: issue a per-recipient link for a released case, list and revoke."""
from __future__ import annotations

from flask import Blueprint, g, jsonify

from engine import shares as share_engine

from .api import api_auth, desk, json_body
from .integrations import ID
from .shares import share_url

bp = Blueprint("api_shares", __name__, url_prefix="/api")


@bp.get(f"/process-instances/<{ID}:instance_id>/share-links")
@api_auth
def list_links(instance_id: int):
    now = desk().clock()
    with desk().read() as s:
        return jsonify([share_engine.link_view(link, now)
                        for link in share_engine.links_for(s, instance_id, g.actor)])


@bp.post(f"/process-instances/<{ID}:instance_id>/share-links")
@api_auth
def issue(instance_id: int):
    body = json_body()
    now = desk().clock()
    with desk().transaction() as s:
        issued = share_engine.issue(
            s, instance_id, g.actor, recipient=body.get("recipient"), recipient_kind=body.get("recipientKind"),
            digests=body.get("digests"), watermark=body.get("watermark", False), days=body.get("expiresInDays"),
            max_days=desk().settings.share_link_days, now=now)
        view = share_engine.link_view(issued.link, now)
    return jsonify({**view, "url": share_url(issued.token)}), 201


@bp.post(f"/share-links/<{ID}:link_id>/revoke")
@api_auth
def revoke(link_id: int):
    now = desk().clock()
    with desk().transaction() as s:
        return jsonify(share_engine.link_view(share_engine.revoke(s, link_id, g.actor, now), now))
