"""What deploy accepts must run: hostile and tricky diagrams, each either accepted and run to the end,
or refused before anything is stored with a reason that names file, line and element."""
from __future__ import annotations

import pytest

from engine import NotAllowed, ReleaseDesk
from engine import specs as spec_cache

from .conftest import DIAGRAMS
from .driver import Case
from .test_deployment import MINI, deploy, rejected

TRICKY = DIAGRAMS / "tricky"


def files(*names: str) -> list[tuple[str, bytes]]:
    return [(n, (TRICKY / n).read_bytes()) for n in names]


def only(problems: list[dict], element: str) -> dict:
    found = [p for p in problems if p["element"] == element]
    assert found, f"no problem names {element}: {problems}"
    assert found[0]["file"] and found[0]["line"], found[0]
    return found[0]


# -- call activities --------------------------------------------------------------------------
def test_a_process_calling_itself_is_refused(desk):
    problem = only(rejected(desk, files("recursion_self.bpmn")), "call_again")
    assert "loop_self → loop_self" in problem["message"] and "never end" in problem["message"]


def test_a_cycle_across_two_files_is_refused(desk):
    problems = rejected(desk, files("cycle_ping.bpmn", "cycle_pong.bpmn"))
    assert "cycle_ping → cycle_pong → cycle_ping" in only(problems, "call_pong")["message"]


def test_a_cycle_through_an_already_deployed_process_is_refused(desk, actors):
    deploy(desk, files("child_review.bpmn"))
    deploy(desk, files("parent_calls_child.bpmn"))
    calls_back = (TRICKY / "child_review.bpmn").read_bytes().replace(
        b'<bpmn:endEvent id="End_child">',
        b'<bpmn:callActivity id="call_parent" calledElement="parent_release"/><bpmn:endEvent id="End_child">')
    problem = only(rejected(desk, [("child_review.bpmn", calls_back)]), "call_parent")
    assert "child_review → parent_release → child_review" in problem["message"]


def test_a_missing_called_process_is_named(desk):
    problem = only(rejected(desk, files("parent_calls_child.bpmn")), "call_review")
    assert "'child_review'" in problem["message"] and "neither in the files uploaded" in problem["message"]


@pytest.mark.parametrize("together", [True, False])
def test_call_activity_across_files_runs(desk, actors, together):
    if together:
        result = deploy(desk, files("parent_calls_child.bpmn", "child_review.bpmn"))
    else:
        deploy(desk, files("child_review.bpmn"))
        result = deploy(desk, files("parent_calls_child.bpmn"))
    assert {d["key"] for d in result["definitions"]} >= {"parent_release"}
    case = Case(desk, "parent_release", "PR-1", {}, actors["requester"])
    assert case.open_activities() == ["press_review"]
    case.complete("press_review", actors["ccd"], {"press_ok": True})
    assert case.state == "completed" and case.refresh()["outcome"] == "Published"


# -- two processes in one file ----------------------------------------------------------------
def test_two_processes_in_one_file_each_run_their_own_diagram_also_after_a_restart(desk, actors):
    deploy(desk, files("two_processes.bpmn"))
    first = Case(desk, "pair_first", "P-1", {}, actors["requester"])
    second = Case(desk, "pair_second", "P-2", {}, actors["requester"])
    assert first.open_activities() == ["first_task"] and second.open_activities() == ["second_task"]
    spec_cache._parsed.entries.clear()  # a restart: nothing cached, second loaded first
    restarted = ReleaseDesk(desk.settings)
    try:
        second.desk = first.desk = restarted
        assert second.refresh()["activeActivities"] == ["second_task"]
        assert first.refresh()["activeActivities"] == ["first_task"]
        second.complete("second_task", actors["ccd"], {"second_note": "done"})
        first.complete("first_task", actors["sio"], {"first_note": "done"})
        assert (first.refresh()["outcome"], second.refresh()["outcome"]) == ("First done", "Second done")
    finally:
        restarted.dispose()


