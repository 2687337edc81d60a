"""Who may send each message, and what it may carry, are read from the diagram at deploy time; a
declaration that could let a message overwrite case data, or that two events of one message give
differently, is refused with the element named. The shipped pathways declare what the contract says."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from engine import SYSTEM, DeploymentRejected
from engine.deployment import deploy
from engine.models import ProcessDefinition
from engine.queries import latest_definitions

from .cases import SENDERS

MINI = (Path(__file__).resolve().parents[1] / "engine" / "diagrams" / "mini_approval.bpmn").read_text()
DECLARED = '<camunda:property name="variable:note" value="string; label=Note"/>'


def with_declaration(properties: str) -> bytes:
    assert DECLARED in MINI
    return MINI.replace(DECLARED, properties).encode()


def problems(desk, content: bytes) -> list[str]:
    with desk.transaction() as s, pytest.raises(DeploymentRejected) as err:
        deploy(s, [("mini_approval.bpmn", content)], SYSTEM, desk.clock())
    assert all(p["element"] == "Event_done" and p["line"] for p in err.value.problems), err.value.problems
    return [p["message"] for p in err.value.problems]


@pytest.mark.parametrize(("properties", "expected"), [
    ('<camunda:property name="variable:decision" value="string"/>', "also a form field"),
    ('<camunda:property name="variable:requested_by" value="string"/>', "set by the engine"),
    ('<camunda:property name="variable:note" value="text"/>', "has type 'text'"),
    ('<camunda:property name="variable:note" value="string; colour=red"/>', "unknown setting 'colour'"),
    ('<camunda:property name="variable:note" value="string; maxlength=many"/>', "needs a number"),
    ('<camunda:property name="variable:how" value="enum:"/>', "enum with no options"),
    ('<camunda:property name="variable:2fast" value="string"/>', "not a valid variable name"),
])
def test_unsafe_or_malformed_declarations_are_refused_at_deploy(desk, properties, expected):
    found = problems(desk, with_declaration(properties))
    assert any(expected in m for m in found), found


def test_shipped_pathways_declare_the_contracted_senders_and_variables(desk):
    with desk.read() as s:
        declarations = {}
        for d in latest_definitions(s):
            for name, decl in d.catalog["message_declarations"].items():
                declarations.setdefault(name, []).append((d.key, decl))
    assert set(declarations) == set(SENDERS)
    for name, found in declarations.items():
        for key, decl in found:
            assert set(decl["senders"]) == SENDERS[name], (key, name)
            ids = {f["id"]: f for f in decl["variables"]}
            if decl["start"]:
                assert key == "custody_image" and "case_reference" in ids and "offender_name" in ids
            else:
                assert ids["note"]["required"] and ids["note"]["type"] == "string"
    variables = {name: {f["id"] for f in found[0][1]["variables"]} for name, found in declarations.items()}
    assert variables["person_apprehended"] == {"note", "apprehended_at"}
    assert variables["appeal_withdrawn"] == {"note", "reason"}
    assert variables["person_found"] == {"note", "found_at"}


def test_an_undeclared_message_is_for_the_system_only(desk):
    """A diagram whose message event names no senders deploys, but nobody except the engine may send it."""
    from engine import Actor, NotAllowed
    from tests.engine.driver import Case
    content = MINI.replace('<camunda:property name="senders" value="sio,ccd"/>', "").encode()
    with desk.transaction() as s:
        deploy(s, [("mini_approval.bpmn", content)], SYSTEM, desk.clock())
        catalog = s.scalar(select(ProcessDefinition.catalog).where(ProcessDefinition.key == "mini_approval"))
    assert catalog["message_declarations"]["mini_done"]["senders"] == []
    case = Case(desk, "mini_approval", "MINI-1", {}, Actor("rita", frozenset({"requester"})))
    case.complete("approve_release", Actor("sam", frozenset({"sio"})),
                  {"decision": "approve", "rationale": "Necessary", "images_verified": True})
    case.complete("publish_release", Actor("cat", frozenset({"ccd"})),
                  {"channels": ["force_website"], "published_urls": "https://example.police.uk/appeal"})
    assert case.refresh()["activeActivities"] == ["Event_wait"]
    for group in ("sio", "manager", "admin", "ccd"):
        with desk.transaction() as s, pytest.raises(NotAllowed):
            desk.runtime.correlate(s, "mini_done", "MINI-1", {}, Actor("x", frozenset({group})))
    assert case.state == "active"
    assert case.send("mini_done", {}, actor=SYSTEM) == [case.id]
    assert case.state == "completed"
