"""Fan-out jobs on the local driver, on the CPU alone: the scripted fake engine, a real
SQLite file.

Instances in index order behind max_parallel and the machine's bound, fail_fast and
allowed_failures, a hanging instance's timeout, cancel with thousands queued, a restart
mid-group, a re-run from failure of the failed instances only, the variables and values
each container gets, what later jobs read, and 10,000 instances in bounded memory.
"""

from __future__ import annotations

import itertools
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.catalog import InMemoryCatalog
from chalicelib.domain.models import Workflow
from chalicelib.domain.protocol import decode_pairs
from chalicelib.domain.states import AttemptState, JobState, RunState
from chalicelib.engine.records import AttemptRecord, JobRecord, RunRecord
from chalicelib.launch.base import (
    NO_OFFSETS,
    ContainerExit,
    ContainerRef,
    ContainerSpec,
    Launcher,
    OutputChunk,
    Started,
    StreamOffsets,
)
from chalicelib.local.driver import LocalDriver
from chalicelib.store.sqlite import SqliteStore, open_store
from tests.builders import action, job, stage, workflow
from tests.fakes.launcher import FakeLauncher, Script, hangs, prints
from tests.local.conftest import wait_until

# Measured on this machine (Python's allocations under tracemalloc, for the whole run): a
# peak of 0.83 MB for 1,000 instances and 0.72 MB for 10,000, i.e. flat. 4 MiB leaves room
# for allocator and SQLite-page variance, and is still far below what holding anything per
# waiting instance would cost (a JobRecord, a plan or a worker each is over 1 KiB: 10,000 of
# them are over 10 MB).
PEAK_LIMIT_BYTES = 4 * 1024 * 1024


class CountingLauncher(FakeLauncher):
    """The fake engine, counting the containers running at once (from start to exit)."""

    def __init__(self) -> None:
        super().__init__()
        self.running = 0
        self.peak = 0
        self._count_lock = threading.Lock()
        self._exited: set[str] = set()
        self.never_started: set[str] = set()  # created, and never started by a dead process

    def start(self, spec: ContainerSpec) -> Started:
        started = super().start(spec)
        with self._count_lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        return started

    def wait(self, container: ContainerRef, timeout: float | None = None) -> ContainerExit | None:
        if container.id in self.never_started:
            return ContainerExit(-1, None, None, error="the container was created but never started")
        exit_info = super().wait(container, timeout)
        with self._count_lock:
            if exit_info is not None and container.id not in self._exited:
                self._exited.add(container.id)
                self.running -= 1
        return exit_info


class Bench:
    def __init__(self, store: SqliteStore, launcher: FakeLauncher, data_dir: Path) -> None:
        self.store, self.launcher, self.data_dir = store, launcher, data_dir

    def driver(self, max_containers: int = 16) -> LocalDriver:
        return LocalDriver(self.store, self.launcher, InMemoryCatalog(), self.data_dir, logs=self.store,
                           warm_start=False, container_user="1000:1000", max_containers=max_containers)

    def start(self, flow: Workflow, driver: LocalDriver | None = None) -> RunRecord:
        self.store.save_workflow(flow)
        return (driver or self.driver()).create_run(flow.metadata.namespace, flow.metadata.name, {})

    def run(self, flow: Workflow, driver: LocalDriver | None = None) -> RunRecord:
        driver = driver or self.driver()
        return driver.execute(self.start(flow, driver).id)

    def job(self, run_id: str, name: str) -> JobRecord:
        return self.store.get_job(run_id, name)

    def instances(self, run_id: str, name: str = "test") -> dict[int, JobRecord]:
        return {r.instance: r for r in self.store.every_instance(run_id, name) if r.instance is not None}

    def in_background(self, run_id: str, driver: LocalDriver | None = None) -> threading.Thread:
        chosen = driver or self.driver()
        thread = threading.Thread(target=lambda: chosen.execute(run_id))
        thread.start()
        return thread


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    store = open_store(tmp_path / "data")
    yield Bench(store, CountingLauncher(), tmp_path / "data")
    store.close()


