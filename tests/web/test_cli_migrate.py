"""`releasedesk migrate`: running cases move to a newer version case by case, with progress."""
from __future__ import annotations

from sqlalchemy import select

from engine import Actor, ReleaseDesk, load_settings
from engine.models import ProcessInstance
from web.cli import main

from .test_cli import MINI, env  # noqa: F401 - the fixture

REQUESTER = Actor("rita", frozenset({"requester"}))


def test_migrate_moves_every_case_and_prints_progress(env, capsys):  # noqa: F811
    assert main(["init"]) == 0
    assert main(["deploy", str(MINI)]) == 0
    desk = ReleaseDesk(load_settings())
    for n in range(3):
        with desk.transaction() as s:
            desk.runtime.start(s, "mini_approval", f"CLI-{n}", {}, REQUESTER)
    renamed = env / "mini_approval.bpmn"
    renamed.write_text(MINI.read_text().replace('name="Approve release"', 'name="Approve the release"'))
    assert main(["deploy", str(renamed)]) == 0
    capsys.readouterr()
    assert main(["migrate", "mini_approval", "--from", "1", "--every", "1"]) == 0
    out = capsys.readouterr().out
    assert "1/3: 1 moved, 0 refused, 0 failed" in out and "3/3: 3 moved" in out
    assert "3 case(s) moved from version 1 to 2; 0 refused; 0 failed" in out
    with desk.read() as s:
        assert set(s.scalars(select(ProcessInstance.version))) == {2}
    assert main(["migrate", "mini_approval", "--from", "1"]) == 0  # again: nothing left to move
    assert "0 case(s) moved" in capsys.readouterr().out
    desk.dispose()
