"""Compare two deployed versions of a pathway, element by element, for designers.

The comparison is over the BPMN XML itself (not SpiffWorkflow's specs), keyed by element id, so it
reports what a designer changed in the modeler: a renamed task, a new form field, a moved flow, a
task in another lane. Diagram layout (BPMNDI) is compared apart, as one yes/no: moving a shape is
not a change of behaviour."""
from __future__ import annotations

from typing import Any

from lxml import etree
from sqlalchemy.orm import Session

from .catalog import BPMN, CAMUNDA
from .queries import get_definition
from .xmlsafe import parse_xml

BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
#: Children whose order carries no meaning (the modeler may rewrite them in another order).
UNORDERED = {"incoming", "outgoing", "flowNodeRef"}
PREFIXES = {BPMN: "", CAMUNDA: "camunda:"}
#: BPMN attributes at their schema default: writing them or leaving them out means the same, and
#: bpmn-js leaves them out on save, so they never count as a change.
DEFAULTS = {
    "cancelActivity": "true", "isInterrupting": "true", "parallelMultiple": "false", "isForCompensation": "false",
    "startQuantity": "1", "completionQuantity": "1", "gatewayDirection": "Unspecified", "instantiate": "false",
    "eventGatewayType": "Exclusive", "isClosed": "false", "processType": "None", "isImmediate": "true",
    "implementation": "##unspecified", "triggeredByEvent": "false",
}


def _attrs(node: etree._Element) -> dict[str, str]:
    """An element's attributes by prefixed name, without those at their default."""
    out = {}
    for k, v in node.attrib.items():
        name = _name(k)
        if DEFAULTS.get(name) != v:
            out[name] = v
    return out


def _name(qname: str) -> str:
    q = etree.QName(qname)
    return PREFIXES.get(q.namespace, f"{{{q.namespace}}}" if q.namespace else "") + q.localname


def _has_own_id(node: etree._Element) -> bool:
    return etree.QName(node).namespace == BPMN and node.get("id") is not None


def _parts(node: etree._Element) -> list[etree._Element]:
    """The children that belong to an element's own definition: not id'd BPMN elements (compared
    apart) and not the diagram layout (compared as a whole)."""
    return [c for c in node if isinstance(c.tag, str) and not _has_own_id(c)
            and etree.QName(c).namespace != BPMNDI]


def _signature(node: etree._Element) -> tuple:
    """Everything that defines an element except its own id'd children (they are compared apart)."""
    children = _parts(node)
    ordered = [_signature(c) for c in children if etree.QName(c).localname not in UNORDERED]
    unordered = sorted(_signature(c) for c in children if etree.QName(c).localname in UNORDERED)
    return (etree.QName(node).localname, tuple(sorted(_attrs(node).items())),
            (node.text or "").strip(), tuple(ordered), tuple(unordered))


def _elements(tree: etree._ElementTree) -> dict[str, etree._Element]:
    return {n.get("id"): n for n in tree.getroot().iter()
            if isinstance(n.tag, str) and _has_own_id(n)}


def _describe(node: etree._Element) -> dict[str, Any]:
    return {"id": node.get("id"), "type": etree.QName(node).localname, "name": node.get("name") or ""}


def _changes(old: etree._Element, new: etree._Element) -> list[str]:
    out = []
    old_attrs, new_attrs = _attrs(old), _attrs(new)
    for attr in sorted(set(old_attrs) | set(new_attrs)):
        if old_attrs.get(attr) != new_attrs.get(attr):
            out.append(f"{attr}: {old_attrs.get(attr, '(none)')!r} → {new_attrs.get(attr, '(none)')!r}")
    if (old.text or "").strip() != (new.text or "").strip():
        out.append("text")

    def by_tag(node):
        groups: dict[str, list] = {}
        for c in _parts(node):
            groups.setdefault(etree.QName(c).localname, []).append(_signature(c))
        return {tag: (sorted(sigs) if tag in UNORDERED else sigs) for tag, sigs in groups.items()}
    old_children, new_children = by_tag(old), by_tag(new)
    for tag in sorted(set(old_children) | set(new_children)):
        if old_children.get(tag) != new_children.get(tag):
            details = _extension_changes(old, new) if tag == "extensionElements" else []
            out.extend(f"{tag}: {d}" for d in details) if details else out.append(tag)
    return out


