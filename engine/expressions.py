"""The restricted expression language of diagrams.

Gateway conditions, timer expressions, script tasks and DMN cells come from diagrams that designers
upload through the web, so none of them is ever handed to Python's eval/exec. Expressions are checked
against an AST allow-list at deploy time (the element is named in the error) and evaluated with
simpleeval at run time: variables, literals, comparisons, boolean logic, arithmetic, `in`, conditional
expressions, list/tuple/dict literals, subscripts and a short list of pure functions. No attribute
access, no imports, no dunder names. Script tasks may only assign: lines of `name = expression`.

Passing the allow-list is not enough: `"%0500000000d" % 0`, `[[0]*99999]*99999` or a script that
squares a number thirty times are allowed syntax yet would take all the memory or CPU of the server.
So every value an expression produces is bounded (see `limits`): text length, the number of items
in a (nested) collection and its depth, the size of whole numbers, format widths and precisions,
and the number of operations. Forms that break a bound visibly (a literal too large, a constant
format width, a constant repetition) are refused at deploy time; the rest fail at run time with
ExpressionLimit, which the engine turns into an error for the request or an incident on the case."""
from __future__ import annotations

import ast
import re
from functools import lru_cache
from typing import Any

from simpleeval import EvalWithCompoundTypes, FeatureNotAvailable, safe_add
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

#: Bounds on what one expression may build or do. Generous for diagrams (a case's variables are a
#: few dozen short values) and far below what could hurt the server.
MAX_EXPRESSION_CHARS = 10_000
MAX_TEXT_CHARS = 100_000
MAX_ITEMS = 10_000  # elements of a collection, counted through nesting
MAX_DEPTH = 32  # nesting of collections
MAX_INT_BITS = 256
MAX_FORMAT_WIDTH = 200  # widths and precisions in f-strings and % formatting
MAX_OPERATIONS = 20_000  # evaluation steps per expression (and per script, across its lines)
MAX_ROUND_DIGITS = 30


class UnsafeExpression(ValueError):
    """The expression uses something outside the allow-list; the message says what."""


class ExpressionLimit(UnsafeExpression):
    """The expression would exceed a resource bound; the message names the bound."""


def _safe_round(number, ndigits=None):
    if ndigits is not None and (not isinstance(ndigits, int) or abs(ndigits) > MAX_ROUND_DIGITS):
        raise ExpressionLimit(f"round() takes at most {MAX_ROUND_DIGITS} digits")
    return round(number) if ndigits is None else round(number, ndigits)


SAFE_FUNCTIONS: dict[str, Any] = {
    "len": len,
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "any": any,
    "all": all,
    "min": min,
    "max": max,
    "abs": abs,
    "round": _safe_round,
    "sorted": sorted,
}

_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot,
    ast.IfExp, ast.Call, ast.Name, ast.Load, ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.Set,
    ast.Subscript, ast.Slice, ast.JoinedStr, ast.FormattedValue,
)


