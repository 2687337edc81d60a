"""OpenID Connect sign-in beside (or instead of) local passwords, with Authlib.

The force's identity provider (Microsoft Entra ID, or any OpenID provider) proves who the person
is; Release Desk maps the groups it asserts (a claim such as Entra's `groups` or `roles`) to the
product's groups through a configured table, creates the user on first sign-in, and brings their
groups up to date at every sign-in, recording each change. Someone whose claims map to no group is
refused, and no account is created for them. Signing out ends the session here and, when the
provider offers it, at the provider too (RP-initiated logout)."""
from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from authlib.integrations.base_client import OAuthError
from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for

from engine import Actor, EngineError
from engine.usernames import normalise
from engine.users import GROUPS, create_user, find_user, set_groups

from . import access_log
from .auth import safe_next, start_session

bp = Blueprint("oidc", __name__)


def desk():
    return current_app.extensions["releasedesk"]


def group_map(entries: tuple[str, ...]) -> dict[str, set[str]]:
    """`("claim value=group", ...)` to {claim value: {groups}}; unknown product groups are refused loudly."""
    table: dict[str, set[str]] = {}
    for entry in entries:
        value, sep, group = entry.rpartition("=")
        if not sep or not value.strip() or group.strip() not in GROUPS:
            raise ValueError(f"oidc_group_map entry {entry!r}: use 'claim value=group' with a group of "
                             + ", ".join(GROUPS))
        table.setdefault(value.strip(), set()).add(group.strip())
    return table


def init_app(app) -> None:
    from authlib.integrations.flask_client import OAuth

    settings = app.extensions["releasedesk"].settings
    app.extensions["oidc_group_map"] = group_map(settings.oidc_group_map)
    oauth = OAuth(app)
    oauth.register(
        "provider", client_id=settings.oidc_client_id, client_secret=settings.oidc_client_secret,
        server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": settings.oidc_scopes, "code_challenge_method": "S256"})
    app.extensions["oidc_client"] = oauth.provider
    app.register_blueprint(bp)
    parts = urlsplit(settings.oidc_issuer)
    issuer_origin = f"{parts.scheme}://{parts.netloc}"

    @app.after_request
    def allow_provider_sign_out(response):
        """Signing out posts a form whose answer redirects to the provider's end-session page; the
        pages' `form-action 'self'` would stop that redirect, so the provider's origin is added."""
        policy = response.headers.get("Content-Security-Policy", "")
        if "form-action 'self'" in policy and issuer_origin not in policy:
            response.headers["Content-Security-Policy"] = policy.replace(
                "form-action 'self'", f"form-action 'self' {issuer_origin}")
        return response


def client():
    return current_app.extensions["oidc_client"]


def _refuse(message: str, username: str, reason: str):
    access_log.record("sign_in_failed", {"username": username, "reason": reason, "method": "oidc"},
                      actor=username or "anonymous")
    return render_template("error.html", status=403, message=message, details={}), 403


@bp.get("/login/oidc")
def start():
    session["oidc_next"] = safe_next(request.args.get("next"), url_for("inbox.inbox"))
    return client().authorize_redirect(url_for("oidc.callback", _external=True))


@bp.get("/login/oidc/callback")
def callback():
    settings = desk().settings
    if "error" in request.args:
        return _refuse("The identity provider did not sign you in: " + request.args.get("error", "")[:100],
                       "", "provider error")
    try:
        token = client().authorize_access_token()
    except OAuthError as exc:  # a stale or forged callback, a refused code: say so, sign nobody in
        return _refuse(f"Sign-in with your organisation account failed ({exc.error}); please try again.",
                       "", "oauth error")
    claims = dict(token.get("userinfo") or {})
    if settings.oidc_groups_claim not in claims or settings.oidc_username_claim not in claims:
        claims = {**dict(client().userinfo(token=token)), **claims}
    username = normalise(str(claims.get(settings.oidc_username_claim) or claims.get("sub") or ""))[:80]
    asserted = claims.get(settings.oidc_groups_claim) or []
    asserted = [asserted] if isinstance(asserted, str) else list(asserted)
    table = current_app.extensions["oidc_group_map"]
    groups = sorted({g for value in asserted for g in table.get(str(value), ())})
    if not username:
        return _refuse("The identity provider sent no username.", "", "no username")
    if not groups:
        return _refuse("Your organisation account has no Release Desk role. Ask your administrator to add "
                       "you to one of the groups mapped to Release Desk.", username, "no mapped group")
    by = f"oidc:{settings.oidc_issuer}"[:80]
    try:
        with desk().transaction() as s:
            user = find_user(s, username)
            if user is None:
                user = create_user(s, username, None, groups, str(claims.get("name") or username)[:200],
                                   audit_by=by, address=access_log.client_address())
            elif not user.active:
                raise PermissionError
            else:
                set_groups(s, user.username, groups, audit_by=by, address=access_log.client_address())
            actor_name, display = user.username, user.display_name
    except PermissionError:
        return _refuse("This account is disabled in Release Desk.", username, "disabled")
    except EngineError as exc:  # a look-alike of an existing name, say
        return _refuse(f"Release Desk cannot create your account: {exc.message}", username, "refused")
    target = session.pop("oidc_next", None) or url_for("inbox.inbox")
    start_session(Actor(actor_name, frozenset(groups)), display, "oidc")
    session["oidc_id_token"] = token.get("id_token")  # for signing out at the provider too
    flash(f"Signed in as {actor_name}.", "info")
    return redirect(target)


def logout_redirect(id_token: str | None):
    """Where to send the browser after signing out here: the provider's end-session endpoint."""
    if not id_token:
        return None
    metadata = client().load_server_metadata()
    endpoint = metadata.get("end_session_endpoint")
    if not endpoint:
        return None
    query = urlencode({"id_token_hint": id_token, "client_id": desk().settings.oidc_client_id,
                       "post_logout_redirect_uri": url_for("auth.login", _external=True)})
    return redirect(f"{endpoint}?{query}")
