"""Messages tell a case what happened in the world. Only the groups its diagram declares may send
each one, and it carries only the variables declared for it: on the API and on the case pages alike,
a refused sender gets 403, a bad variable 400 naming it, and the case stays exactly as it was."""
from __future__ import annotations

import itertools
import re
import shutil

import pytest

from engine import ReleaseDesk
from tests.conftest import PASSWORD, _settings
from tests.web.conftest import basic
from web.app import create_app

from .cases import GROUP_USERS, PATHWAY_OF, SENDERS, live_missing, live_wanted, snapshot

MESSAGES = ["person_apprehended", "appeal_withdrawn", "person_found"]
NOTE = {"note": "PC 4521 reported it by radio at 14:05"}


@pytest.fixture(scope="module")
def shared(web_template, tmp_path_factory):
    """One database and app for the whole matrix: refused messages change nothing and every allowed
    one acts on a fresh case of its own, so tests stay independent while sign-ins (argon2) and
    verified API credentials are paid once per user instead of once per test."""
    folder = tmp_path_factory.mktemp("messages")
    shutil.copyfile(web_template, folder / "web.db")
    desk = ReleaseDesk(_settings(f"sqlite:///{folder / 'web.db'}", folder))
    yield desk, create_app(desk.settings, desk=desk), {}
    desk.dispose()


@pytest.fixture
def desk(shared):
    return shared[0]


@pytest.fixture
def client(shared):
    return shared[1].test_client()


@pytest.fixture
def signed_in(shared):
    """A signed-in test client per user, kept for the module."""
    _desk, app, clients = shared

    def get(username):
        if username not in clients:
            clients[username] = app.test_client()
            login(clients[username], username)
        return clients[username]
    return get


_references = itertools.count(1)


def fresh(desk, message):
    n = next(_references)
    return live_wanted(desk, f"WP-SEC-{n}") if PATHWAY_OF[message] == "wanted" else live_missing(desk, f"MP-SEC-{n}")


def send(client, user, message, business_key, variables):
    return client.post("/api/messages", headers=basic(user), json={
        "messageName": message, "businessKey": business_key, "variables": variables})


def login(client, username):
    html = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf})
    assert r.status_code == 302


def csrf_of(client, path) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


# -- the API -------------------------------------------------------------------------------------
@pytest.mark.parametrize("group", sorted(GROUP_USERS))
@pytest.mark.parametrize("message", MESSAGES)
def test_api_each_message_by_each_group(client, desk, message, group):
    case = fresh(desk, message)
    before = snapshot(desk, case.id)
    r = send(client, GROUP_USERS[group], message, case.business_key, NOTE)
    if group in SENDERS[message]:
        assert r.status_code == 200, r.get_json()
        assert r.get_json() == {"correlated": [case.id]}
        assert case.open_activities() == ["remove_appeal"]
        assert case.audit()[-1]["action"] == "message" and case.audit()[-1]["actor"] == GROUP_USERS[group]
    else:
        assert r.status_code == 403, r.get_json()
        assert case.business_key not in r.get_data(as_text=True)  # a refusal names no case
        assert snapshot(desk, case.id) == before


@pytest.mark.parametrize("group", sorted(GROUP_USERS))
def test_api_start_message_by_each_group(client, desk, group):
    from datetime import date

    from tests.engine.driver import LEGAL_CLEAR
    before = snapshot(desk, fresh(desk, "person_apprehended").id)
    reference = f"CI-SEC-{group}"
    r = send(client, GROUP_USERS[group], "conviction_recorded", reference, {
        "offender_name": "A. Person", "offence": "Burglary", "conviction_date": date.today().isoformat(),
        "sentence_type": "custodial", "media_request": True, "case_reference": reference, **LEGAL_CLEAR})
    if group in SENDERS["conviction_recorded"]:
        assert r.status_code == 200, r.get_json()
        view = client.get(f"/api/process-instances/{r.get_json()['correlated'][0]}", headers=basic("max")).get_json()
        assert view["key"] == "custody_image" and view["variables"]["case_reference"] == reference
        assert view["variables"]["requested_by"] == GROUP_USERS[group]
    else:
        assert r.status_code == 403
        assert snapshot(desk, 1)[3:] == before[3:]  # no case, no audit record


@pytest.mark.parametrize(("variables", "field"), [
    ({"note": "x", "decision": "reject"}, "decision"),                  # case data: a form field
    ({"note": "x", "use_custody_image": True}, "use_custody_image"),    # case data: a script output
    ({"note": "x", "requested_by": "someone"}, "requested_by"),         # set by the engine
    ({"note": "x", "arrested_by": "Response team"}, "arrested_by"),     # simply not declared
    ({}, "note"),                                                       # required
    ({"note": "   "}, "note"),                                          # required, blank
    ({"note": 42}, "note"),                                             # wrong type
    ({"note": "x" * 2001}, "note"),                                     # too long
    ({"note": "x", "apprehended_at": "yesterday"}, "apprehended_at"),   # not a date-time
])
def test_api_undeclared_or_invalid_variables_are_400_and_change_nothing(client, desk, variables, field):
    case = fresh(desk, "person_apprehended")
    before = snapshot(desk, case.id)
    r = send(client, "olly", "person_apprehended", case.business_key, variables)
    assert r.status_code == 400, r.get_json()
    assert field in r.get_json()["details"]
    assert snapshot(desk, case.id) == before