def _extension_parts(node: etree._Element) -> dict[str, dict[str, tuple]]:
    """Form fields by id and properties by name, each with its signature."""
    ns = {"b": BPMN, "c": CAMUNDA}
    fields = {f.get("id"): _signature(f)
              for f in node.xpath("./b:extensionElements/c:formData/c:formField", namespaces=ns)}
    props = {p.get("name"): _signature(p)
             for p in node.xpath("./b:extensionElements/c:properties/c:property", namespaces=ns)}
    return {"form field": fields, "property": props}


def _extension_changes(old: etree._Element, new: etree._Element) -> list[str]:
    """What changed inside extensionElements, in a designer's words (form fields, properties)."""
    before, after = _extension_parts(old), _extension_parts(new)
    out = []
    for kind in ("form field", "property"):
        a, b = before[kind], after[kind]
        out += [f"{kind} added {k}" for k in b if k not in a]
        out += [f"{kind} removed {k}" for k in a if k not in b]
        out += [f"{kind} changed {k}" for k in b if k in a and a[k] != b[k]]
    if list(before["form field"]) != [k for k in after["form field"] if k in before["form field"]]:
        out.append("form fields reordered")
    return out


def _layout(tree: etree._ElementTree) -> dict[str, tuple]:
    """Each shape's and edge's geometry by the element it draws, as numbers: the same picture written
    with other whitespace, attribute order or number formatting is the same layout."""
    found: dict[str, tuple] = {}
    for node in tree.getroot().iter(f"{{{BPMNDI}}}BPMNShape", f"{{{BPMNDI}}}BPMNEdge"):
        geometry = []
        for part in node.iter():
            if not isinstance(part.tag, str) or part is node:
                continue
            numbers = []
            for attr in ("x", "y", "width", "height"):
                try:
                    numbers.append(round(float(part.get(attr)), 1) if part.get(attr) is not None else None)
                except ValueError:
                    numbers.append(part.get(attr))
            geometry.append((etree.QName(part).localname, tuple(numbers)))
        found[node.get("bpmnElement") or node.get("id")] = (node.get("isExpanded") in (None, "true"),
                                                            node.get("isHorizontal"), tuple(geometry))
    return found


def diff_xml(old_content: bytes, new_content: bytes) -> dict[str, Any]:
    """{"added", "removed", "changed", "layoutChanged"}; each element as {"id", "type", "name"}, changed
    ones with "changes" (attributes as "attr: old → new", child parts such as "extensionElements")."""
    old_tree, new_tree = parse_xml(old_content), parse_xml(new_content)
    old, new = _elements(old_tree), _elements(new_tree)
    added = [_describe(new[i]) for i in new if i not in old]
    removed = [_describe(old[i]) for i in old if i not in new]
    changed = []
    for element_id in (i for i in new if i in old):
        if _signature(old[element_id]) != _signature(new[element_id]):
            item = _describe(new[element_id])
            if old[element_id].get("name") != new[element_id].get("name"):
                item["oldName"] = old[element_id].get("name") or ""
            item["changes"] = _changes(old[element_id], new[element_id])
            changed.append(item)
    return {"added": added, "removed": removed, "changed": changed,
            "layoutChanged": _layout(old_tree) != _layout(new_tree)}


def diff_versions(session: Session, key: str, old_version: int, new_version: int) -> dict[str, Any]:
    old = get_definition(session, key, old_version)
    new = get_definition(session, key, new_version)
    result = diff_xml(old.resource.content, new.resource.content)
    result.update({"key": key, "from": old_version, "to": new_version})
    return result


def executable_process_ids(content: bytes) -> list[str]:
    """Ids of the executable processes in a BPMN document (what `deploy` would version)."""
    root = parse_xml(content).getroot()
    return [p.get("id") for p in root.findall(f"{{{BPMN}}}process") if p.get("isExecutable") == "true"]
