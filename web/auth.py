"""Authentication: signed-in sessions for people (Flask-Login over server-side sessions), API
tokens for integrations (`Authorization: Bearer`), and HTTP Basic for people using the API.

Password checks cost an argon2 verification on purpose; they run outside any database transaction
(read the hash, verify, write a re-hash separately), behind `throttle.SignInThrottle`. A verified
Basic credential is cached briefly under a keyed digest of username and password (never the
password itself), so an API call costs little more than the engine call behind it; that cache is
also what lets a client that signed in before keep working while someone guesses at its account.

The API refuses requests a browser sends from another site (`Origin`/`Sec-Fetch-Site`) and never
challenges with `WWW-Authenticate: Basic`, so a browser never caches credentials a hostile page
could ride on."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from engine import Actor, EngineError
from engine.models import User
from engine.tokens import token_actor
from engine.usernames import normalise
from engine.users import load_credential, needs_rehash, store_rehash, verify_password
from engine.web_sessions import end_session, live_session, open_session, touch

from . import access_log
from .errors import error_response
from .redirects import safe_next
from .throttle import SignInThrottle, keys_for

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in."

CREDENTIAL_TTL = 60.0
DEVICE_COOKIE, DEVICE_MAX_AGE = "rd_device", 180 * 24 * 3600


@dataclass
class WebUser(UserMixin):
    """A signed-in person; `id` is the server-side session id the cookie carries."""

    id: str
    display_name: str
    actor: Actor

    @property
    def username(self) -> str:
        return self.actor.username

    @property
    def groups(self) -> frozenset[str]:
        return self.actor.groups


class TooManyAttempts(EngineError):
    """Sign-in attempts for this account, device or address are in back-off; `retry_after` seconds."""

    status = 429

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"Too many failed sign-in attempts. Try again in {_wait_words(retry_after)}.",
                         {"retryAfter": int(retry_after) + 1})
        self.retry_after = int(retry_after) + 1


def _wait_words(seconds: float) -> str:
    seconds = int(seconds) + 1
    return f"{seconds} seconds" if seconds < 120 else f"{(seconds + 59) // 60} minutes"


def desk():
    return current_app.extensions["releasedesk"]


def _session_limits() -> tuple[timedelta, timedelta]:
    s = desk().settings
    return timedelta(minutes=s.session_idle_minutes), timedelta(hours=s.session_max_hours)


@login_manager.user_loader
def load_user(session_id: str) -> WebUser | None:
    """The person behind a session cookie, while the server-side session is live."""
    now = desk().clock()
    with desk().read() as s:
        live = live_session(s, session_id, now, *_session_limits())
        if live is None:
            return None
        username, stale = live
        user = s.scalar(select(User).where(User.username == username))
        if user is None or not user.active:
            return None
        web_user = WebUser(session_id, user.display_name, Actor(user.username, frozenset(user.group_names)))
    if stale:
        with desk().transaction() as s:
            touch(s, session_id, now)
    return web_user


def throttle() -> SignInThrottle:
    return current_app.extensions["login_throttle"]


class _CredentialCache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[str, tuple[float, Actor]] = {}

    def key(self, username: str, password: str) -> str:
        secret = current_app.config["SECRET_KEY"].encode()
        return hmac.new(secret, f"{username}\x00{password}".encode(), hashlib.sha256).hexdigest()

    def get(self, key: str) -> Actor | None:
        with self.lock:
            hit = self.entries.get(key)
            if hit and hit[0] > time.monotonic():
                return hit[1]
            self.entries.pop(key, None)
            return None

    def put(self, key: str, actor: Actor) -> None:
        with self.lock:
            if len(self.entries) > 10_000:
                self.entries.clear()
            self.entries[key] = (time.monotonic() + CREDENTIAL_TTL, actor)


def credentials() -> _CredentialCache:
    return current_app.extensions["credential_cache"]


def refuse_cross_site():
    """No API request may come from a page of another site: a browser says so in `Sec-Fetch-Site`
    and `Origin`; integrations send neither."""
    if not request.path.startswith("/api/"):
        return None
    site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    foreign_origin = origin is not None and (origin == "null" or urlsplit(origin).netloc != request.host)
    if (site and site not in ("same-origin", "none")) or foreign_origin:
        return error_response(403, "The API does not accept requests from pages of other sites.")
    return None


def init_app(app) -> None:
    """Per-app state (sign-in back-off, verified API credentials) and the API's cross-site guard."""
    app.extensions["login_throttle"] = SignInThrottle()
    app.extensions["credential_cache"] = _CredentialCache()
    login_manager.init_app(app)
    app.before_request(refuse_cross_site)
    if app.extensions["releasedesk"].settings.oidc_issuer:
        from . import oidc
        oidc.init_app(app)

    @app.errorhandler(TooManyAttempts)
    def too_many(exc: TooManyAttempts):
        response = error_response(429, exc.message, exc.details)
        if isinstance(response, tuple):
            response = current_app.make_response(response)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response


