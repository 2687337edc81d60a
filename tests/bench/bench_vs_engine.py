"""Benchmark: the product over HTTP against SpiffWorkflow alone, on the same pathway, in one run.

    python tests/bench/bench_vs_engine.py [--cases 100] [--rounds 10] [--backend sqlite|postgresql|both]

A tribute-image case, verified by the OIC and released by the press office:
(a) SpiffWorkflow 3.2 alone: parse the shipped diagram once, then per case run the start, the two
    user tasks and the engine steps, with a full JSON save and load (`serialize_json` /
    `deserialize_json`, spec included, as SpiffWorkflow's own tests do) after the start and after
    each task: what any persistent use of the engine pays at least.
(b) the product over HTTP: `releasedesk serve` (waitress, one process, its own Python) on the
    chosen database, a client on one keep-alive connection per user with HTTP Basic: start, the
    task look-up before each task, two completions (5 requests a case).
(c) for reference, the product's engine commands called directly, one transaction each.
The three take turns (`--rounds`, each running cases/rounds), so that a slow spell of a shared machine
falls on all three alike. Prints per-case milliseconds (median of the run), each request's median
over HTTP, and the ratio (b)/(a); goal: 4 or less."""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser  # noqa: E402
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from engine import Actor, ReleaseDesk  # noqa: E402
from engine import queries as q  # noqa: E402
from tests.bench.common import Client, bench_database, free_port, prepare, settings_for  # noqa: E402

START = {"summary": "Tribute to the victim of a fatal collision", "deceased_name": "Alex Example",
         "family_consent": True, "family_wording": "A much-loved son and brother"}
VERIFY = {"decision": "verified", "rationale": "Family confirmed the photo"}
RELEASE = {"channels": ["force_website", "press_release"], "published_urls": "https://police.example/news/tribute"}
ENGINE_DEFAULTS = {"copyright_notice": "(c) Police", "conditions_of_use": "Policing purpose only",
                   "review_interval": "P30D", "removal_sla": "PT4H", "requested_by": "fay",
                   "local_approval_required": True}


def bare_spiff(cases: int, digest: str, prefix: str = "") -> list[float]:
    parser = CamundaParser()
    parser.add_bpmn_file(str(ROOT / "workflows" / "tribute_image.bpmn"))
    spec, subprocesses = parser.get_spec("tribute_image"), parser.get_subprocess_specs("tribute_image")
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG))
    times = []
    for n in range(cases):
        t0 = time.perf_counter()
        wf = BpmnWorkflow(spec, subprocesses)
        wf.get_tasks(state=TaskState.READY)[0].set_data(**START, **ENGINE_DEFAULTS, case_reference=f"B{prefix}-{n}",
                                                        media_items=[digest])
        wf.do_engine_steps()
        wf = serializer.deserialize_json(serializer.serialize_json(wf))
        for values in (VERIFY, RELEASE):
            task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
            task.set_data(**values)
            task.run()
            wf.do_engine_steps()
            wf = serializer.deserialize_json(serializer.serialize_json(wf))
        assert wf.is_completed()
        times.append(time.perf_counter() - t0)
    return times



def over_http(port: int, cases: int, digest: str, requests: dict[str, list[float]], prefix: str = "") -> list[float]:
    """Per-case times; `requests` collects each kind of request's own times."""
    users = {name: Client(port, name) for name in ("fay", "olly", "cat")}
    for client in users.values():  # sign in once each (the credential cache), as a working client is
        client.call("GET", "/api/process-definitions")

    def call(kind, user, *args):
        t0 = time.perf_counter()
        answer = users[user].call(*args)
        requests.setdefault(kind, []).append(time.perf_counter() - t0)
        return answer
    times = []
    for n in range(cases):
        key = f"H{prefix}-{n}"
        t0 = time.perf_counter()
        call("start", "fay", "POST", "/api/process-definitions/tribute_image/start",
             {"businessKey": key, "variables": {**START, "media_items": [digest]}})
        for user, activity, values in (("olly", "verify_tribute_image", VERIFY), ("cat", "release_tribute", RELEASE)):
            tasks = call("task look-up", user, "GET", f"/api/tasks?businessKey={key}")
            task = next(t for t in tasks if t["activityId"] == activity)
            call("complete", user, "POST", f"/api/tasks/{task['id']}/complete", {"variables": values})
        times.append(time.perf_counter() - t0)
    return times