def check_expression(text: str) -> None:
    """Raise UnsafeExpression unless `text` is a single expression inside the allow-list and
    within the visible resource bounds."""
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExpressionLimit(f"expression longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, MemoryError, RecursionError) as exc:
        raise UnsafeExpression(f"not a valid expression: {getattr(exc, 'msg', 'too deeply nested')}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise UnsafeExpression(f"{type(node).__name__} is not allowed in a diagram expression")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise UnsafeExpression(f"name {node.id!r} is not allowed")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in SAFE_FUNCTIONS:
                raise UnsafeExpression(
                    "only these functions may be called: " + ", ".join(sorted(SAFE_FUNCTIONS))
                )
            if node.keywords:
                raise UnsafeExpression("keyword arguments are not allowed")
        _check_static_bounds(node)


def _check_static_bounds(node: ast.AST) -> None:
    """Refuse what can be seen to break a bound without running anything."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
            raise ExpressionLimit(f"whole numbers are limited to {MAX_INT_BITS} bits")
        if isinstance(value, str | bytes) and len(value) > MAX_TEXT_CHARS:
            raise ExpressionLimit(f"text is limited to {MAX_TEXT_CHARS} characters")
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant) \
            and isinstance(node.left.value, str):
        _check_percent_format(node.left.value)
    elif isinstance(node, ast.FormattedValue) and isinstance(node.format_spec, ast.JoinedStr):
        spec = "".join(v.value for v in node.format_spec.values
                       if isinstance(v, ast.Constant) and isinstance(v.value, str))
        _check_format_spec(spec)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        size = _static_size(node)
        if size is not None and (size[0] > (MAX_TEXT_CHARS if size[1] else MAX_ITEMS)):
            what = "characters" if size[1] else "items"
            raise ExpressionLimit(f"this repetition builds {size[0]:,} {what}; the limit is "
                                  f"{MAX_TEXT_CHARS if size[1] else MAX_ITEMS:,}")


def _static_size(node: ast.AST) -> tuple[int, bool] | None:
    """(items, is text) a constant expression builds, counted through nesting; None if unknown."""
    if isinstance(node, ast.Constant):
        return (len(node.value), True) if isinstance(node.value, str | bytes) else (1, False)
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        sizes = [_static_size(e) for e in node.elts]
        return None if None in sizes else (1 + sum(s[0] for s in sizes), False)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        for seq, count in ((node.left, node.right), (node.right, node.left)):
            if isinstance(count, ast.Constant) and type(count.value) is int:
                size = _static_size(seq)
                if size is not None and size[1]:
                    return size[0] * max(count.value, 0), True
                if size is not None and isinstance(seq, ast.List | ast.Tuple | ast.BinOp):
                    return 1 + (size[0] - 1) * max(count.value, 0), False
    return None


_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")
_DIGITS = re.compile(r"\d+")


def _check_percent_format(template: str) -> None:
    for match in _PERCENT.finditer(template):
        for part in match.groups():
            if part == "*":
                raise ExpressionLimit("a width or precision taken from the values (*) is not allowed")
            if part is not None and int(part) > MAX_FORMAT_WIDTH:
                raise ExpressionLimit(f"format widths and precisions are limited to {MAX_FORMAT_WIDTH}")


def _check_format_spec(spec: str) -> None:
    for digits in _DIGITS.findall(spec):
        if len(digits) > 6 or int(digits) > MAX_FORMAT_WIDTH:
            raise ExpressionLimit(f"format widths and precisions are limited to {MAX_FORMAT_WIDTH}")


def check_script(text: str) -> list[tuple[str, str]]:
    """Split a script task body into (name, expression) assignments, refusing anything else."""
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise UnsafeExpression(f"line {exc.lineno}: not valid: {exc.msg}") from None
    assignments = []
    for stmt in tree.body:
        if not (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and not stmt.targets[0].id.startswith("_")
        ):
            raise UnsafeExpression(f"line {stmt.lineno}: scripts may only assign: name = expression")
        source = ast.get_source_segment(text, stmt.value) or ""
        try:
            check_expression(source)
        except UnsafeExpression as exc:
            raise UnsafeExpression(f"line {stmt.lineno}: {exc}") from None
        assignments.append((stmt.targets[0].id, source))
    return assignments


def _size(value: Any, budget: int = MAX_ITEMS, depth: int = 0) -> int:
    """Items in `value` counted through nesting (text counts one per 100 characters), stopping once
    `budget` is spent so that measuring a huge shared structure costs no more than the bound."""
    if depth > MAX_DEPTH:
        raise ExpressionLimit(f"collections may be nested at most {MAX_DEPTH} deep")
    if isinstance(value, str | bytes):
        if len(value) > MAX_TEXT_CHARS:
            raise ExpressionLimit(f"text is limited to {MAX_TEXT_CHARS:,} characters")
        return 1 + len(value) // 100
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return 1
    if isinstance(value, int):
        if value.bit_length() > MAX_INT_BITS:
            raise ExpressionLimit(f"whole numbers are limited to {MAX_INT_BITS} bits")
        return 1
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, list | tuple | set | frozenset):
        used = 1
        for item in value:
            used += _size(item, budget - used, depth + 1)
            if used > budget:
                raise ExpressionLimit(f"collections are limited to {MAX_ITEMS:,} items")
        return used
    return 1


def _bounded_mult(a, b):
    for seq, count in ((a, b), (b, a)):
        if isinstance(count, int) and not isinstance(seq, int | float):
            if isinstance(seq, str | bytes):
                if len(seq) * max(count, 0) > MAX_TEXT_CHARS:
                    raise ExpressionLimit(f"text is limited to {MAX_TEXT_CHARS:,} characters")
            elif hasattr(seq, "__len__") and _size(seq) * max(count, 0) > MAX_ITEMS:
                raise ExpressionLimit(f"collections are limited to {MAX_ITEMS:,} items")
    return a * b


def _bounded_mod(a, b):
    if isinstance(a, str):
        _check_percent_format(a)
    return a % b


class _Evaluator(EvalWithCompoundTypes):
    """simpleeval with every intermediate value measured and the operations counted."""

    def __init__(self, names: dict[str, Any], budget: list[int]) -> None:
        super().__init__(names=names, functions=dict(SAFE_FUNCTIONS))
        self.operators = {**self.operators, ast.Mult: _bounded_mult, ast.Mod: _bounded_mod, ast.Add: safe_add}
        self.budget = budget  # shared by the lines of one script

    def _eval(self, node):
        self.budget[0] -= 1
        if self.budget[0] < 0:
            raise ExpressionLimit(f"more than {MAX_OPERATIONS:,} operations")
        try:
            handler = self.nodes[type(node)]
        except KeyError:
            raise FeatureNotAvailable(f"{type(node).__name__} is not available") from None
        result = handler(node)
        _size(result)  # before anything walks the value (simpleeval's own checks included)
        self._check_disallowed_items(result)
        return result

    def _eval_attribute(self, node):  # no attribute walks at all, not even "safe" ones
        raise FeatureNotAvailable("attribute access is not allowed")

    def _eval_formattedvalue(self, node):
        if node.format_spec:
            spec = self._eval(node.format_spec)
            _check_format_spec(str(spec))
            return ("{:" + str(spec) + "}").format(self._eval(node.value))
        return self._eval(node.value)


@lru_cache(maxsize=1024)
def _checked_tree(text: str) -> ast.AST:
    """`text` checked and parsed, once per distinct expression (both depend on the text alone; a
    refused expression is not kept and is refused again each time)."""
    check_expression(text)
    return _Evaluator.parse(text.strip())


def evaluate(text: str, names: dict[str, Any], budget: list[int] | None = None) -> Any:
    """Evaluate an allow-listed expression over `names` (task data), within the bounds above."""
    tree = _checked_tree(text)
    try:
        return _Evaluator(dict(names), budget or [MAX_OPERATIONS]).eval(text.strip(), previously_parsed=tree)
    except RecursionError:
        raise ExpressionLimit("expression nested too deeply") from None
    except MemoryError:
        raise ExpressionLimit("expression needs too much memory") from None


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment that evaluates only the allow-listed language."""

    def evaluate(self, expression, context, external_context=None):
        names = dict(context)
        names.update(external_context or {})
        return evaluate(expression, names)

    def execute(self, script, context, external_context=None):
        names = dict(context)
        names.update(external_context or {})
        budget = [MAX_OPERATIONS]
        for name, expression in check_script(script):
            value = evaluate(expression, names, budget)
            names[name] = value
            context[name] = value
        return True

    def call_service(self, context, **kwargs):
        raise UnsafeExpression("service tasks are not supported")


def script_engine() -> PythonScriptEngine:
    return PythonScriptEngine(environment=RestrictedEnvironment())