def fan_out(**fields: Any) -> Workflow:
    """One stage with the fan-out job `test`, then a stage with `report` after it."""
    return workflow(
        stage("test", action("test", job("test", **fields))),
        stage("report", action("report", job("report", data={
            "total": "${{ jobs.test.outputs.COUNT }}",
            "third": "${{ jobs.test.instances[2].outputs.COUNT }}",
            "succeeded": "${{ jobs.test.outputs.CO_INSTANCES_SUCCEEDED }}",
        }))),
    )


def script(bench: Bench, name: str, *attempts: Script) -> None:
    bench.launcher.scripts[name] = list(attempts)


def env_of(bench: Bench, name: str) -> dict[str, str]:
    return dict(bench.launcher.launched(name)[0].spec.env)


# --- a group that runs ----------------------------------------------------------------------


def test_every_instance_runs_once_and_later_jobs_read_the_outputs_as_lists(bench: Bench) -> None:
    for index in range(6):
        script(bench, f"test.{index}", prints(f"[COUT] COUNT = {index * 10}"))
    run = bench.run(fan_out(shards=6, outputs=["COUNT"]))
    assert run.status is RunState.SUCCEEDED
    group = bench.job(run.id, "test")
    assert group.status is JobState.SUCCEEDED
    assert group.outputs["COUNT"] == '["0","10","20","30","40","50"]'
    assert (group.outputs["CO_INSTANCES"], group.outputs["CO_INSTANCES_SUCCEEDED"]) == ("6", "6")
    assert {i: r.status for i, r in bench.instances(run.id).items()} == dict.fromkeys(range(6),
                                                                                      JobState.SUCCEEDED)
    assert all(len(bench.launcher.launched(f"test.{i}")) == 1 for i in range(6))
    report = decode_pairs(env_of(bench, "report")["CO_DATA"])
    assert report == {"total": '["0","10","20","30","40","50"]', "third": "20", "succeeded": "6"}
    assert [j.name for j in bench.store.list_jobs(run.id)] == ["test", "report"]


def test_the_groups_lists_are_files_in_the_runs_workspace_folder(bench: Bench) -> None:
    for index in range(3):
        script(bench, f"test.{index}", prints(f"[COUT] COUNT = {index}"))
    run = bench.run(fan_out(shards=3, outputs=["COUNT"]))
    listed = bench.data_dir / "workspaces" / run.id / ".containerops/fanout/test/COUNT.json"
    assert listed.read_text() == '["0","1","2"]'
    assert bench.job(run.id, "test").outputs["CO_LISTS_DIR"] == "/workspace/.containerops/fanout/test"


class FileWhereTheListsGo(CountingLauncher):
    """Each container leaves a file where the group's lists folder would be made."""

    def __init__(self, workspaces: Path) -> None:
        super().__init__()
        self.workspaces = workspaces

    def start(self, spec: ContainerSpec) -> Started:
        for folder in self.workspaces.iterdir():
            (folder / ".containerops").write_text("a job's file where the folder would go")
        return super().start(spec)


def test_a_group_whose_lists_cannot_be_written_fails_saying_why_and_the_run_goes_on_to_its_end(
        tmp_path: Path) -> None:
    store = open_store(tmp_path / "data")
    bench = Bench(store, FileWhereTheListsGo(tmp_path / "data" / "workspaces"), tmp_path / "data")
    script(bench, "test.0", prints("[COUT] COUNT = 1"))
    try:
        run = bench.run(fan_out(shards=1, outputs=["COUNT"]))
        group, report = bench.job(run.id, "test"), bench.job(run.id, "report")
    finally:
        store.close()
    assert (run.status, group.status) == (RunState.FAILED, JobState.FAILED)
    assert group.reason.startswith("the output lists of job 'test' could not be written to the workspace: ")
    assert report.status is JobState.SKIPPED


def test_each_container_gets_its_shard_variables_and_matrix_values(bench: Bench) -> None:
    flow = fan_out(shards=2, matrix={"python": ["3.11", "3.12"]},
                   env={"PY": "${{ matrix.python }}"})
    run = bench.run(flow)
    assert run.status is RunState.SUCCEEDED
    env = env_of(bench, "test.3")
    assert (env["CO_INSTANCE_INDEX"], env["CO_INSTANCE_COUNT"]) == ("3", "4")
    assert (env["CO_SHARD_INDEX"], env["CO_SHARD_COUNT"], env["PY"]) == ("1", "2", "3.12")
    assert env["CO_JOB"] == "test.3"
    assert env_of(bench, "test.0")["PY"] == "3.11"