def test_enum_variables_are_checked_like_a_form(desk):
    """A declared enum refuses other values (the mini diagram's declarations are parsed the same way)."""
    from engine.messages import clean_variables, declaration

    class Problems:
        items: list = []

        def add(self, node, message, line=None):
            self.items.append(message)
    decl = declaration(None, {"senders": "oic", "variable:how": "enum:arrested=Arrested|surrendered=Surrendered; required"},
                       Problems())
    assert clean_variables(decl, {"how": "surrendered"}) == {"how": "surrendered"}
    with pytest.raises(Exception) as err:
        clean_variables(decl, {"how": "escaped"})
    assert "how" in err.value.details


def test_media_items_overwrite_attack(client, desk):
    """Another case's image must never replace a case's media through a message."""
    wanted = fresh(desk, "person_apprehended")
    missing = fresh(desk, "person_found")
    theirs = missing.variables["media_items"]
    mine = wanted.variables["media_items"]
    assert theirs != mine
    for user, message, case in (("olly", "person_apprehended", wanted), ("fay", "person_found", missing),
                                ("cat", "appeal_withdrawn", wanted)):
        before = snapshot(desk, case.id)
        r = send(client, user, message, case.business_key, {**NOTE, "media_items": theirs})
        assert r.status_code == 400 and "media_items" in r.get_json()["details"]
        assert snapshot(desk, case.id) == before
    assert wanted.variables["media_items"] == mine


# -- the pages ---------------------------------------------------------------------------------
@pytest.mark.parametrize("group", sorted(GROUP_USERS))
@pytest.mark.parametrize("message", MESSAGES)
def test_pages_each_message_by_each_group(signed_in, desk, message, group):
    """A button only for senders; posting is 403 for a member of another group who can read the case,
    404 for someone with no part in it (the page never confirms that the case exists)."""
    case = fresh(desk, message)
    before = snapshot(desk, case.id)
    client = signed_in(GROUP_USERS[group])
    page = client.get(f"/cases/{case.id}")
    path = f"/cases/{case.id}/messages/{message}"
    csrf = csrf_of(client, "/cases")
    r = client.post(path, data={**NOTE, "confirmed": "yes", "csrf_token": csrf})
    if page.status_code == 404:
        assert group in {"flo", "senior_ops", "head_of_comms", "designer", "admin"} or (
            group == "sio" and message == "person_found")
        assert r.status_code == 404 and case.business_key not in r.get_data(as_text=True)
        assert snapshot(desk, case.id) == before
        return
    html = page.get_data(as_text=True)
    if group in SENDERS[message]:
        assert f'data-message="{message}"' in html
        assert r.status_code == 302, r.get_data(as_text=True)
        assert case.open_activities() == ["remove_appeal"]
        record = case.audit()[-1]
        assert (record["action"], record["actor"], record["rationale"]) == ("message", GROUP_USERS[group],
                                                                          NOTE["note"])
    else:
        assert f'data-message="{message}"' not in html
        assert r.status_code == 403
        assert snapshot(desk, case.id) == before


def test_pages_need_a_note_and_a_confirmation(signed_in, desk):
    case = fresh(desk, "person_apprehended")
    before = snapshot(desk, case.id)
    client = signed_in("olly")
    path = f"/cases/{case.id}/messages/person_apprehended"
    form = client.get(path).get_data(as_text=True)
    assert 'name="note"' in form and 'name="apprehended_at"' in form
    csrf = csrf_of(client, path)
    r = client.post(path, data={"note": "", "csrf_token": csrf})
    assert r.status_code == 400 and 'href="#f-note"' in r.get_data(as_text=True)
    r = client.post(path, data={**NOTE, "apprehended_at": "2026-11-26T14:00", "csrf_token": csrf})
    assert r.status_code == 200 and 'id="confirm"' in r.get_data(as_text=True)  # the check page
    assert snapshot(desk, case.id) == before  # nothing recorded until confirmed
    r = client.post(path, data={**NOTE, "apprehended_at": "2026-11-26T14:00", "confirmed": "yes", "csrf_token": csrf})
    assert r.status_code == 302
    assert case.variables["apprehended_at"] == "2026-11-26T14:00:00"
    # the case no longer waits for it: no button, and a second post is 404
    assert 'data-message="person_apprehended"' not in client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert client.post(path, data={**NOTE, "confirmed": "yes", "csrf_token": csrf}).status_code == 404


@pytest.mark.parametrize(("variables", "field"), [
    ({"note": "x", "decision": "reject"}, "decision"),
    ({"note": "x", "media_items": "0" * 64}, "media_items"),
    ({"note": "x", "apprehended_at": "soon"}, "apprehended_at"),
])
def test_pages_refuse_undeclared_or_invalid_variables(signed_in, desk, variables, field):
    case = fresh(desk, "person_apprehended")
    before = snapshot(desk, case.id)
    client = signed_in("olly")
    path = f"/cases/{case.id}/messages/person_apprehended"
    r = client.post(path, data={**variables, "confirmed": "yes", "csrf_token": csrf_of(client, path)})
    assert r.status_code == 400
    summary = r.get_data(as_text=True).split('class="flash flash-error govuk-error-summary"')[1].split("</div>")[0]
    assert field in summary  # named in the error summary
    assert snapshot(desk, case.id) == before
    assert case.variables["media_items"] != ["0" * 64]
