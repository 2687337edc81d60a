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

from .compaction import PRUNED_KEY, pruned_activities
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


class _ParsedSpecs:
    """Spec objects restored once per definition content and shared by its instances.

    SpiffWorkflow specs hold no per-instance state (multi-instance tasks, which rewrite their spec
    while running, are refused at deploy time), so one restored copy serves every instance of a
    version. Keyed by content hash, which is identical for identical diagrams in any database."""

    def __init__(self, limit: int = 256) -> None:
        self.limit = limit
        self.entries: dict[str, tuple] = {}

    def get(self, definition) -> tuple:
        key = definition.content_hash
        hit = self.entries.get(key)
        if hit is None:
            specs = json.loads(definition.spec_json)
            hit = (_serializer.registry.restore(specs["spec"]),
                   {name: _serializer.registry.restore(s) for name, s in specs["subprocess_specs"].items()})
            if len(self.entries) >= self.limit:
                self.entries.pop(next(iter(self.entries)))
            self.entries[key] = hit
        return hit


_parsed = _ParsedSpecs()


def _specs_of(definition) -> tuple:
    if isinstance(definition, str):  # a bare spec document (tools and tests)
        specs = json.loads(definition)
        return (_serializer.registry.restore(specs["spec"]),
                {name: _serializer.registry.restore(s) for name, s in specs["subprocess_specs"].items()})
    return _parsed.get(definition)


def new_workflow(definition) -> BpmnWorkflow:
    """A fresh workflow of `definition` (a ProcessDefinition, or its spec_json)."""
    spec, subprocess_specs = _specs_of(definition)
    workflow = BpmnWorkflow(spec, subprocess_specs)
    workflow.script_engine = script_engine()
    return workflow


def dump_state(workflow: BpmnWorkflow) -> str:
    data = _serializer.to_dict(workflow)
    for key in SPEC_KEYS:
        data.pop(key, None)
    data[_serializer.VERSION_KEY] = _serializer.VERSION
    if pruned_activities(workflow):
        data[PRUNED_KEY] = pruned_activities(workflow)
    return json.dumps(data, separators=(",", ":"))


def load_state(state_json: str, definition) -> BpmnWorkflow:
    """Rebuild an instance's workflow from its state and its definition (a ProcessDefinition row,
    or its spec_json)."""
    data = json.loads(state_json)
    pruned = data.pop(PRUNED_KEY, None)
    if data.get(_serializer.VERSION_KEY) != _serializer.VERSION:  # an older document: let SpiffWorkflow migrate
        spec_json = definition if isinstance(definition, str) else definition.spec_json
        data.update(json.loads(spec_json))
        workflow = _serializer.deserialize_json(json.dumps(data))
    else:
        data.pop(_serializer.VERSION_KEY)
        # Already-restored spec objects pass through the serializer's restore() unchanged.
        data["spec"], data["subprocess_specs"] = _specs_of(definition)
        workflow = _serializer.from_dict(data)
    workflow.script_engine = script_engine()
    if pruned:
        setattr(workflow, PRUNED_KEY, pruned)
    return workflow
