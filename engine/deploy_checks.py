"""Checks that need every file of a deployment at once (and what is already deployed): call
activities must reach a process that exists and must never call back into themselves, and every
variable an expression reads must be set by some form, message, script or decision table.

A call that loops back (A calls A, or A calls B calls A) deployed fine once and then held a thread
and the database write lock forever at the first start; it is refused here, before anything is
stored."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

Catalog = dict[str, Any]


def _problem(file: str, line: int | None, element: str | None, message: str) -> dict[str, Any]:
    return {"file": file, "line": line, "element": element, "message": message}


def call_problems(uploaded: dict[str, tuple[str, Catalog]],
                  deployed: Callable[[str], Catalog | None]) -> list[dict[str, Any]]:
    """`uploaded`: process id -> (file, catalog) for the files of this deployment; `deployed(id)`:
    the live catalog of an already deployed process, or None."""
    problems: list[dict[str, Any]] = []
    cache: dict[str, Catalog | None] = {}

    def catalog(pid: str) -> Catalog | None:
        if pid in uploaded:
            return uploaded[pid][1]
        if pid not in cache:
            cache[pid] = deployed(pid)
        return cache[pid]

    for file, cat in uploaded.values():
        for call in cat.get("calls", []):
            if catalog(call["process"]) is None:
                problems.append(_problem(file, call["line"], call["element"],
                                         f"call activity calls process {call['process']!r}, which is neither "
                                         "in the files uploaded together nor deployed"))
    # Recursion: a path from a call activity back to a process already on the path.
    reported: set[tuple[str, str]] = set()
    for pid, (file, cat) in uploaded.items():
        for call in cat.get("calls", []):
            cycle = _cycle_from(call["process"], [pid], catalog)
            if cycle and (pid, call["element"]) not in reported:
                reported.add((pid, call["element"]))
                problems.append(_problem(file, call["line"], call["element"],
                                         "call activity makes the process call itself ("
                                         + " → ".join(cycle) + "): it would never end. Model the repeat "
                                         "with a loop back to an earlier task instead"))
    return problems


def _cycle_from(target: str, path: list[str], catalog) -> list[str] | None:
    if target in path:
        return path[path.index(target):] + [target]
    cat = catalog(target)
    if cat is None or len(path) > 50:
        return None
    for call in cat.get("calls", []):
        found = _cycle_from(call["process"], path + [target], catalog)
        if found:
            return found
    return None


def related_sets(pid: str, catalogs: dict[str, Catalog]) -> set[str]:
    """Variables set by processes that `pid` calls (their data comes back) or that call it (their
    data goes in), transitively, among the catalogs known."""
    names: set[str] = set()
    seen = {pid}
    todo = [pid]
    while todo:
        current = todo.pop()
        neighbours = {c["process"] for c in catalogs.get(current, {}).get("calls", [])}
        neighbours |= {other for other, cat in catalogs.items()
                       if any(c["process"] == current for c in cat.get("calls", []))}
        for n in neighbours - seen:
            seen.add(n)
            todo.append(n)
            names |= set(catalogs.get(n, {}).get("sets", []))
    return names


def variable_problems(file: str, cat: Catalog, extra_sets: set[str],
                      decision_inputs: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Names read by conditions, timers, rules, due dates, scripts and decision tables that nothing
    in reach sets."""
    known = set(cat.get("sets", [])) | extra_sets
    uses = list(cat.get("uses", []))
    for ref in cat.get("decisions", []):
        uses.append({"element": ref["element"], "line": ref["line"], "what": f"decision {ref['decision']!r}",
                     "names": decision_inputs.get(ref["decision"], [])})
    problems = []
    for use in uses:
        missing = [n for n in use["names"] if n not in known]
        if missing:
            problems.append(_problem(file, use["line"], use["element"],
                                     f"{use['what']} reads {', '.join(missing)}, which no form field, message, "
                                     "script or decision table in this process sets"))
    return problems


def called_activities(pid: str, catalogs: dict[str, Catalog]) -> dict[str, dict]:
    """Activities of every process `pid` calls, transitively: their user tasks appear in the
    caller's cases (inbox rows, forms), so the caller's catalog must know them."""
    found: dict[str, dict] = {}
    seen, todo = {pid}, [pid]
    while todo:
        for call in catalogs.get(todo.pop(), {}).get("calls", []):
            callee = call["process"]
            if callee in seen or callee not in catalogs:
                continue
            seen.add(callee)
            todo.append(callee)
            for activity_id, activity in catalogs[callee].get("activities", {}).items():
                found.setdefault(activity_id, activity)
    return found
