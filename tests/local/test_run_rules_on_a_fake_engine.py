"""The local driver acting on the engine's run rules, on the CPU alone: a scripted fake
engine (tests/fakes/launcher.py) instead of Docker, a real SQLite file.

Failure stops the run, continue_on_error, retries with backoff, timeout, cancel, skip,
reuse, and a restart from every state a dead process can leave in the store.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.catalog import InMemoryCatalog
from chalicelib.domain.models import Workflow
from chalicelib.domain.protocol import MAX_OUTPUT_VALUE_BYTES, decode_pairs
from chalicelib.domain.states import AttemptState, JobState, RunState
from chalicelib.engine.engine import JobPlan, RunContext, plan_job
from chalicelib.engine.records import EVERY_JOB, AttemptRecord, JobRecord, RerunKind, RerunScope, RunRecord
from chalicelib.launch.base import ContainerSpec
from chalicelib.local.attempt import AttemptSettings, container_spec
from chalicelib.local.driver import LocalDriver
from chalicelib.store.sqlite import SqliteStore, open_store
from tests.builders import action, job, stage, workflow
from tests.fakes.launcher import FakeLauncher, Script, hangs, prints
from tests.local.conftest import wait_until


@dataclass
class Bench:
    store: SqliteStore
    launcher: FakeLauncher
    data_dir: Path

    def driver(self) -> LocalDriver:
        """A driver as a new process would make it: the same store and engine."""
        return LocalDriver(self.store, self.launcher, InMemoryCatalog(), self.data_dir,
                           logs=self.store, warm_start=False, container_user="1000:1000")

    def start(self, flow: Workflow, **params: str) -> RunRecord:
        self.store.save_workflow(flow)
        return self.driver().create_run(flow.metadata.namespace, flow.metadata.name, params)

    def run(self, flow: Workflow, **params: str) -> RunRecord:
        return self.driver().execute(self.start(flow, **params).id)

    def jobs(self, run_id: str) -> dict[str, JobRecord]:
        return {record.name: record for record in self.store.list_jobs(run_id)}

    def states(self, run_id: str) -> dict[str, JobState]:
        return {name: record.status for name, record in self.jobs(run_id).items()}

    def log(self, run_id: str, job_name: str, attempt: int = 1) -> list[str]:
        return [line.text for line in self.store.read_logs(run_id, job_name, attempt)]

    def execute_in_background(self, run_id: str) -> tuple[threading.Thread, list[RunRecord]]:
        ended: list[RunRecord] = []
        thread = threading.Thread(target=lambda: ended.append(self.driver().execute(run_id)))
        thread.start()
        return thread, ended


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    store = open_store(tmp_path / "data")
    yield Bench(store, FakeLauncher(), tmp_path / "data")
    store.close()


def script(bench: Bench, job_name: str, *attempts: Script) -> None:
    bench.launcher.scripts[job_name] = list(attempts)


def three_stages(**fields_of: dict[str, Any]) -> Workflow:
    """build -> (lint | test) -> release; `fields_of` adds fields to a job by name."""
    def one(name: str) -> dict[str, Any]:
        return job(name, **fields_of.get(name, {}))
    return workflow(
        stage("build", action("build", one("build"))),
        stage("verify", action("lint", one("lint")), action("test", one("test"))),
        stage("release", action("release", one("release"))),
    )


# --- failure, continue_on_error, skip -------------------------------------------------------


def test_every_job_succeeding_makes_a_successful_run(bench: Bench) -> None:
    script(bench, "build", prints("[COUT] IMAGE = app:1"))
    run = bench.run(three_stages(release={"data": {"image": "${{ jobs.build.outputs.IMAGE }}"}}))
    assert run.status is RunState.SUCCEEDED and run.reason == ""
    assert set(bench.states(run.id).values()) == {JobState.SUCCEEDED}
    release = bench.launcher.launched("release")[0].spec
    assert decode_pairs(release.env["CO_DATA"]) == {"image": "app:1"}


def test_a_failed_job_stops_the_run_and_later_jobs_are_not_run(bench: Bench) -> None:
    script(bench, "lint", prints("E501 line too long", exit_code=3))
    script(bench, "test", hangs())
    run = bench.run(three_stages())
    assert (run.status, run.reason) == (RunState.FAILED,
                                        "job 'lint' failed: container exited with code 3")
    jobs = bench.jobs(run.id)
    assert (jobs["lint"].status, jobs["lint"].exit_code) == (JobState.FAILED, 3)
    assert (jobs["test"].status, jobs["test"].reason) == (JobState.CANCELLED,
                                                          "stopped: job 'lint' failed")
    assert (jobs["release"].status, jobs["release"].reason) == (
        JobState.SKIPPED, "not run: job 'lint' failed: container exited with code 3")
    assert bench.launcher.launched("release") == []


def test_a_failed_job_that_may_continue_on_error_lets_the_run_go_on(bench: Bench) -> None:
    script(bench, "lint", prints(exit_code=1))
    run = bench.run(three_stages(lint={"continue_on_error": True}))
    assert run.status is RunState.SUCCEEDED
    assert bench.states(run.id) == {"build": JobState.SUCCEEDED, "lint": JobState.FAILED,
                                    "test": JobState.SUCCEEDED, "release": JobState.SUCCEEDED}


def test_a_job_whose_condition_is_false_is_skipped_and_the_run_goes_on(bench: Bench) -> None:
    run = bench.run(three_stages(test={"if_": "${{ params.ref == 'release' }}"}))
    jobs = bench.jobs(run.id)
    assert run.status is RunState.SUCCEEDED
    assert (jobs["test"].status, jobs["test"].reason) == (
        JobState.SKIPPED, "condition is false: ${{ params.ref == 'release' }}")
    assert bench.launcher.launched("test") == []


def test_a_job_whose_component_is_unknown_fails_without_a_container(bench: Bench) -> None:
    run = bench.run(three_stages(lint={"component": "demo/missing@1.0.0"}))
    jobs = bench.jobs(run.id)
    assert run.status is RunState.FAILED
    assert jobs["lint"].status is JobState.FAILED and "demo/missing@1.0.0" in jobs["lint"].reason
    assert bench.launcher.launched("lint") == []


def test_a_component_reporting_failure_fails_its_job_though_it_exits_zero(bench: Bench) -> None:
    script(bench, "build", prints("[COUT] CO_RESULT = false"))
    run = bench.run(three_stages())
    assert bench.jobs(run.id)["build"].reason == "component reported CO_RESULT = false"


def test_secrets_never_reach_the_stored_log_or_outputs(bench: Bench) -> None:
    flow = three_stages(build={"env": {"TOKEN": "${{ secrets.DEPLOY_TOKEN }}"}})
    script(bench, "build", prints("using s3cr3t-value-42", "[COUT] LEAK = s3cr3t-value-42"))
    bench.store.save_workflow(flow)
    driver = LocalDriver(bench.store, bench.launcher, InMemoryCatalog(), bench.data_dir,
                         logs=bench.store, warm_start=False, secrets={"DEPLOY_TOKEN": "s3cr3t-value-42"})
    run = driver.execute(driver.create_run("demo", "ci", {}).id)
    assert bench.log(run.id, "build") == ["using ***", "[COUT] LEAK = ***"]
    assert bench.jobs(run.id)["build"].outputs == {"LEAK": "***"}


# --- retries, timeout, cancel ---------------------------------------------------------------


def test_a_failed_attempt_is_retried_and_each_attempt_keeps_its_own_log(bench: Bench) -> None:
    script(bench, "build", prints("flaky", exit_code=1), prints("[COUT] DONE = yes"))
    run = bench.run(three_stages(build={"retries": {"limit": 2, "backoff": "0s"}}))
    build = bench.jobs(run.id)["build"]
    assert (run.status, build.status, build.attempts, build.outputs) == (
        RunState.SUCCEEDED, JobState.SUCCEEDED, 2, {"DONE": "yes"})
    attempts = bench.store.list_attempts(run.id, "build")
    assert [(a.number, a.status) for a in attempts] == [(1, AttemptState.FAILED),
                                                         (2, AttemptState.SUCCEEDED)]
    assert bench.log(run.id, "build", 1) == ["flaky"]
    assert bench.log(run.id, "build", 2) == ["[COUT] DONE = yes"]


def test_a_job_that_fails_every_attempt_fails_after_its_last_retry(bench: Bench) -> None:
    script(bench, "build", prints(exit_code=2))
    run = bench.run(three_stages(build={"retries": {"limit": 2, "backoff": "0s"}}))
    assert bench.jobs(run.id)["build"].attempts == 3
    assert len(bench.launcher.launched("build")) == 3 and run.status is RunState.FAILED


def test_an_attempt_past_its_timeout_is_stopped_and_fails_with_timeout(bench: Bench) -> None:
    script(bench, "build", hangs("working"))
    run = bench.run(three_stages(build={"timeout": "50ms"}))
    build = bench.jobs(run.id)["build"]
    assert (build.status, build.reason) == (JobState.FAILED, "timeout")
    assert bench.log(run.id, "build") == ["working", "[containerops] stopped: timeout after 0.05s"]
    assert bench.launcher.launched("build")[0].stopped.is_set()


def test_a_run_past_the_workflow_timeout_is_stopped(bench: Bench) -> None:
    script(bench, "build", hangs())
    flow = workflow(stage("only", action("a", job("build"))), timeout="50ms")
    run = bench.run(flow)
    assert (run.status, run.reason) == (RunState.FAILED, "workflow timeout")
    build = bench.jobs(run.id)["build"]
    assert (build.status, build.reason) == (JobState.CANCELLED, "stopped: workflow timeout")


def test_cancelling_stops_the_running_jobs_and_skips_the_rest(bench: Bench) -> None:
    script(bench, "build", hangs())
    started = bench.start(three_stages())
    thread, ended = bench.execute_in_background(started.id)
    bench.launcher.wait_until_started("build")
    bench.store.request_cancel(started.id)
    thread.join(timeout=30)
    assert (ended[0].status, ended[0].reason) == (RunState.CANCELLED, "cancelled")
    assert bench.states(started.id) == {"build": JobState.CANCELLED, "lint": JobState.SKIPPED,
                                        "test": JobState.SKIPPED, "release": JobState.SKIPPED}
    assert bench.jobs(started.id)["lint"].reason == "not run: cancelled"


def test_a_job_cancelled_while_it_waits_to_retry_is_not_retried(bench: Bench) -> None:
    script(bench, "build", prints(exit_code=1))
    started = bench.start(three_stages(build={"retries": {"limit": 5, "backoff": "1h"}}))
    thread, ended = bench.execute_in_background(started.id)
    wait_until(lambda: [a.status for a in bench.store.list_attempts(started.id, "build")]
               == [AttemptState.FAILED])
    bench.store.request_cancel(started.id)
    thread.join(timeout=30)
    build = bench.jobs(started.id)["build"]
    assert (ended[0].status, build.status, build.reason, build.attempts) == (
        RunState.CANCELLED, JobState.CANCELLED, "cancelled", 1)



# --- re-run from failure ------------------------------------------------------------------


def test_a_rerun_from_failure_reuses_what_succeeded_and_runs_the_rest(bench: Bench) -> None:
    script(bench, "build", prints("[COUT] IMAGE = app:1"))
    script(bench, "lint", prints(exit_code=1), prints())
    flow = three_stages(release={"data": {"image": "${{ jobs.build.outputs.IMAGE }}"}})
    failed = bench.run(flow)
    assert failed.status is RunState.FAILED
    driver = bench.driver()
    rerun = driver.execute(driver.rerun_from_failure(failed.id).id)
    jobs = bench.jobs(rerun.id)
    assert rerun.status is RunState.SUCCEEDED
    assert (jobs["build"].status, jobs["build"].outputs) == (JobState.REUSED, {"IMAGE": "app:1"})
    assert jobs["build"].reason == "reused: it succeeded in the run this one re-runs"
    assert len(bench.launcher.launched("build")) == 1  # not run again
    release = bench.launcher.launched("release")[0].spec
    assert decode_pairs(release.env["CO_DATA"]) == {"image": "app:1"}


def test_a_re_run_of_one_job_of_a_succeeded_run_runs_it_and_what_it_feeds_and_reuses_the_rest(
    bench: Bench
) -> None:
    script(bench, "build", prints("[COUT] IMAGE = app:1"), prints("[COUT] IMAGE = app:2"))
    flow = three_stages(lint={"data": {"image": "${{ jobs.build.outputs.IMAGE }}"}})
    first = bench.run(flow)
    driver = bench.driver()
    rerun = driver.execute(driver.rerun(first.id, RerunScope(RerunKind.JOBS, ("build",))).id)
    assert rerun.status is RunState.SUCCEEDED
    assert bench.states(rerun.id) == {"build": JobState.SUCCEEDED, "lint": JobState.SUCCEEDED,
                                      "test": JobState.REUSED, "release": JobState.REUSED}
    assert [len(bench.launcher.launched(name)) for name in ("build", "lint", "test", "release")] == [
        2, 2, 1, 1]
    lint = bench.launcher.launched("lint")[1].spec
    assert decode_pairs(lint.env["CO_DATA"]) == {"image": "app:2"}


def test_a_re_run_of_a_job_of_an_older_success_runs_again_what_ran_before_it(
    bench: Bench
) -> None:
    # Only the newest success keeps its workspace: a job of the older one runs again with
    # the jobs that made its files; of the newest, only the job runs again.
    older = bench.run(three_stages())
    newest = bench.run(three_stages())
    assert not (bench.data_dir / "workspaces" / older.id).exists()
    driver = bench.driver()
    of_newest = driver.execute(driver.rerun(newest.id, RerunScope(RerunKind.JOBS, ("lint",))).id)
    assert bench.states(of_newest.id) == {"build": JobState.REUSED, "lint": JobState.SUCCEEDED,
                                          "test": JobState.REUSED, "release": JobState.REUSED}
    of_older = driver.execute(driver.rerun(older.id, RerunScope(RerunKind.JOBS, ("lint",))).id)
    assert bench.states(of_older.id) == {"build": JobState.SUCCEEDED, "lint": JobState.SUCCEEDED,
                                         "test": JobState.REUSED, "release": JobState.REUSED}
    # Each success in turn was the newest: only the last one's workspace is left of them.
    kept = sorted(path.name for path in (bench.data_dir / "workspaces").iterdir())
    assert kept == [of_older.id]


def test_a_re_run_of_every_job_reuses_nothing_and_starts_from_an_empty_workspace(bench: Bench) -> None:
    script(bench, "lint", prints(exit_code=1))
    failed = bench.run(three_stages())
    workspaces = bench.data_dir / "workspaces"
    (workspaces / failed.id / "left-by-build").write_text("built")
    driver = bench.driver()
    every = driver.execute(driver.rerun(failed.id, EVERY_JOB).id)
    again = driver.execute(driver.rerun(failed.id, RerunScope(RerunKind.JOBS, ("lint",))).id)
    assert (bench.states(every.id)["build"], bench.states(every.id)["lint"]) == (
        JobState.SUCCEEDED, JobState.FAILED)  # lint fails again: both runs keep their workspaces
    assert len(bench.launcher.launched("build")) == 2  # the first run's and `every`'s
    assert not (workspaces / every.id / "left-by-build").exists()
    assert bench.states(again.id)["build"] is JobState.REUSED
    assert (workspaces / again.id / "left-by-build").read_text() == "built"


# --- restart from every stored state -----------------------------------------------------


def left_by_a_dead_process(
    bench: Bench, flow: Workflow, *, run_status: RunState = RunState.RUNNING
) -> RunRecord:
    """A run as a process that died mid-run left it (its jobs pending until a test says)."""
    run = bench.start(flow)
    bench.store.save_run(replace(run, status=run_status, started_at=run.created_at))
    return run


def job_record(run: RunRecord, name: str, status: JobState, **fields: Any) -> JobRecord:
    positions = {"build": (0, 0), "lint": (1, 0), "test": (1, 1), "release": (2, 0)}
    stage_index, action_index = positions[name]
    return JobRecord(run.id, name, stage_index, action_index, 0, status, **fields)


def test_a_finished_run_is_left_as_it_is(bench: Bench) -> None:
    done = bench.run(three_stages())
    launched = len(bench.launcher.containers)
    assert bench.driver().execute(done.id) == done
    assert len(bench.launcher.containers) == launched


def test_a_queued_run_a_process_never_began_runs_from_the_start(bench: Bench) -> None:
    run = left_by_a_dead_process(bench, three_stages(), run_status=RunState.QUEUED)
    assert bench.driver().execute(run.id).status is RunState.SUCCEEDED


def test_a_restart_takes_up_after_the_finished_jobs_with_their_outputs(bench: Bench) -> None:
    flow = three_stages(release={"data": {"image": "${{ jobs.build.outputs.IMAGE }}"}})
    run = left_by_a_dead_process(bench, flow)
    for name in ("build", "lint", "test"):
        bench.store.save_job(job_record(run, name, JobState.SUCCEEDED, attempts=1,
                                        outputs={"IMAGE": "app:7"} if name == "build" else {}))
    ended = bench.driver().execute(run.id)
    assert ended.status is RunState.SUCCEEDED
    assert [c.ref.labels["containerops.job"] for c in bench.launcher.containers] == ["release"]
    spec = bench.launcher.launched("release")[0].spec
    assert decode_pairs(spec.env["CO_DATA"]) == {"image": "app:7"}


def running_build(bench: Bench, flow: Workflow, attempt: AttemptRecord) -> RunRecord:
    run = left_by_a_dead_process(bench, flow)
    bench.store.save_job(job_record(run, "build", JobState.RUNNING, attempts=attempt.number))
    for number in range(1, attempt.number):
        bench.store.create_attempt(AttemptRecord(run.id, "build", number, AttemptState.FAILED,
                                                 reason="container exited with code 1"))
    bench.store.create_attempt(replace(attempt, run_id=run.id))
    return run


def spec_of(run: RunRecord, flow: Workflow, number: int = 1) -> ContainerSpec:
    """The container spec a driver made for an attempt of `build` (its labels name it)."""
    build = flow.job_named("build")
    assert build is not None
    planned = plan_job(flow, build, None, RunContext(run.id))
    assert isinstance(planned, JobPlan)
    record = AttemptRecord(run.id, "build", number)
    return container_spec(planned, record, "/workspace-of-the-dead-process",
                          AttemptSettings("1000:1000"))


def test_a_restart_re_attaches_to_a_container_still_running_and_reads_on_from_its_offset(
    bench: Bench
) -> None:
    flow = three_stages()
    run = running_build(bench, flow, AttemptRecord("", "build", 1, container_id="fake-0",
                                                   stdout_bytes=len(b"one\n"), log_bytes=4,
                                                   outputs={"FIRST": "1"}))
    bench.launcher.leave_running(spec_of(run, flow), prints("one", "[COUT] SECOND = 2"))
    ended = bench.driver().execute(run.id)
    build = bench.jobs(run.id)["build"]
    assert ended.status is RunState.SUCCEEDED
    assert build.outputs == {"FIRST": "1", "SECOND": "2"}
    assert bench.log(run.id, "build") == ["[COUT] SECOND = 2"]  # "one" was read before
    assert len(bench.launcher.launched("build")) == 1  # no second container


def test_a_restart_fails_an_attempt_whose_container_is_gone_and_retries_it(bench: Bench) -> None:
    flow = three_stages(build={"retries": {"limit": 1, "backoff": "0s"}})
    run = running_build(bench, flow, AttemptRecord("", "build", 1, container_id="vanished"))
    ended = bench.driver().execute(run.id)
    attempts = bench.store.list_attempts(run.id, "build")
    assert [(a.status, a.reason) for a in attempts] == [
        (AttemptState.FAILED, "container lost while ContainerOps was down"),
        (AttemptState.SUCCEEDED, "")]
    assert ended.status is RunState.SUCCEEDED


def test_a_restart_starts_the_container_an_attempt_never_got(bench: Bench) -> None:
    flow = three_stages()
    run = running_build(bench, flow, AttemptRecord("", "build", 1))
    assert bench.driver().execute(run.id).status is RunState.SUCCEEDED
    assert len(bench.launcher.launched("build")) == 1


def test_a_restart_after_a_failed_attempt_retries_it(bench: Bench) -> None:
    flow = three_stages(build={"retries": {"limit": 2, "backoff": "0s"}})
    run = running_build(bench, flow, AttemptRecord("", "build", 1, AttemptState.FAILED,
                                                   reason="container exited with code 1"))
    assert bench.driver().execute(run.id).status is RunState.SUCCEEDED
    assert [a.number for a in bench.store.list_attempts(run.id, "build")] == [1, 2]
    assert bench.jobs(run.id)["build"].attempts == 2


def test_a_restart_after_the_last_attempt_failed_ends_the_job_failed(bench: Bench) -> None:
    flow = three_stages(build={"retries": {"limit": 1, "backoff": "0s"}})
    run = running_build(bench, flow, AttemptRecord("", "build", 2, AttemptState.FAILED,
                                                   reason="container exited with code 1"))
    ended = bench.driver().execute(run.id)
    assert (ended.status, ended.reason) == (RunState.FAILED,
                                            "job 'build' failed: container exited with code 1")
    assert bench.launcher.launched("build") == []


def test_a_restart_after_an_attempt_succeeded_ends_the_job_without_running_it_again(
    bench: Bench
) -> None:
    flow = three_stages(release={"data": {"image": "${{ jobs.build.outputs.IMAGE }}"}})
    run = running_build(bench, flow, AttemptRecord("", "build", 1, AttemptState.SUCCEEDED,
                                                   outputs={"IMAGE": "app:3"}))
    assert bench.driver().execute(run.id).status is RunState.SUCCEEDED
    assert bench.launcher.launched("build") == []
    assert bench.jobs(run.id)["build"].outputs == {"IMAGE": "app:3"}


def test_a_job_that_broke_an_output_limit_before_a_restart_does_not_succeed_after_it(
    bench: Bench
) -> None:
    flow = three_stages()
    violation = (f"output BIG is {MAX_OUTPUT_VALUE_BYTES + 1} bytes; one output may hold at"
                 f" most {MAX_OUTPUT_VALUE_BYTES} bytes")
    big = "[COUT] BIG = " + "x" * (MAX_OUTPUT_VALUE_BYTES + 1)
    # What the previous process read and saved: the big output, then it died.
    run = running_build(bench, flow, AttemptRecord(
        "", "build", 1, container_id="fake-0", stdout_bytes=len(big) + 1,
        output_violation=violation, log_bytes=len(big) + 1))
    bench.launcher.leave_running(spec_of(run, flow), prints(big, "[COUT] CO_RESULT = true"))
    ended = bench.driver().execute(run.id)
    build = bench.jobs(run.id)["build"]
    assert (build.status, build.reason) == (JobState.FAILED, violation)
    assert ended.status is RunState.FAILED


def test_a_cancel_that_stops_a_container_before_its_attempt_is_told_still_cancels(bench: Bench) -> None:
    script(bench, "build", hangs())
    started = bench.start(three_stages())
    thread, ended = bench.execute_in_background(started.id)
    container = bench.launcher.wait_until_started("build")
    bench.store.request_cancel(started.id)
    bench.launcher.stop(container.ref)  # what LocalDriver.cancel does, from another thread
    thread.join(timeout=30)
    build = bench.jobs(started.id)["build"]
    assert (ended[0].status, build.status, build.reason) == (
        RunState.CANCELLED, JobState.CANCELLED, "cancelled")