def test_never_more_than_max_parallel_instances_run_at_once(bench: Bench) -> None:
    run = bench.run(fan_out(shards=30, max_parallel=3))
    assert run.status is RunState.SUCCEEDED
    assert isinstance(bench.launcher, CountingLauncher) and bench.launcher.peak <= 3
    assert len(bench.instances(run.id)) == 30


def test_the_machine_bound_holds_across_jobs_and_groups(bench: Bench) -> None:
    flow = workflow(stage("all", action("a", job("test", shards=20)), action("b", job("other", shards=20)),
                          action("c", job("plain"))))
    driver = bench.driver(max_containers=4)
    run = bench.run(flow, driver)
    assert run.status is RunState.SUCCEEDED
    assert driver.slots.peak <= 4 and driver.slots.taken == 0
    assert isinstance(bench.launcher, CountingLauncher) and bench.launcher.peak <= 4


def test_an_instance_whose_condition_is_false_is_skipped(bench: Bench) -> None:
    run = bench.run(fan_out(matrix={"os": ["linux", "mac"]}, if_="${{ matrix.os == 'linux' }}"))
    instances = bench.instances(run.id)
    assert (instances[0].status, instances[1].status) == (JobState.SUCCEEDED, JobState.SKIPPED)
    assert bench.launcher.launched("test.1") == [] and run.status is RunState.SUCCEEDED


def test_a_group_whose_every_instance_is_skipped_is_skipped(bench: Bench) -> None:
    run = bench.run(fan_out(shards=3, if_="${{ matrix.os == 'mac' }}", matrix={"os": ["linux"]}))
    assert bench.job(run.id, "test").status is JobState.SKIPPED


# --- failures -----------------------------------------------------------------------------------


def test_fail_fast_stops_the_running_instances_and_starts_no_more(bench: Bench) -> None:
    for index in range(10):
        script(bench, f"test.{index}", hangs())
    script(bench, "test.1", prints(exit_code=1))
    run = bench.run(fan_out(shards=10, max_parallel=3))
    group = bench.job(run.id, "test")
    assert (group.status, group.reason) == (JobState.FAILED, "1 of 10 instances failed (allowed: 0)")
    instances = bench.instances(run.id)
    assert instances[1].status is JobState.FAILED
    assert {instances[0].status, instances[2].status} == {JobState.CANCELLED}
    assert instances[0].reason == "stopped: instance 1 failed"
    assert len(instances) <= 4  # 0..2 started, at most one more before the failure was read
    assert run.status is RunState.FAILED and bench.job(run.id, "report").status is JobState.SKIPPED


def test_without_fail_fast_the_others_go_on_and_the_group_fails_at_its_end(bench: Bench) -> None:
    script(bench, "test.1", prints(exit_code=1))
    run = bench.run(fan_out(shards=8, max_parallel=2, fail_fast=False))
    group = bench.job(run.id, "test")
    assert (group.status, group.reason) == (JobState.FAILED, "1 of 8 instances failed (allowed: 0)")
    states = [r.status for r in bench.instances(run.id).values()]
    assert states.count(JobState.SUCCEEDED) == 7


def test_failures_within_allowed_failures_let_the_group_succeed(bench: Bench) -> None:
    script(bench, "test.1", prints(exit_code=1))
    script(bench, "test.4", prints(exit_code=1))
    run = bench.run(fan_out(shards=10, allowed_failures="20%", outputs=["COUNT"]))
    group = bench.job(run.id, "test")
    assert (group.status, group.reason) == (JobState.SUCCEEDED, "2 of 10 instances failed (allowed: 2)")
    assert group.outputs["CO_INSTANCES_FAILED"] == "2" and run.status is RunState.SUCCEEDED


