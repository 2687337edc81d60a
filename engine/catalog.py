"""Read what the engine and the inbox need from a BPMN file, once, at deploy time.

The catalog is plain JSON stored with each definition version: per activity its name, lane,
candidate groups, form fields, rules, due date and disclosure marking; the process's starter groups,
start form and start message; the sequence flows. It is also where our own lint rules run, so every
problem is reported with file, line and element id before anything is stored."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from .expressions import UnsafeExpression, check_expression, check_script

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN, "camunda": CAMUNDA}
FIELD_TYPES = {"string", "long", "boolean", "date", "enum"}
FLOW_NODE_TAGS = {
    "userTask", "manualTask", "task", "scriptTask", "businessRuleTask", "serviceTask", "sendTask",
    "receiveTask", "callActivity", "subProcess", "startEvent", "endEvent", "intermediateCatchEvent",
    "intermediateThrowEvent", "boundaryEvent", "exclusiveGateway", "parallelGateway",
    "inclusiveGateway", "eventBasedGateway", "complexGateway",
}
DEFAULT_STARTERS = ["requester"]
RESERVED_IDS = {"Start", "End", "Root"}  # names of SpiffWorkflow's own task specs


@dataclass
class Problems:
    file: str
    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, node: etree._Element | None, message: str, line: int | None = None) -> None:
        self.items.append({
            "file": self.file,
            "line": line if line is not None else (node.sourceline if node is not None else None),
            "element": node.get("id") if node is not None else None,
            "message": message,
        })


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname


def _properties(node: etree._Element) -> dict[str, str]:
    """Task-level camunda:properties (name/value), not the ones nested in form fields."""
    props = {}
    for prop in node.xpath("./bpmn:extensionElements/camunda:properties/camunda:property", namespaces=NS):
        if prop.get("name"):
            props[prop.get("name")] = prop.get("value", "")
    return props


def _form(node: etree._Element, problems: Problems) -> list[dict[str, Any]]:
    fields = []
    for xf in node.xpath("./bpmn:extensionElements/camunda:formData/camunda:formField", namespaces=NS):
        fid, ftype = xf.get("id"), xf.get("type")
        if not fid:
            problems.add(node, "a form field has no id", xf.sourceline)
            continue
        if ftype not in FIELD_TYPES:
            problems.add(node, f"form field {fid!r} has type {ftype!r}; use one of "
                         + ", ".join(sorted(FIELD_TYPES)), xf.sourceline)
        spec: dict[str, Any] = {
            "id": fid, "label": xf.get("label") or fid, "type": ftype,
            "default": xf.get("defaultValue"), "required": False, "readonly": False,
            "options": [], "properties": {},
        }
        for c in xf.xpath("./camunda:validation/camunda:constraint", namespaces=NS):
            name, config = c.get("name"), c.get("config")
            if name in ("required", "readonly"):
                spec[name] = True
            elif name in ("min", "max", "minlength", "maxlength"):
                try:
                    spec[name] = float(config) if name in ("min", "max") else int(config)
                except (TypeError, ValueError):
                    problems.add(node, f"field {fid!r}: constraint {name} needs a number", c.sourceline)
            else:
                problems.add(node, f"field {fid!r}: unknown constraint {name!r}", c.sourceline)
        for p in xf.xpath("./camunda:properties/camunda:property", namespaces=NS):
            spec["properties"][p.get("id") or p.get("name")] = p.get("value", "")
        for v in xf.xpath("./camunda:value", namespaces=NS):
            spec["options"].append({"id": v.get("id"), "name": v.get("name") or v.get("id")})
        if ftype == "enum" and not spec["options"] and "optionsFrom" not in spec["properties"]:
            problems.add(node, f"enum field {fid!r} has no options", xf.sourceline)
        fields.append(spec)
    return fields


def _rules(node: etree._Element, props: dict[str, str], problems: Problems) -> list[dict[str, str]]:
    rules = []
    for name, expression in props.items():
        if name.startswith("rule:"):
            fid = name[len("rule:"):]
            _check(node, expression, problems, f"rule for {fid!r}")
            rules.append({"field": fid, "expression": expression,
                          "message": props.get(f"message:{fid}") or f"Does not satisfy: {expression}"})
    return rules


def _check(node: etree._Element, text: str | None, problems: Problems, what: str) -> None:
    if text is None or not text.strip():
        problems.add(node, f"{what} is empty")
        return
    try:
        check_expression(text)
    except UnsafeExpression as exc:
        problems.add(node, f"{what}: {exc}")


def _lanes(process: etree._Element) -> dict[str, str]:
    lanes = {}
    for lane in process.xpath(".//bpmn:lane", namespaces=NS):
        for ref in lane.xpath("./bpmn:flowNodeRef", namespaces=NS):
            lanes[(ref.text or "").strip()] = lane.get("name") or lane.get("id")
    return lanes


def build_catalog(tree: etree._ElementTree, filename: str) -> tuple[list[dict[str, Any]], list[dict]]:
    """Return (catalogs of executable processes, problems)."""
    problems = Problems(filename)
    root = tree.getroot()
    if _local(root) != "definitions" or etree.QName(root).namespace != BPMN:
        problems.add(None, "not a BPMN 2.0 definitions document", root.sourceline)
        return [], problems.items

    ids: dict[str, int] = {}
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        for attr in ("id",):
            value = node.get(attr)
            if value and etree.QName(node).namespace == BPMN:
                if value in RESERVED_IDS:
                    problems.add(node, f"id {value!r} is reserved by the engine; choose another")
                if value in ids:
                    problems.add(node, f"duplicate id {value!r} (first at line {ids[value]})")
                ids[value] = node.sourceline
    # Extension ids (form fields, enum options) must not collide with element ids.
    for ext in root.xpath("//camunda:*[@id]", namespaces=NS):
        if ext.get("id") in ids:
            problems.add(ext, f"{ext.get('id')!r} is both an element id and a form/option id", ext.sourceline)

    messages = {m.get("id"): m.get("name") for m in root.xpath("./bpmn:message", namespaces=NS)}
    for mid, mname in messages.items():
        if not mname:
            problems.add(root.xpath(f"./bpmn:message[@id='{mid}']", namespaces=NS)[0], "message has no name")

    catalogs = []
    processes = [p for p in root.xpath("./bpmn:process", namespaces=NS) if p.get("isExecutable") == "true"]
    if not processes:
        problems.add(root, "no executable process (isExecutable=\"true\")")
    for process in processes:
        catalogs.append(_process_catalog(process, messages, problems))
    return catalogs, problems.items


def _process_catalog(process: etree._Element, messages: dict, problems: Problems) -> dict[str, Any]:
    key = process.get("id")
    lanes = _lanes(process)
    starters = [g.strip() for g in (process.get(f"{{{CAMUNDA}}}candidateStarterGroups") or "").split(",") if g.strip()]
    catalog: dict[str, Any] = {
        "key": key,
        "name": process.get("name") or key,
        "starter_groups": sorted(set(DEFAULT_STARTERS) | set(starters)),
        "start": None,
        "activities": {},
        "flows": [],
        "messages": sorted({n for n in messages.values() if n}),
    }
    for node in process.iter():
        if not isinstance(node.tag, str) or etree.QName(node).namespace != BPMN:
            continue
        tag = _local(node)
        if tag == "sequenceFlow":
            catalog["flows"].append({"id": node.get("id"), "source": node.get("sourceRef"),
                                     "target": node.get("targetRef"), "name": node.get("name")})
            cond = node.find("bpmn:conditionExpression", NS)
            if cond is not None:
                _check(node, cond.text, problems, "condition")
            continue
        if tag not in FLOW_NODE_TAGS:
            continue
        props = _properties(node)
        activity: dict[str, Any] = {
            "id": node.get("id"), "name": node.get("name") or node.get("id"), "type": tag,
            "lane": lanes.get(node.get("id")),
            "documentation": " ".join(t.strip() for t in node.xpath("./bpmn:documentation/text()", namespaces=NS)),
        }
        if tag in ("userTask", "startEvent"):
            activity["form"] = _form(node, problems)
            activity["rules"] = _rules(node, props, problems)
        if tag == "userTask":
            groups = [g.strip() for g in (node.get(f"{{{CAMUNDA}}}candidateGroups") or "").split(",") if g.strip()]
            if not groups:
                problems.add(node, "user task has no camunda:candidateGroups: nobody could work it")
            activity["candidate_groups"] = groups
            for prop in ("dueIn", "dueDate"):
                if prop in props:
                    _check(node, props[prop], problems, prop)
            activity["due_in"] = props.get("dueIn")
            activity["due_date"] = props.get("dueDate")
            activity["disclosure"] = props.get("disclosure")
        if tag == "scriptTask":
            fmt = node.get("scriptFormat") or "python"
            script = node.findtext("bpmn:script", default="", namespaces=NS)
            if fmt.lower() != "python":
                problems.add(node, f"script format {fmt!r} is not supported")
            try:
                check_script(script)
            except UnsafeExpression as exc:
                problems.add(node, f"script: {exc}")
        if node.find("bpmn:multiInstanceLoopCharacteristics", NS) is not None:
            problems.add(node, "multi-instance activities are not supported by this engine")
        if tag in ("serviceTask", "sendTask", "receiveTask", "complexGateway"):
            problems.add(node, f"{tag} is not supported by this engine")
        for timer in node.xpath("./bpmn:timerEventDefinition", namespaces=NS):
            if timer.find("bpmn:timeCycle", NS) is not None:
                problems.add(node, "timeCycle timers are not supported; model the loop with a duration timer")
            for child in timer:
                if isinstance(child.tag, str) and _local(child) in ("timeDuration", "timeDate"):
                    _check(node, child.text, problems, f"timer {_local(child)}")
        for msg in node.xpath("./bpmn:messageEventDefinition", namespaces=NS):
            name = messages.get(msg.get("messageRef"))
            if not name:
                problems.add(node, "message event does not reference a named bpmn:message")
            activity["message"] = name
        if tag == "startEvent" and node.getparent() is process:
            if catalog["start"] is not None:
                problems.add(node, "only one start event per process is supported")
            catalog["start"] = activity
        catalog["activities"][activity["id"]] = activity
    if catalog["start"] is None:
        problems.add(process, "process has no start event")
    from .messages import annotate  # who may send each message, and what it may carry
    annotate(process, catalog, problems)
    return catalog


def dmn_problems(tree: etree._ElementTree, filename: str) -> tuple[list[str], list[dict]]:
    """Check every DMN cell against the expression allow-list; return (decision ids, problems)."""
    problems = Problems(filename)
    root = tree.getroot()
    decisions = [d for d in root.iter() if isinstance(d.tag, str) and _local(d) == "decision"]
    if _local(root) != "definitions" or not decisions:
        problems.add(None, "not a DMN document with at least one decision", root.sourceline)
    for decision in decisions:
        for node in decision.iter():
            if not isinstance(node.tag, str) or _local(node) != "text":
                continue
            parent = _local(node.getparent())
            text = (node.text or "").strip()
            if not text or text == "-":
                continue
            candidates = [text]
            if parent == "inputEntry":
                candidates = [text.replace("?", "dmninputexpr"), f"dmninputexpr {text}"]
            errors = []
            for candidate in candidates:
                try:
                    check_expression(candidate)
                    break
                except UnsafeExpression as exc:
                    errors.append(str(exc))
            else:
                problems.add(node.getparent(), f"{parent}: {errors[0]}", node.sourceline)
    return [d.get("id") for d in decisions], problems.items
