"""Share links on pages: the press office issues and revokes per-recipient links on a released
case (`/instances/<id>/shares`), and a recipient opens one (`/share/<token>`) without an account,
reads the copyright notice and conditions of use, accepts them, then downloads. Every download is
logged with the recipient, time and address."""
from __future__ import annotations

import io

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import login_required

from engine import InvalidForm
from engine import shares as share_engine
from engine.queries import readable_instance

from .auth import require_groups, web_actor
from .integrations import ID

bp = Blueprint("shares", __name__)


def desk():
    return current_app.extensions["releasedesk"]


def share_url(token: str) -> str:
    return url_for("shares.public", token=token, _external=True)


def _no_store(response):
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/share/<token>")
def public(token: str):
    return _public_page(token)


def _public_page(token: str, error: str | None = None, status: int = 200):
    with desk().read() as s:
        link = share_engine.open_link(s, token, desk().clock())
        media = share_engine.link_media(s, link)
        view = share_engine.link_view(link, desk().clock())
        conditions, copyright_notice = link.conditions_of_use, link.copyright_notice
    return _no_store(current_app.make_response((render_template(
        "shares/public.html", token=token, link=view, media=media, conditions=conditions,
        copyright_notice=copyright_notice, error=error), status)))


@bp.post("/share/<token>/download/<digest>")
def download(token: str, digest: str):
    if request.form.get("accept_conditions") != "yes":
        return _public_page(token, "Tick the box to accept the conditions of use before downloading.", 400)
    now = desk().clock()
    with desk().transaction() as s:
        link = share_engine.open_link(s, token, now)
        item = next((m for m in share_engine.link_media(s, link) if m.digest == digest), None)
        if item is None:
            return _public_page(token, "That file is not part of this link.", 404)
        content_type, filename = item.content_type, item.filename
        path = desk().runtime.media.path_for(digest)
        stamp = link.watermark and content_type.startswith("image/")
        body = None
        if stamp:  # before the download is logged: an image that cannot be stamped is not sent at all
            mark = f"Released to {link.recipient} · {link.business_key}"
            body = share_engine.watermark_image(path.read_bytes(), content_type, mark)
        share_engine.record_download(s, link, item, remote_addr=request.remote_addr,
                                     user_agent=request.headers.get("User-Agent"), watermarked=stamp, now=now)
    if body is not None:
        response = send_file(io.BytesIO(body), mimetype=content_type, download_name=filename, as_attachment=True)
    else:
        response = send_file(path, mimetype=content_type, download_name=filename, as_attachment=True)
    return _no_store(response)


@bp.get("/shares")
@login_required
def released():
    """The press office's way in: released cases it can send media from."""
    require_groups(*sorted(share_engine.SHARERS))
    with desk().read() as s:
        cases = share_engine.released_cases(s, web_actor())
    return render_template("shares/released.html", cases=cases)


@bp.route(f"/instances/<{ID}:instance_id>/shares", methods=["GET", "POST"])
@login_required
def manage(instance_id: int):
    actor = web_actor()
    require_groups(*sorted(share_engine.SHARERS))
    errors, new_url, status = {}, None, 200
    if request.method == "POST":
        form = request.form
        try:
            with desk().transaction() as s:
                issued = share_engine.issue(
                    s, instance_id, actor, recipient=form.get("recipient"), recipient_kind=form.get("recipient_kind"),
                    digests=form.getlist("digests") or None, watermark=form.get("watermark") == "yes",
                    days=int(form["days"]) if (form.get("days") or "").isdigit() else form.get("days") or None,
                    max_days=desk().settings.share_link_days, now=desk().clock())
                new_url = share_url(issued.token)
        except InvalidForm as exc:
            errors, status = exc.details, 400
    with desk().read() as s:
        instance = readable_instance(s, instance_id, actor)
        now = desk().clock()
        links = [share_engine.link_view(link, now) for link in share_engine.links_for(s, instance_id, actor)]
        media = share_engine.shareable_media(s, instance_id)
        released = share_engine.released(s, instance_id)
        business_key = instance.business_key
    return render_template("shares/manage.html", instance_id=instance_id, business_key=business_key, links=links,
                           media=media, released=released, errors=errors, new_url=new_url, form=request.form,
                           kinds=share_engine.RECIPIENT_KINDS, max_days=desk().settings.share_link_days), status


@bp.post(f"/instances/<{ID}:instance_id>/shares/<{ID}:link_id>/revoke")
@login_required
def revoke(instance_id: int, link_id: int):
    require_groups(*sorted(share_engine.SHARERS))
    with desk().transaction() as s:
        share_engine.revoke(s, link_id, web_actor(), desk().clock())
    flash("The link was revoked; it will not open again.", "info")
    return redirect(url_for("shares.manage", instance_id=instance_id))
