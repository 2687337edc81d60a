"""Expressions that pass the allow-list must still not exhaust memory or CPU: visible forms are
refused at deploy, the rest stop at run time with a clear error and leave the database unchanged."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from engine import DeploymentRejected, WorkflowFailure
from engine.expressions import ExpressionLimit, RestrictedEnvironment, evaluate
from engine.models import ProcessInstance

from .diagrams import script_process

VISIBLE = [
    ('x = "%0500000000d" % 0', "format widths"),
    ('x = f"{0:>500000000}"', "format widths"),
    ("x = [[0]*99999]*99999", "repetition builds"),
    ('x = "%*d" % (999999999, 1)', "width or precision taken from the values"),
    (f"x = {2 ** 300}", "whole numbers"),
]


@pytest.mark.parametrize(("script", "message"), VISIBLE)
def test_visible_resource_bombs_are_refused_at_deploy(deploy_xml, script, message):
    with pytest.raises(DeploymentRejected) as refused:
        deploy_xml("bomb.bpmn", script_process("bomb", script))
    problem = refused.value.problems[0]
    assert problem["element"] == "Script_bomb" and message in problem["message"]


RUN_TIME = [
    ("n = 500000000\nx = ('%0' + str(n) + 'd') % 0", "format widths"),
    ("n = 500000000\nx = f'{0:>{n}}'", "format widths"),
    ("n = 99999\nrow = [0] * n", "collections are limited"),
    ("a = 3\n" + "a = a * a\n" * 40, "whole numbers"),
    ("a = [0]\n" + "a = [a, a]\n" * 40, "collections are limited"),
]


@pytest.mark.parametrize(("script", "message"), RUN_TIME)
def test_hidden_resource_bombs_stop_at_run_time(script, message):
    started = time.monotonic()
    with pytest.raises(Exception) as stopped:
        RestrictedEnvironment().execute(script, {})
    assert message in str(stopped.value)
    assert time.monotonic() - started < 5


def test_a_bounded_expression_still_works():
    assert evaluate("f'{n:05d}' + ('%.2f' % 1.5) + str(len([0] * 10))", {"n": 7}) == "000071.5010"
    with pytest.raises(ExpressionLimit):
        evaluate("round(10 * 7, -n)", {"n": 10 ** 20})


def test_starting_a_case_whose_script_explodes_answers_an_error_and_stores_nothing(desk, deploy_xml, actors):
    deploy_xml("squares.bpmn", script_process("squares", "a = 3\n" + "a = a * a\n" * 40))
    with pytest.raises(WorkflowFailure) as failed:
        with desk.transaction() as s:
            desk.runtime.start(s, "squares", "SQ-1", {}, actors["requester"])
    assert "whole numbers are limited" in failed.value.message
    with desk.read() as s:
        assert s.scalar(select(func.count()).select_from(ProcessInstance)) == 0