def test_a_hanging_instance_fails_on_its_timeout_while_the_others_go_on(bench: Bench) -> None:
    script(bench, "test.2", hangs("stuck"))
    run = bench.run(fan_out(shards=6, timeout="100ms", fail_fast=False))
    instances = bench.instances(run.id)
    assert (instances[2].status, instances[2].reason) == (JobState.FAILED, "timeout")
    assert [instances[i].status for i in (0, 1, 3, 4, 5)] == [JobState.SUCCEEDED] * 5
    assert bench.job(run.id, "test").status is JobState.FAILED


def test_a_hanging_instance_that_times_out_stops_the_queue_with_fail_fast(bench: Bench) -> None:
    every_instance_hangs(bench, 6)
    run = bench.run(workflow(stage("test", action("test", job(
        "test", shards=6, max_parallel=1, timeout="100ms")))))
    instances = bench.instances(run.id)
    assert [(i, r.status, r.reason) for i, r in instances.items()] == [(0, JobState.FAILED, "timeout")]
    assert len(bench.launcher.containers) == 1  # the five queued never started
    assert bench.job(run.id, "test").status is JobState.FAILED


def test_an_instance_is_retried_with_attempts_of_its_own(bench: Bench) -> None:
    script(bench, "test.1", prints("flaky", exit_code=1), prints("ok"))
    run = bench.run(fan_out(shards=3, retries={"limit": 1, "backoff": "0s"}))
    assert run.status is RunState.SUCCEEDED
    assert [a.status for a in bench.store.list_attempts(run.id, "test.1")] == [
        AttemptState.FAILED, AttemptState.SUCCEEDED]
    assert [line.text for line in bench.store.read_logs(run.id, "test.1", 1)] == ["flaky"]
    assert bench.instances(run.id)[1].attempts == 2


# --- cancel, restart, re-run ------------------------------------------------------------------


def every_instance_hangs(bench: Bench, count: int) -> None:
    for index in range(count):
        script(bench, f"test.{index}", hangs())


def test_a_cancel_with_thousands_queued_stops_the_running_and_starts_none_of_the_rest(
    bench: Bench,
) -> None:
    every_instance_hangs(bench, 9004)
    driver = bench.driver()
    run = bench.start(fan_out(shards=9004, max_parallel=4), driver)
    thread = bench.in_background(run.id, driver)
    wait_until(lambda: len(bench.instances(run.id)) == 4)
    driver.cancel(run.id)
    thread.join(timeout=10)
    assert not thread.is_alive()  # the cancel completed in seconds
    ended = bench.store.get_run(run.id)
    group = bench.job(run.id, "test")
    assert (ended.status, group.status, group.reason) == (RunState.CANCELLED, JobState.CANCELLED,
                                                          "cancelled")
    assert len(bench.launcher.containers) == 4  # the 9,000 queued never started
    assert bench.store.instance_counts(run.id, "test") == {JobState.CANCELLED: 4}


def left_mid_group(bench: Bench, flow: Workflow) -> RunRecord:
    """A run as a process that died while its group `test` ran left it."""
    run = bench.start(flow)
    bench.store.save_run(RunRecord(**{**run.__dict__, "status": RunState.RUNNING,
                                      "started_at": run.created_at}))
    group = bench.job(run.id, "test")
    group.status, group.started_at = JobState.RUNNING, run.created_at
    bench.store.save_job(group)
    return run


def instance_record(run: RunRecord, index: int, status: JobState, **fields: Any) -> JobRecord:
    return JobRecord(run.id, f"test.{index}", 0, 0, 0, status, group="test", instance=index,
                     started_at=run.created_at, **fields)


