"""The serverless path's cost against the local driver's, on the same DAG, in one run.

The DAG of bench/overhead.py, 5 stages x 8 parallel jobs (busybox: `sleep 0.5`, then report
success), is run by the local driver (Docker, SQLite) and through the AWS sandbox
(chalicelib/sandbox: moto's DynamoDB, Step Functions, SQS, ECS and CloudWatch Logs, aws
mode's own handlers, each task's container on the same Docker engine), rounds alternating.
Printed: the wall time of each (median of the rounds), their ratio, and the control plane's
time per job, p50 and p99:

- launch: from the launch message reaching the launcher (Lambda's SQS event source hands it
  over) to the launcher calling ECS RunTask for it;
- hand-off: from the STOPPED event of the job that ended a stage (the last of its 8) reaching
  the task-stopped handler, to the launch message of each job of the next stage reaching the
  launcher (the verdict, SendTaskSuccess, Step Functions moving on, SQS), with the verdict's
  own share (the handler's time) and the wait for the stage's first message beside it (the
  launcher takes a batch's messages one after another, so the eighth waits for seven launches).

The times are taken by wrapping the sandbox's services from here, not by changing the
sandbox: `services.launcher` becomes aws mode's `JobLauncher` over a `Tasks` that notes each
RunTask call (the same wiring `AwsServices.build` makes, on clients of the same moto), and
`services.task_finaliser` a wrapper noting each STOPPED event. Opening the sandbox (moto, the
resources, the first machine) is timed apart and left out of the walls.

    .venv/bin/python bench/sandbox.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from overhead import STAGES, WIDTH, dag, percentile

from chalicelib.aws.ecs import EcsTasks
from chalicelib.aws.stepfunctions import StepFunctionsExecutions
from chalicelib.cloud.events import LaunchMessage, TaskStopped
from chalicelib.cloud.launcher import JobLauncher, Launched
from chalicelib.cloud.ports import TaskRequest, Tasks
from chalicelib.cloud.verdict import TaskFinaliser, Verdict
from chalicelib.domain.states import RunState
from chalicelib.launch.docker_launcher import DockerLauncher
from chalicelib.local.driver import LocalDriver
from chalicelib.sandbox import AwsSandbox
from chalicelib.sandbox.environment import REGION
from chalicelib.store.catalog import StoreCatalog
from chalicelib.store.sqlite import open_store

AttemptKey = tuple[str, str, int]  # run id, job, attempt


@dataclass
class Marks:
    """When each attempt passed each point of the control plane (perf_counter seconds)."""

    received: dict[AttemptKey, float] = field(default_factory=dict)
    run_task: dict[AttemptKey, float] = field(default_factory=dict)
    stopped: dict[AttemptKey, float] = field(default_factory=dict)
    judged: dict[AttemptKey, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, table: dict[AttemptKey, float], key: AttemptKey) -> None:
        now = time.perf_counter()
        with self.lock:
            table.setdefault(key, now)  # the first time: a redelivery is not a new start


class TimedTasks:
    """ECS tasks, noting when RunTask is called for each attempt."""

    def __init__(self, tasks: Tasks, marks: Marks) -> None:
        self._tasks = tasks
        self._marks = marks

    def run(self, request: TaskRequest) -> str:
        self._marks.note(self._marks.run_task, (request.run_id, request.plan.job, request.attempt))
        return self._tasks.run(request)

    def find(self, request_key: str) -> str | None:
        return self._tasks.find(request_key)

    def stop(self, task_arn: str, reason: str) -> None:
        self._tasks.stop(task_arn, reason)

    def end_of(self, task_arn: str) -> TaskStopped | None:
        return self._tasks.end_of(task_arn)


class TimedLauncher:
    """The launcher, noting when each launch message reaches it."""

    def __init__(self, launcher: JobLauncher, marks: Marks) -> None:
        self._launcher = launcher
        self._marks = marks

    def launch(self, message: LaunchMessage) -> Launched:
        self._marks.note(self._marks.received, (message.run_id, message.job, message.attempt))
        return self._launcher.launch(message)


class TimedFinaliser:
    """The task-stopped handler, noting when each STOPPED event reaches it and is judged."""

    def __init__(self, finaliser: TaskFinaliser, marks: Marks) -> None:
        self._finaliser = finaliser
        self._marks = marks

    def task_stopped(self, stopped: TaskStopped) -> Verdict:
        key = stopped.attempt_key
        if key is not None:
            self._marks.note(self._marks.stopped, key)
        verdict = self._finaliser.task_stopped(stopped)
        if key is not None:
            self._marks.note(self._marks.judged, key)
        return verdict


def timed(sandbox: AwsSandbox, marks: Marks) -> None:
    """Put the timing wrappers into the sandbox's services."""
    import boto3

    services = sandbox.services
    session = boto3.session.Session(region_name=REGION)  # the sandbox's moto answers it
    executions = StepFunctionsExecutions(session.client("stepfunctions"),
                                         services.settings.state_machine_role_arn)
    tasks = TimedTasks(EcsTasks(session.client("ecs"), services.settings), marks)
    launcher = JobLauncher(services.store, executions, tasks, StoreCatalog(services.store), services.logs,
                           services.workspaces)
    # The Lambda functions read these attributes at each invocation (sandbox/lambdas.py).
    services.launcher = TimedLauncher(launcher, marks)  # type: ignore[assignment]
    services.task_finaliser = TimedFinaliser(services.task_finaliser, marks)  # type: ignore[assignment]


