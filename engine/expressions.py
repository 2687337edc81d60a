"""The restricted expression language of diagrams.

Gateway conditions, timer expressions, script tasks and DMN cells come from diagrams that designers
upload through the web, so none of them is ever handed to Python's eval/exec. Expressions are checked
against an AST allow-list at deploy time (the element is named in the error) and evaluated with
simpleeval at run time: variables, literals, comparisons, boolean logic, arithmetic, `in`, conditional
expressions, list/tuple/dict literals, subscripts and a short list of pure functions. No attribute
access, no imports, no dunder names. Script tasks may only assign: lines of `name = expression`."""
from __future__ import annotations

import ast
from typing import Any

from simpleeval import EvalWithCompoundTypes, FeatureNotAvailable
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

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
    "round": round,
    "sorted": sorted,
}

_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot,
    ast.IfExp, ast.Call, ast.Name, ast.Load, ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.Set,
    ast.Subscript, ast.Slice, ast.JoinedStr, ast.FormattedValue,
)


class UnsafeExpression(ValueError):
    """The expression uses something outside the allow-list; the message says what."""


def check_expression(text: str) -> None:
    """Raise UnsafeExpression unless `text` is a single expression inside the allow-list."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise UnsafeExpression(f"not a valid expression: {exc.msg}") from None
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


class _Evaluator(EvalWithCompoundTypes):
    def _eval_attribute(self, node):  # no attribute walks at all, not even "safe" ones
        raise FeatureNotAvailable("attribute access is not allowed")


def evaluate(text: str, names: dict[str, Any]) -> Any:
    """Evaluate an allow-listed expression over `names` (task data)."""
    check_expression(text)
    return _Evaluator(names=dict(names), functions=dict(SAFE_FUNCTIONS)).eval(text.strip())


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment that evaluates only the allow-listed language."""

    def evaluate(self, expression, context, external_context=None):
        names = dict(context)
        names.update(external_context or {})
        return evaluate(expression, names)

    def execute(self, script, context, external_context=None):
        names = dict(context)
        names.update(external_context or {})
        for name, expression in check_script(script):
            value = evaluate(expression, names)
            names[name] = value
            context[name] = value
        return True

    def call_service(self, context, **kwargs):
        raise UnsafeExpression("service tasks are not supported")


def script_engine() -> PythonScriptEngine:
    return PythonScriptEngine(environment=RestrictedEnvironment())
