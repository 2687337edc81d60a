"""Benchmark: does a case get dearer to work as it ages? A wanted-person appeal goes round its
periodic review loop (review timer fires, CCD keeps the appeal) many times; the cost of completing
the review and of firing the timer is measured at each round, with the size of the stored state.

    python tests/bench/bench_loop_state.py [--loops 50] [--cases 3] [--backend sqlite|postgresql]

Prints, per round band, the median time to complete `review_publication` and to fire the review
timer, and the state size; then the ratio of the last rounds to the first (goal: 1.5 or less)."""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine import Actor  # noqa: E402
from engine import queries as q  # noqa: E402
from engine.models import ProcessInstance  # noqa: E402
from tests.bench.bench_http import APPROVE, PUBLISH, start_vars  # noqa: E402
from tests.bench.common import bench_desk  # noqa: E402

KEEP = {"review_outcome": "keep", "rationale": "Still outstanding"}
ACTORS = {"rita": Actor("rita", frozenset({"requester"})), "sam": Actor("sam", frozenset({"sio"})),
          "cat": Actor("cat", frozenset({"ccd"}))}
MANAGER = Actor("bench", frozenset({"manager"}))


def open_task(desk, instance_id: int, activity: str) -> str:
    with desk.read() as s:
        return next(t["id"] for t in q.list_tasks(s, MANAGER, instance_id=instance_id) if t["activityId"] == activity)


def run(desk, digest: str, loops: int, case_no: int) -> list[tuple[float, float, int]]:
    """(seconds to complete the review, seconds to fire the timer, state bytes) for each round."""
    with desk.transaction() as s:
        case = desk.runtime.start(s, "wanted_person", f"LOOP-{case_no}", start_vars(digest), ACTORS["rita"])
    with desk.transaction() as s:
        desk.runtime.complete(s, open_task(desk, case["id"], "approve_release"), ACTORS["sam"], APPROVE)
    with desk.transaction() as s:
        desk.runtime.complete(s, open_task(desk, case["id"], "publish_appeal"), ACTORS["cat"], PUBLISH)
    rounds = []
    for n in range(loops):
        t0 = time.perf_counter()
        with desk.transaction() as s:
            fired = desk.runtime.fire_timers(s, case["id"], desk.clock() + timedelta(days=31 * (n + 1)))
        fire = time.perf_counter() - t0
        assert fired == ["Event_review_due"], fired
        task = open_task(desk, case["id"], "review_publication")
        t0 = time.perf_counter()
        with desk.transaction() as s:
            desk.runtime.complete(s, task, ACTORS["cat"], KEEP)
        complete = time.perf_counter() - t0
        with desk.read() as s:
            size = len(s.get(ProcessInstance, case["id"]).workflow_json)
        rounds.append((complete, fire, size))
    return rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", type=int, default=50)
    parser.add_argument("--cases", type=int, default=3)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    with bench_desk(args.backend) as (desk, digest):
        results = [run(desk, digest, args.loops, c) for c in range(args.cases)]
    band = max(1, min(5, args.loops // 5))
    print(f"backend: {args.backend}; {args.cases} case(s) x {args.loops} review rounds")
    print(f"  {'rounds':<12}{'complete ms':>13}{'fire ms':>10}{'state KB':>10}")
    bands = [(1, band), (args.loops // 2 - band // 2, args.loops // 2 + (band - 1) // 2),
             (args.loops - band + 1, args.loops)]
    medians = []
    for lo, hi in bands:
        picks = [r[i - 1] for r in results for i in range(lo, hi + 1)]
        m = (statistics.median(p[0] for p in picks), statistics.median(p[1] for p in picks),
             statistics.median(p[2] for p in picks))
        medians.append(m)
        print(f"  {f'{lo}-{hi}':<12}{m[0] * 1000:>13.2f}{m[1] * 1000:>10.2f}{m[2] / 1024:>10.1f}")
    print(f"ratio, last rounds / first rounds: complete {medians[-1][0] / medians[0][0]:.2f}x, "
          f"fire {medians[-1][1] / medians[0][1]:.2f}x, state {medians[-1][2] / medians[0][2]:.2f}x")


if __name__ == "__main__":
    main()
