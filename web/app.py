"""Flask application factory: configuration, extensions, blueprints, security headers, errors."""
from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect

from engine import ReleaseDesk, Settings, load_settings

from . import auth as auth_module
from . import integrations
from .errors import AsciiIntConverter, register_error_handlers

csrf = CSRFProtect()

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",  # bpmn-js sets style attributes on SVG; no inline script anywhere
    "img-src 'self' data: blob:",
    "media-src 'self'",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


class CookieSessionsForPages(SecureCookieSessionInterface):
    """The API authenticates every request by its own header (Basic or Bearer), never by a cookie: an
    API request gets Flask's null session, so it neither verifies nor sets the session cookie (and
    answers no `Vary: Cookie`). Anything that tried to write to it there would fail loudly."""

    def open_session(self, app, request):
        if request.path.startswith("/api/"):
            return None
        return super().open_session(app, request)


def _secret_key(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    if not (settings.demo or settings.testing):
        raise RuntimeError("RELEASEDESK_SECRET_KEY must be set (outside demo and test runs)")
    # Demo: a random key kept beside the demo database so sessions survive a restart.
    path = Path(settings.media_dir).parent / "demo-secret-key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(settings: Settings | None = None, desk: ReleaseDesk | None = None) -> Flask:
    settings = settings or load_settings()
    app = Flask(__name__)
    app.session_interface = CookieSessionsForPages()
    app.config.update(
        SECRET_KEY=_secret_key(settings),
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies and not (settings.demo or settings.testing),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        TESTING=settings.testing,
        PROPAGATE_EXCEPTIONS=False,
    )
    app.url_map.converters["int"] = AsciiIntConverter  # before any route is registered
    app.extensions["releasedesk"] = desk or ReleaseDesk(settings)
    csrf.init_app(app)
    auth_module.init_app(app)

    from . import api, auth, cases, inbox, manage, notices, pages

    app.register_blueprint(auth.bp)
    app.register_blueprint(inbox.bp)
    app.register_blueprint(manage.bp)
    app.register_blueprint(notices.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(cases.bp)
    csrf.exempt(api.bp)  # the API authenticates with HTTP Basic on every request, never a cookie
    integrations.register(app, csrf)
    register_error_handlers(app)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app
