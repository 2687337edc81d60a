"""Benchmark: wanted-person cases end to end, over HTTP and through the engine directly.

    python tests/bench/bench_http.py [--cases 200] [--backend sqlite|postgresql]

Each case: start, approve (SIO), publish (CCD), `person_apprehended` message, remove and inform
media (CCD): 1 start + 4 task lookups + 4 completions + 1 message. Over HTTP it runs against the
real app on waitress (loopback, keep-alive, HTTP Basic); directly it calls the same engine commands
in one transaction each. Prints cases/s and p50/p99 latency per request kind for both."""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


from engine import Actor, ReleaseDesk  # noqa: E402
from engine import queries as q  # noqa: E402
from tests.bench.common import Client, bench_desk, free_port  # noqa: E402
from web.app import create_app  # noqa: E402
from web.demo import LEGAL_CLEAR  # noqa: E402

APPROVE = {"decision": "approve", "rationale": "Necessary and proportionate", "risk_assessment": "Low",
           "images_verified": True, "lawful_necessary_proportionate": True}
PUBLISH = {"channels": ["force_website"], "transmission_method": "secure_portal",
           "published_urls": "https://example.police.uk/a", "published_at": "2026-01-01", "conditions_attached": True}
REMOVE = {"removed_from": ["force_website"], "removed_at": "2026-01-02"}
INFORM = {"media_informed_at": "2026-01-02", "statement": "The man has been arrested."}


def start_vars(digest: str) -> dict:
    return {"summary": "bench", "person_description": "x", "offence": "Burglary",
            "necessity_justification": "Evading arrest", "media_items": [digest], **LEGAL_CLEAR}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def report(title: str, cases: int, elapsed: float, timings: dict[str, list[float]]) -> None:
    print(f"\n{title}: {cases} cases in {elapsed:.2f}s = {cases / elapsed:.1f} cases/s")
    print(f"  {'request':<22}{'n':>6}{'p50 ms':>10}{'p99 ms':>10}")
    for kind, values in timings.items():
        print(f"  {kind:<22}{len(values):>6}{statistics.median(values) * 1000:>10.2f}"
              f"{percentile(values, 99) * 1000:>10.2f}")



def run_http(port: int, digest: str, cases: int) -> None:
    users = {name: Client(port, name) for name in ("rita", "sam", "cat")}
    timings: dict[str, list[float]] = defaultdict(list)

    def timed(kind, user, method, path, body=None):
        t0 = time.perf_counter()
        result = users[user].call(method, path, body)
        timings[kind].append(time.perf_counter() - t0)
        return result

    def complete(user, key, activity, values):
        tasks = timed("GET /api/tasks", user, "GET", f"/api/tasks?businessKey={key}")
        task = next(t for t in tasks if t["activityId"] == activity)
        timed("POST complete", user, "POST", f"/api/tasks/{task['id']}/complete", {"variables": values})

    started = time.perf_counter()
    for i in range(cases):
        key = f"HTTP-{i}"
        timed("POST start", "rita", "POST", "/api/process-definitions/wanted_person/start",
              {"businessKey": key, "variables": start_vars(digest)})
        complete("sam", key, "approve_release", APPROVE)
        complete("cat", key, "publish_appeal", PUBLISH)
        timed("POST /api/messages", "cat", "POST", "/api/messages",
              {"messageName": "person_apprehended", "businessKey": key, "variables": {"note": "Arrested"}})
        complete("cat", key, "remove_appeal", REMOVE)
        complete("cat", key, "inform_media", INFORM)
    report("over HTTP (waitress, HTTP Basic)", cases, time.perf_counter() - started, timings)
    for client in users.values():
        client.conn.close()


def run_direct(desk: ReleaseDesk, digest: str, cases: int) -> None:
    actors = {"rita": Actor("rita", frozenset({"requester"})), "sam": Actor("sam", frozenset({"sio"})),
              "cat": Actor("cat", frozenset({"ccd"}))}
    timings: dict[str, list[float]] = defaultdict(list)

    def timed(kind, fn):
        t0 = time.perf_counter()
        with desk.transaction() as s:
            result = fn(s)
        timings[kind].append(time.perf_counter() - t0)
        return result

    def complete(user, key, activity, values):
        tasks = timed("list_tasks", lambda s: q.list_tasks(s, actors[user], business_key=key))
        task = next(t for t in tasks if t["activityId"] == activity)
        timed("complete", lambda s, task=task: desk.runtime.complete(s, task["id"], actors[user], values))

    started = time.perf_counter()
    for i in range(cases):
        key = f"DIRECT-{i}"
        timed("start", lambda s, key=key: desk.runtime.start(s, "wanted_person", key, start_vars(digest),
                                                             actors["rita"]))
        complete("sam", key, "approve_release", APPROVE)
        complete("cat", key, "publish_appeal", PUBLISH)
        timed("correlate", lambda s, key=key: desk.runtime.correlate(s, "person_apprehended", key,
                                                                     {"note": "Arrested"}, actors["cat"]))
        complete("cat", key, "remove_appeal", REMOVE)
        complete("cat", key, "inform_media", INFORM)
    report("engine directly (same commands, one transaction each)", cases, time.perf_counter() - started, timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    with bench_desk(args.backend) as (desk, digest):
        print(f"backend: {args.backend}; cases: {args.cases}")
        run_direct(desk, digest, args.cases)

        from waitress.server import create_server
        port = free_port()
        server = create_server(create_app(desk.settings, desk=desk), host="127.0.0.1", port=port, threads=4)
        threading.Thread(target=server.run, daemon=True).start()
        try:
            run_http(port, digest, args.cases)
        finally:
            server.close()

if __name__ == "__main__":
    main()
