"""Expression lint for diagrams: what an expression reads, what a timer means, and, for people who
come from Camunda, what to write instead of JUEL (`${amount > 100}`) or FEEL (`[1..10]`).

Every check here runs at deploy time, so a diagram that would fail at its first start (a timer of
`soon-ish`, a condition over a variable nothing sets) is refused with the element named instead."""
from __future__ import annotations

import ast
import re
from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from .expressions import SAFE_FUNCTIONS, UnsafeExpression, check_expression

CONSTANTS = {"True", "False", "None"}
_JUEL = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.DOTALL)
_JUEL_WORDS = [
    (r"&&", " and "), (r"\|\|", " or "), (r"!(?!=)", " not "), (r"\beq\b", "=="), (r"\bne\b", "!="),
    (r"\bgt\b", ">"), (r"\blt\b", "<"), (r"\bge\b", ">="), (r"\ble\b", "<="), (r"\btrue\b", "True"),
    (r"\bfalse\b", "False"), (r"\bnull\b", "None"), (r"\bempty\s+(\w+)", r"not \1"),
    (r"execution\.getVariable\(\s*['\"](\w+)['\"]\s*\)", r"\1"),
]
_FEEL_RANGE = re.compile(r"^\s*([\[\]\(])\s*(.+?)\s*\.\.\s*(.+?)\s*([\[\]\)])\s*$")
_FEEL_NOT = re.compile(r"^\s*not\s*\((.*)\)\s*$", re.DOTALL)
_FEEL_WORDS = [(r"\btrue\b", "True"), (r"\bfalse\b", "False"), (r"\bnull\b", "None")]
_ISO_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")


def _tidy(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _parses(text: str) -> bool:
    try:
        check_expression(text)
        return True
    except UnsafeExpression:
        return False


def juel_hint(text: str) -> str | None:
    """If `text` is a Camunda JUEL expression, say so and give the expression to write instead."""
    match = _JUEL.match(text or "")
    if not match:
        return None
    inner = match.group(1)
    for pattern, repl in _JUEL_WORDS:
        inner = re.sub(pattern, repl, inner)
    inner = _tidy(inner)
    suggestion = f"write {inner}" if _parses(inner) else "write the expression without ${ }"
    return (f"{_tidy(text)} is a Camunda (JUEL) expression; this engine reads plain expressions "
            f"without ${{ }} (and, or, not, ==, True/False): {suggestion}")


def feel_hint(text: str) -> str | None:
    """If a DMN input cell is FEEL (a range, a list, not(...), true/false), give our equivalent,
    written with `?` standing for the column's input value."""
    text = (text or "").strip()
    match = _FEEL_RANGE.match(text)
    if match:
        left, low, high, right = match.groups()
        lo_op = "<=" if left == "[" else "<"
        hi_op = "<=" if right == "]" else "<"
        return f"{text} is a FEEL range; this engine reads plain expressions: write {low} {lo_op} ? {hi_op} {high}"
    match = _FEEL_NOT.match(text)
    if match:
        inner = match.group(1).strip()
        if "," in inner:
            return f"{text} is FEEL; write ? not in ({inner})"
        return f"{text} is FEEL; write ? != {inner}"
    if "," in text and not text.startswith(("[", "(", "{")) and _parses(f"({text},)"):
        return f"{text} is a FEEL list of values; write ? in ({text})"
    for pattern, _repl in _FEEL_WORDS:
        if re.search(pattern, text):
            fixed = text
            for p, r in _FEEL_WORDS:
                fixed = re.sub(p, r, fixed)
            return f"{text} is FEEL; write {fixed} (Python-style True, False, None)"
    return None


def expression_error(text: str | None) -> str | None:
    """None when `text` is a valid expression in our language, else why not (with a Camunda hint)."""
    if text is None or not text.strip():
        return "is empty"
    hint = juel_hint(text)
    if hint:
        return hint
    try:
        check_expression(text)
    except UnsafeExpression as exc:
        return str(exc)
    bad = [n for n in names_in(text) if n in ("true", "false", "null")]
    if bad:
        return f"{bad[0]} is not a value here: write True, False or None"
    return None


def names_in(text: str) -> list[str]:
    """The variable names an (already checked) expression reads, in the order they appear."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return []
    found = sorted((n.col_offset, n.id) for n in ast.walk(tree) if isinstance(n, ast.Name)
                   and n.id not in SAFE_FUNCTIONS and n.id not in CONSTANTS)
    return list(dict.fromkeys(name for _col, name in found))


def literal(text: str):
    """The value of an expression that is a plain literal, else a sentinel `...`."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return ...


def timer_error(kind: str, text: str | None, fields: dict[str, dict]) -> str | None:
    """Check a timer expression (`timeDuration`, `timeDate` or `timeCycle`) as far as deploy time
    can: its syntax, a literal's meaning, and the type of a form field it names."""
    bare = (text or "").strip()
    if kind == "timeDuration" and _ISO_DURATION.match(bare) and bare not in fields:
        return f'{bare} is a literal duration: write it in quotes, "{bare}"'
    error = expression_error(text)
    if error:
        return error
    value = literal(text)
    if isinstance(value, str):
        return _literal_timer_error(kind, value)
    if value is not ...:
        return f"a {kind} must be a text value such as \"PT4H\", not {value!r}"
    name = text.strip()
    field = fields.get(name)
    if field is not None:
        ftype, fmt = field.get("type"), field.get("properties", {}).get("format")
        if kind == "timeDuration" and not (ftype == "string" and fmt == "duration"):
            return (f"{name} is a {ftype} form field; a duration timer needs a string field with the "
                    "property format=duration")
        if kind == "timeDate" and ftype not in ("date", "string"):
            return f"{name} is a {ftype} form field; a date timer needs a date"
    return None


def _literal_timer_error(kind: str, value: str) -> str | None:
    if kind == "timeDuration":
        if not _ISO_DURATION.match(value):
            return f"{value!r} is not an ISO 8601 duration such as \"PT4H\" or \"P30D\""
        return None
    if kind == "timeDate":
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return f"{value!r} is not an ISO 8601 date-time such as \"2026-12-01T09:00:00Z\""
        if parsed.tzinfo is None:
            return f"{value!r} has no time zone: add Z or an offset such as +00:00"
        return None
    try:
        TimerEventDefinition.parse_iso_recurring_interval(value)
    except Exception:
        return f"{value!r} is not an ISO 8601 repeating interval such as \"R3/PT1H\""
    return None


def compared_literals(text: str) -> list[tuple[str, str]]:
    """(variable, text literal) pairs an expression compares with ==, != or in [...]."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare) or len(node.ops) != 1:
            continue
        left, op, right = node.left, node.ops[0], node.comparators[0]
        if isinstance(right, ast.Name) and isinstance(op, (ast.Eq, ast.NotEq)):
            left, right = right, left
        if not isinstance(left, ast.Name):
            continue
        if isinstance(op, (ast.Eq, ast.NotEq)) and isinstance(right, ast.Constant) and isinstance(right.value, str):
            found.append((left.id, right.value))
        elif isinstance(op, (ast.In, ast.NotIn)) and isinstance(right, (ast.List, ast.Tuple, ast.Set)):
            found += [(left.id, e.value) for e in right.elts
                      if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return found
