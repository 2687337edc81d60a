"""Keep a long-lived case's state small: drop the finished part of its task tree.

SpiffWorkflow keeps every task it ever ran, and a loop (a periodic review that comes round again
and again) adds a new copy of its tasks, each with its own copy of the case data, at every turn.
Left alone a case that has been reviewed 50 times is ~9 times larger and ~6 times slower to work
than a fresh one (`tests/bench/bench_loop_state.py`).

What is safe to drop: every task above the last *completed* task that all unfinished tasks descend
from. Nothing unfinished can reach back above that point: joins and gateways only look at tasks
of their own iteration or below it (an earlier iteration's join is an ancestor, which
SpiffWorkflow's own parallel join ignores), data flows down from that task, which is kept, and the
case's history lives in the audit trail. The kept task becomes the child of the workflow's root.
The activities dropped are remembered (`pruned_activities`) so the case's diagram still shows them
done and a migration still refuses to move work already done that the new version changed.

Dropping waits until there is enough to drop (as many finished tasks as kept ones, at least
`MIN_DROP`), so a short pathway is never touched and the cost is paid rarely. Workflows with
subprocesses are left alone."""
from __future__ import annotations

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

MIN_DROP = 20
PRUNED_KEY = "pruned_activities"


def pruned_activities(workflow: BpmnWorkflow) -> list[str]:
    return list(getattr(workflow, PRUNED_KEY, None) or [])


def compact(workflow: BpmnWorkflow, min_drop: int = MIN_DROP) -> int:
    """Drop the finished tasks above the cut (see the module docstring); return how many."""
    if workflow.subprocesses or len(workflow.tasks) < 2 * min_drop:
        return 0
    live = [t for t in workflow.tasks.values() if t.has_state(TaskState.NOT_FINISHED_MASK)]
    if not live:
        return 0
    common: set | None = None
    for task in live:
        chain = set()
        node = task
        while node is not None:
            chain.add(node.id)
            node = node.parent
        common = chain if common is None else common & chain
    cut = live[0]
    while cut is not None and (cut.id not in common or cut.state != TaskState.COMPLETED):
        cut = cut.parent
    root = workflow.task_tree
    if cut is None or cut is root or cut.parent is root:
        return 0
    keep = {root.id}
    stack = [cut]
    while stack:
        node = stack.pop()
        keep.add(node.id)
        stack.extend(node.children)
    dropped = [t for t in workflow.tasks.values() if t.id not in keep]
    if len(dropped) < max(min_drop, len(keep)) or any(not t.has_state(TaskState.FINISHED_MASK) for t in dropped):
        return 0
    done = set(pruned_activities(workflow))
    done.update(t.task_spec.bpmn_id for t in dropped if t.state == TaskState.COMPLETED and t.task_spec.bpmn_id)
    setattr(workflow, PRUNED_KEY, sorted(done))
    for task in dropped:
        del workflow.tasks[task.id]
    root._children = [cut.id]
    cut._parent = root.id
    if workflow.last_task is not None and workflow.last_task.id not in workflow.tasks:
        workflow.last_task = cut
    return len(dropped)
