"""Fan-out at scale: N instances of a trivial job, through ContainerOps and a plain script.

The job is busybox `sleep 0.2`, then a success report; each instance gets its shard
variables (CO_SHARD_INDEX, CO_SHARD_COUNT). Two ways of running N of them, at most
`parallel` at once, sizes alternating so both see the same machine:

- ContainerOps: `containerops serve` on a fresh data directory, with the machine's bound
  set to `parallel` (CONTAINEROPS_MAX_CONTAINERS); one run of a workflow whose single job
  is `shards: N`, started and watched through the API as the run view does. While it runs,
  one client asks for the run detail and the first page of the group's instances
  (failed first) ten times a second; their answer times are the API's under the run's load.
  The server's peak memory is its resident high-water mark (VmHWM), which covers every
  thread of the engine, the store and the HTTP server.
- the baseline: a plain script that keeps `parallel` `docker run` processes going until all
  N have run, with the containers the local driver makes (unprivileged user, no
  capabilities, no new privileges, a /workspace mounted; one for all, as the instances of
  one run share theirs).

Printed per size: wall times, instances per second, the ratio ContainerOps / script
(target <= 1.0), each `docker run`'s own time p50/p99, the server's peak memory (target
< 500 MiB at 10,000) and the run detail's p50/p99 (target p99 < 100 ms). The run fails if
any instance does not succeed.

`--sandbox N` instead runs one `shards: N` job through the AWS sandbox (moto's Step
Functions drives the Map state; each instance's task container on the same Docker engine)
and prints its wall time, the Map's kind and instances per second.

    .venv/bin/python bench/fanout.py [--instances 1000 10000] [--parallel N] [--sandbox 1000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api import free_port, start_server
from overhead import percentile

from chalicelib.local.driver import UNPRIVILEGED_USER

IMAGE = "containerops/busybox:1"
SCRIPT = 'sleep 0.2; echo "[COUT] CO_RESULT = true"'
SIZES = (1_000, 10_000)  # the issue's
NAMESPACE, JOB = "bench", "shard"
FINISHED = {"succeeded", "failed", "cancelled"}
# A poll's pause: ten a second, as a handful of open run views ask (each polls every second
# or two); asking back to back would measure a client taking a core from the run.
POLL_PAUSE = 0.1


def machine_bound() -> int:
    """The local driver's container bound (issue 12 design §3): the same number the
    engine half will run under, so the two halves compare like with like."""
    configured = os.environ.get("CONTAINEROPS_MAX_CONTAINERS")
    return int(configured) if configured else 4 * (os.cpu_count() or 1)


@dataclass(frozen=True)
class Figures:
    instances: int
    wall: float
    per_instance: list[float]  # seconds each instance took, from its own start to its end

    @property
    def rate(self) -> float:
        return self.instances / self.wall


@dataclass
class ServerFigures:
    """What the ContainerOps half measures beside its wall time."""

    wall: float = 0.0
    peak_memory: int = 0  # bytes: the server's VmHWM at the run's end
    detail: list[float] = field(default_factory=list)  # seconds, one per run-detail answer
    instances_page: list[float] = field(default_factory=list)  # the first page, failed first


def fan_out_workflow(instances: int) -> dict[str, Any]:
    """One job of `instances` shards; no max_parallel, so the machine's bound alone holds it."""
    return {
        "apiVersion": "containerops/v1", "kind": "Workflow",
        "metadata": {"namespace": NAMESPACE, "name": f"fanout-{instances}"},
        "spec": {"timeout": "6h", "stages": [{"name": "test", "actions": [{"name": "test", "jobs": [
            {"name": JOB, "image": IMAGE, "command": ["sh", "-c", SCRIPT],
             "shards": instances, "timeout": "2m"},
        ]}]}]},
    }


class Api:
    """A keep-alive client of the server, timing each answer."""

    def __init__(self, port: int) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method: str, path: str, body: Any = None) -> tuple[Any, float]:
        payload = json.dumps(body) if body is not None else None
        began = time.perf_counter()
        self._connection.request(method, path, body=payload,
                                 headers={"Content-Type": "application/json"} if payload else {})
        answer = self._connection.getresponse()
        text = answer.read()
        took = time.perf_counter() - began
        if answer.status >= 300:
            raise SystemExit(f"{method} {path} answered {answer.status}: {text[:300]!r}")
        return json.loads(text), took

    def close(self) -> None:
        self._connection.close()


def peak_resident_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise SystemExit("no VmHWM in /proc: the server's peak memory cannot be read")