def test_a_restart_mid_group_finishes_it_starting_nothing_twice_and_losing_nothing(
    bench: Bench,
) -> None:
    for index in range(8):
        script(bench, f"test.{index}", prints(f"[COUT] COUNT = {index}"))
    flow = fan_out(shards=8, max_parallel=3, outputs=["COUNT"], retries={"limit": 1, "backoff": "0s"})
    run = left_mid_group(bench, flow)
    store = bench.store
    store.create_instance(instance_record(run, 0, JobState.SUCCEEDED, attempts=1, outputs={"COUNT": "0"}))
    # 1: its container still runs; 2: its container is gone; 3: recorded, never got its attempt
    for index in (1, 2, 3):
        store.create_instance(instance_record(run, index, JobState.RUNNING, attempts=1 if index < 3 else 0))
    store.create_attempt(AttemptRecord(run.id, "test.1", 1, container_id="fake-1"))
    store.create_attempt(AttemptRecord(run.id, "test.2", 1, container_id="gone"))
    labels = {"containerops.run": run.id, "containerops.job": "test.1", "containerops.attempt": "1"}
    bench.launcher.leave_running(ContainerSpec("busybox:1", {}, labels), prints("[COUT] COUNT = 1"))
    ended = bench.driver().execute(run.id)
    assert ended.status is RunState.SUCCEEDED
    group = bench.job(run.id, "test")
    assert group.outputs["COUNT"] == '["0","1","2","3","4","5","6","7"]'
    launched = {i: len(bench.launcher.launched(f"test.{i}")) for i in range(8)}
    assert launched == {0: 0, 1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 7: 1}  # 1 re-attached, not started again
    assert [a.status for a in store.list_attempts(run.id, "test.2")] == [AttemptState.FAILED,
                                                                          AttemptState.SUCCEEDED]
    assert store.list_attempts(run.id, "test.2")[0].reason == "container lost while ContainerOps was down"


def test_a_restart_starts_afresh_an_instance_whose_container_was_created_but_never_started(
    bench: Bench,
) -> None:
    run = left_mid_group(bench, fan_out(shards=2))
    bench.store.create_instance(instance_record(run, 0, JobState.RUNNING, attempts=1))
    bench.store.create_attempt(AttemptRecord(run.id, "test.0", 1))
    labels = {"containerops.run": run.id, "containerops.job": "test.0", "containerops.attempt": "1"}
    created = bench.launcher.leave_running(ContainerSpec("busybox:1", {}, labels), prints())
    assert isinstance(bench.launcher, CountingLauncher)
    bench.launcher.never_started.add(created.ref.id)
    assert bench.driver().execute(run.id).status is RunState.SUCCEEDED
    assert [a.status for a in bench.store.list_attempts(run.id, "test.0")] == [AttemptState.SUCCEEDED]
    assert created.removed and len(bench.launcher.launched("test.0")) == 2  # the left one, then its own


def test_a_rerun_from_failure_runs_again_only_the_failed_instances(bench: Bench) -> None:
    for index in range(10):
        script(bench, f"test.{index}", prints(f"[COUT] COUNT = {index}"))
    for index in (3, 7):
        script(bench, f"test.{index}", prints(exit_code=1), prints(f"[COUT] COUNT = {index}"))
    flow = fan_out(shards=10, fail_fast=False, outputs=["COUNT"])
    failed = bench.run(flow)
    assert bench.job(failed.id, "test").reason == "2 of 10 instances failed (allowed: 0)"
    driver = bench.driver()
    rerun = driver.execute(driver.rerun_from_failure(failed.id).id)
    assert rerun.status is RunState.SUCCEEDED
    instances = bench.instances(rerun.id)
    assert {i for i, r in instances.items() if r.status is JobState.REUSED} == {0, 1, 2, 4, 5, 6, 8, 9}
    assert (instances[3].status, instances[7].status) == (JobState.SUCCEEDED, JobState.SUCCEEDED)
    assert instances[5].outputs == {"COUNT": "5"}
    assert {i: len(bench.launcher.launched(f"test.{i}")) for i in range(10)} == {
        i: 2 if i in (3, 7) else 1 for i in range(10)}
    assert bench.job(rerun.id, "test").outputs["COUNT"] == '["0","1","2","3","4","5","6","7","8","9"]'


# --- 10,000 instances ----------------------------------------------------------------------------