# -- who can work and start -------------------------------------------------------------------
@pytest.mark.parametrize("tag", ["task", "manualTask"])
def test_tasks_nobody_can_work_are_refused(desk, tag):
    broken = MINI.replace(b'<bpmn:userTask id="publish_release" name="Publish release" camunda:candidateGroups="ccd">',
                          f'<bpmn:{tag} id="publish_release" name="Publish release">'.encode())
    broken = broken.replace(b"</bpmn:userTask>\n    <bpmn:eventBasedGateway", f"</bpmn:{tag}>\n    <bpmn:eventBasedGateway".encode())
    problem = only(rejected(desk, [("mini.bpmn", broken)]), "publish_release")
    assert "cannot be worked" in problem["message"]


def test_unknown_candidate_group_is_refused(desk):
    broken = MINI.replace(b'camunda:candidateGroups="ccd"', b'camunda:candidateGroups="ccd,press_office"')
    problem = only(rejected(desk, [("mini.bpmn", broken)]), "publish_release")
    assert "press_office" in problem["message"] and "requester" in problem["message"]


def test_starter_groups_are_honoured(desk, actors):
    only_sio = MINI.replace(b'camunda:candidateStarterGroups="requester"', b'camunda:candidateStarterGroups="sio"')
    deploy(desk, [("mini.bpmn", only_sio)])
    with pytest.raises(NotAllowed):
        Case(desk, "mini_approval", "S-1", {}, actors["requester"])
    assert Case(desk, "mini_approval", "S-2", {}, actors["sio"]).open_activities() == ["approve_release"]


def test_unknown_starter_group_is_refused(desk):
    broken = MINI.replace(b'camunda:candidateStarterGroups="requester"', b'camunda:candidateStarterGroups="requestor"')
    assert "requestor" in only(rejected(desk, [("mini.bpmn", broken)]), "mini_approval")["message"]


# -- timers -----------------------------------------------------------------------------------
@pytest.mark.parametrize("timer, expected", [
    ("soon-ish", "reads soon, ish"),
    ('"soon-ish"', "not an ISO 8601 duration"),
    ("PT4H", 'write it in quotes, "PT4H"'),
    ("${review_interval}", "Camunda (JUEL) expression; this engine reads plain expressions without ${ } "
                           "(and, or, not, ==, True/False): write review_interval"),
    ("summary", "summary is a string form field; a duration timer needs"),
    ("42", "must be a text value"),
])
def test_bad_duration_timers_are_refused_at_deploy(desk, timer, expected):
    broken = MINI.replace(b">review_interval</bpmn:timeDuration>", f">{timer}</bpmn:timeDuration>".encode())
    problem = only(rejected(desk, [("mini.bpmn", broken)]), "Event_timer")
    assert expected in problem["message"]


@pytest.mark.parametrize("timer, expected", [
    ('<bpmn:timeDate>"2026-13-01T00:00:00Z"</bpmn:timeDate>', "not an ISO 8601 date-time"),
    ('<bpmn:timeDate>"2026-12-01T09:00:00"</bpmn:timeDate>', "no time zone"),
    ('<bpmn:timeCycle>"every day"</bpmn:timeCycle>', "not an ISO 8601 repeating interval"),
    ('<bpmn:timeCycle>"R3/PT1H"</bpmn:timeCycle>', "timeCycle timers are not supported"),
])
def test_date_and_cycle_timers_are_checked(desk, timer, expected):
    broken = MINI.replace(b'<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">review_interval</bpmn:timeDuration>',
                          timer.encode())
    assert expected in only(rejected(desk, [("mini.bpmn", broken)]), "Event_timer")["message"]


def test_a_literal_timer_in_quotes_runs(desk, actors):
    ok = MINI.replace(b">review_interval</bpmn:timeDuration>", b'>"P7D"</bpmn:timeDuration>')
    assert deploy(desk, [("mini.bpmn", ok)])["definitions"][0]["version"] == 1


