"""Fan-out at scale: N instances of a trivial job, through ContainerOps and a plain script.

The job is busybox `sleep 0.2`, then a success report; each instance gets its shard
variables (CO_SHARD_INDEX, CO_SHARD_COUNT). Two ways of running N of them, at most
`parallel` at once, sizes alternating so both see the same machine:

- ContainerOps: `containerops serve` on a fresh data directory, with the machine's bound
  set to `parallel` (CONTAINEROPS_MAX_CONTAINERS); one run of a workflow whose single job
  is `shards: N`, started and watched through the API as the run view does. While it runs,
  one client asks once a second for the run detail and the first page of the group's
  instances (failed first), as the run view does, and for another run's log (as a follow
  poll asks it: 200 lines) and the run history's first page: the run must not slow the rest
  of the server down. The same four questions are asked first on the idle server (of the
  same workflow's run, cancelled before it started): the baseline of the ratios printed.
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
with `max_parallel` = `--parallel`, and prints its wall time, instances per second, the
Map's kind, MaxConcurrency and ToleratedFailureCount as deployed to moto, each instance's
launch-to-verdict time, the peak in flight, the launch rate and any handler failure.
`--distributed` allows one failure, which makes the compiler choose a Distributed Map at
any size (as it does at 1,000 shards); `make bench-fanout-sandbox` runs 120 that way.
Without `max_parallel` moto would start a worker per item at once, and the sandbox's ECS
agent has no bound of its own: at 1,000 that passed 16 GB before a container started. At
1,000 under 8 at once it still does not finish in useful time: moto's DynamoDB scans the
whole table for every Query, so the sandbox's cost grows with the square of the instances
(README, Benchmark). Opening the sandbox is timed apart and left out of the wall.

    .venv/bin/python bench/fanout.py [--instances 1000 10000] [--parallel N]
    .venv/bin/python bench/fanout.py --sandbox 120 [--distributed] [--parallel N]
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
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api import free_port, start_server
from overhead import percentile

from chalicelib.aws.stepfunctions import StepFunctionsExecutions
from chalicelib.domain.models import Workflow
from chalicelib.domain.states import JobState, RunState
from chalicelib.local.driver import UNPRIVILEGED_USER
from chalicelib.sandbox import AwsSandbox
from chalicelib.sandbox.environment import REGION

IMAGE = "containerops/busybox:1"
SCRIPT = 'sleep 0.2; echo "[COUT] CO_RESULT = true"'
SIZES = (1_000, 10_000)  # the issue's
NAMESPACE, JOB = "bench", "shard"
FINISHED = {"succeeded", "failed", "cancelled"}
# A poll's pause: once a second, as the run view polls (frontend RunView's POLL_MS); asking
# faster would measure a client taking the cores the containers need. The wall time is the
# run's own (created -> finished, the server's clock), not when a poll saw it end.
POLL_PAUSE = 1.0
WAIT_PAUSE = 0.1  # waiting for a run to end, outside the measured run
# How long the sandbox run may take before the benchmark gives up: generous, as the launcher
# takes the instances' messages one after another on a 2-core machine.
SANDBOX_WAIT_BASE, SANDBOX_WAIT_PER_INSTANCE = 600.0, 2.0


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


# The questions asked while the run goes on: the run view's two (its detail, the first page
# of its instances, failed first), and two about another run (its log, as a follow poll
# asks it, and the run history's first page): the fan-out must not slow the rest down.
QUESTIONS = ("run detail", "instances page (100)", "another run's log", "run history page")
IDLE_ROUNDS = 200  # each question asked this often on the idle server first: the baseline
OTHER_LINES = 2000


@dataclass
class ServerFigures:
    """What the ContainerOps half measures beside its wall time: each question's answer times
    on the idle server (before the run) and while the run goes on, in seconds."""

    wall: float = 0.0
    peak_memory: int = 0  # bytes: the server's VmHWM at the run's end
    idle: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in QUESTIONS})
    during: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in QUESTIONS})


def other_workflow() -> dict[str, Any]:
    """One job printing OTHER_LINES lines: the other run whose log is read during the fan-out."""
    return {
        "apiVersion": "containerops/v1", "kind": "Workflow",
        "metadata": {"namespace": NAMESPACE, "name": "other"},
        "spec": {"stages": [{"name": "s", "actions": [{"name": "a", "jobs": [
            {"name": "echo", "image": IMAGE,
             "command": ["sh", "-c", f"seq 1 {OTHER_LINES} | sed 's/^/line /'"]},
        ]}]}]},
    }


def fan_out_workflow(instances: int, max_parallel: int | None = None) -> dict[str, Any]:
    """One job of `instances` shards; without max_parallel the machine's bound alone holds it
    (the local driver's)."""
    return {
        "apiVersion": "containerops/v1", "kind": "Workflow",
        "metadata": {"namespace": NAMESPACE, "name": f"fanout-{instances}"},
        "spec": {"timeout": "6h", "stages": [{"name": "test", "actions": [{"name": "test", "jobs": [
            {"name": JOB, "image": IMAGE, "command": ["sh", "-c", SCRIPT],
             "shards": instances, "timeout": "2m",
             **({"max_parallel": max_parallel} if max_parallel is not None else {})},
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


def wait_for(api: Api, base: str, run_id: str) -> dict[str, Any]:
    while True:
        detail, _ = api.call("GET", f"{base}/runs/{run_id}")
        if detail["status"] in FINISHED:
            return dict(detail)
        time.sleep(WAIT_PAUSE)


def run_containerops(workdir: Path, instances: int, parallel: int) -> ServerFigures:
    port = free_port()
    env = {**os.environ, "CONTAINEROPS_MAX_CONTAINERS": str(parallel)}
    server = start_server(workdir / "data", port, env)
    api, figures = Api(port), ServerFigures()
    base = f"/api/namespaces/{NAMESPACE}"
    try:
        api.call("POST", f"{base}/workflows", other_workflow())
        other, _ = api.call("POST", f"{base}/workflows/other/runs", {})
        if wait_for(api, base, other["id"])["status"] != "succeeded":
            raise SystemExit("the other run, whose log is read during the fan-out, did not succeed")
        workflow = fan_out_workflow(instances)
        api.call("POST", f"{base}/workflows", workflow)
        run, _ = api.call("POST", f"{base}/workflows/{workflow['metadata']['name']}/runs", {})
        api.call("POST", f"{base}/runs/{run['id']}/cancel")  # the idle baseline: the same run, stopped
        paths = {
            "run detail": f"{base}/runs/{run['id']}",
            "instances page (100)": f"{base}/runs/{run['id']}/jobs/{JOB}/instances?limit=100",
            "another run's log":
                f"{base}/runs/{other['id']}/jobs/echo/attempts/1/logs?after=0&limit=200&follow=0",
            "run history page": f"{base}/runs?limit=50",
        }
        wait_for(api, base, run["id"])
        for _ in range(IDLE_ROUNDS):
            for name, path in paths.items():
                figures.idle[name].append(api.call("GET", path)[1])
        run, _ = api.call("POST", f"{base}/workflows/{workflow['metadata']['name']}/runs", {})
        paths["run detail"] = f"{base}/runs/{run['id']}"
        paths["instances page (100)"] = f"{base}/runs/{run['id']}/jobs/{JOB}/instances?limit=100"
        while True:  # as an open run view and another user's pages ask, once a second
            detail, took = api.call("GET", paths["run detail"])
            figures.during["run detail"].append(took)
            for name in QUESTIONS[1:]:
                figures.during[name].append(api.call("GET", paths[name])[1])
            if detail["status"] in FINISHED:
                break
            time.sleep(POLL_PAUSE)
        figures.wall = float(detail["finished_at"]) - float(detail["created_at"])
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
          f" answers idle ({IDLE_ROUNDS} each) / during the run "
          f"({len(figures.during['run detail']):,} each):")
    for name in QUESTIONS:
        idle, during = figures.idle[name], figures.during[name]
        print(f"  {'':<26} {name:<22} p50 {percentile(idle, 0.5) * 1000:5.1f} / "
              f"{percentile(during, 0.5) * 1000:5.1f} ms  p99 {percentile(idle, 0.99) * 1000:5.1f} / "
              f"{percentile(during, 0.99) * 1000:5.1f} ms  p99 ratio "
              f"{percentile(during, 0.99) / percentile(idle, 0.99):5.2f}"
              + ("  (target p99 < 100 ms)" if name == "run detail" else ""))


@dataclass(frozen=True)
class MapChoice:
    """The fan-out job's Map state as deployed: what the compiler chose."""

    state: str
    mode: str  # ProcessorConfig's Mode: INLINE or DISTRIBUTED
    max_concurrency: int | None  # None: not set (0 in ASL: no limit)
    tolerated_failures: int | None
    instance_timeout: int | None  # the instance Task's TimeoutSeconds: its backstop

    @property
    def at_once(self) -> str:
        return f"{self.max_concurrency:,}" if self.max_concurrency else "no limit"


@dataclass(frozen=True)
class SandboxFigures:
    instances: int
    opening: float  # seconds: moto, the resources, the state machine; not in the wall
    wall: float  # from the run's start to its end, nothing of it left in flight
    spans: list[tuple[float, float]]  # each instance's launch to its verdict (its record's times)
    map: MapChoice
    handler_failures: list[str]


def map_states(states: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every Map state of a definition's `States`, nested ones (Parallel branches) included."""
    for name, state in states.items():
        if state.get("Type") == "Map":
            yield name, state
            yield from map_states(state.get("ItemProcessor", {}).get("States", {}))
        for branch in state.get("Branches", ()):
            yield from map_states(branch.get("States", {}))


def map_choice(definition: Mapping[str, Any]) -> MapChoice:
    found = list(map_states(definition["States"]))
    if len(found) != 1:
        raise SystemExit(f"the fan-out machine has {len(found)} Map states, not one")
    name, state = found[0]
    processor = state["ItemProcessor"]
    return MapChoice(name, str(processor["ProcessorConfig"]["Mode"]), state.get("MaxConcurrency"),
                     state.get("ToleratedFailureCount"),
                     processor["States"][processor["StartAt"]].get("TimeoutSeconds"))


def deployed_map(sandbox: AwsSandbox, workflow: Workflow, version: int) -> MapChoice:
    """The Map of the state machine the dispatcher made in moto for this version."""
    import boto3

    settings = sandbox.services.settings
    client = boto3.session.Session(region_name=REGION).client("stepfunctions")  # the sandbox's moto
    arn = StepFunctionsExecutions(client, settings.state_machine_role_arn,
                                  prefix=settings.machine_prefix).machine_arn(workflow, version)
    return map_choice(json.loads(client.describe_state_machine(stateMachineArn=arn)["definition"]))


def run_sandbox(workdir: Path, definition: dict[str, Any]) -> SandboxFigures:
    """One run of a fan-out workflow through the AWS sandbox; SystemExit unless every instance
    succeeded."""
    workflow = Workflow.model_validate(definition)
    instances = int(definition["spec"]["stages"][0]["actions"][0]["jobs"][0]["shards"])
    opening = time.perf_counter()
    with AwsSandbox(workdir) as sandbox:
        version = sandbox.save_workflow(workflow)
        opened = time.perf_counter() - opening
        chosen = deployed_map(sandbox, workflow, version)
        began = time.perf_counter()
        run = sandbox.start_run(NAMESPACE, workflow.metadata.name, {}, version=version)
        finished = sandbox.wait(run.id, timeout=SANDBOX_WAIT_BASE + SANDBOX_WAIT_PER_INSTANCE * instances)
        wall = time.perf_counter() - began
        counts = sandbox.services.store.instance_counts(run.id, JOB)
        records = list(sandbox.services.store.every_instance(run.id, JOB))
        failures = list(sandbox.handler_failures)
    if finished.status is not RunState.SUCCEEDED:
        raise SystemExit(f"the {instances}-shard sandbox run ended {finished.status}: {finished.reason}"
                         f" (instances: {dict(counts)}; handler failures: {failures[:3]})")
    if counts.get(JobState.SUCCEEDED) != instances or sum(counts.values()) != instances:
        raise SystemExit(f"the {instances}-shard sandbox run succeeded with the instance counts "
                         f"{dict(counts)}")
    spans = [(r.started_at, r.finished_at) for r in records
             if r.started_at is not None and r.finished_at is not None]
    if len(spans) != instances:
        raise SystemExit(f"{instances - len(spans)} instance records have no start or end time")
    return SandboxFigures(instances, opened, wall, spans, chosen, failures)


def peak_in_flight(spans: list[tuple[float, float]]) -> int:
    """The most spans open at one moment (an end before a start at the same time)."""
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    peak = current = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak


def report_sandbox(figures: SandboxFigures) -> None:
    chosen, each = figures.map, [end - start for start, end in figures.spans]
    tolerated = chosen.tolerated_failures
    print(f"  opening the sandbox (moto, resources, the state machine): {figures.opening:.2f} s"
          " (not in the wall)")
    print(f"  Map state '{chosen.state}': {chosen.mode} map, MaxConcurrency {chosen.at_once}"
          + (f", ToleratedFailureCount {tolerated}" if tolerated is not None else ""))
    print(f"  {'AWS sandbox (moto, Docker)':<26} {figures.instances:>6,} instances"
          f"  wall {figures.wall:8.1f} s"
          f"  {figures.instances / figures.wall:6.1f} instances/s  each (launch to verdict) p50 / p99 "
          f"{percentile(each, 0.5) * 1000:5.0f} / {percentile(each, 0.99) * 1000:5.0f} ms")
    print(f"  {'':<26} at once: up to MaxConcurrency {chosen.at_once} (moto: a worker per iteration"
          f" allowed; the ECS agent: no bound of its own; launches one after another);"
          f" peak in flight {peak_in_flight(figures.spans):,}")
    starts = [start for start, _ in figures.spans]
    spread = max(starts) - min(starts)
    print(f"  {'':<26} launches: first to last {spread:.1f} s"
          + (f" ({(len(starts) - 1) / spread:.1f} a second)" if spread > 0 else "")
          + (f"; an instance's Task times out {chosen.instance_timeout:,} s after its iteration began"
             " (the job's timeout + the launch allowance), queued or not" if chosen.instance_timeout else ""))
    failures = figures.handler_failures
    print(f"  {'':<26} handler failures: "
          + (f"{len(failures)}: {failures[:3]}" if failures else "none"))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--instances", type=int, nargs="+", default=list(SIZES),
                        help="the fan-out sizes to run (default: 1000 10000)")
    parser.add_argument("--parallel", type=int, default=machine_bound(),
                        help="instances at once (default: CONTAINEROPS_MAX_CONTAINERS, else 4 x cores)")
    parser.add_argument("--sandbox", type=int, metavar="N",
                        help="instead: one N-shard job through the AWS sandbox's Map state")
    parser.add_argument("--distributed", action="store_true",
                        help="with --sandbox: allow one failure, which makes any size a Distributed Map")
    options = parser.parse_args()
    if options.sandbox is not None:
        if options.sandbox < 1:
            parser.error("--sandbox must be at least 1")
        print(f"fan-out on the AWS sandbox: busybox `sleep 0.2` per instance, one shards: {options.sandbox:,}"
              f" job, max_parallel {options.parallel} ({os.cpu_count()} cores)")
        with tempfile.TemporaryDirectory(prefix="co-bench-fanout-sandbox-") as workdir:
            definition = fan_out_workflow(options.sandbox, options.parallel)
            if options.distributed:  # fail_fast tolerating a failure: ToleratedFailureCount
                definition["spec"]["stages"][0]["actions"][0]["jobs"][0]["allowed_failures"] = 1
            report_sandbox(run_sandbox(Path(workdir), definition))
        return
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
