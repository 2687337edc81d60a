"""Who may send each message, and what it may carry, as the diagram declares on its catch events.

A message is a real-world event told to a case (an arrest, a person found). Without rules anyone
could end a live appeal or overwrite case data with it, so each message catch event declares, in
`camunda:properties` that Camunda Modeler shows as "Extension properties":

    senders            = oic,sio,ccd                       candidate groups that may send it
    variable:note      = string; required; multiline; label=Who reported it, and when
    variable:found_at  = date; format=datetime; label=When the person was found
    variable:kind      = enum:arrested=Arrested|surrendered=Handed themselves in; required

A variable's value is its type (`string`, `long`, `boolean`, `date`, or `enum:` followed by
`id=Name` options separated by `|`) then `;`-separated settings: `required`, `multiline`,
`format=datetime`, `label=...`, `hint=...`, `minlength=`, `maxlength=`, `min=`, `max=`. Each variable
becomes a form field of the same shape as a `camunda:formField`, so the API and the pages validate
and render it like any form. A message start event carries its start form instead of `variable:`
entries. A message whose events declare no `senders` may be sent only by the engine itself (SYSTEM).
"""
from __future__ import annotations

import re
from typing import Any

from lxml import etree

from .errors import InvalidForm
from .forms import validate_form
from .users import SYSTEM, Actor

FIELD_TYPES = ("string", "long", "boolean", "date", "enum")
# Set by the engine or by force configuration: never from a message.
PROTECTED = {"requested_by", "local_approval_required", "case_reference", "copyright_notice",
             "conditions_of_use", "review_interval", "removal_sla"}
MAX_TEXT = 4000  # a note is a few lines; anything longer is not a note


def annotate(process: etree._Element, catalog: dict[str, Any], problems) -> None:
    """Add `message_declarations` (per message name) and script outputs to a process catalog."""
    from .catalog import BPMN, NS, _properties
    declared: dict[str, list[tuple[etree._Element, dict]]] = {}
    for node in process.iter():
        if not isinstance(node.tag, str) or etree.QName(node).namespace != BPMN:
            continue
        activity = catalog["activities"].get(node.get("id") or "")
        if activity is None:
            continue
        if activity["type"] == "scriptTask":
            script = node.findtext("bpmn:script", default="", namespaces=NS)
            activity["script_targets"] = sorted(set(_ASSIGNED.findall(script)))
        name = activity.get("message")
        if not name or node.find("bpmn:messageEventDefinition", NS) is None:
            continue
        is_start = activity["type"] == "startEvent" and node.getparent() is process
        declared.setdefault(name, []).append(
            (node, declaration(node, _properties(node), problems, start_form=activity["form"] if is_start else None)))
    catalog["message_declarations"] = check_process(catalog, declared, problems)


_ASSIGNED = re.compile(r"^\s*([A-Za-z_]\w*)\s*=(?!=)", re.MULTILINE)


def declaration(node: etree._Element, props: dict[str, str], problems, *, start_form: list | None = None
                ) -> dict[str, Any]:
    """The senders and variables declared on one message event (`props` are its camunda:properties)."""
    senders = sorted({g.strip() for g in props.get("senders", "").split(",") if g.strip()})
    if start_form is not None:
        return {"senders": senders, "variables": start_form, "start": True}
    variables = []
    for name, spec in props.items():
        if name.startswith("variable:"):
            field = _variable(name[len("variable:"):].strip(), spec, node, problems)
            if field:
                variables.append(field)
    return {"senders": senders, "variables": variables, "start": False}


