"""Passwords and usernames follow NCSC guidance: at least 12 characters (or a passphrase), no
common passwords from the bundled list, nothing blank; usernames normalised (NFKC, case-folded) and
look-alike duplicates refused. Existing accounts keep signing in; demo and test passwords comply."""
from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from engine.models import User
from engine.passwords import common_passwords, password_problem
from engine.users import hash_password
from tests.conftest import PASSWORD
from web.cli import main

from .conftest import basic, sign_in


@pytest.fixture
def cli(sec_desk, db_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RELEASEDESK_DATABASE_URL", db_url)
    monkeypatch.setenv("RELEASEDESK_MEDIA_DIR", str(tmp_path / "media"))

    def run(*argv, stdin: str = "") -> tuple[int, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin + "\n"))
        capsys.readouterr()
        code = main(list(argv))
        out = capsys.readouterr()
        return code, out.out + out.err
    return run


WEAK = ["        ", "12345678", "            ", "password1234", "Password2024!", "qwertyuiop123", "abababababababab",
        "short pass", "pat pat pat pat"]


def test_weak_passwords_are_refused(cli, sec_desk):
    for password in WEAK:
        code, out = cli("user", "add", "pat", "--group", "sio", "--password-stdin", stdin=password)
        assert code == 1 and "password" in out, password
    with sec_desk.read() as s:
        assert s.scalar(select(User).where(User.username == "pat")) is None


def test_a_passphrase_is_accepted_and_the_bundled_list_is_real(cli):
    assert len(common_passwords()) > 10_000 and "iloveyou" in common_passwords()
    code, out = cli("user", "add", "pat", "--group", "sio", "--password-stdin", stdin="maple kettle orbit")
    assert code == 0, out
    assert password_problem(PASSWORD) is None  # the test users' password complies


def test_confusable_usernames_are_refused(cli, sec_desk):
    for twin in ["0lly", "OLLY", "Olly", "oIIy", "\u043ell\u0443", "\u043e\u04c0\u04c0\u0443", "ｏｌｌｙ", "olly"]:
        code, out = cli("user", "add", twin, "--group", "sio", "--password-stdin", stdin="maple kettle orbit")
        assert code == 1 and "olly" in out, (twin, out)
    with sec_desk.read() as s:
        assert list(s.scalars(select(User.username).where(User.username.like("%ll%")))) == ["olly"]


def test_usernames_are_normalised_and_sign_in_ignores_case(cli, client, sec_desk):
    code, out = cli("user", "add", "Pat.Smith", "--group", "sio", "--password-stdin", stdin="maple kettle orbit")
    assert code == 0 and "user pat.smith created" in out
    assert client.get("/api/tasks", headers=basic("PAT.SMITH", "maple kettle orbit")).status_code == 200
    assert sign_in(client, "Pat.Smith", "maple kettle orbit").status_code == 302


def test_existing_accounts_keep_working(client, sec_desk):
    """An account stored before names were normalised (mixed case) still signs in as it always did."""
    with sec_desk.transaction() as s:
        s.add(User(username="Legacy.User", display_name="Legacy", password_hash=hash_password("old but long pw"),
                   created_at=datetime.now(timezone.utc)))
    assert client.get("/api/process-definitions", headers=basic("Legacy.User", "old but long pw")).status_code == 200
    with sec_desk.read() as s:
        assert s.scalar(select(User).where(User.username == "Legacy.User")) is not None


def test_demo_passwords_satisfy_the_policy(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RELEASEDESK_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    monkeypatch.setenv("RELEASEDESK_MEDIA_DIR", str(tmp_path / "media"))
    assert main(["demo"]) == 0
    lines = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("  ")]
    passwords = [parts[1] for parts in lines if len(parts) >= 3]
    assert len(passwords) >= 9 and all(password_problem(p) is None for p in passwords)
