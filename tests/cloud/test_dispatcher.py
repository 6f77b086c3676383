"""The aws-mode dispatcher (chalicelib/cloud/dispatcher.py) with fakes of Step Functions and ECS
that keep every call, and a real SQLite store: runs start within their workflow's
concurrency, wait queued and start oldest first as slots free, start once however often they
are submitted, and are cancelled without an execution while queued."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from chalicelib.asl import Target, compile_workflow
from chalicelib.cloud.dispatcher import CloudDispatcher
from chalicelib.domain.catalog import InMemoryCatalog
from chalicelib.domain.models import Workflow
from chalicelib.domain.states import AttemptState, JobState, RunState
from chalicelib.engine.records import EVERY_JOB, FROM_FAILURE, AttemptRecord, RerunKind, RerunScope, RunRecord
from chalicelib.errors import ServiceUnavailable
from chalicelib.services.run_service import RunRecorder
from chalicelib.store.sqlite import SqliteStore
from tests.builders import action, job, stage, workflow
from tests.fakes.aws import FakeWorkspaces

TARGET = Target("https://sqs.us-east-1.amazonaws.com/123456789012/containerops-launch")
MACHINES = "arn:aws:states:us-east-1:123456789012:stateMachine:"


@dataclass
class RecordingExecutions:
    """Step Functions as far as the dispatcher sees it; keeps every call, duplicates too."""

    machines: dict[str, str] = field(default_factory=dict)  # arn -> definition
    starts: list[tuple[str, str]] = field(default_factory=list)  # (machine arn, run id)
    stops: list[tuple[str, str, str]] = field(default_factory=list)  # (machine arn, run id, cause)
    refuse_starts: bool = False

    def ensure_machine(self, workflow: Workflow, version: int, definition: str) -> str:
        arn = f"{MACHINES}{workflow.metadata.namespace}_{workflow.metadata.name}_v{version}"
        self.machines[arn] = definition
        return arn

    def start(self, machine_arn: str, run_id: str) -> None:
        if self.refuse_starts:
            raise ServiceUnavailable("Step Functions throttled the request (ThrottlingException)")
        self.starts.append((machine_arn, run_id))

    def stop(self, machine_arn: str, run_id: str, cause: str) -> None:
        self.stops.append((machine_arn, run_id, cause))

    def succeed(self, token: str) -> None:
        raise AssertionError("the dispatcher answers no job state")

    def fail(self, token: str, error: str, cause: str) -> None:
        raise AssertionError("the dispatcher answers no job state")

    @property
    def started_runs(self) -> list[str]:
        return [run_id for _, run_id in self.starts]


@dataclass
class RecordingTasks:
    stopped: list[tuple[str, str]] = field(default_factory=list)

    def run(self, request: Any) -> str:
        raise AssertionError("the dispatcher runs no task")

    def find(self, request_key: str) -> str | None:
        return None

    def stop(self, task_arn: str, reason: str) -> None:
        self.stopped.append((task_arn, reason))


class RacingStore(SqliteStore):
    """A store where something else happens just before a slot is taken (another writer)."""

    before_take: Callable[[str], None] | None = None

    def take_run_slot(self, namespace: str, workflow: str, run_id: str, limit: int) -> bool:
        if self.before_take is not None:
            happen, self.before_take = self.before_take, None
            happen(run_id)
        return super().take_run_slot(namespace, workflow, run_id, limit)


@dataclass
class Cloud:
    store: RacingStore
    executions: RecordingExecutions
    tasks: RecordingTasks
    dispatcher: CloudDispatcher
    recorder: RunRecorder
    workspaces: FakeWorkspaces

    def queue(self, flow: Workflow, *, version: int | None = None) -> RunRecord:
        """A run recorded queued, as the API records it before it submits it."""
        return self.recorder.record(self.recorder.plan(flow.metadata.namespace, flow.metadata.name,
                                                       {}, version=version))

    def status(self, run: RunRecord) -> RunState:
        return self.store.get_run(run.id).status

    def end(self, run: RunRecord) -> None:
        """What the run-end handler does when the run's execution ends: the run succeeded,
        its slot is freed and the next queued run of its workflow started."""
        stored = self.store.get_run(run.id)
        self.store.save_run(replace(stored, status=RunState.SUCCEEDED, finished_at=stored.started_at),
                            expected=RunState.RUNNING)
        self.store.free_run_slot(run.namespace, run.workflow, run.id)
        self.dispatcher.start_next(run.namespace, run.workflow)


@pytest.fixture
def cloud(tmp_path: Path) -> Cloud:
    store = RacingStore(tmp_path / "store.db")
    executions, tasks = RecordingExecutions(), RecordingTasks()
    ticks = count(1_800_000_000)
    clock = lambda: float(next(ticks))  # noqa: E731 (every reading one second later)
    numbers = count(1)
    recorder = RunRecorder(store, clock=clock, new_id=lambda now: f"run-{next(numbers)}")
    workspaces = FakeWorkspaces()
    dispatcher = CloudDispatcher(store, executions, tasks, InMemoryCatalog(), TARGET, workspaces,
                                 clock=clock)
    return Cloud(store, executions, tasks, dispatcher, recorder, workspaces)


def flow(**spec: Any) -> Workflow:
    return workflow(stage("build", action("a", job("compile"), job("pack"))), **spec)


def saved(cloud: Cloud, definition: Workflow) -> Workflow:
    cloud.store.save_workflow(definition)
    return definition


def test_a_run_without_a_concurrency_limit_starts_its_execution_at_once(cloud: Cloud) -> None:
    definition = saved(cloud, flow())
    run = cloud.queue(definition)

    cloud.dispatcher.submit(run.id)

    started = cloud.store.get_run(run.id)
    machine = f"{MACHINES}demo_ci_v1"
    assert started.status is RunState.RUNNING and started.started_at is not None
    assert cloud.executions.starts == [(machine, run.id)]
    assert cloud.executions.machines[machine] == compile_workflow(definition, InMemoryCatalog(),
                                                                  TARGET).text


def test_with_concurrency_one_the_second_run_waits_queued_until_the_first_ends(cloud: Cloud) -> None:
    definition = saved(cloud, flow(concurrency=1))
    first, second = cloud.queue(definition), cloud.queue(definition)

    cloud.dispatcher.submit(first.id)
    cloud.dispatcher.submit(second.id)
    waiting = (cloud.status(first), cloud.status(second), cloud.executions.started_runs)
    cloud.end(first)

    assert waiting == (RunState.RUNNING, RunState.QUEUED, [first.id])
    assert cloud.status(second) is RunState.RUNNING
    assert cloud.executions.started_runs == [first.id, second.id]


def test_start_next_starts_the_oldest_queued_runs_while_slots_are_free(cloud: Cloud) -> None:
    definition = saved(cloud, flow(concurrency=2))
    runs = [cloud.queue(definition) for _ in range(5)]
    for run in runs:
        cloud.dispatcher.submit(run.id)

    cloud.end(runs[0])
    after_one = list(cloud.executions.started_runs)
    cloud.end(runs[1])
    cloud.end(runs[2])

    assert after_one == [runs[0].id, runs[1].id, runs[2].id]
    assert cloud.executions.started_runs == [run.id for run in runs]
    assert [cloud.status(run) for run in runs[3:]] == [RunState.RUNNING, RunState.RUNNING]


def test_submitting_a_run_twice_starts_one_execution(cloud: Cloud) -> None:
    run = cloud.queue(saved(cloud, flow(concurrency=1)))

    cloud.dispatcher.submit(run.id)
    cloud.dispatcher.submit(run.id)
    cloud.dispatcher.start_next(run.namespace, run.workflow)

    assert cloud.executions.started_runs == [run.id]


def test_a_run_of_a_deleted_workflow_version_still_starts(cloud: Cloud) -> None:
    definition = saved(cloud, flow())
    run = cloud.queue(definition)
    cloud.store.delete_workflow("demo", "ci")

    cloud.dispatcher.submit(run.id)

    assert cloud.status(run) is RunState.RUNNING
    assert cloud.executions.started_runs == [run.id]


def test_a_run_starts_the_machine_of_the_version_it_pinned(cloud: Cloud) -> None:
    saved(cloud, flow())
    saved(cloud, workflow(stage("other", action("a", job("lint")))))
    run = cloud.queue(flow(), version=1)

    cloud.dispatcher.submit(run.id)

    assert cloud.executions.starts == [(f"{MACHINES}demo_ci_v1", run.id)]


def test_cancelling_a_queued_run_ends_it_cancelled_and_starts_nothing(cloud: Cloud) -> None:
    definition = saved(cloud, flow(concurrency=1))
    first, second = cloud.queue(definition), cloud.queue(definition)
    cloud.dispatcher.submit(first.id)
    cloud.dispatcher.submit(second.id)

    cloud.store.request_cancel(second.id)
    cloud.dispatcher.cancel(second.id)
    cloud.end(first)

    cancelled = cloud.store.get_run(second.id)
    assert (cancelled.status, cancelled.reason) == (RunState.CANCELLED, "cancelled")
    assert cancelled.finished_at is not None
    assert {(j.name, j.status, j.reason) for j in cloud.store.list_jobs(second.id)} == {
        ("compile", JobState.SKIPPED, "not run: cancelled"),
        ("pack", JobState.SKIPPED, "not run: cancelled"),
    }
    assert cloud.executions.started_runs == [first.id]
    assert cloud.executions.stops == []


def test_a_queued_run_cancelled_before_it_was_submitted_ends_cancelled_when_submitted(cloud: Cloud) -> None:
    run = cloud.queue(saved(cloud, flow()))
    cloud.store.request_cancel(run.id)

    cloud.dispatcher.submit(run.id)

    assert cloud.status(run) is RunState.CANCELLED
    assert cloud.executions.started_runs == []


def test_cancelling_a_running_run_stops_its_execution_and_its_running_tasks(cloud: Cloud) -> None:
    run = cloud.queue(saved(cloud, flow()))
    cloud.dispatcher.submit(run.id)
    task = "arn:aws:ecs:us-east-1:123456789012:task/containerops/"
    cloud.store.create_attempt(AttemptRecord(run.id, "compile", 1, AttemptState.FAILED,
                                             container_id=task + "a1"))
    cloud.store.create_attempt(AttemptRecord(run.id, "compile", 2, container_id=task + "a2"))
    cloud.store.create_attempt(AttemptRecord(run.id, "pack", 1))  # not launched yet

    cloud.store.request_cancel(run.id)
    cloud.dispatcher.cancel(run.id)

    assert cloud.executions.stops == [(f"{MACHINES}demo_ci_v1", run.id, "cancelled")]
    assert cloud.tasks.stopped == [(task + "a2", "containerops: cancelled")]
    assert cloud.status(run) is RunState.RUNNING  # the execution's end finalises it


def test_a_run_whose_execution_cannot_start_waits_queued_again_without_its_slot(cloud: Cloud) -> None:
    definition = saved(cloud, flow(concurrency=1))
    run = cloud.queue(definition)
    cloud.executions.refuse_starts = True

    with pytest.raises(ServiceUnavailable):
        cloud.dispatcher.submit(run.id)
    queued = cloud.store.get_run(run.id)
    cloud.executions.refuse_starts = False
    cloud.dispatcher.start_next("demo", "ci")

    assert (queued.status, queued.started_at) == (RunState.QUEUED, None)
    assert cloud.status(run) is RunState.RUNNING
    assert cloud.executions.started_runs == [run.id]


def test_a_run_cancelled_while_it_was_being_submitted_gives_its_slot_back(cloud: Cloud) -> None:
    definition = saved(cloud, flow(concurrency=1))
    first, second = cloud.queue(definition), cloud.queue(definition)

    def cancel_elsewhere(run_id: str) -> None:
        cloud.store.request_cancel(run_id)
        CloudDispatcher(cloud.store, cloud.executions, cloud.tasks, InMemoryCatalog(),
                        TARGET, cloud.workspaces).cancel(run_id)

    cloud.store.before_take = cancel_elsewhere
    cloud.dispatcher.submit(first.id)
    cloud.dispatcher.submit(second.id)

    assert cloud.status(first) is RunState.CANCELLED
    assert cloud.status(second) is RunState.RUNNING  # the slot was not kept by the cancelled run
    assert cloud.executions.started_runs == [second.id]


def test_a_run_that_another_submitter_started_is_left_alone(cloud: Cloud) -> None:
    run = cloud.queue(saved(cloud, flow(concurrency=1)))
    other = CloudDispatcher(cloud.store, cloud.executions, cloud.tasks, InMemoryCatalog(), TARGET,
                            cloud.workspaces)
    cloud.store.before_take = lambda run_id: other.submit(run_id)

    cloud.dispatcher.submit(run.id)

    assert cloud.status(run) is RunState.RUNNING
    assert cloud.executions.started_runs == [run.id]
    assert not cloud.store.take_run_slot("demo", "ci", "someone-else", 1)  # it still holds the slot


def test_a_run_that_cannot_be_compiled_fails_at_once_saying_why(cloud: Cloud) -> None:
    retried = {"limit": 10, "backoff": "1s"}
    too_long = workflow(*(stage(f"s{s}", action("a", *(job(f"j{s}-{i}", retries=retried)
                                                       for i in range(50)))) for s in range(10)))
    run = cloud.queue(saved(cloud, too_long))

    cloud.dispatcher.submit(run.id)

    failed = cloud.store.get_run(run.id)
    assert failed.status is RunState.FAILED
    assert failed.reason.startswith("the workflow cannot run on Step Functions: ")
    assert "history events" in failed.reason
    assert {j.status for j in cloud.store.list_jobs(run.id)} == {JobState.SKIPPED}
    assert cloud.executions.started_runs == []


def failed_then_rerun(cloud: Cloud, scope: RerunScope = FROM_FAILURE) -> tuple[RunRecord, RunRecord]:
    """A run that started, whose `compile` succeeded and `pack` failed, and its re-run (from
    failure unless `scope` says), recorded queued."""
    first = cloud.queue(saved(cloud, flow()))
    cloud.dispatcher.submit(first.id)
    stored = cloud.store.get_run(first.id)
    for record, state in zip(cloud.store.list_jobs(first.id), (JobState.SUCCEEDED, JobState.FAILED),
                             strict=True):
        cloud.store.save_job(replace(record, status=state))
    cloud.store.save_run(replace(stored, status=RunState.FAILED, finished_at=stored.started_at),
                         expected=RunState.RUNNING)
    return first, cloud.recorder.record(cloud.recorder.plan_rerun(first.id, scope))


def test_a_rerun_from_failure_starts_from_the_workspace_of_the_run_it_reruns(cloud: Cloud) -> None:
    first, rerun = failed_then_rerun(cloud)

    cloud.dispatcher.submit(rerun.id)

    assert cloud.workspaces.started_from == [(rerun.id, first.id)]
    assert cloud.executions.started_runs == [first.id, rerun.id]


def test_a_rerun_of_some_jobs_that_reuses_others_starts_from_the_previous_workspace(cloud: Cloud) -> None:
    first, rerun = failed_then_rerun(cloud, RerunScope(RerunKind.JOBS, ("pack",)))
    cloud.dispatcher.submit(rerun.id)
    assert cloud.workspaces.started_from == [(rerun.id, first.id)]


def test_a_rerun_that_reuses_nothing_starts_from_an_empty_workspace(cloud: Cloud) -> None:
    _, every = failed_then_rerun(cloud, EVERY_JOB)
    cloud.dispatcher.submit(every.id)
    _, both = failed_then_rerun(cloud, RerunScope(RerunKind.JOBS, ("compile", "pack")))
    cloud.dispatcher.submit(both.id)
    assert cloud.workspaces.started_from == []
    assert cloud.executions.started_runs[-1] == both.id


def test_a_rerun_whose_workspace_cannot_be_copied_waits_queued_without_an_execution(cloud: Cloud) -> None:
    first, rerun = failed_then_rerun(cloud)
    cloud.workspaces.unavailable = "S3 is away"

    with pytest.raises(ServiceUnavailable, match="S3 is away"):
        cloud.dispatcher.submit(rerun.id)

    assert cloud.status(rerun) is RunState.QUEUED
    assert cloud.executions.started_runs == [first.id]


def test_a_first_run_copies_no_workspace(cloud: Cloud) -> None:
    cloud.dispatcher.submit(cloud.queue(saved(cloud, flow())).id)
    assert cloud.workspaces.started_from == []


# --- the items of Distributed Maps ------------------------------------------------------------

@dataclass
class RecordingItems:
    """S3 as far as the dispatcher writes items there; sees the starts made before each write."""

    executions: RecordingExecutions
    written: list[tuple[str, str, bytes, int]] = field(default_factory=list)  # + starts before it
    refuse: bool = False

    def put(self, bucket: str, key: str, body: bytes) -> None:
        if self.refuse:
            raise ServiceUnavailable("S3 is busy (SlowDown)")
        self.written.append((bucket, key, body, len(self.executions.starts)))


def fanned_out(shards: int = 50, allowed_failures: int = 1) -> Workflow:
    """By default a job of 50 shards that fails fast with a failure allowed: a Distributed Map."""
    return workflow(stage("test", action("a", job("test", shards=shards, allowed_failures=allowed_failures))))


def items_cloud(cloud: Cloud) -> tuple[CloudDispatcher, RecordingItems]:
    items = RecordingItems(cloud.executions)
    target = replace(TARGET, items_bucket="containerops-workspaces")
    return CloudDispatcher(cloud.store, cloud.executions, cloud.tasks, InMemoryCatalog(), target,
                           cloud.workspaces, items=items), items


def test_the_items_of_a_distributed_map_are_written_before_the_execution_starts(cloud: Cloud) -> None:
    dispatcher, items = items_cloud(cloud)
    run = cloud.queue(saved(cloud, fanned_out()))
    dispatcher.submit(run.id)
    ((bucket, key, body, starts_before),) = items.written
    assert (bucket, key, starts_before) == ("containerops-workspaces", f"runs/{run.id}/fanout/test.json", 0)
    assert json.loads(body) == [{"instance": index} for index in range(50)]
    assert cloud.executions.started_runs == [run.id]


def test_a_run_with_only_inline_maps_writes_no_items(cloud: Cloud) -> None:
    dispatcher, items = items_cloud(cloud)
    run = cloud.queue(saved(cloud, fanned_out(shards=6, allowed_failures=0)))
    dispatcher.submit(run.id)
    assert items.written == [] and cloud.executions.started_runs == [run.id]


def test_a_run_whose_items_cannot_be_written_waits_queued_without_an_execution(cloud: Cloud) -> None:
    dispatcher, items = items_cloud(cloud)
    items.refuse = True
    run = cloud.queue(saved(cloud, fanned_out()))
    with pytest.raises(ServiceUnavailable):
        dispatcher.submit(run.id)
    assert (cloud.status(run), cloud.executions.starts) == (RunState.QUEUED, [])
    items.refuse = False
    dispatcher.submit(run.id)  # a later submit writes the same bytes and starts it
    assert len(items.written) == 1 and cloud.executions.started_runs == [run.id]
