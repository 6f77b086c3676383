"""Orchestration overhead of the local driver against plain `docker run`, in one run.

The same DAG, 5 stages x 8 parallel jobs (busybox: `sleep 0.5`, then report success), is
run by the engine with warm start (the next stage's containers started early, held at
their gate), by the engine with cold starts, and by a plain script that starts each
stage's 8 `docker run` processes at once and waits for them. All give the containers the
same user, capabilities and workspace mount. Printed: the wall times, the ratios to the
plain script (target <= 1.10),
and the dispatch latency, from the end of a job's last predecessor to its container's
start (engine timestamps of both containers), p50 and p99 (target p99 <= 100 ms), split
into its two parts: ContainerOps noticing the end and handing the next job out, and the
Docker engine starting the container it was asked for (for a held container: from
the job being handed out to its process being released). For scale, it also times one
`docker start` on an idle engine.

    .venv/bin/python bench/overhead.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import docker

from chalicelib.domain.catalog import InMemoryCatalog
from chalicelib.domain.models import Workflow
from chalicelib.domain.states import RunState
from chalicelib.launch.docker_launcher import DockerLauncher
from chalicelib.local.driver import UNPRIVILEGED_USER, LocalDriver
from chalicelib.store.sqlite import open_store

STAGES, WIDTH = 5, 8
IMAGE = "containerops/busybox:1"
SCRIPT = 'sleep 0.5; echo "[COUT] CO_RESULT = true"'


def dag() -> Workflow:
    return Workflow.model_validate({
        "metadata": {"namespace": "bench", "name": "overhead"},
        "spec": {"stages": [
            {"name": f"s{s}", "actions": [
                {"name": f"a{j}", "jobs": [
                    {"name": f"s{s}-j{j}", "image": IMAGE, "command": ["sh", "-c", SCRIPT]}
                ]} for j in range(WIDTH)
            ]} for s in range(STAGES)
        ]},
    })


@dataclass
class Latencies:
    dispatch: list[float] = field(default_factory=list)
    noticed: list[float] = field(default_factory=list)
    engine_start: list[float] = field(default_factory=list)


def run_engine(workdir: Path, latencies: Latencies, *, warm_start: bool = True) -> float:
    store = open_store(workdir / "data")
    driver = LocalDriver(store, DockerLauncher.from_environment(), InMemoryCatalog(),
                         workdir / "data", logs=store, warm_start=warm_start)
    store.save_workflow(dag())
    run = driver.create_run("bench", "overhead", {})
    began = time.perf_counter()
    finished = driver.execute(run.id)
    wall = time.perf_counter() - began
    assert finished.status is RunState.SUCCEEDED, finished.reason
    attempts = {a.job: a for a in store.list_attempts(run.id)}
    for s in range(1, STAGES):
        predecessors_end = max(attempts[f"s{s - 1}-j{j}"].finished_at or 0 for j in range(WIDTH))
        for j in range(WIDTH):
            attempt = attempts[f"s{s}-j{j}"]
            started, handed_out = attempt.started_at or 0, attempt.ready_at or 0
            latencies.dispatch.append(started - predecessors_end)
            latencies.noticed.append(handed_out - predecessors_end)
            latencies.engine_start.append(started - handed_out)
    store.close()
    return wall


def run_plain_script(workdir: Path) -> float:
    workspace = workdir / "plain-workspace"
    workspace.mkdir(mode=0o777)
    workspace.chmod(0o777)
    command = ["docker", "run", "--rm", "--user", UNPRIVILEGED_USER, "--cap-drop", "ALL",
               "--security-opt", "no-new-privileges", "-v", f"{workspace}:/workspace",
               IMAGE, "sh", "-c", SCRIPT]
    began = time.perf_counter()
    with ThreadPoolExecutor(WIDTH) as pool:
        for _ in range(STAGES):
            results = list(pool.map(lambda _: subprocess.run(command, capture_output=True),
                                    range(WIDTH)))
            assert all(r.returncode == 0 for r in results), results[0].stderr
    return time.perf_counter() - began


def idle_docker_start() -> float:
    """Seconds for one `start` of a created container on an otherwise idle engine."""
    client = docker.from_env()
    created = client.api.create_container(IMAGE, ["true"], user=UNPRIVILEGED_USER)
    try:
        began = time.perf_counter()
        client.api.start(created["Id"])
        return time.perf_counter() - began
    finally:
        client.api.remove_container(created["Id"], force=True)
        client.close()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed_rounds(rounds: int, one: Callable[[Path], float]) -> list[float]:
    results = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="co-bench-") as workdir:
            results.append(one(Path(workdir)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    walls: dict[str, list[float]] = {"warm": [], "cold": [], "plain": []}
    latencies = {"warm": Latencies(), "cold": Latencies()}
    for _ in range(rounds):  # alternate, so all three see the same machine
        for start in ("warm", "cold"):
            engine = functools.partial(run_engine, latencies=latencies[start], warm_start=start == "warm")
            walls[start].extend(timed_rounds(1, engine))
        walls["plain"].extend(timed_rounds(1, run_plain_script))
    median = {name: statistics.median(values) for name, values in walls.items()}
    print(f"DAG: {STAGES} stages x {WIDTH} parallel jobs, {rounds} rounds (medians)")
    for name, label in (("warm", "engine (warm start)"), ("cold", "engine (cold starts)"),
                        ("plain", "plain docker run script")):
        print(f"{label + ' wall time:':<34} {median[name]:6.2f} s   (rounds: "
              f"{', '.join(f'{w:.2f}' for w in walls[name])})")
    print(f"ratio engine / plain:   warm {median['warm'] / median['plain']:.3f}, "
          f"cold {median['cold'] / median['plain']:.3f}   (target <= 1.10)")
    for start in ("warm", "cold"):
        measured = latencies[start]
        print(f"dispatch latency, {start} start, {len(measured.dispatch)} jobs, p50 / p99:")
        for label, values in (
            ("predecessor end -> container started", measured.dispatch),
            ("  of which: end noticed, job handed out", measured.noticed),
            ("  of which: engine starting the container", measured.engine_start),
        ):
            print(f"  {label:<42} {percentile(values, 0.5) * 1000:5.0f} / "
                  f"{percentile(values, 0.99) * 1000:5.0f} ms")
    print("  target p99 <= 100 ms; for scale, one `docker start` on an idle engine: "
          f"{idle_docker_start() * 1000:.0f} ms")


if __name__ == "__main__":
    main()
