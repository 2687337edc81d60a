"""Authentication: session login for people (Flask-Login), HTTP Basic for integrations.

HTTP Basic would cost a full argon2 verification on every API call; a verified credential is
cached for a short time under a keyed digest of username and password (never the password itself),
so an API completion costs little more than the engine call behind it."""
from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from sqlalchemy import select

from engine import Actor
from engine.models import User
from engine.users import actor_for, authenticate

from .redirects import safe_next

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in."

CREDENTIAL_TTL = 60.0
LOGIN_WINDOW, LOGIN_MAX_FAILURES = 300.0, 5


@dataclass
class WebUser(UserMixin):
    id: str
    display_name: str
    actor: Actor

    @property
    def groups(self) -> frozenset[str]:
        return self.actor.groups


def desk():
    return current_app.extensions["releasedesk"]


@login_manager.user_loader
def load_user(user_id: str) -> WebUser | None:
    with desk().read() as s:
        user = s.scalar(select(User).where(User.username == user_id))
        if user is None or not user.active:
            return None
        return WebUser(user.username, user.display_name, actor_for(user))


class _Throttle:
    """Failed logins per (client address, username) in a sliding window."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.failures: dict[tuple[str, str], list[float]] = {}

    def blocked(self, key: tuple[str, str]) -> bool:
        now = time.monotonic()
        with self.lock:
            recent = [t for t in self.failures.get(key, []) if now - t < LOGIN_WINDOW]
            self.failures[key] = recent
            return len(recent) >= LOGIN_MAX_FAILURES

    def fail(self, key: tuple[str, str]) -> None:
        with self.lock:
            self.failures.setdefault(key, []).append(time.monotonic())

    def clear(self, key: tuple[str, str]) -> None:
        with self.lock:
            self.failures.pop(key, None)


def throttle() -> _Throttle:
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


def init_app(app) -> None:
    """Per-app state: failed-login windows and verified API credentials."""
    app.extensions["login_throttle"] = _Throttle()
    app.extensions["credential_cache"] = _CredentialCache()
    login_manager.init_app(app)


def basic_auth_actor() -> Actor | None:
    """The API caller from HTTP Basic, or None. Failed attempts are throttled like logins."""
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username:
        return None
    username, password = auth.username, auth.password or ""
    key = credentials().key(username, password)
    actor = credentials().get(key)
    if actor is not None:
        return actor
    throttle_key = (request.remote_addr or "-", username)
    if throttle().blocked(throttle_key):
        return None
    with desk().transaction() as s:
        actor = authenticate(s, username, password)
    if actor is None:
        throttle().fail(throttle_key)
        return None
    credentials().put(key, actor)
    return actor


def web_actor() -> Actor:
    return current_user.actor


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("inbox.inbox"))
    error = None
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        key = (request.remote_addr or "-", username)
        if throttle().blocked(key):
            error = "Too many failed attempts. Wait a few minutes and try again."
            return render_template("login.html", error=error, username=username), 429
        with desk().transaction() as s:
            actor = authenticate(s, username, password)
            user = s.scalar(select(User).where(User.username == username)) if actor else None
            display = user.display_name if user else ""
        if actor is None:
            throttle().fail(key)
            error = "Unknown username or wrong password."
            return render_template("login.html", error=error, username=username), 401
        throttle().clear(key)
        login_user(WebUser(actor.username, display, actor))
        flash(f"Signed in as {actor.username}.", "info")
        return redirect(safe_next(request.args.get("next"), url_for("inbox.inbox")))
    return render_template("login.html", error=error, username="")


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"))


def require_groups(*groups: str):
    """The signed-in user must be in one of `groups` (403 otherwise)."""
    from engine import NotAllowed
    if not current_user.actor.in_any(groups):
        raise NotAllowed("This page is for " + ", ".join(groups) + ".")


__all__ = ["bp", "login_manager", "basic_auth_actor", "web_actor", "require_groups", "WebUser"]
