"""Signing out ends the session on the server (a cookie copied before sign-out is refused after),
and a session left idle past the configured time ends by itself."""
from __future__ import annotations

from .conftest import sign_in, sign_out


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def test_a_cookie_copied_before_sign_out_is_refused_after_it(app):
    officer = app.test_client()
    assert sign_in(officer, "olly").status_code == 302
    stolen = session_cookie(officer)
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/inbox").status_code == 200  # the copy works while the officer is signed in...
    sign_out(officer)
    r = thief.get("/inbox")
    assert r.status_code == 302 and "/login" in r.headers["Location"]  # ...and not after
    assert officer.get("/inbox").status_code == 302


def test_sessions_end_after_the_configured_idle_time(app, sec_desk, clock):
    idle = sec_desk.settings.session_idle_minutes
    officer = app.test_client()
    sign_in(officer, "olly")
    clock.advance(minutes=idle - 5)
    assert officer.get("/inbox").status_code == 200  # used in time: the idle clock starts again
    clock.advance(minutes=idle - 5)
    assert officer.get("/inbox").status_code == 200
    clock.advance(minutes=idle + 1)
    r = officer.get("/inbox")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_no_session_outlives_the_absolute_limit(app, sec_desk, clock):
    officer = app.test_client()
    sign_in(officer, "olly")
    for _ in range(sec_desk.settings.session_max_hours * 60 // 20 + 1):
        clock.advance(minutes=20)
        if officer.get("/inbox").status_code != 200:
            break
    else:
        raise AssertionError("a session in constant use never ended")
    assert clock.offset.total_seconds() <= sec_desk.settings.session_max_hours * 3600 + 20 * 60


def test_disabling_a_user_ends_their_sessions(app, sec_desk, db_url, tmp_path, monkeypatch):
    from web.cli import main
    officer = app.test_client()
    sign_in(officer, "olly")
    assert officer.get("/inbox").status_code == 200
    monkeypatch.setenv("RELEASEDESK_DATABASE_URL", db_url)
    monkeypatch.setenv("RELEASEDESK_MEDIA_DIR", str(tmp_path / "media"))
    assert main(["user", "disable", "olly"]) == 0
    assert officer.get("/inbox").status_code == 302
    assert main(["user", "enable", "olly"]) == 0
    assert officer.get("/inbox").status_code == 302  # the ended session stays ended
    assert sign_in(app.test_client(), "olly").status_code == 302