# -- expressions and variables ----------------------------------------------------------------
def test_a_variable_nothing_sets_is_a_deploy_problem(desk):
    broken = MINI.replace(b"decision == 'approve'", b"amount > 100")
    problem = only(rejected(desk, [("mini.bpmn", broken)]), "Flow_approved")
    assert "reads amount" in problem["message"] and "no form field, message, script" in problem["message"]


@pytest.mark.parametrize("camunda, ours", [
    ("${amount &gt; 100}", "write amount > 100"),
    ("${decision == 'approve' &amp;&amp; images_verified}", "write decision == 'approve' and images_verified"),
    ("#{decision eq 'approve'}", "write decision == 'approve'"),
])
def test_camunda_expressions_get_a_camunda_answer(desk, camunda, ours):
    broken = MINI.replace(b"decision == 'approve'", camunda.encode())
    problem = only(rejected(desk, [("mini.bpmn", broken)]), "Flow_approved")
    assert "Camunda (JUEL)" in problem["message"] and ours in problem["message"]


def test_lower_case_true_is_explained(desk):
    broken = MINI.replace(b"decision == 'approve'", b"images_verified == true")
    assert "write True, False or None" in only(rejected(desk, [("mini.bpmn", broken)]), "Flow_approved")["message"]


# -- messages ---------------------------------------------------------------------------------
def test_a_message_used_only_by_a_message_flow_needs_no_name(desk, actors):
    deploy(desk, files("message_flow_only.bpmn"))
    case = Case(desk, "flow_message_only", "M-1", {}, actors["requester"])
    assert case.open_activities() == ["media_request"]


def test_a_start_event_with_two_messages_is_refused(desk):
    problem = only(rejected(desk, files("two_message_start.bpmn")), "Start_1")
    assert "several message definitions" in problem["message"]


# -- decision tables --------------------------------------------------------------------------
def test_the_second_decision_of_a_camunda_drd_runs(desk, actors):
    deploy(desk, files("drd_two_decisions.dmn", "uses_channel_screen.bpmn"))
    case = Case(desk, "channel_choice", "D-1", {"high_profile": True}, actors["requester"])
    assert case.open_activities() == ["publish"] and case.variables["channel"] == "press_conference"


def test_a_decision_requiring_another_is_refused_with_the_reason(desk):
    problems = rejected(desk, files("drd_required.dmn"))
    assert "requires decision first_look" in only(problems, "final_say")["message"]
    assert "write 1 <= ? <= 17" in only(problems, "l_r1_in")["message"]


def test_a_literal_expression_decision_and_an_unknown_hit_policy_are_refused(desk):
    dmn = (TRICKY / "drd_two_decisions.dmn").read_bytes().replace(b'hitPolicy="FIRST"', b'hitPolicy="ANY"')
    dmn = dmn.replace(b'<decision id="channel_screen" name="Channel screen">',
                      b'<decision id="literal" name="Literal"><literalExpression id="lit"><text>1</text>'
                      b'</literalExpression></decision><decision id="channel_screen" name="Channel screen">')
    problems = rejected(desk, [("screens.dmn", dmn)])
    assert "hit policy ANY" in only(problems, "age_table")["message"]
    assert "no decision table" in only(problems, "literal")["message"]


def test_a_business_rule_task_without_decision_ref_gets_our_message(desk):
    bpmn = (TRICKY / "uses_channel_screen.bpmn").read_bytes().replace(b' camunda:decisionRef="channel_screen"', b"")
    problem = only(rejected(desk, [("x.bpmn", bpmn)]), "pick_channel")
    assert "camunda:decisionRef" in problem["message"] and "{" not in problem["message"]


def test_a_decision_nobody_deployed_is_named(desk):
    problem = only(rejected(desk, files("uses_channel_screen.bpmn")), "pick_channel")
    assert "'channel_screen'" in problem["message"]


def test_decision_inputs_must_be_set_by_the_process(desk):
    bpmn = (TRICKY / "uses_channel_screen.bpmn").read_bytes().replace(
        b'<camunda:formField id="high_profile" label="High profile" type="boolean"/>', b"")
    problem = only(rejected(desk, files("drd_two_decisions.dmn") + [("x.bpmn", bpmn)]), "pick_channel")
    assert "reads high_profile" in problem["message"]


