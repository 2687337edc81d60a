"""Benchmark: completions per second with 1 and 2 web processes on PostgreSQL, 8 client threads.

    python tests/bench/bench_scaling.py [--tasks 400] [--clients 8] [--processes 1,2] [--server gunicorn|cli]
    python tests/bench/bench_scaling.py --backend sqlite --processes 1 --clients 1,8 --server cli

For each process count: a fresh server (`--server gunicorn`: gunicorn gthread workers for every
count, so 1 and 2 compare like with like; `--server cli`: `releasedesk serve --workers N`, which is
waitress for 1), `--tasks` open tribute-image verification tasks seeded through the engine, then
`--clients` threads, each on its own keep-alive connection, complete them as fast as they can.
Prints completions/s, p50/p99 latency and the server's memory (resident set of every process), and
where the machine's CPU went during the run (server processes, the client threads, the database and
everything else): once every core is busy, a second process cannot add throughput.
`--clients` and `--processes` take comma-separated lists; every combination is run."""
from __future__ import annotations

import argparse
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from engine import Actor, ReleaseDesk, load_settings  # noqa: E402
from engine import queries as q  # noqa: E402
from tests.bench.bench_http import percentile  # noqa: E402
from tests.bench.bench_vs_engine import START, VERIFY, Client  # noqa: E402
from tests.bench.common import bench_database, free_port, prepare, settings_for  # noqa: E402


def seed(desk: ReleaseDesk, digest: str, count: int, prefix: str) -> list[str]:
    fay, olly = Actor("fay", frozenset({"flo"})), Actor("olly", frozenset({"oic"}))
    for n in range(count):
        with desk.transaction() as s:
            desk.runtime.start(s, "tribute_image", f"{prefix}-{n}", {**START, "media_items": [digest]}, fay)
    with desk.read() as s:
        return [t["id"] for t in q.list_tasks(s, olly, limit=count * 2)
                if t["activityId"] == "verify_tribute_image" and t["businessKey"].startswith(prefix + "-")]


def _tree(pid: int) -> list[int]:
    return [pid] + [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _ppid(p) == pid]


def rss_kb(pid: int) -> int:
    """Resident memory of `pid` and its children, in KiB."""
    total = 0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) used so far by `pids`."""
    total = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time every core of the machine spent not idle, so far (from /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds spent from `start()` on by the server's processes, this process (the client
    threads) and everything else on the machine (the database, mostly)."""

    def __init__(self, server_pids: list[int]) -> None:
        self.server_pids = server_pids
        self.since = (0.0, 0.0, 0.0)

    def _now(self) -> tuple[float, float, float]:
        return cpu_seconds(self.server_pids), sum(os.times()[:2]), machine_busy_seconds()

    def start(self) -> None:
        self.since = self._now()

    def read(self) -> dict[str, float]:
        server, clients, busy = (now - then for now, then in zip(self._now(), self.since, strict=True))
        return {"server": server, "clients": clients, "other": max(0.0, busy - server - clients)}


def _ppid(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def start_server(url: str, folder: Path, port: int, processes: int, kind: str) -> subprocess.Popen:
    env = {**os.environ, "RELEASEDESK_DATABASE_URL": url, "RELEASEDESK_SECRET_KEY": "bench",
           "RELEASEDESK_MEDIA_DIR": str(folder / "media"), "PYTHONPATH": str(ROOT)}
    if kind == "cli":
        cmd = [sys.executable, "-m", "web.cli", "serve", "--no-worker", "--workers", str(processes),
               "--port", str(port)]
    else:
        cmd = [sys.executable, __file__, "--serve", str(processes), "--port", str(port)]
    server = subprocess.Popen(cmd, cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            Client(port, "olly").call("GET", "/api/process-definitions")
            break
        except OSError:
            time.sleep(0.2)
    return server


def drive(port: int, tasks: list[str], clients: int, on_start=lambda: None) -> tuple[float, list[float]]:
    work: queue.Queue[str] = queue.Queue()
    for t in tasks:
        work.put(t)
    latencies: list[float] = []
    ready = threading.Barrier(clients + 1)

    def client():
        me = Client(port, "olly")
        me.call("GET", "/api/process-definitions")  # signed in (per-process credential cache)
        me.call("GET", "/api/process-definitions")
        ready.wait()
        while True:
            try:
                task = work.get_nowait()
            except queue.Empty:
                return
            t0 = time.perf_counter()
            me.call("POST", f"/api/tasks/{task}/complete", {"variables": VERIFY})
            latencies.append(time.perf_counter() - t0)
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    on_start()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=400)
    parser.add_argument("--clients", default="8")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--server", choices=("gunicorn", "cli"), default="gunicorn")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:  # child mode: gunicorn with N workers on the environment's database
        from web.app import create_app
        from web.serving import serve_gunicorn
        serve_gunicorn(lambda: create_app(load_settings()), "127.0.0.1", args.port, args.serve)
        return
    with open("/proc/loadavg") as fh:
        print(f"load average before: {fh.read().split()[:3]}; cpus: {os.cpu_count()}; backend: {args.backend}; "
              f"{args.tasks} completions per run; server: {args.server}")
    results = {}
    with bench_database(args.backend) as (url, folder):
        digest = prepare(url, folder)
        desk = ReleaseDesk(settings_for(url, folder))
        runs = [(int(p), int(c)) for p in args.processes.split(",") for c in args.clients.split(",")]
        for processes, clients in runs:
            tasks = seed(desk, digest, args.tasks, f"S{processes}-{clients}")
            port = free_port()
            server = start_server(url, folder, port, processes, args.server)
            try:
                meter = CpuMeter(_tree(server.pid))
                elapsed, latencies = drive(port, tasks, clients, meter.start)
                cpu = meter.read()
                memory = rss_kb(server.pid)
            finally:
                server.terminate()
                server.wait(timeout=30)
            results[processes] = len(latencies) / elapsed
            print(f"{processes} process(es), {clients} client(s): {len(latencies) / elapsed:6.1f} completions/s; "
                  f"p50 {statistics.median(latencies) * 1000:6.1f} ms, p99 {percentile(latencies, 99) * 1000:6.1f} ms; "
                  f"server memory {memory / 1024:.0f} MiB")
            print(f"    cores busy {sum(cpu.values()) / elapsed:.2f} of {os.cpu_count()}: server "
                  f"{cpu['server'] / elapsed:.2f}, clients {cpu['clients'] / elapsed:.2f}, database and the rest "
                  f"{cpu['other'] / elapsed:.2f}; server CPU per completion "
                  f"{cpu['server'] / len(latencies) * 1000:.2f} ms")
        desk.dispose()
    if 1 in results and 2 in results:
        print(f"scaling 1 -> 2 processes: {results[2] / results[1]:.2f}x")


if __name__ == "__main__":
    main()
