"""SpiffWorkflow glue: parser, serializer and spec storage, configured in one place.

Specs are stored once per definition version; an instance's JSON holds only its state, and the spec
is put back before deserializing. That keeps instances small (a few KB) and lets every instance of a
version share one stored spec."""
from __future__ import annotations

import json

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG

from .expressions import script_engine

SPEC_KEYS = ("spec", "subprocess_specs")
_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG))
_validator: BpmnValidator | None = None


def xsd_validator() -> BpmnValidator:
    global _validator
    if _validator is None:
        _validator = BpmnValidator()
    return _validator


def spec_to_json(spec, subprocess_specs) -> str:
    data = _serializer.to_dict(BpmnWorkflow(spec, subprocess_specs))
    return json.dumps({key: data[key] for key in SPEC_KEYS}, separators=(",", ":"))


def new_workflow(spec_json: str) -> BpmnWorkflow:
    specs = json.loads(spec_json)
    spec = _serializer.registry.restore(specs["spec"])
    subprocess_specs = {name: _serializer.registry.restore(s) for name, s in specs["subprocess_specs"].items()}
    workflow = BpmnWorkflow(spec, subprocess_specs)
    workflow.script_engine = script_engine()
    return workflow


def dump_state(workflow: BpmnWorkflow) -> str:
    data = _serializer.to_dict(workflow)
    for key in SPEC_KEYS:
        data.pop(key, None)
    data[_serializer.VERSION_KEY] = _serializer.VERSION
    return json.dumps(data, separators=(",", ":"))


def load_state(state_json: str, spec_json: str) -> BpmnWorkflow:
    data = json.loads(state_json)
    data.update(json.loads(spec_json))
    if data.get(_serializer.VERSION_KEY) == _serializer.VERSION:
        data.pop(_serializer.VERSION_KEY)
        workflow = _serializer.from_dict(data)
    else:  # an older document: let SpiffWorkflow migrate it
        workflow = _serializer.deserialize_json(json.dumps(data))
    workflow.script_engine = script_engine()
    return workflow
