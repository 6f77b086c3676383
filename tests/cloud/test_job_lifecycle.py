"""A job's life on the aws path, handler by handler, from stored records only: the launcher
(chalicelib/cloud/launcher.py), the finaliser of a stopped task (verdict.py) and the end of
a run's execution (run_end.py), with fakes of Step Functions and ECS and a real SQLite store.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from chalicelib.cloud.events import ExecutionEnded, LaunchMessage, TaskStopped, task_group
from chalicelib.cloud.launcher import JobLauncher, Launched
from chalicelib.cloud.ports import JOB_FAILED, JOB_NOT_RUNNABLE
from chalicelib.cloud.run_end import RunEnded, RunFinaliser
from chalicelib.cloud.run_secrets import RunSecrets
from chalicelib.cloud.sweep import RunningJobsSweeper
from chalicelib.cloud.verdict import TIMEOUT_STOP_REASON, TaskFinaliser, Verdict
from chalicelib.domain.catalog import InMemoryCatalog
from chalicelib.domain.models import Workflow
from chalicelib.domain.protocol import MAX_OUTPUT_VALUE_BYTES, decode_pairs
from chalicelib.domain.states import AttemptState, JobState, RunState
from chalicelib.engine.records import EVERY_JOB, FROM_FAILURE, JobRecord, RerunKind, RerunScope, RunRecord
from chalicelib.services.run_service import RunRecorder
from chalicelib.services.run_views import run_document
from chalicelib.store.sqlite import SqliteStore
from tests.builders import action, job, stage, workflow
from tests.fakes.aws import FakeExecutions, FakeSecrets, FakeTasks, FakeWorkspaces


@dataclass
class NoNextRuns:
    asked: list[tuple[str, str]] = field(default_factory=list)

    def start_next(self, namespace: str, workflow: str) -> None:
        self.asked.append((namespace, workflow))


@dataclass
class Cloud:
    store: SqliteStore
    executions: FakeExecutions
    tasks: FakeTasks
    logs: dict[tuple[str, str, int], list[str]]
    secrets: FakeSecrets
    next_runs: NoNextRuns
    workspaces: FakeWorkspaces

    @property
    def launcher(self) -> JobLauncher:
        return JobLauncher(self.store, self.executions, self.tasks, InMemoryCatalog(), notes=self.store,
                           workspaces=self.workspaces)

    @property
    def finaliser(self) -> TaskFinaliser:
        return TaskFinaliser(self.store, self.executions, InMemoryCatalog(),
                             lambda run, job, n: self.logs.get((run, job, n), []),
                             RunSecrets(self.store, self.secrets), notes=self.store,
                             max_stored_bytes=1_000)

    @property
    def run_finaliser(self) -> RunFinaliser:
        return RunFinaliser(self.store, self.tasks, self.next_runs, self.workspaces)

    def start(self, flow: Workflow, rerun_of: str | None = None,
              scope: RerunScope = FROM_FAILURE) -> RunRecord:
        self.store.save_workflow(flow)
        recorder = RunRecorder(self.store)
        planned = (recorder.plan_rerun(rerun_of, scope) if rerun_of else
                   recorder.plan(flow.metadata.namespace, flow.metadata.name, {}))
        run = recorder.record(planned)
        running = replace(run, status=RunState.RUNNING, started_at=run.created_at)
        self.store.save_run(running, expected=RunState.QUEUED)  # what the dispatcher does
        return running

    def launch(self, run: RunRecord, job_name: str, attempt: int = 1) -> Launched:
        return self.launcher.launch(LaunchMessage(run.id, job_name, attempt, token(job_name, attempt)))

    def stop(self, run: RunRecord, job_name: str, attempt: int = 1, *, exit_code: int | None = 0,
             prints: list[str] | None = None, **fields: Any) -> Verdict:
        self.logs[(run.id, job_name, attempt)] = prints or []
        record = self.store.get_attempt(run.id, job_name, attempt)
        container_reason = fields.pop("container_reason", "")
        stopped = TaskStopped(
            task_arn=record.container_id or "arn:aws:ecs:us-east-1:1:task/c/unrecorded",
            group=task_group(run.id, job_name, attempt), exit_code=exit_code,
            stop_code=fields.pop("stop_code", "EssentialContainerExited"),
            stopped_reason=fields.pop("stopped_reason", "Essential container in task exited"),
            container_reason=container_reason, started_at=10.0, stopped_at=fields.pop("stopped_at", 20.0),
            oom_killed="OutOfMemory" in container_reason,  # as ECS's event is read (events.task_stopped)
            # The workspace sidecars ran and succeeded, unless a test says otherwise.
            restore_exit_code=fields.pop("restore_exit_code", 0),
            save_exit_code=fields.pop("save_exit_code", 0 if exit_code is not None else None))
        assert not fields, f"unknown fields {sorted(fields)}"
        return self.finaliser.task_stopped(stopped)

    def job(self, run: RunRecord, name: str) -> JobRecord:
        return self.store.get_job(run.id, name)

    def notes(self, run: RunRecord, name: str, attempt: int = 1) -> list[str]:
        """What ContainerOps wrote into the attempt's log (the container's lines are not here)."""
        return [line.text for line in self.store.read_log_batch(run.id, name, attempt).lines]

    def end(self, run: RunRecord, status: str, error: str = "", cause: str = "") -> RunEnded:
        return self.run_finaliser.execution_ended(ExecutionEnded(run.id, status, error, cause, 30.0))


def token(job_name: str, attempt: int) -> str:
    return f"token-of-{job_name}-{attempt}"


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    with SqliteStore(tmp_path / "store.db") as store:
        yield Cloud(store, FakeExecutions(), FakeTasks(), {}, FakeSecrets(), NoNextRuns(), FakeWorkspaces())


def two_stages(**fields_of: dict[str, Any]) -> Workflow:
    """build -> (lint | test)."""
    def one(name: str) -> dict[str, Any]:
        return job(name, **fields_of.get(name, {}))
    return workflow(stage("build", action("build", one("build"))),
                    stage("verify", action("lint", one("lint")), action("test", one("test"))))


# --- launching --------------------------------------------------------------------------


def test_a_job_is_launched_as_a_task_with_its_data_and_its_token_kept_in_the_store(cloud: Cloud) -> None:
    run = cloud.start(two_stages(build={"data": {"ref": "a=b"}}))
    assert cloud.launch(run, "build") is Launched.LAUNCHED
    request = cloud.tasks.requests[0]
    environment = request.plan.environment(run.id, request.attempt)
    assert decode_pairs(environment["CO_DATA"]) == {"ref": "a=b"}
    assert [environment[name] for name in ("CO_RUN_ID", "CO_JOB", "CO_ATTEMPT")] == [run.id, "build", "1"]
    assert token("build", 1) not in repr(request) and token("build", 1) not in str(environment)
    attempt = cloud.store.get_attempt(run.id, "build", 1)
    assert (attempt.status, attempt.task_token, attempt.container_id) == (
        AttemptState.RUNNING, token("build", 1), cloud.tasks.find(request.key))
    assert (cloud.job(run, "build").status, cloud.job(run, "build").attempts) == (JobState.RUNNING, 1)


def test_a_second_delivery_of_a_launch_message_launches_nothing(cloud: Cloud) -> None:
    run = cloud.start(two_stages())
    cloud.launch(run, "build")
    assert cloud.launch(run, "build") is Launched.DUPLICATE
    assert len(cloud.tasks.requests) == 1 and cloud.executions.answers == []


def test_a_job_whose_condition_is_false_is_answered_at_once_without_a_task(cloud: Cloud) -> None:
    run = cloud.start(two_stages(lint={"if_": "${{ run.id == 'nope' }}"}))
    assert cloud.launch(run, "lint") is Launched.ANSWERED
    assert cloud.executions.answer_of(token("lint", 1)) == ("", "")
    assert cloud.job(run, "lint").status is JobState.SKIPPED and cloud.tasks.requests == []


def test_a_job_that_cannot_be_planned_fails_without_a_retry(cloud: Cloud) -> None:
    run = cloud.start(two_stages(lint={"component": "demo/missing@1.0.0"}))
    assert cloud.launch(run, "lint") is Launched.ANSWERED
    error, cause = cloud.executions.answer_of(token("lint", 1)) or ("", "")
    assert error == JOB_NOT_RUNNABLE and "demo/missing@1.0.0" in cause
    assert cloud.job(run, "lint").status is JobState.FAILED


def test_a_task_that_cannot_start_fails_the_attempt_with_awss_words(cloud: Cloud) -> None:
    cloud.tasks.refuse_with = "RunTask failed: RESOURCE:MEMORY (no capacity)"
    run = cloud.start(two_stages())
    assert cloud.launch(run, "build") is Launched.LAUNCH_FAILED
    attempt = cloud.store.get_attempt(run.id, "build", 1)
    assert attempt.status is AttemptState.FAILED
    assert attempt.reason == "RunTask failed: RESOURCE:MEMORY (no capacity)"
    assert cloud.executions.answer_of(token("build", 1)) == (JOB_FAILED, attempt.reason)
    assert cloud.job(run, "build").status is JobState.FAILED


def test_a_task_that_cannot_start_leaves_the_job_running_while_retries_are_left(cloud: Cloud) -> None:
    cloud.tasks.refuse_with = "no capacity"
    run = cloud.start(two_stages(build={"retries": {"limit": 1, "backoff": "1s"}}))
    cloud.launch(run, "build")
    assert cloud.job(run, "build").status is JobState.RUNNING
    cloud.tasks.refuse_with = ""
    assert cloud.launch(run, "build", attempt=2) is Launched.LAUNCHED
    assert cloud.job(run, "build").attempts == 2


def test_a_launch_for_a_cancelled_run_starts_nothing(cloud: Cloud) -> None:
    run = cloud.start(two_stages())
    cloud.store.request_cancel(run.id)
    assert cloud.launch(run, "build") is Launched.DROPPED
    assert cloud.tasks.requests == []


def test_a_launch_for_an_unknown_run_is_dropped_and_its_token_answered(cloud: Cloud) -> None:
    launched = cloud.launcher.launch(LaunchMessage("nope", "build", 1, "t"))
    assert launched is Launched.DROPPED and cloud.executions.answer_of("t") is not None


def test_a_rerun_from_failure_answers_reused_jobs_without_a_task(cloud: Cloud) -> None:
    first = cloud.start(two_stages())
    cloud.launch(first, "build")
    cloud.stop(first, "build", prints=["[COUT] IMAGE = app:1"])
    cloud.end(first, "FAILED")
    rerun = cloud.start(two_stages(), rerun_of=first.id)
    assert cloud.launch(rerun, "build") is Launched.ANSWERED
    build = cloud.job(rerun, "build")
    assert (build.status, build.outputs) == (JobState.REUSED, {"IMAGE": "app:1"})
    assert len(cloud.tasks.requests) == 1


def test_a_rerun_of_one_job_of_a_succeeded_run_launches_it_and_what_it_feeds_and_reuses_the_rest(
    cloud: Cloud
) -> None:
    flow = two_stages(test={"data": {"image": "${{ jobs.build.outputs.IMAGE }}"}})
    first = cloud.start(flow)
    for name in ("build", "lint", "test"):
        cloud.launch(first, name)
        cloud.stop(first, name, prints=[f"[COUT] IMAGE = {name}:1"])
    cloud.end(first, "SUCCEEDED")
    rerun = cloud.start(flow, rerun_of=first.id, scope=RerunScope(RerunKind.JOBS, ("build",)))
    assert [cloud.launch(rerun, name) for name in ("build", "lint")] == [
        Launched.LAUNCHED, Launched.ANSWERED]
    cloud.stop(rerun, "build", prints=["[COUT] IMAGE = build:2"])
    assert cloud.launch(rerun, "test") is Launched.LAUNCHED
    assert (cloud.job(rerun, "lint").status, cloud.job(rerun, "lint").outputs) == (
        JobState.REUSED, {"IMAGE": "lint:1"})
    assert cloud.tasks.requests[-1].plan.data == {"image": "build:2"}


def test_a_rerun_of_every_job_launches_a_task_for_each(cloud: Cloud) -> None:
    first = cloud.start(two_stages())
    cloud.launch(first, "build")
    cloud.stop(first, "build")
    cloud.end(first, "FAILED")
    rerun = cloud.start(two_stages(), rerun_of=first.id, scope=EVERY_JOB)
    assert cloud.launch(rerun, "build") is Launched.LAUNCHED
    assert len(cloud.tasks.requests) == 2


def test_secret_variables_reach_the_task_by_name_never_by_value(cloud: Cloud) -> None:
    run = cloud.start(two_stages(build={"env": {"TOKEN": "${{ secrets.DEPLOY_TOKEN }}"}}))
    cloud.launch(run, "build")
    assert cloud.tasks.requests[0].secret_variables == {"TOKEN": "DEPLOY_TOKEN"}


# --- the verdict ------------------------------------------------------------------------


def test_a_task_that_exits_zero_succeeds_with_the_outputs_of_its_whole_log(cloud: Cloud) -> None:
    run = cloud.start(two_stages())
    cloud.launch(run, "build")
    assert cloud.stop(run, "build", prints=["[COUT] IMAGE = app:1", "[COUT] URL = a=b=c"]) is Verdict.JUDGED
    build = cloud.job(run, "build")
    assert (build.status, build.outputs, build.exit_code) == (
        JobState.SUCCEEDED, {"IMAGE": "app:1", "URL": "a=b=c"}, 0)
    assert cloud.executions.answer_of(token("build", 1)) == ("", "")


@pytest.mark.parametrize(("exit_code", "prints", "reason"), [
    (3, [], "container exited with code 3"),
    (0, ["[COUT] CO_RESULT = false"], "component reported CO_RESULT = false"),
    (1, ["[COUT] CO_RESULT = true"], "container exited with code 1 after reporting CO_RESULT = true"),
    (0, ["[COUT] BIG = " + "x" * (MAX_OUTPUT_VALUE_BYTES + 1)],
     f"output BIG is {MAX_OUTPUT_VALUE_BYTES + 1} bytes; one output may hold at most"
     f" {MAX_OUTPUT_VALUE_BYTES} bytes"),
])
def test_the_engines_verdict_fails_the_job_with_its_reason(
    cloud: Cloud, exit_code: int, prints: list[str], reason: str
) -> None:
    run = cloud.start(two_stages())
    cloud.launch(run, "build")
    cloud.stop(run, "build", exit_code=exit_code, prints=prints)
    build = cloud.job(run, "build")
    assert (build.status, build.reason) == (JobState.FAILED, reason)
    assert cloud.executions.answer_of(token("build", 1)) == (JOB_FAILED, reason)


def test_a_task_killed_for_memory_fails_saying_so(cloud: Cloud) -> None:
    run = cloud.start(two_stages(build={"resources": {"memory_limit": "512Mi"}}))
    cloud.launch(run, "build")
    cloud.stop(run, "build", exit_code=137, container_reason="OutOfMemoryError: Container killed")
    assert cloud.job(run, "build").reason == "out of memory (limit 512Mi)"


def test_a_task_stopped_past_its_timeout_fails_with_timeout_saying_so_in_its_log(cloud: Cloud) -> None:
    run = cloud.start(two_stages(build={"timeout": "90s"}))
    cloud.launch(run, "build")
    cloud.stop(run, "build", exit_code=137, stop_code="UserInitiated", stopped_reason=TIMEOUT_STOP_REASON)
    assert (cloud.job(run, "build").status, cloud.job(run, "build").reason) == (JobState.FAILED, "timeout")
    assert cloud.notes(run, "build") == ["[containerops] stopped: timeout after 90s"]


def test_a_task_that_exits_by_itself_gets_no_note(cloud: Cloud) -> None:
    run = cloud.start(two_stages())
    cloud.launch(run, "build")
    cloud.stop(run, "build", exit_code=3)
    assert cloud.notes(run, "build") == []


def test_a_task_whose_image_cannot_be_pulled_fails_with_ecss_reason(cloud: Cloud) -> None:
    run = cloud.start(two_stages())
    cloud.launch(run, "build")
    cloud.stop(run, "build", exit_code=None, stop_code="TaskFailedToStart",
               stopped_reason="CannotPullContainerError: pull image manifest has been retried 1 time(s)")
    assert cloud.job(run, "build").reason.startswith("the task could not start: CannotPullContainerError")
    [note] = cloud.notes(run, "build")
    assert note.startswith("[containerops] the task could not start: CannotPullContainerError")


def test_a_task_whose_workspace_could_not_be_restored_fails_without_running_the_job(cloud: Cloud) -> None:
    run = cloud.start(two_stages())
    cloud.launch(run, "build")
    cloud.stop(run, "build", exit_code=None, restore_exit_code=1, stop_code="TaskFailedToStart",
               stopped_reason="Task failed to start")
    build = cloud.job(run, "build")
    task_id = cloud.store.get_attempt(run.id, "build", 1).container_id.rsplit("/", 1)[-1]
    assert (build.status, build.reason) == (
        JobState.FAILED, "the run's workspace could not be restored before the job (workspace-restore"
        f" exited with code 1; its log is stream task/workspace-restore/{task_id})")


def test_a_job_whose_changes_could_not_be_saved_fails_though_it_exited_zero(cloud: Cloud) -> None:
    run = cloud.start(two_stages())
    cloud.launch(run, "build")
    cloud.stop(run, "build", exit_code=0, save_exit_code=1, prints=["[COUT] IMAGE = app:1"])
    build = cloud.job(run, "build")
    assert build.status is JobState.FAILED
    assert build.reason.startswith(
        "the job's changes to the run's workspace were not saved (workspace-save exited with code 1;"
        " its log is stream task/workspace-save/")
    assert cloud.executions.answer_of(token("build", 1)) == (JOB_FAILED, build.reason)


def test_a_job_that_failed_by_itself_keeps_its_own_reason_when_its_save_failed_too(cloud: Cloud) -> None:
    run = cloud.start(two_stages())
    cloud.launch(run, "build")
    cloud.stop(run, "build", exit_code=3, save_exit_code=1)
    assert cloud.job(run, "build").reason == "container exited with code 3"


def test_a_failed_attempt_with_retries_left_keeps_the_job_running(cloud: Cloud) -> None:
    run = cloud.start(two_stages(build={"retries": {"limit": 2, "backoff": "1s"}}))
    cloud.launch(run, "build")
    cloud.stop(run, "build", exit_code=1)
    assert cloud.job(run, "build").status is JobState.RUNNING
    assert cloud.executions.answer_of(token("build", 1)) == (JOB_FAILED, "container exited with code 1")
    cloud.launch(run, "build", attempt=2)
    cloud.stop(run, "build", attempt=2, exit_code=0)
    assert (cloud.job(run, "build").status, cloud.job(run, "build").attempts) == (JobState.SUCCEEDED, 2)


def test_a_second_stopped_event_changes_nothing(cloud: Cloud) -> None:
    run = cloud.start(two_stages())
    cloud.launch(run, "build")
    cloud.stop(run, "build", exit_code=0)
    assert cloud.stop(run, "build", exit_code=5) is Verdict.DUPLICATE
    assert cloud.job(run, "build").status is JobState.SUCCEEDED and len(cloud.executions.answers) == 1


def test_a_stopped_event_before_the_launcher_recorded_the_task_still_finds_its_attempt(cloud: Cloud) -> None:
    run = cloud.start(two_stages())
    cloud.launch(run, "build")
    attempt = cloud.store.get_attempt(run.id, "build", 1)
    cloud.store.save_attempt(replace(attempt, container_id=None), expected=AttemptState.RUNNING)
    assert cloud.stop(run, "build", exit_code=0) is Verdict.JUDGED
    assert cloud.store.get_attempt(run.id, "build", 1).container_id is not None


def test_a_stopped_task_of_nobody_is_ignored(cloud: Cloud) -> None:
    stopped = TaskStopped("arn:aws:ecs:us-east-1:1:task/c/other", "family:other", 0, "", "", "", None, None)
    assert cloud.finaliser.task_stopped(stopped) is Verdict.UNKNOWN


def test_the_runs_secrets_are_masked_in_outputs(cloud: Cloud) -> None:
    cloud.secrets.known["DEPLOY_TOKEN"] = "s3cr3t-value-42"
    run = cloud.start(two_stages(build={"env": {"TOKEN": "${{ secrets.DEPLOY_TOKEN }}"}}))
    cloud.launch(run, "build")
    cloud.stop(run, "build", prints=["[COUT] LEAK = s3cr3t-value-42"])
    assert cloud.job(run, "build").outputs == {"LEAK": "***"}


def test_the_token_is_never_in_the_runs_document(cloud: Cloud) -> None:
    run = cloud.start(two_stages())
    cloud.launch(run, "build")
    document = run_document(cloud.store.get_run(run.id), cloud.store.list_jobs(run.id),
                            cloud.store.list_attempts(run.id))
    assert token("build", 1) not in str(document)


# --- the run's end ----------------------------------------------------------------------


def test_a_failed_execution_ends_the_run_as_the_local_driver_would(cloud: Cloud) -> None:
    run = cloud.start(two_stages())
    for name in ("build", "lint", "test"):
        cloud.launch(run, name)
    cloud.stop(run, "build")
    cloud.stop(run, "lint", exit_code=3)
    assert cloud.end(run, "FAILED", "Job.Failed") is RunEnded.ENDED
    ended = cloud.store.get_run(run.id)
    assert ended.status is RunState.FAILED
    assert ended.reason == "job 'lint' failed: container exited with code 3"
    test = cloud.job(run, "test")
    assert (test.status, test.reason) == (JobState.CANCELLED, "stopped: job 'lint' failed")
    assert cloud.tasks.stopped == [(cloud.store.get_attempt(run.id, "test", 1).container_id,
                                    "containerops: stopped: job 'lint' failed")]
    cloud.stop(run, "test", exit_code=137, stop_code="UserInitiated",
               stopped_reason="containerops: stopped: job 'lint' failed")
    attempt = cloud.store.get_attempt(run.id, "test", 1)
    assert (attempt.status, attempt.reason) == (AttemptState.CANCELLED, "stopped: job 'lint' failed")
    test = cloud.job(run, "test")
    assert (test.reason, test.exit_code) == ("stopped: job 'lint' failed", 137)  # as locally


def test_jobs_a_failed_run_never_started_are_skipped_saying_why(cloud: Cloud) -> None:
    run = cloud.start(two_stages())
    cloud.launch(run, "build")
    cloud.stop(run, "build", exit_code=2)
    cloud.end(run, "FAILED")
    lint = cloud.job(run, "lint")
    assert lint.status is JobState.SKIPPED
    assert lint.reason == "not run: job 'build' failed: container exited with code 2"


def succeed(cloud: Cloud) -> RunRecord:
    run = cloud.start(two_stages())
    for name in ("build", "lint", "test"):
        cloud.launch(run, name)
        cloud.stop(run, name)
    assert cloud.end(run, "SUCCEEDED") is RunEnded.ENDED
    return run


def test_a_succeeded_execution_succeeds_the_run_and_removes_the_workspace_of_the_success_before(
    cloud: Cloud
) -> None:
    first = succeed(cloud)
    ended = cloud.store.get_run(first.id)
    assert (ended.status, ended.reason) == (RunState.SUCCEEDED, "")
    assert cloud.workspaces.discarded == []  # the newest success keeps its workspace
    second = succeed(cloud)
    assert cloud.workspaces.discarded == [first.id]
    assert cloud.store.get_run(second.id).status is RunState.SUCCEEDED


def test_a_failed_run_keeps_its_workspace_for_a_rerun_from_failure(cloud: Cloud) -> None:
    run = cloud.start(two_stages())
    cloud.launch(run, "build")
    cloud.stop(run, "build", exit_code=2)
    cloud.end(run, "FAILED")
    assert cloud.workspaces.discarded == []


def test_a_run_whose_workspace_cannot_be_removed_still_ends(cloud: Cloud) -> None:
    succeed(cloud)
    cloud.workspaces.unavailable = "S3 is away"
    second = succeed(cloud)
    assert cloud.store.get_run(second.id).status is RunState.SUCCEEDED


def test_an_aborted_execution_of_a_cancelled_run_cancels_it(cloud: Cloud) -> None:
    run = cloud.start(two_stages())
    cloud.launch(run, "build")
    cloud.store.request_cancel(run.id)
    cloud.end(run, "ABORTED")
    ended, build = cloud.store.get_run(run.id), cloud.job(run, "build")
    assert (ended.status, ended.reason) == (RunState.CANCELLED, "cancelled")
    assert (build.status, build.reason) == (JobState.CANCELLED, "cancelled")
    assert cloud.job(run, "lint").reason == "not run: cancelled"


def test_a_timed_out_execution_fails_the_run_with_the_workflow_timeout(cloud: Cloud) -> None:
    run = cloud.start(two_stages())
    cloud.launch(run, "build")
    cloud.end(run, "TIMED_OUT")
    assert cloud.store.get_run(run.id).reason == "workflow timeout"
    assert cloud.job(run, "build").reason == "stopped: workflow timeout"


def test_a_second_execution_event_changes_nothing(cloud: Cloud) -> None:
    run = cloud.start(two_stages())
    cloud.end(run, "TIMED_OUT")
    assert cloud.end(run, "SUCCEEDED") is RunEnded.DUPLICATE
    assert cloud.store.get_run(run.id).status is RunState.FAILED


def test_a_workflow_with_concurrency_starts_its_next_run_when_one_ends(cloud: Cloud) -> None:
    flow = workflow(stage("only", action("a", job("build"))), concurrency=1)
    run = cloud.start(flow)
    assert cloud.store.take_run_slot("demo", flow.metadata.name, run.id, 1)
    cloud.end(run, "SUCCEEDED")
    assert cloud.next_runs.asked == [("demo", flow.metadata.name)]
    assert cloud.store.take_run_slot("demo", flow.metadata.name, "another-run", 1)


# --- the minute sweep --------------------------------------------------------------------


def sweeper(cloud: Cloud, now: float) -> RunningJobsSweeper:
    return RunningJobsSweeper(cloud.store, cloud.tasks, cloud.executions, InMemoryCatalog(),
                              cloud.finaliser, cloud.run_finaliser, clock=lambda: now)


def test_a_sweep_stops_the_tasks_past_their_jobs_timeout_and_no_other(cloud: Cloud) -> None:
    run = cloud.start(two_stages(lint={"timeout": "1m"}, test={"timeout": "10m"}))
    for name in ("lint", "test"):
        cloud.launch(run, name)
    started = cloud.store.get_attempt(run.id, "lint", 1).started_at or 0.0
    lint_task = cloud.store.get_attempt(run.id, "lint", 1).container_id
    assert sweeper(cloud, started + 61).sweep() == [lint_task]
    assert cloud.tasks.stopped == [(lint_task, TIMEOUT_STOP_REASON)]


def test_a_sweep_judges_a_task_whose_stopped_event_was_lost(cloud: Cloud) -> None:
    run = cloud.start(two_stages())
    cloud.launch(run, "build")
    task = cloud.store.get_attempt(run.id, "build", 1).container_id or ""
    cloud.tasks.ends[task] = TaskStopped(task, task_group(run.id, "build", 1), 3, "EssentialContainerExited",
                                         "Essential container in task exited", "", 10.0, 20.0)
    assert sweeper(cloud, 20.0 + 30).sweep() == []  # its own event may still come
    assert sweeper(cloud, 20.0 + 300).sweep() == [task]
    build = cloud.job(run, "build")
    assert (build.status, build.reason) == (JobState.FAILED, "container exited with code 3")
    assert cloud.executions.answer_of(token("build", 1)) == (JOB_FAILED, "container exited with code 3")


def test_a_sweep_ends_a_run_whose_execution_end_event_was_lost(cloud: Cloud) -> None:
    run = cloud.start(two_stages())
    cloud.launch(run, "build")
    cloud.stop(run, "build", exit_code=2)
    machine = cloud.executions.machine_arn(two_stages(), run.workflow_version)
    cloud.executions.ends[(machine, run.id)] = ExecutionEnded(run.id, "FAILED", "Job.Failed",
                                                              "container exited with code 2", 20.0)
    assert sweeper(cloud, 20.0 + 30).sweep() == []  # its own event may still come
    assert sweeper(cloud, 20.0 + 300).sweep() == [run.id]
    ended = cloud.store.get_run(run.id)
    assert (ended.status, ended.reason) == (
        RunState.FAILED, "job 'build' failed: container exited with code 2")
    assert cloud.job(run, "lint").status is JobState.SKIPPED
    assert sweeper(cloud, 20.0 + 400).sweep() == []  # ended: no longer swept


def test_a_launcher_that_died_after_runtask_is_retried_into_the_same_task(cloud: Cloud) -> None:
    run = cloud.start(two_stages())
    cloud.launch(run, "build")
    started = cloud.store.get_attempt(run.id, "build", 1)
    # As if the first launcher died right after RunTask: the task is not recorded.
    cloud.store.save_attempt(replace(started, container_id=None), expected=AttemptState.RUNNING)
    assert cloud.launch(run, "build") is Launched.LAUNCHED
    assert len(cloud.tasks.requests) == 1  # no second container
    assert cloud.store.get_attempt(run.id, "build", 1).container_id == started.container_id


def test_a_launch_message_for_a_job_that_already_ended_changes_nothing(cloud: Cloud) -> None:
    run = cloud.start(two_stages())
    cloud.launch(run, "build")
    cloud.stop(run, "build")
    assert cloud.launch(run, "build") is Launched.DUPLICATE
    assert len(cloud.executions.answers) == 1 and len(cloud.tasks.requests) == 1


def test_an_attempt_never_ends_before_it_started_though_kubernetes_times_are_whole_seconds(
        cloud: Cloud) -> None:
    run = cloud.start(two_stages())
    cloud.launch(run, "build")
    started = cloud.store.get_attempt(run.id, "build", 1).started_at
    assert started is not None
    cloud.stop(run, "build", stopped_at=float(int(started)))  # the pod's finishedAt, cut to the second
    ended = cloud.store.get_attempt(run.id, "build", 1)
    assert ended.finished_at == started
