"""Small hostile diagrams, built in code so each test shows exactly what it deploys."""
from __future__ import annotations

from xml.sax.saxutils import escape

HEADER = ('<?xml version="1.0" encoding="UTF-8"?>\n'
          '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
          'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
          'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Definitions_{key}" '
          'targetNamespace="http://bpmn.io/schema/bpmn">\n')


def script_process(key: str, script: str) -> bytes:
    """start -> script task -> user task (so a successful start leaves the case active) -> end."""
    return (HEADER.format(key=key) + f'''
  <bpmn:process id="{key}" name="{key}" isExecutable="true" camunda:candidateStarterGroups="requester">
    <bpmn:startEvent id="Start_{key}" name="Start"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="Script_{key}" name="Compute" scriptFormat="python"><bpmn:incoming>F1</bpmn:incoming>
      <bpmn:outgoing>F2</bpmn:outgoing><bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="Review_{key}" name="Review" camunda:candidateGroups="sio"><bpmn:incoming>F2</bpmn:incoming>
      <bpmn:outgoing>F3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="End_{key}" name="Done"><bpmn:incoming>F3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Start_{key}" targetRef="Script_{key}"/>
    <bpmn:sequenceFlow id="F2" sourceRef="Script_{key}" targetRef="Review_{key}"/>
    <bpmn:sequenceFlow id="F3" sourceRef="Review_{key}" targetRef="End_{key}"/>
  </bpmn:process>
</bpmn:definitions>''').encode()


def timer_process(key: str, script_after: str) -> bytes:
    """start -> one-hour timer -> script -> user task -> end: the script runs when the worker fires the timer."""
    return (HEADER.format(key=key) + f'''
  <bpmn:process id="{key}" name="{key}" isExecutable="true" camunda:candidateStarterGroups="requester">
    <bpmn:startEvent id="Start_{key}" name="Start"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="Wait_{key}" name="Wait a day"><bpmn:incoming>F1</bpmn:incoming>
      <bpmn:outgoing>F2</bpmn:outgoing><bpmn:timerEventDefinition id="TED_{key}"><bpmn:timeDuration
      xsi:type="bpmn:tFormalExpression">"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="After_{key}" name="After the wait" scriptFormat="python"><bpmn:incoming>F2</bpmn:incoming>
      <bpmn:outgoing>F3</bpmn:outgoing><bpmn:script>{escape(script_after)}</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="Review_{key}" name="Review" camunda:candidateGroups="sio"><bpmn:incoming>F3</bpmn:incoming>
      <bpmn:outgoing>F4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="End_{key}" name="Done"><bpmn:incoming>F4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Start_{key}" targetRef="Wait_{key}"/>
    <bpmn:sequenceFlow id="F2" sourceRef="Wait_{key}" targetRef="After_{key}"/>
    <bpmn:sequenceFlow id="F3" sourceRef="After_{key}" targetRef="Review_{key}"/>
    <bpmn:sequenceFlow id="F4" sourceRef="Review_{key}" targetRef="End_{key}"/>
  </bpmn:process>
</bpmn:definitions>''').encode()


def wide_parallel(branches: int) -> bytes:
    """A parallel gateway with `branches` outgoing flows straight into a join."""
    flows = "".join(f'<bpmn:sequenceFlow id="F{i}" sourceRef="Fork" targetRef="Join"/>' for i in range(branches))
    outs = "".join(f"<bpmn:outgoing>F{i}</bpmn:outgoing>" for i in range(branches))
    ins = "".join(f"<bpmn:incoming>F{i}</bpmn:incoming>" for i in range(branches))
    return (HEADER.format(key="wide") + f'''
  <bpmn:process id="wide_parallel" name="Wide parallel" isExecutable="true" camunda:candidateStarterGroups="requester">
    <bpmn:startEvent id="Start_wide" name="Start"><bpmn:outgoing>F_in</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="F_in" sourceRef="Start_wide" targetRef="Fork"/>
    <bpmn:parallelGateway id="Fork" name="Fork"><bpmn:incoming>F_in</bpmn:incoming>{outs}</bpmn:parallelGateway>
    {flows}
    <bpmn:parallelGateway id="Join" name="Join">{ins}<bpmn:outgoing>F_out</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:sequenceFlow id="F_out" sourceRef="Join" targetRef="End_wide"/>
    <bpmn:endEvent id="End_wide" name="Done"><bpmn:incoming>F_out</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>''').encode()
