"""The `releasedesk` command line against a fresh database."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import ReleaseDesk, load_settings
from engine.models import User
from engine.users import authenticate
from web.cli import main

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "engine" / "diagrams" / "mini_approval.bpmn"


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("RELEASEDESK_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("RELEASEDESK_MEDIA_DIR", str(tmp_path / "media"))
    return tmp_path


def test_console_script_init_is_idempotent(env):
    exe = shutil.which("releasedesk", path=str(Path(sys.executable).parent))
    first = subprocess.run([exe, "init"], capture_output=True, text=True, env=os.environ, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "wanted_person: version 1 (new)" in first.stdout
    second = subprocess.run([exe, "init"], capture_output=True, text=True, env=os.environ, timeout=120)
    assert second.returncode == 0 and "wanted_person: version 1 (unchanged)" in second.stdout


def test_deploy_reports_file_line_and_element(env, capsys):
    bad = env / "bad.bpmn"
    bad.write_bytes(MINI.read_bytes().replace(b"decision == 'approve'", b"__import__('os').getcwd()"))
    assert main(["deploy", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.bpmn:" in err and "[Flow_approved]" in err and "condition" in err
    assert main(["deploy", str(MINI)]) == 0
    assert "mini_approval: version 1 (new)" in capsys.readouterr().out
    assert main(["deploy", str(env / "missing.bpmn")]) == 1


def test_deploy_draft_is_not_live(env, capsys):
    assert main(["deploy", str(MINI)]) == 0
    renamed = env / "mini.bpmn"
    renamed.write_bytes(MINI.read_bytes().replace(b'name="Approve release"', b'name="Approve it"'))
    assert main(["deploy", "--draft", str(renamed)]) == 0
    assert "mini_approval: version 2 (new draft)" in capsys.readouterr().out
    assert main(["deploy", str(MINI)]) == 0  # what is live already: no new version while the draft waits
    assert "mini_approval: version 1 (unchanged)" in capsys.readouterr().out


def test_user_add_reads_password_from_stdin(env, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(["user", "add", "pat", "--group", "sio", "--group", "oic", "--password-stdin"]) == 0
    desk = ReleaseDesk(load_settings())
    with desk.transaction() as s:
        user = s.scalar(select(User).where(User.username == "pat"))
        assert user.group_names == ["oic", "sio"]
        assert user.password_hash.startswith("$argon2") and "a long enough" not in user.password_hash
        assert authenticate(s, "pat", "a long enough password").groups == {"sio", "oic"}
        assert authenticate(s, "pat", "wrong") is None
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["user", "add", "pat2", "--group", "sio", "--password-stdin"]) == 1
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(["user", "add", "pat", "--group", "sio", "--password-stdin"]) == 1
    assert "already exists" in capsys.readouterr().err


def test_timers_run_fires_due_timers_once(env, capsys):
    from engine import Actor
    assert main(["deploy", str(MINI)]) == 0
    desk = ReleaseDesk(load_settings())
    rita, sam, cat = (Actor(n, frozenset({g})) for n, g in (("rita", "requester"), ("sam", "sio"), ("cat", "ccd")))
    with desk.transaction() as s:
        view = desk.runtime.start(s, "mini_approval", "CASE-T", {"review_interval": "P2D"}, rita)
    from engine import queries as q
    for actor, values in ((sam, {"decision": "approve", "rationale": "ok", "images_verified": True}),
                          (cat, {"channels": ["force_website"]})):
        with desk.transaction() as s:
            task = q.list_tasks(s, actor, instance_id=view["id"])[0]
            desk.runtime.complete(s, task["id"], actor, values)
    soon = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    later = (datetime.now(timezone.utc) + timedelta(days=3)).isoformat()
    capsys.readouterr()
    assert main(["timers", "run", "--now", soon]) == 0
    assert "0 instance(s)" in capsys.readouterr().out
    assert main(["timers", "run", "--now", later]) == 0
    assert f"instance {view['id']}: fired Event_timer" in capsys.readouterr().out
    assert main(["timers", "run", "--now", later]) == 0
    assert "0 instance(s)" in capsys.readouterr().out
    with desk.transaction() as s:
        assert q.get_instance(s, view["id"]).state == "completed"


def test_demo_seeds_users_and_cases(env, capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "Deployed 6 pathway(s)" in out and "Sample cases created: 8" in out
    for role in ("requester", "sio", "oic", "ccd", "flo", "senior_ops", "head_of_comms", "designer", "manager"):
        assert f"\n  {role} " in out
    password = [line.split()[1] for line in out.splitlines() if line.startswith("  sio ")][0]
    desk = ReleaseDesk(load_settings())
    with desk.transaction() as s:
        assert authenticate(s, "sio", password) is not None
    assert main(["demo"]) == 0
    assert "Sample cases created: 0" in capsys.readouterr().out


def test_serve_refuses_to_start_without_a_secret_key(env, monkeypatch, capsys):
    monkeypatch.delenv("RELEASEDESK_SECRET_KEY", raising=False)
    assert main(["serve", "--port", "0"]) == 2
    assert "RELEASEDESK_SECRET_KEY" in capsys.readouterr().err