class TrivialLauncher(Launcher):
    """An engine whose every container prints nothing and exits 0 at once, and that forgets a
    container once removed (so what the test measures is the driver's memory, not its own)."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._alive: dict[str, ContainerRef] = {}
        self._lock = threading.Lock()
        self.started = 0

    def ping(self) -> None:
        pass

    def start(self, spec: ContainerSpec) -> Started:
        ref = ContainerRef(f"trivial-{next(self._ids)}", dict(spec.labels))
        with self._lock:
            self._alive[ref.id] = ref
            self.started += 1
        return Started(ref, iter(()))

    def output(self, container: ContainerRef, skip: StreamOffsets = NO_OFFSETS) -> Iterator[OutputChunk]:
        return iter(())

    def wait(self, container: ContainerRef, timeout: float | None = None) -> ContainerExit | None:
        return ContainerExit(0, 1.0, 2.0)

    def stop(self, container: ContainerRef, grace: float = 5.0) -> None:
        pass

    def remove(self, container: ContainerRef) -> None:
        with self._lock:
            self._alive.pop(container.id, None)

    def find(self, labels: dict[str, str]) -> list[ContainerRef]:
        with self._lock:
            return [c for c in self._alive.values() if all(c.labels.get(k) == v for k, v in labels.items())]


def traced_peak_of_a_run(tmp_path: Path, shards: int) -> tuple[RunRecord, int, SqliteStore]:
    store = open_store(tmp_path / f"data-{shards}")
    launcher = TrivialLauncher()
    driver = LocalDriver(store, launcher, InMemoryCatalog(), tmp_path / f"data-{shards}", logs=store,
                         warm_start=False, container_user="1000:1000", max_containers=8)
    flow = workflow(stage("test", action("test", job("test", shards=shards))))
    store.save_workflow(flow)
    run = driver.create_run("demo", "ci", {})
    tracemalloc.start()
    try:
        ended = driver.execute(run.id)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert launcher.started == shards
    return ended, peak, store


def test_ten_thousand_instances_finish_in_memory_that_does_not_grow_with_the_queue(tmp_path: Path) -> None:
    small, small_peak, small_store = traced_peak_of_a_run(tmp_path, 1_000)
    large, large_peak, large_store = traced_peak_of_a_run(tmp_path, 10_000)
    try:
        assert (small.status, large.status) == (RunState.SUCCEEDED, RunState.SUCCEEDED)
        assert large_store.instance_counts(large.id, "test") == {JobState.SUCCEEDED: 10_000}
        assert large_store.get_job(large.id, "test").outputs["CO_INSTANCES_SUCCEEDED"] == "10000"
        # Ten times the instances must not cost ten times the memory: only the (at most 8)
        # running instances are held, the queue is an index.
        assert large_peak < PEAK_LIMIT_BYTES, (small_peak, large_peak)
        assert large_peak < 2 * small_peak + 1_000_000, (small_peak, large_peak)
    finally:
        small_store.close()
        large_store.close()


def test_two_runs_at_once_share_the_machine_bound(bench: Bench) -> None:
    driver = bench.driver(max_containers=3)
    first = bench.start(fan_out(shards=12), driver)
    second = bench.start(fan_out(shards=12), driver)
    threads = [bench.in_background(run.id, driver) for run in (first, second)]
    for thread in threads:
        thread.join(timeout=60)
    assert {bench.store.get_run(run.id).status for run in (first, second)} == {RunState.SUCCEEDED}
    assert driver.slots.peak <= 3
    assert isinstance(bench.launcher, CountingLauncher) and bench.launcher.peak <= 3


def test_a_group_reused_whole_keeps_its_instances_for_the_jobs_that_read_them(bench: Bench) -> None:
    for index in range(4):
        script(bench, f"test.{index}", prints(f"[COUT] COUNT = {index}"))
    script(bench, "report", prints(exit_code=1), prints())
    failed = bench.run(fan_out(shards=4, outputs=["COUNT"]))
    assert bench.job(failed.id, "report").status is JobState.FAILED
    driver = bench.driver()
    rerun = driver.execute(driver.rerun_from_failure(failed.id).id)
    assert rerun.status is RunState.SUCCEEDED
    assert bench.job(rerun.id, "test").status is JobState.REUSED
    assert bench.store.instance_counts(rerun.id, "test") == {JobState.REUSED: 4}
    report = decode_pairs(bench.launcher.launched("report")[1].spec.env["CO_DATA"])
    assert report["third"] == "2" and report["total"] == '["0","1","2","3"]'
    assert all(len(bench.launcher.launched(f"test.{i}")) == 1 for i in range(4))