@dataclass
class ControlPlane:
    launch: list[float] = field(default_factory=list)
    hand_off: list[float] = field(default_factory=list)
    first_message: list[float] = field(default_factory=list)
    verdict: list[float] = field(default_factory=list)

    def add_run(self, run_id: str, marks: Marks) -> None:
        def key(stage: int, job: int) -> AttemptKey:
            return (run_id, f"s{stage}-j{job}", 1)

        with marks.lock:
            for s in range(STAGES):
                for j in range(WIDTH):
                    self.launch.append(marks.run_task[key(s, j)] - marks.received[key(s, j)])
                if s == 0:
                    continue
                ends = {j: marks.stopped[key(s - 1, j)] for j in range(WIDTH)}
                ended_by = max(ends, key=ends.__getitem__)
                stage_end = ends[ended_by]
                self.verdict.append(marks.judged[key(s - 1, ended_by)] - stage_end)
                waits = [marks.received[key(s, j)] - stage_end for j in range(WIDTH)]
                self.hand_off.extend(waits)
                self.first_message.append(min(waits))


def run_local(workdir: Path) -> float:
    store = open_store(workdir / "data")
    driver = LocalDriver(store, DockerLauncher.from_environment(), StoreCatalog(store),
                         workdir / "data", logs=store)
    store.save_workflow(dag())
    run = driver.create_run("bench", "overhead", {})
    began = time.perf_counter()
    finished = driver.execute(run.id)
    wall = time.perf_counter() - began
    store.close()
    assert finished.status is RunState.SUCCEEDED, finished.reason
    return wall


def run_sandbox(sandbox: AwsSandbox, version: int, marks: Marks, plane: ControlPlane) -> float:
    began = time.perf_counter()
    run = sandbox.start_run("bench", "overhead", {}, version=version)
    finished = sandbox.wait(run.id, timeout=600)
    wall = time.perf_counter() - began
    assert finished.status is RunState.SUCCEEDED, finished.reason
    plane.add_run(run.id, marks)
    return wall


def in_temporary_folder(one: Callable[[Path], float]) -> float:
    with tempfile.TemporaryDirectory(prefix="co-bench-") as workdir:
        return one(Path(workdir))


def ms(values: list[float], fraction: float) -> str:
    return f"{percentile(values, fraction) * 1000:6.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    walls: dict[str, list[float]] = {"local": [], "sandbox": []}
    marks, plane = Marks(), ControlPlane()
    with tempfile.TemporaryDirectory(prefix="co-bench-sandbox-") as workdir:
        opening = time.perf_counter()
        with AwsSandbox(Path(workdir)) as sandbox:
            timed(sandbox, marks)
            version = sandbox.save_workflow(dag())
            opened = time.perf_counter() - opening
            for _ in range(rounds):  # alternate, so both see the same machine
                walls["local"].append(in_temporary_folder(run_local))
                walls["sandbox"].append(run_sandbox(sandbox, version, marks, plane))
            failures = sandbox.handler_failures
    median = {name: statistics.median(values) for name, values in walls.items()}
    print(f"DAG: {STAGES} stages x {WIDTH} parallel jobs, {rounds} rounds (medians)")
    print(f"opening the sandbox (moto, resources, the state machine): {opened:.2f} s")
    for name, label in (("local", "local driver"), ("sandbox", "AWS sandbox")):
        print(f"{label + ' wall time:':<26} {median[name]:6.2f} s   (rounds: "
              f"{', '.join(f'{w:.2f}' for w in walls[name])})")
    print(f"ratio sandbox / local:    {median['sandbox'] / median['local']:6.2f}")
    print("control-plane time per job, p50 / p99:")
    for label, values in (
        (f"launch message received -> RunTask called ({len(plane.launch)} jobs)", plane.launch),
        (f"stage's last STOPPED event -> next message ({len(plane.hand_off)} jobs)", plane.hand_off),
        (f"  of which: the verdict ({len(plane.verdict)} stage ends)", plane.verdict),
        (f"  to the stage's first message ({len(plane.first_message)} stage ends)", plane.first_message),
    ):
        print(f"  {label:<62} {ms(values, 0.5)} / {ms(values, 0.99)} ms")
    if failures:
        print(f"handler failures on the way: {len(failures)}: {failures[:3]}")


if __name__ == "__main__":
    main()