def run_containerops(workdir: Path, instances: int, parallel: int) -> ServerFigures:
    port = free_port()
    env = {**os.environ, "CONTAINEROPS_MAX_CONTAINERS": str(parallel)}
    server = start_server(workdir / "data", port, env)
    api, figures = Api(port), ServerFigures()
    base = f"/api/namespaces/{NAMESPACE}"
    try:
        workflow = fan_out_workflow(instances)
        api.call("POST", f"{base}/workflows", workflow)
        run, _ = api.call("POST", f"{base}/workflows/{workflow['metadata']['name']}/runs", {})
        began = time.perf_counter()
        while True:  # the run view's two questions, asked back to back for the whole run
            detail, took = api.call("GET", f"{base}/runs/{run['id']}")
            figures.detail.append(took)
            _, took = api.call("GET", f"{base}/runs/{run['id']}/jobs/{JOB}/instances?limit=100")
            figures.instances_page.append(took)
            if detail["status"] in FINISHED:
                break
            time.sleep(POLL_PAUSE)
        figures.wall = time.perf_counter() - began
        figures.peak_memory = peak_resident_bytes(server.pid)
        if detail["status"] != "succeeded":
            raise SystemExit(f"the {instances}-shard run ended {detail['status']}: {detail['reason']}")
        counts = detail["jobs"][0]["fan_out"]["counts"]
        if counts.get("succeeded") != instances:
            raise SystemExit(f"the {instances}-shard run succeeded with the counts {counts}")
    finally:
        api.close()
        server.terminate()
        server.wait(60)
    return figures


def run_plain_script(workdir: Path, instances: int, parallel: int) -> Figures:
    workspace = workdir / "plain-workspace"
    workspace.mkdir(mode=0o777)
    workspace.chmod(0o777)
    base = ["docker", "run", "--rm", "--user", UNPRIVILEGED_USER, "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges", "-v", f"{workspace}:/workspace",
            "-e", f"CO_SHARD_COUNT={instances}"]
    failures: list[str] = []
    lock = threading.Lock()

    def one(index: int) -> float:
        began = time.perf_counter()
        done = subprocess.run([*base, "-e", f"CO_SHARD_INDEX={index}", IMAGE, "sh", "-c", SCRIPT],
                              capture_output=True, text=True, check=False)
        took = time.perf_counter() - began
        if done.returncode != 0:
            with lock:
                failures.append(f"instance {index}: exit {done.returncode}: {done.stderr.strip()}")
        return took

    began = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        per_instance = list(pool.map(one, range(instances)))
    wall = time.perf_counter() - began
    if failures:
        raise SystemExit(f"{len(failures)} of {instances} instances failed; the first: {failures[0]}")
    return Figures(instances, wall, per_instance)


def report(label: str, figures: Figures) -> None:
    print(f"  {label:<26} {figures.instances:>6,} instances  wall {figures.wall:8.1f} s"
          f"  {figures.rate:6.1f} instances/s  each p50 / p99 "
          f"{percentile(figures.per_instance, 0.5) * 1000:5.0f} / "
          f"{percentile(figures.per_instance, 0.99) * 1000:5.0f} ms")


def report_containerops(figures: ServerFigures, baseline: Figures) -> None:
    instances = baseline.instances
    print(f"  {'ContainerOps (serve, API)':<26} {instances:>6,} instances  wall {figures.wall:8.1f} s"
          f"  {instances / figures.wall:6.1f} instances/s  ratio to the script "
          f"{figures.wall / baseline.wall:5.2f} (target <= 1.0)")
    print(f"  {'':<26} server peak memory {figures.peak_memory / 2**20:6.1f} MiB (target < 500 MiB);"
          f" during the run ({len(figures.detail):,} polls each):")
    for label, timings in (("run detail", figures.detail),
                           ("instances page (100)", figures.instances_page)):
        print(f"  {'':<26} {label:<22} p50 {percentile(timings, 0.5) * 1000:6.1f} ms"
              f"  p99 {percentile(timings, 0.99) * 1000:6.1f} ms  max {max(timings) * 1000:6.1f} ms"
              + ("  (target p99 < 100 ms)" if label == "run detail" else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--instances", type=int, nargs="+", default=list(SIZES),
                        help="the fan-out sizes to run (default: 1000 10000)")
    parser.add_argument("--parallel", type=int, default=machine_bound(),
                        help="instances at once (default: CONTAINEROPS_MAX_CONTAINERS, else 4 x cores)")
    options = parser.parse_args()
    if options.parallel < 1 or any(n < 1 for n in options.instances):
        parser.error("--parallel and every --instances must be at least 1")
    print(f"fan-out: busybox `sleep 0.2` per instance, at most {options.parallel} at once "
          f"({os.cpu_count()} cores)")
    for instances in options.instances:
        with tempfile.TemporaryDirectory(prefix="co-bench-fanout-") as workdir:
            baseline = run_plain_script(Path(workdir), instances, options.parallel)
            report("plain docker run script", baseline)
            engine = run_containerops(Path(workdir), instances, options.parallel)
            report_containerops(engine, baseline)


if __name__ == "__main__":
    main()