def check_password(username: str, password: str, device: str | None = None):
    """Verify a password under the throttle, outside any transaction. Returns the stored
    credential, or None for a wrong password; raises TooManyAttempts while in back-off."""
    name = normalise(username)[:80]
    attempt, wait = throttle().begin(keys_for(name, access_log.client_address(), device))
    if attempt is None:
        raise TooManyAttempts(wait)
    with desk().read() as s:
        credential = load_credential(s, username)
    if not verify_password(credential, password):
        reason = "unknown or disabled user" if credential is None or not credential.active else "wrong password"
        access_log.record("sign_in_failed", {"username": name, "reason": reason}, actor=name)
        return None
    throttle().succeeded(attempt)
    if needs_rehash(credential):
        with desk().transaction() as s:
            store_rehash(s, credential.username, password)
    return credential


def api_actor() -> Actor | None:
    """The API caller: an integration's bearer token, or a person's HTTP Basic credentials."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        with desk().read() as s:
            return token_actor(s, header[7:].strip())
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username or not desk().settings.local_passwords:
        return None
    username, password = auth.username, auth.password or ""
    key = credentials().key(username, password)
    actor = credentials().get(key)
    if actor is not None:
        return actor
    credential = check_password(username, password)
    if credential is None:
        return None
    actor = credential.actor
    credentials().put(key, actor)
    access_log.record("sign_in", {"method": "basic"}, actor=actor)
    return actor




def web_actor() -> Actor:
    return current_user.actor


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="releasedesk-device")


def _device_for(name: str) -> str | None:
    """This browser's device id for `name`, if it signed in to that account before."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None
    try:
        data = _device_serializer().loads(raw, max_age=DEVICE_MAX_AGE)
    except BadSignature:
        return None
    return f"{name}:{data.get('d')}" if isinstance(data, dict) and data.get("u") == name else None


def start_session(actor: Actor, display_name: str, via: str) -> None:
    """Sign `actor` in: a fresh server-side session, and the sign-in recorded."""
    with desk().transaction() as s:
        session_id = open_session(s, actor.username, desk().clock(), access_log.client_address(), via)
        access_log.append(s, "sign_in", {"method": via}, actor=actor)
    session.clear()  # nothing from before sign-in survives into the signed-in session
    login_user(WebUser(session_id, display_name, actor))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("inbox.inbox"))
    settings = desk().settings
    context = {"local_passwords": settings.local_passwords, "sso": bool(settings.oidc_issuer), "username": ""}
    if request.method == "POST" and settings.local_passwords:
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        name = normalise(username)[:80]
        context["username"] = username
        try:
            credential = check_password(username, password, _device_for(name))
        except TooManyAttempts as exc:
            response = current_app.make_response(
                (render_template("login.html", error=exc.message, **context), 429))
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        if credential is None:
            return render_template("login.html", error="Unknown username or wrong password.", **context), 401
        start_session(credential.actor, credential.display_name, "password")
        flash(f"Signed in as {credential.username}.", "info")
        response = redirect(safe_next(request.args.get("next"), url_for("inbox.inbox")))
        device = _device_serializer().dumps({"u": name, "d": secrets.token_hex(8)})
        response.set_cookie(DEVICE_COOKIE, device, max_age=DEVICE_MAX_AGE, path=url_for("auth.login"),
                            httponly=True, samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
        return response
    return render_template("login.html", error=None, **context)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """End the session on the server too: a copy of the cookie is worthless afterwards."""
    actor = current_user.actor
    with desk().transaction() as s:
        end_session(s, current_user.id, desk().clock())
        access_log.append(s, "sign_out", actor=actor)
    id_token = session.get("oidc_id_token")
    logout_user()
    session.clear()
    flash("Signed out.", "info")
    if id_token and "oidc_client" in current_app.extensions:
        from .oidc import logout_redirect
        provider_logout = logout_redirect(id_token)
        if provider_logout is not None:
            return provider_logout
    return redirect(url_for("auth.login"))


def require_groups(*groups: str):
    """The signed-in user must be in one of `groups` (403 otherwise)."""
    from engine import NotAllowed
    if not current_user.actor.in_any(groups):
        raise NotAllowed("This page is for " + ", ".join(groups) + ".")


__all__ = ["bp", "login_manager", "api_actor", "web_actor", "require_groups", "WebUser",
           "start_session", "check_password"]
