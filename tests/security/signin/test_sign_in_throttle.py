"""Password guessing is slowed down without locking the owner out: the owner's browser, known from
an earlier sign-in, still gets in while someone hammers the account; unknown usernames are throttled
like real ones; parallel guesses get no more tries than serial ones; and a spoofed X-Forwarded-For
counts only when the proxy is configured as trusted."""
from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import func, select

from engine import ReleaseDesk
from engine.models import AuditRecord
from web.app import create_app
from web.throttle import FREE, SignInThrottle

from .conftest import basic, sign_in, sign_out


@pytest.fixture
def sqlite_only(backend):
    if backend != "sqlite":
        pytest.skip("the back-off counters live in the web process, not the database")


ADDRESS_FREE = 6  # the address allowance (20 in production) made small so the tests hash fewer passwords


def small_address_allowance(app):
    app.extensions["login_throttle"] = SignInThrottle(free={"address": ADDRESS_FREE})
    return app


def failed_sign_ins(desk) -> int:
    with desk.read() as s:
        return s.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "sign_in_failed"))


def test_owner_on_a_known_browser_still_signs_in_during_a_guessing_attack(sqlite_only, app):
    owner = app.test_client()
    assert sign_in(owner, "olly").status_code == 302  # this browser is now known for olly
    sign_out(owner)
    attacker = app.test_client()
    codes = [sign_in(attacker, "olly", f"guess number {i:04d}").status_code for i in range(12)]
    assert codes[:FREE["account"]] == [401] * FREE["account"] and set(codes[FREE["account"]:]) == {429}
    # A browser that never signed in as olly waits, right password or not...
    assert sign_in(app.test_client(), "olly").status_code == 429
    # ...but the owner's own browser gets straight in.
    r = sign_in(owner, "olly")
    assert r.status_code == 302 and r.headers["Location"].endswith("/inbox")
    assert owner.get("/inbox").status_code == 200


def test_a_known_browser_has_its_own_limit(sqlite_only, app):
    owner = app.test_client()
    assert sign_in(owner, "olly").status_code == 302
    sign_out(owner)
    codes = [sign_in(owner, "olly", f"typo number {i:04d}").status_code for i in range(FREE["device"] + 2)]
    assert codes.count(401) == FREE["device"] and codes[-1] == 429


def test_unknown_usernames_are_throttled_per_address(sqlite_only, app, sec_desk):
    attacker = small_address_allowance(app).test_client()
    codes = [sign_in(attacker, f"nobody{uuid.uuid4().hex[:8]}", "any password at all").status_code
             for _ in range(ADDRESS_FREE + 3)]
    assert codes.count(401) == ADDRESS_FREE and codes[-1] == 429
    assert failed_sign_ins(sec_desk) == ADDRESS_FREE  # refused tries cost no hashing and no record
    # The same unknown name from a fresh address is limited per account as well.
    other = create_app(sec_desk.settings, desk=sec_desk).test_client()
    codes = [sign_in(other, "ghost.user", "any password at all").status_code for _ in range(FREE["account"] + 1)]
    assert codes[-1] == 429


def test_parallel_guesses_get_no_more_tries_than_the_limit(sqlite_only, app, sec_desk):
    threads, barrier, codes = 24, threading.Barrier(24), []
    lock, waits = threading.Lock(), []

    def guess(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        r = client.get("/api/tasks", headers=basic("sam", f"parallel guess {i:03d}"))
        with lock:
            codes.append(r.status_code)
            if r.status_code == 429:
                waits.append(int(r.headers["Retry-After"]))

    workers = [threading.Thread(target=guess, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert len(codes) == threads
    assert codes.count(401) == FREE["account"] and codes.count(429) == threads - FREE["account"]
    assert failed_sign_ins(sec_desk) == FREE["account"]  # exactly that many passwords were checked
    assert min(waits) >= 1  # each refusal says how long to wait


def test_forwarded_for_is_trusted_only_from_a_configured_proxy(sqlite_only, sec_desk):
    untrusted = small_address_allowance(create_app(sec_desk.settings, desk=sec_desk)).test_client()
    codes = [untrusted.get("/api/tasks", headers={**basic(f"x{uuid.uuid4().hex[:8]}", "wrong password here"),
                                                  "X-Forwarded-For": f"203.0.113.{i}"}).status_code
             for i in range(ADDRESS_FREE + 2)]
    assert codes[-1] == 429  # rotating a header the client writes itself buys nothing

    proxied = ReleaseDesk(sec_desk.settings.with_overrides(trusted_proxies=("127.0.0.1/32",)))
    behind_proxy = small_address_allowance(create_app(proxied.settings, desk=proxied))
    client = behind_proxy.test_client()
    codes = [client.get("/api/tasks", headers={**basic(f"y{uuid.uuid4().hex[:8]}", "wrong password here"),
                                               "X-Forwarded-For": f"198.51.100.7, 203.0.113.{i}"}).status_code
             for i in range(ADDRESS_FREE + 2)]
    assert 429 not in codes  # each real client address has its own allowance
    with sec_desk.read() as s:
        last = s.scalars(select(AuditRecord).where(AuditRecord.action == "sign_in_failed")
                         .order_by(AuditRecord.seq.desc())).first()
    assert last.data["address"] == f"203.0.113.{ADDRESS_FREE + 1}"  # the proxy's hop, not the client's claim


def test_an_api_client_that_signed_in_keeps_working_during_an_attack(sqlite_only, app):
    owner = app.test_client()
    assert owner.get("/api/tasks", headers=basic("olly")).status_code == 200
    attacker = app.test_client()
    codes = [attacker.get("/api/tasks", headers=basic("olly", f"guess number {i:04d}")).status_code
             for i in range(FREE["account"] + 2)]
    assert codes[-1] == 429
    assert owner.get("/api/tasks", headers=basic("olly")).status_code == 200  # its verified credential stands
