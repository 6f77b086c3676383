"""Fan-out at scale: N instances of a trivial job under one parallelism bound, in one run.

The job is busybox `sleep 0.2`, then a success report; each instance gets its shard
variables (CO_SHARD_INDEX, CO_SHARD_COUNT) as a shard of a fan-out job does. Measured here:
the baseline, a plain script that keeps `parallel` `docker run` processes going until all N
instances have run, with the containers the local driver makes (unprivileged user, no
capabilities, no new privileges, the run's /workspace mounted; one workspace for all, as
the instances of one run share theirs). Printed per size: the wall time, instances per
second, and each `docker run`'s own time (process start to exit) p50 and p99; the run
fails if any instance does not exit 0.

The parallelism defaults to the local driver's bound as issue 12's design fixes it:
CONTAINEROPS_MAX_CONTAINERS, else 4 x the machine's cores. The ContainerOps half of the
issue's benchmark (the same N as a `shards: N` job on the local driver, its wall time and
ratio to this baseline, the server's peak memory, the run detail's p99 answer time while
it runs) is to be added beside `run_plain_script`, as another function returning
`Figures` for `report` to print; the sizes alternate so both see the same machine.

    .venv/bin/python bench/fanout.py [--instances 1000 10000] [--parallel N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from overhead import percentile

from chalicelib.local.driver import UNPRIVILEGED_USER

IMAGE = "containerops/busybox:1"
SCRIPT = 'sleep 0.2; echo "[COUT] CO_RESULT = true"'
SIZES = (1_000, 10_000)  # the issue's


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
            report("plain docker run script", run_plain_script(Path(workdir), instances, options.parallel))


if __name__ == "__main__":
    main()