@pytest.mark.parametrize("cell, hint", [
    ('"tv","radio"', 'write ? in ("tv","radio")'),
    ("]1..10[", "write 1 < ? < 10"),
    ('not("tv")', 'write ? != "tv"'),
    ("true", "write True"),
])
def test_feel_cells_get_what_to_write_instead(desk, cell, hint):
    dmn = (TRICKY / "drd_two_decisions.dmn").read_bytes().replace(
        b'<inputEntry id="ch_r1_in"><text>True</text>', f'<inputEntry id="ch_r1_in"><text>{cell}</text>'.encode())
    assert hint in only(rejected(desk, [("screens.dmn", dmn)]), "ch_r1_in")["message"]


def test_a_variable_a_message_declares_may_be_read(desk):
    declared = MINI.replace(  # the event already declares its senders and a note: add one more variable
        b'<camunda:property name="variable:note" value="string; label=Note"/>',
        b'<camunda:property name="variable:note" value="string; label=Note"/>'
        b'<camunda:property name="variable:done_note" value="string"/>')
    assert declared != MINI
    declared = declared.replace(b'<bpmn:sequenceFlow id="Flow_6" sourceRef="Event_done" targetRef="End_done"/>',
                                b'<bpmn:sequenceFlow id="Flow_6" sourceRef="Event_done" targetRef="End_done">'
                                b'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">done_note != \'\''
                                b'</bpmn:conditionExpression></bpmn:sequenceFlow>')
    assert deploy(desk, [("mini.bpmn", declared)])["definitions"][0]["version"] == 1
    undeclared = declared.replace(b'name="variable:done_note"', b'name="other"')
    assert "reads done_note" in only(rejected(desk, [("mini.bpmn", undeclared)]), "Flow_6")["message"]


def test_camunda_annotation_column_and_comments_in_a_table_run(desk, actors):
    dmn = (TRICKY / "drd_two_decisions.dmn").read_bytes().replace(
        b'<output id="ch_out" label="Channel" name="channel" typeRef="string"/>',
        b'<output id="ch_out" label="Channel" name="channel" typeRef="string"/><annotation name="Notes"/>'
        b"<!-- press office asked for this -->").replace(
        b'<outputEntry id="ch_r1_out"><text>\'press_conference\'</text></outputEntry>',
        b'<outputEntry id="ch_r1_out"><text>\'press_conference\'</text></outputEntry>'
        b'<annotationEntry><text>high profile goes to a press conference</text></annotationEntry>')
    deploy(desk, [("screens.dmn", dmn)] + files("uses_channel_screen.bpmn"))
    case = Case(desk, "channel_choice", "D-2", {"high_profile": True}, actors["requester"])
    assert case.variables["channel"] == "press_conference"


def test_starter_groups_on_the_start_event_are_honoured_too(desk, actors):
    on_start = MINI.replace(b'<bpmn:startEvent id="StartEvent_request" name="Request">',
                            b'<bpmn:startEvent id="StartEvent_request" name="Request" camunda:candidateStarterGroups="ccd">')
    deploy(desk, [("mini.bpmn", on_start)])
    with pytest.raises(NotAllowed):
        Case(desk, "mini_approval", "S-3", {}, actors["requester"])
    assert Case(desk, "mini_approval", "S-4", {}, actors["ccd"]).open_activities() == ["approve_release"]


@pytest.mark.parametrize("condition", ["decision == 'aprove'", "decision in ['approve', 'approved']"])
def test_comparing_an_enum_with_an_option_it_does_not_have_is_refused(desk, condition):
    broken = MINI.replace(b"decision == 'approve'", condition.encode())
    problem = only(rejected(desk, [("mini.bpmn", broken)]), "Flow_approved")
    assert "is not an option of decision (approve, reject)" in problem["message"]