def _variable(fid: str, spec: str, node, problems) -> dict[str, Any] | None:
    if not fid.isidentifier() or fid.startswith("_"):
        problems.add(node, f"message variable {fid!r} is not a valid variable name")
        return None
    if fid in PROTECTED:
        problems.add(node, f"message variable {fid!r} is set by the engine; a message may not carry it")
        return None
    parts = [p.strip() for p in spec.split(";")]
    ftype, options = parts[0], []
    if ftype.startswith("enum:"):
        for item in ftype[len("enum:"):].split("|"):
            oid, _, oname = item.partition("=")
            if oid.strip():
                options.append({"id": oid.strip(), "name": oname.strip() or oid.strip()})
        ftype = "enum"
        if not options:
            problems.add(node, f"message variable {fid!r}: enum with no options")
    if ftype not in FIELD_TYPES:
        problems.add(node, f"message variable {fid!r} has type {ftype!r}; use one of {', '.join(FIELD_TYPES)}")
        return None
    field: dict[str, Any] = {"id": fid, "label": fid.replace("_", " ").capitalize(), "type": ftype,
                             "default": None, "required": False, "readonly": False, "options": options,
                             "properties": {}}
    if ftype == "string":
        field["maxlength"] = MAX_TEXT
    for part in parts[1:]:
        key, _, value = (s.strip() for s in part.partition("="))
        if not key:
            continue
        if key == "required":
            field["required"] = True
        elif key == "multiline":
            field["properties"]["multiline"] = "true"
        elif key in ("label", "format", "hint"):
            if key == "label":
                field["label"] = value
            else:
                field["properties"][key] = value
        elif key in ("min", "max", "minlength", "maxlength"):
            try:
                field[key] = float(value) if key in ("min", "max") else int(value)
            except ValueError:
                problems.add(node, f"message variable {fid!r}: {key} needs a number")
        else:
            problems.add(node, f"message variable {fid!r}: unknown setting {key!r}")
    return field


def check_process(catalog: dict[str, Any], declared: dict[str, list[tuple[etree._Element, dict]]], problems
                  ) -> dict[str, dict[str, Any]]:
    """One declaration per message name: every catch event of a message must declare the same
    senders and variables, and no message variable may share a name with a form field of the
    process (a message must never overwrite case data such as `decision` or `media_items`)."""
    form_ids = case_data_names(catalog)
    result: dict[str, dict[str, Any]] = {}
    for name, events in declared.items():
        first_node, first = events[0]
        for node, other in events[1:]:
            if (other["senders"], _shape(other)) != (first["senders"], _shape(first)):
                problems.add(node, f"message {name!r} is declared differently here and on "
                                   f"{first_node.get('id')!r}; declare the same senders and variables")
        if not first["start"]:
            for f in first["variables"]:
                if f["id"] in form_ids:
                    problems.add(first_node, f"message variable {f['id']!r} is also a form field or script output "
                                             "of this process; "
                                             "a message may not overwrite case data")
        result[name] = {**first, "activities": [n.get("id") for n, _ in events]}
    return result


def _shape(decl: dict[str, Any]) -> list:
    return sorted((f["id"], f["type"], f["required"]) for f in decl["variables"])


def declaration_for(definition, message: str, fallback=None) -> dict[str, Any] | None:
    """The declaration of `message` in a definition version. A version deployed before declarations
    existed (no `message_declarations` in its catalog) follows `fallback` (the pathway's latest)."""
    catalog = definition.catalog
    if "message_declarations" not in catalog and fallback is not None:
        catalog = fallback.catalog
    return (catalog.get("message_declarations") or {}).get(message)


def may_send(decl: dict[str, Any] | None, actor: Actor) -> bool:
    if actor is SYSTEM or actor == SYSTEM:
        return True
    return bool(decl and decl["senders"] and actor.in_any(decl["senders"]))


def sender_group(decl: dict[str, Any] | None, actor: Actor) -> str | None:
    return actor.first_group_of(decl["senders"]) if decl else None


def clean_variables(decl: dict[str, Any], variables: Any, *, html: bool = False) -> dict[str, Any]:
    """Validate the variables of a (non-start) message like a form; 400 naming every bad field."""
    if not isinstance(variables, dict):
        raise InvalidForm("Invalid message.", {"variables": "Must be an object."})
    try:
        return validate_form(decl["variables"], variables, html=html)
    except InvalidForm as exc:
        details = {k: ("This message does not carry it." if v.startswith("Unknown field") else v)
                   for k, v in exc.details.items()}
        raise InvalidForm("Invalid message variables.", details) from None


def case_data_names(catalog: dict[str, Any]) -> set[str]:
    """Names a message may never set in this process: every form field, script output and engine
    variable (DMN outputs are covered by the deploy check on their scripts' and forms' names)."""
    names = set(PROTECTED)
    for activity in catalog["activities"].values():
        names |= {f["id"] for f in activity.get("form", [])}
        names |= set(activity.get("script_targets", []))
    return names


def guard_case_data(catalog: dict[str, Any], clean: dict[str, Any]) -> None:
    """Refuse a message variable that would replace case data: kept at run time too, for a case
    on a version whose forms differ from the version the declaration was read from."""
    clash = sorted(k for k in clean if k in case_data_names(catalog))
    if clash:
        raise InvalidForm("Invalid message variables.", {k: "Case data; a message cannot change it." for k in clash})
