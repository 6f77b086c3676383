"""API latency with a large history: run history, run detail and log polls under load.

Seeds a data directory (once; kept in .build/bench-api) with 100,000 runs and 1,000,000
log lines through the Store interface, starts `containerops serve` on it, and sends the
same requests from 20 concurrent clients: the run-history page, the run-detail call, a
log-follow poll (no wait: `follow=0`), and the trivial health route as the baseline of
the same run. Prints p50/p99 latency and throughput per request, and each one's p99 as a
ratio of the baseline's. Targets on a 2-core machine: history, detail and log p99 <= 50 ms.

    .venv/bin/python bench/api.py [--requests 2000] [--clients 20]
"""

from __future__ import annotations

import argparse
import http.client
import random
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chalicelib.domain.models import Workflow
from chalicelib.domain.states import AttemptState, JobState, RunState
from chalicelib.engine.records import AttemptRecord, JobRecord, RunRecord
from chalicelib.logs.base import LogEntry
from chalicelib.store.sqlite import SqliteStore, open_store

TOP = Path(__file__).resolve().parents[1]
DATA = TOP / ".build" / "bench-api"
RUNS, LINES_PER_LOGGED_RUN, LOGGED_RUNS = 100_000, 10_000, 100
NAMESPACE, WORKFLOW = "bench", "history"


def seed(data_dir: Path) -> list[str]:
    """Create the history once; return the ids of the runs that have logs."""
    marker = data_dir / "seeded"
    store = open_store(data_dir)
    try:
        if not marker.exists():
            _seed(store)
            marker.write_text("ok\n")
        page = store.list_runs()
        return [run.id for run in page.runs[:LOGGED_RUNS]]
    finally:
        store.close()


def _seed(store: SqliteStore) -> None:
    store.save_workflow(Workflow.model_validate({
        "metadata": {"namespace": NAMESPACE, "name": WORKFLOW},
        "spec": {"stages": [{"name": "build", "actions": [{"name": "a", "jobs": [
            {"name": "build", "image": "containerops/busybox:1"}]}]}]},
    }))
    began, statuses = time.time() - RUNS, [RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED]
    ids = []
    for number in range(RUNS):
        created = began + number
        run_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime(created)) + f"-{number:08x}"
        status = statuses[number % 3]
        store.create_run(
            RunRecord(run_id, NAMESPACE, WORKFLOW, 1, status, created, started_at=created,
                      finished_at=created + 1),
            [JobRecord(run_id, "build", 0, 0, 0, JobState(status.value), attempts=1,
                       started_at=created, finished_at=created + 1)],
        )
        ids.append(run_id)
    for run_id in ids[-LOGGED_RUNS:]:
        store.save_attempt(AttemptRecord(run_id, "build", 1, AttemptState.SUCCEEDED))
        for start in range(0, LINES_PER_LOGGED_RUN, 5000):
            store.append_logs(run_id, "build", 1, [
                LogEntry(time.time(), f"line {seq} of the build output", seq % 100 == 0)
                for seq in range(start + 1, start + 5001)
            ])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(data_dir: Path, port: int,
                 env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "chalicelib.cli.main", "--data-dir", str(data_dir), "serve",
         "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the server did not start")


def measure(port: int, paths: list[str], clients: int) -> tuple[list[float], float]:
    def worker(share: list[str]) -> list[float]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        timings = []
        for path in share:
            began = time.perf_counter()
            connection.request("GET", path)
            answer = connection.getresponse()
            answer.read()
            if answer.status != 200:
                raise SystemExit(f"GET {path} answered {answer.status}")
            timings.append(time.perf_counter() - began)
        connection.close()
        return timings

    shares = [paths[i::clients] for i in range(clients)]
    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        timings = [t for part in pool.map(worker, shares) for t in part]
    return timings, len(paths) / (time.perf_counter() - began)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=20)
    options = parser.parse_args()
    began = time.perf_counter()
    logged = seed(DATA)
    print(f"history: {RUNS} runs, {LOGGED_RUNS * LINES_PER_LOGGED_RUN} log lines "
          f"(ready in {time.perf_counter() - began:.0f} s)")
    port = free_port()
    server = start_server(DATA, port)
    base = f"/api/namespaces/{NAMESPACE}"
    rng = random.Random(7)
    scenarios = {
        "health (baseline)": ["/api/health"] * options.requests,
        "run history page": [f"{base}/runs?workflow={WORKFLOW}&limit=50"] * options.requests,
        "run detail": [f"{base}/runs/{rng.choice(logged)}" for _ in range(options.requests)],
        "log poll": [f"{base}/runs/{rng.choice(logged)}/jobs/build/attempts/1/logs?after="
                     f"{rng.randrange(LINES_PER_LOGGED_RUN)}&limit=200&follow=0"
                     for _ in range(options.requests)],
    }
    try:
        results = {name: measure(port, paths, options.clients) for name, paths in scenarios.items()}
    finally:
        server.terminate()
        server.wait(30)
    baseline_p99 = percentile(results["health (baseline)"][0], 0.99)
    print(f"{options.clients} concurrent clients, {options.requests} requests of each kind:")
    for name, (timings, throughput) in results.items():
        p50, p99 = percentile(timings, 0.5), percentile(timings, 0.99)
        print(f"  {name:<20} p50 {p50 * 1000:6.1f} ms  p99 {p99 * 1000:6.1f} ms  "
              f"{throughput:7.0f} req/s  p99 / baseline {p99 / baseline_p99:5.2f}"
              f"  (mean {statistics.mean(timings) * 1000:.1f} ms)")
    print("  targets: history, detail and log p99 <= 50 ms")


if __name__ == "__main__":
    main()
