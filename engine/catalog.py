"""Read what the engine and the inbox need from a BPMN file, once, at deploy time.

The catalog is plain JSON stored with each definition version: per activity its name, lane,
candidate groups, form fields, rules, due date and disclosure marking; the process's starter groups,
start form and start message; the sequence flows. It is also where our own lint rules run, so every
problem is reported with file, line and element id before anything is stored."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from .expressions import UnsafeExpression, check_script
from .lint import compared_literals, expression_error, names_in, timer_error
from .users import GROUPS

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
#: Variables the engine sets on every case (see case_commands): always defined.
ENGINE_SET = {"requested_by", "local_approval_required", "case_reference", "copyright_notice",
              "conditions_of_use", "review_interval", "removal_sla"}


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


def _rules(node: etree._Element, props: dict[str, str], problems: Problems, uses: list) -> list[dict[str, str]]:
    rules = []
    for name, expression in props.items():
        if name.startswith("rule:"):
            fid = name[len("rule:"):]
            _check(node, expression, problems, f"rule for {fid!r}", uses)
            rules.append({"field": fid, "expression": expression,
                          "message": props.get(f"message:{fid}") or f"Does not satisfy: {expression}"})
    return rules


def _check(node: etree._Element, text: str | None, problems: Problems, what: str,
           uses: list | None = None, line: int | None = None) -> None:
    """Check an expression; when `uses` is given, record the names it reads for the
    undefined-variable check that runs once every file of the deployment is known."""
    error = expression_error(text)
    if error:
        problems.add(node, f"{what} {error}" if error == "is empty" else f"{what}: {error}", line)
    elif uses is not None:
        uses.append({"element": node.get("id"), "line": line or node.sourceline, "what": what,
                     "names": names_in(text), "text": text})


def _groups(text: str | None) -> list[str]:
    return [g.strip() for g in (text or "").split(",") if g.strip()]


def _unknown_groups(node: etree._Element, groups: list[str], problems: Problems, attr: str) -> None:
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        problems.add(node, f"{attr} names unknown group(s) {', '.join(unknown)}; the groups are "
                     + ", ".join(GROUPS))


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
    # A message only drawn on message flows between pools needs no name; one that an event
    # catches or throws is matched by name, so it must have one.
    used = {d.get("messageRef") for d in root.xpath("//bpmn:messageEventDefinition", namespaces=NS)}
    for mid, mname in messages.items():
        if not mname and mid in used:
            problems.add(root.xpath(f"./bpmn:message[@id='{mid}']", namespaces=NS)[0],
                         "message has no name, and an event uses it")

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
    starters = _groups(process.get(f"{{{CAMUNDA}}}candidateStarterGroups"))
    _unknown_groups(process, starters, problems, "candidateStarterGroups")
    catalog: dict[str, Any] = {
        "key": key,
        "name": process.get("name") or key,
        "starter_groups": sorted(set(starters)) or list(DEFAULT_STARTERS),
        "start": None,
        "activities": {},
        "flows": [],
        "messages": sorted({n for n in messages.values() if n}),
        "calls": [],        # [{"element", "line", "process"}]: call activities, resolved at deploy
        "decisions": [],    # [{"element", "line", "decision"}]: business rule tasks
        "sets": set(ENGINE_SET),
        "uses": [],         # [{"element", "line", "what", "names"}]: checked once all files are known
        "timers": [],       # [{"element", "line", "kind", "text"}]: type-checked against the forms
    }
    uses = catalog["uses"]
    for node in process.iter():
        if not isinstance(node.tag, str) or etree.QName(node).namespace != BPMN:
            continue
        tag = _local(node)
        if tag == "sequenceFlow":
            catalog["flows"].append({"id": node.get("id"), "source": node.get("sourceRef"),
                                     "target": node.get("targetRef"), "name": node.get("name")})
            cond = node.find("bpmn:conditionExpression", NS)
            if cond is not None:
                _check(node, cond.text, problems, "condition", uses, cond.sourceline)
            continue
        if tag not in FLOW_NODE_TAGS:
            continue
        _activity(process, node, tag, lanes, messages, catalog, problems)
    if catalog["start"] is None:
        problems.add(process, "process has no start event")
    from .messages import annotate  # who may send each message, and what it may carry
    annotate(process, catalog, problems)
    fields = {f["id"]: f for a in catalog["activities"].values() for f in a.get("form", [])}
    for timer in catalog["timers"]:
        error = timer_error(timer["kind"], timer["text"], fields)
        if error:
            problems.add(None, f"timer {timer['kind']}: {error}", timer["line"])
            problems.items[-1]["element"] = timer["element"]
        elif timer["kind"] == "timeCycle":
            problems.add(None, "timeCycle timers are not supported; model the loop with a duration "
                         "timer and a gateway back to it", timer["line"])
            problems.items[-1]["element"] = timer["element"]
        else:
            uses.append({"element": timer["element"], "line": timer["line"], "what": f"timer {timer['kind']}",
                         "names": names_in(timer["text"])})
    _option_problems(catalog, problems)
    catalog["sets"] = sorted(catalog["sets"])
    return catalog


def _option_problems(catalog: dict, problems: Problems) -> None:
    """`decision == 'aprove'` can never be true when every form field `decision` is an enum without
    that option (and no script or decision table sets it): a typo caught at deploy."""
    options: dict[str, set[str] | None] = {}
    for activity in catalog["activities"].values():
        for f in activity.get("form", []):
            static = f["type"] == "enum" and "optionsFrom" not in f.get("properties", {})
            known = options.get(f["id"], set())
            options[f["id"]] = (known | {o["id"] for o in f["options"]}) if static and known is not None else None
    scripted = set(catalog["sets"]) - {f["id"] for a in catalog["activities"].values() for f in a.get("form", [])}
    for use in catalog["uses"]:
        for name, value in compared_literals(use.get("text") or ""):
            allowed = options.get(name)
            if allowed and name not in scripted and value not in allowed:
                problems.add(None, f"{use['what']}: {value!r} is not an option of {name} "
                             f"({', '.join(sorted(allowed))}), so this is never true", use["line"])
                problems.items[-1]["element"] = use["element"]


def _activity(process, node, tag: str, lanes: dict, messages: dict, catalog: dict, problems: Problems) -> None:
    uses, sets = catalog["uses"], catalog["sets"]
    props = _properties(node)
    activity: dict[str, Any] = {
        "id": node.get("id"), "name": node.get("name") or node.get("id"), "type": tag,
        "lane": lanes.get(node.get("id")),
        "documentation": " ".join(t.strip() for t in node.xpath("./bpmn:documentation/text()", namespaces=NS)),
    }
    if tag in ("task", "manualTask"):
        kind = "a plain task (no type)" if tag == "task" else "a manual task"
        problems.add(node, f"{kind} cannot be worked in the inbox: make it a user task with "
                     "camunda:candidateGroups, or remove it")
    if tag in ("userTask", "startEvent", "intermediateCatchEvent", "boundaryEvent", "receiveTask"):
        activity["form"] = _form(node, problems)
        sets.update(f["id"] for f in activity["form"])
        if tag in ("userTask", "startEvent"):
            activity["rules"] = _rules(node, props, problems, uses)
        elif not activity["form"]:
            del activity["form"]
    if tag == "userTask":
        groups = _groups(node.get(f"{{{CAMUNDA}}}candidateGroups"))
        if not groups:
            problems.add(node, "user task has no camunda:candidateGroups: nobody could work it")
        _unknown_groups(node, groups, problems, "camunda:candidateGroups")
        activity["candidate_groups"] = groups
        for prop in ("dueIn", "dueDate"):
            if prop in props:
                _check(node, props[prop], problems, prop, uses)
        activity["due_in"] = props.get("dueIn")
        activity["due_date"] = props.get("dueDate")
        activity["disclosure"] = props.get("disclosure")
    if tag == "scriptTask":
        fmt = node.get("scriptFormat") or "python"
        script = node.findtext("bpmn:script", default="", namespaces=NS)
        if fmt.lower() != "python":
            problems.add(node, f"script format {fmt!r} is not supported: write Python-style assignments")
        try:
            for name, expression in check_script(script):
                sets.add(name)
                uses.append({"element": node.get("id"), "line": node.sourceline, "what": "script",
                             "names": names_in(expression)})
        except UnsafeExpression as exc:
            problems.add(node, f"script: {exc}")
    if tag == "businessRuleTask":
        ref = node.get(f"{{{CAMUNDA}}}decisionRef")
        if not ref:
            problems.add(node, "business rule task needs camunda:decisionRef naming a deployed DMN decision")
        else:
            catalog["decisions"].append({"element": node.get("id"), "line": node.sourceline, "decision": ref})
    if tag == "callActivity":
        called = (node.get("calledElement") or "").strip()
        if not called:
            problems.add(node, "call activity has no calledElement (the id of the process it calls)")
        else:
            catalog["calls"].append({"element": node.get("id"), "line": node.sourceline, "process": called})
    if node.find("bpmn:multiInstanceLoopCharacteristics", NS) is not None:
        problems.add(node, "multi-instance activities are not supported by this engine")
    if tag in ("serviceTask", "sendTask", "receiveTask", "complexGateway"):
        problems.add(node, f"{tag} is not supported by this engine")
    for timer in node.xpath("./bpmn:timerEventDefinition", namespaces=NS):
        for child in timer:
            if isinstance(child.tag, str) and _local(child) in ("timeDuration", "timeDate", "timeCycle"):
                catalog["timers"].append({"element": node.get("id"), "line": child.sourceline,
                                          "kind": _local(child), "text": child.text})
    definitions = node.xpath("./bpmn:messageEventDefinition", namespaces=NS)
    if len(definitions) > 1:
        problems.add(node, "an event with several message definitions is not supported: draw one "
                     "message event per message")
    # Variables a message declares (`variable:NAME` properties on its catch event) are set by it.
    sets.update(p[len("variable:"):] for p in props if p.startswith("variable:") and len(p) > len("variable:"))
    for msg in definitions:
        name = messages.get(msg.get("messageRef"))
        if not name:
            problems.add(node, "message event does not reference a named bpmn:message")
        activity["message"] = name
        if name:
            sets.add(name)  # the message payload is stored under its name
    if tag == "startEvent" and node.getparent() is process:
        starters = _groups(node.get(f"{{{CAMUNDA}}}candidateStarterGroups"))
        if starters:
            _unknown_groups(node, starters, problems, "candidateStarterGroups")
            catalog["starter_groups"] = sorted(set(starters))
        if catalog["start"] is not None:
            problems.add(node, "only one start event per process is supported")
        catalog["start"] = activity
    catalog["activities"][activity["id"]] = activity