def direct(desk: ReleaseDesk, cases: int, digest: str, prefix: str = "") -> list[float]:
    actors = {"fay": Actor("fay", frozenset({"flo"})), "olly": Actor("olly", frozenset({"oic"})),
              "cat": Actor("cat", frozenset({"ccd"}))}
    times = []
    for n in range(cases):
        key = f"D{prefix}-{n}"
        t0 = time.perf_counter()
        with desk.transaction() as s:
            desk.runtime.start(s, "tribute_image", key, {**START, "media_items": [digest]}, actors["fay"])
        for user, activity, values in (("olly", "verify_tribute_image", VERIFY), ("cat", "release_tribute", RELEASE)):
            with desk.read() as s:
                task = next(t for t in q.list_tasks(s, actors[user], business_key=key) if t["activityId"] == activity)
            with desk.transaction() as s:
                desk.runtime.complete(s, task["id"], actors[user], values)
        times.append(time.perf_counter() - t0)
    return times


def start_server(url: str, folder: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "RELEASEDESK_DATABASE_URL": url, "RELEASEDESK_SECRET_KEY": "bench",
           "RELEASEDESK_MEDIA_DIR": str(folder / "media"), "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--no-worker", "--port", str(port)],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = server.stdout.readline()
    assert line.startswith("Release Desk on"), line
    time.sleep(0.3)  # waitress binds right after printing
    return server


def run(backend: str, cases: int, rounds: int) -> dict[str, float]:
    """The three take turns, `rounds` times, so a slow spell of the machine falls on all of them."""
    bare: list[float] = []
    engine: list[float] = []
    http_times: list[float] = []
    requests: dict[str, list[float]] = {}
    per_round = max(1, cases // rounds)
    with bench_database(backend) as (url, folder):
        digest = prepare(url, folder)
        port = free_port()
        server = start_server(url, folder, port)
        desk = ReleaseDesk(settings_for(url, folder))
        try:
            for r in range(rounds):
                bare += bare_spiff(per_round, digest, f"{r}")
                engine += direct(desk, per_round, digest, f"{r}")
                http_times += over_http(port, per_round, digest, requests, f"{r}")
        finally:
            desk.dispose()
            server.terminate()
            server.communicate(timeout=30)
    cases = per_round * rounds
    result = {"bare": statistics.median(bare), "engine": statistics.median(engine),
              "http": statistics.median(http_times)}
    print(f"\n{backend}: {cases} tribute-image cases each way (start + 2 tasks) in {rounds} turns, median ms per case")
    print(f"  (a) SpiffWorkflow alone, JSON save+load per step  {result['bare'] * 1000:8.2f}")
    print(f"  (c) product engine commands, no HTTP             {result['engine'] * 1000:8.2f}"
          f"   ({result['engine'] / result['bare']:.2f}x)")
    print(f"  (b) product over HTTP (5 requests)               {result['http'] * 1000:8.2f}"
          f"   ratio (b)/(a) = {result['http'] / result['bare']:.2f}x")
    print("      median per request: " + ", ".join(f"{kind} {statistics.median(t) * 1000:.2f}"
                                                    for kind, t in requests.items()))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=10, help="turns the three ways take (each runs cases/rounds)")
    args = parser.parse_args()
    with open("/proc/loadavg") as fh:
        print(f"load average before: {fh.read().split()[:3]}; cpus: {os.cpu_count()}")
    for backend in (("sqlite", "postgresql") if args.backend == "both" else (args.backend,)):
        run(backend, args.cases, args.rounds)


if __name__ == "__main__":
    main()
