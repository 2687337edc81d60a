"""Check DMN files for what the engine can evaluate, before anything is stored.

SpiffWorkflow evaluates one decision table per business rule task, with the hit policies UNIQUE,
FIRST and COLLECT (without aggregation), and reads the first decision of a file only. Camunda
Modeler writes decision requirement diagrams (DRDs) with several decisions in one file: each
decision is handed to the engine as its own document (`split_decision`), so any of them can be
called; a decision that *requires* another one is refused, because nothing would evaluate the
required decision first. Every cell is checked against the expression language, and FEEL written
by Camunda users gets a message saying what to write instead."""
from __future__ import annotations

import copy
from typing import Any

from lxml import etree

from .catalog import Problems, _local
from .lint import expression_error, feel_hint, literal, names_in

DMN_NAMESPACES = {
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
}
HIT_POLICIES = {"UNIQUE", "FIRST", "COLLECT"}


def _children(node: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in node if isinstance(c.tag, str) and _local(c) == name]


def _text(node: etree._Element | None) -> str:
    if node is None:
        return ""
    found = _children(node, "text")
    return (found[0].text or "").strip() if found else ""


def _input_entry_error(text: str) -> str | None:
    """An input cell is either a full test using `?`, an operator and operand (`>= 18`), or a
    value compared for equality; it is valid when one of these parses."""
    if text.startswith("not(") or text.startswith("not ("):
        return feel_hint(text)  # FEEL negation; in Python `not("tv")` is just False
    if "?" not in text and "," in text and isinstance(literal(text), tuple):
        return feel_hint(text)  # FEEL's list of values; here a tuple that would never be equal
    candidates = [text.replace("?", "dmninputexpr")] if "?" in text else [text, f"dmninputexpr {text}"]
    errors = [expression_error(c) for c in candidates]
    if any(e is None for e in errors):
        return None
    return feel_hint(text) or errors[0]


def dmn_problems(tree: etree._ElementTree, filename: str) -> tuple[list[dict[str, Any]], list[dict]]:
    """Return ([{"id", "inputs": names read, "outputs": names set}] per decision, problems)."""
    problems = Problems(filename)
    root = tree.getroot()
    decisions = [d for d in _children(root, "decision")] if _local(root) == "definitions" else []
    if not decisions:
        problems.add(None, "not a DMN document with at least one decision", root.sourceline)
        return [], problems.items
    if etree.QName(root).namespace not in DMN_NAMESPACES:
        problems.add(root, f"DMN namespace {etree.QName(root).namespace!r} is not one the engine reads "
                     "(DMN 1.1, 1.2 or 1.3; Camunda Modeler saves DMN 1.3)")
    found = []
    for decision in decisions:
        info = {"id": decision.get("id"), "inputs": set(), "outputs": []}
        found.append(info)
        required = decision.xpath("./*[local-name()='informationRequirement']/*[local-name()='requiredDecision']")
        if required:
            needed = ", ".join((r.get("href") or "").lstrip("#") for r in required)
            problems.add(decision, f"decision {decision.get('id')!r} requires decision {needed}: the engine "
                         "evaluates one table per business rule task, so nothing would evaluate the "
                         "required one first. Call it from its own business rule task before this one, "
                         "and use its output as an input here")
        tables = _children(decision, "decisionTable")
        if not tables:
            problems.add(decision, f"decision {decision.get('id')!r} has no decision table (literal "
                         "expressions and other decision logic are not evaluated by the engine)")
            continue
        table = tables[0]
        policy = (table.get("hitPolicy") or "UNIQUE").upper()
        if policy not in HIT_POLICIES or table.get("aggregation"):
            what = f"{policy} with aggregation {table.get('aggregation')}" if table.get("aggregation") else policy
            problems.add(table, f"hit policy {what} is not evaluated by the engine; use UNIQUE, FIRST or "
                         "COLLECT (without aggregation)")
        for inp in _children(table, "input"):
            expression = _text(next(iter(_children(inp, "inputExpression")), None))
            error = expression_error(expression)
            if error:
                problems.add(inp, f"input {inp.get('label') or inp.get('id')!r}: expression {error}")
            else:
                info["inputs"] |= set(names_in(expression))
        for out in _children(table, "output"):
            if not out.get("name"):
                problems.add(out, f"output {out.get('label') or out.get('id')!r} has no name (the variable it sets)")
            else:
                info["outputs"].append(out.get("name"))
        _check_rules(table, problems)
        info["inputs"] = sorted(info["inputs"])
    return found, problems.items


def _check_rules(table: etree._Element, problems: Problems) -> None:
    n_in, n_out = len(_children(table, "input")), len(_children(table, "output"))
    for rule in _children(table, "rule"):
        entries, outputs = _children(rule, "inputEntry"), _children(rule, "outputEntry")
        if len(entries) != n_in or len(outputs) != n_out:
            problems.add(rule, f"rule has {len(entries)} input and {len(outputs)} output cells; the table "
                         f"has {n_in} inputs and {n_out} outputs")
        for entry in entries:
            text = _text(entry)
            if text and text != "-":
                error = _input_entry_error(text)
                if error:
                    problems.add(entry, f"input cell {text!r}: {error}")
        for entry in outputs:
            text = _text(entry)
            if text:
                error = expression_error(text)
                if error:
                    problems.add(entry, f"output cell {text!r}: {feel_hint(text) or error}")


def split_decision(root: etree._Element, decision_id: str) -> etree._Element:
    """A copy of a DMN document holding only `decision_id` (no diagram), which is what the engine's
    one-decision-per-file parser needs."""
    copy_root = copy.deepcopy(root)
    # The engine's parser reads every child of a table as input, output or rule: comments, and the
    # annotation column Camunda Modeler adds, would stop it with an error a designer cannot read.
    for node in copy_root.xpath("//comment() | //processing-instruction() | //*[local-name()='annotation']"):
        parent = node.getparent()
        if parent is not None:
            if node.tail and node.tail.strip():
                previous = node.getprevious()
                if previous is not None:
                    previous.tail = (previous.tail or "") + node.tail
                else:
                    parent.text = (parent.text or "") + node.tail
            parent.remove(node)
    for child in list(copy_root):
        if not isinstance(child.tag, str):
            continue
        if _local(child) == "decision" and child.get("id") == decision_id:
            continue
        if _local(child) in ("decision", "DMNDI", "inputData", "knowledgeSource", "businessKnowledgeModel"):
            copy_root.remove(child)
    return copy_root
