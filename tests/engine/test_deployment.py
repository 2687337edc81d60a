"""Deploying diagrams: versions by content, and hostile or broken files refused with file, line
and element named, before anything is stored."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import SYSTEM, DeploymentRejected
from engine.models import ProcessDefinition

from .conftest import DIAGRAMS
from .driver import Case

MINI = (DIAGRAMS / "mini_approval.bpmn").read_bytes()


def deploy(desk, files, actor=SYSTEM):
    with desk.transaction() as s:
        from engine.deployment import deploy as do_deploy
        return do_deploy(s, files, actor, desk.clock())


def definition_count(desk) -> int:
    with desk.transaction() as s:
        return s.scalar(select(func.count()).select_from(ProcessDefinition))


def rejected(desk, files) -> list[dict]:
    before = definition_count(desk)
    with pytest.raises(DeploymentRejected) as err:
        deploy(desk, files)
    assert definition_count(desk) == before, "a rejected deployment stored something"
    return err.value.problems


def test_versions_follow_content_and_instances_keep_theirs(desk, actors):
    assert deploy(desk, [("mini.bpmn", MINI)])["definitions"] == [{"key": "mini_approval", "version": 1, "changed": True}]
    assert deploy(desk, [("mini.bpmn", MINI)])["definitions"][0] == {"key": "mini_approval", "version": 1, "changed": False}
    old = Case(desk, "mini_approval", "CASE-OLD", {}, actors["requester"])
    changed = MINI.replace(b'name="Approve release"', b'name="Approve the release"')
    assert deploy(desk, [("mini.bpmn", changed)])["definitions"][0]["version"] == 2
    new = Case(desk, "mini_approval", "CASE-NEW", {}, actors["requester"])
    assert (old.view["version"], new.view["version"]) == (1, 2)
    assert old.task("approve_release")["name"] == "Approve release"
    assert new.task("approve_release")["name"] == "Approve the release"
    old.complete("approve_release", actors["sio"], {"decision": "reject", "rationale": "Not proportionate"})
    assert old.state == "completed" and old.refresh()["version"] == 1


def test_doctype_and_external_entities_are_refused(desk):
    xxe = b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n' + MINI.split(b"?>", 1)[1]
    problems = rejected(desk, [("evil.bpmn", xxe)])
    assert problems[0]["file"] == "evil.bpmn"
    assert "DOCTYPE" in problems[0]["message"] and problems[0]["line"] == 2


def test_billion_laughs_is_refused(desk):
    bomb = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><x>&lol2;</x>'
    assert "DOCTYPE" in rejected(desk, [("bomb.bpmn", bomb)])[0]["message"]


def test_condition_importing_os_is_refused_naming_the_flow(desk):
    evil = MINI.replace(b"decision == 'approve'", b"__import__('os').system('touch /tmp/pwned')")
    problems = rejected(desk, [("mini.bpmn", evil)])
    assert [p["element"] for p in problems] == ["Flow_approved"]
    assert problems[0]["line"] and "condition" in problems[0]["message"]


@pytest.mark.parametrize("expression", [
    "decision.__class__", "open('/etc/passwd')", "[x for x in range(9)]", "(lambda: 1)()",
    "getattr(decision, 'upper')", "_secret",
])
def test_unsafe_expressions_are_refused(desk, expression):
    evil = MINI.replace(b"decision == 'approve'", expression.encode())
    assert rejected(desk, [("mini.bpmn", evil)])[0]["element"] == "Flow_approved"


def test_unsafe_timer_and_rule_expressions_are_refused(desk):
    evil = MINI.replace(b">review_interval<", b">__import__('time').sleep(99)<").replace(
        b"decision != 'approve' or images_verified", b"images_verified.__init__")
    elements = sorted(p["element"] for p in rejected(desk, [("mini.bpmn", evil)]))
    assert elements == ["Event_timer", "approve_release"]


def test_script_tasks_may_only_assign(desk):
    evil = MINI.replace(
        b'<bpmn:endEvent id="End_refused" name="Refused">',
        b'<bpmn:scriptTask id="Script_evil" name="Evil" scriptFormat="python"><bpmn:script>import os\nx = 1'
        b'</bpmn:script></bpmn:scriptTask><bpmn:endEvent id="End_refused" name="Refused">')
    problems = rejected(desk, [("mini.bpmn", evil)])
    assert any(p["element"] == "Script_evil" and "only assign" in p["message"] for p in problems)


def test_malformed_xml_names_the_line(desk):
    broken = MINI.replace(b"</bpmn:process>", b"</bpmn:proces>")
    problem = rejected(desk, [("mini.bpmn", broken)])[0]
    assert problem["file"] == "mini.bpmn" and problem["line"] > 40
    assert "well-formed" in problem["message"]


def test_schema_errors_are_reported(desk):
    broken = MINI.replace(b'<bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_request" targetRef="approve_release"/>',
                          b'<bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_request" targetRef="approve_release" bogus="1"/>'
                          b'<bpmn:madeUpElement id="X"/>')
    message = rejected(desk, [("mini.bpmn", broken)])[0]["message"]
    assert "schema" in message and "{http" not in message


def test_user_task_without_candidate_groups_is_refused(desk):
    broken = MINI.replace(b' camunda:candidateGroups="ccd"', b"")
    problems = rejected(desk, [("mini.bpmn", broken)])
    assert problems[0]["element"] == "publish_release" and "candidateGroups" in problems[0]["message"]


def test_untyped_form_field_and_unknown_message_are_refused(desk):
    broken = MINI.replace(b'id="summary" label="Summary" type="string"', b'id="summary" label="Summary" type="text"')
    broken = broken.replace(b'messageRef="Message_done"', b'messageRef="Message_nope"')
    messages = " | ".join(p["message"] for p in rejected(desk, [("mini.bpmn", broken)]))
    assert "summary" in messages and "type" in messages
    assert "message" in messages


def test_only_bpmn_and_dmn_files(desk):
    assert "only .bpmn and .dmn" in rejected(desk, [("notes.txt", b"hello")])[0]["message"]


def test_unsafe_dmn_cell_is_refused(desk):
    dmn = b'''<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="x">
  <decision id="evil" name="Evil">
    <decisionTable id="t" hitPolicy="FIRST">
      <input id="i1" label="x"><inputExpression id="ie1" typeRef="boolean"><text>x</text></inputExpression></input>
      <output id="o1" name="y" typeRef="string"/>
      <rule id="r1"><inputEntry id="e1"><text>__import__('os')</text></inputEntry><outputEntry id="oe1"><text>"a"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>'''
    problems = rejected(desk, [("evil.dmn", dmn)])
    assert problems[0]["file"] == "evil.dmn" and problems[0]["element"] == "e1"


def test_multi_instance_activities_are_refused(desk):
    mi = MINI.replace(b'<bpmn:outgoing>Flow_3</bpmn:outgoing>',
                      b'<bpmn:outgoing>Flow_3</bpmn:outgoing><bpmn:multiInstanceLoopCharacteristics>'
                      b'<bpmn:loopCardinality>3</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>')
    problems = rejected(desk, [("mini.bpmn", mi)])
    assert problems[0]["element"] == "publish_release" and "multi-instance" in problems[0]["message"]
