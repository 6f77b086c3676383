"""A fan-out job's life on the aws path, from stored records only: each instance's launch
message (launcher.py), its task's verdict (verdict.py), the group's end after the Map
(group_end.py) and the run's end (run_end.py), with fakes of Step Functions and ECS and a
real SQLite store, as tests/cloud/test_job_lifecycle.py does for plain jobs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from chalicelib.cloud.events import LaunchMessage, execution_ended
from chalicelib.cloud.launcher import Launched
from chalicelib.cloud.ports import JOB_FAILED, JOB_NOT_RUNNABLE
from chalicelib.cloud.verdict import Verdict
from chalicelib.domain.models import Workflow
from chalicelib.domain.states import AttemptState, JobState, RunState
from chalicelib.engine.records import RunRecord
from chalicelib.engine.rules import FAN_OUT_AS_ONE_JOB
from chalicelib.errors import InvalidRequest, ServiceUnavailable
from chalicelib.store.sqlite import SqliteStore
from tests.builders import action, job, stage, workflow
from tests.cloud.test_job_lifecycle import Cloud, NoNextRuns
from tests.fakes.aws import FakeExecutions, FakeSecrets, FakeTasks, FakeWorkspaces

SHARD_SCRIPT = ["sh", "-c", 'echo "[COUT] COUNT = $CO_SHARD_INDEX"']


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    with SqliteStore(tmp_path / "store.db") as store:
        yield Cloud(store, FakeExecutions(), FakeTasks(), {}, FakeSecrets(), NoNextRuns(), FakeWorkspaces())


def sharded(shards: int = 3, **fields: Any) -> Workflow:
    """build -> test (fanned out) -> sum."""
    test = job("test", shards=shards, command=SHARD_SCRIPT, outputs=["COUNT"], **fields)
    total = job("sum", data={"counts": "${{ jobs.test.outputs.COUNT }}"})
    return workflow(stage("build", action("build", job("build"))), stage("test", action("test", test)),
                    stage("sum", action("sum", total)))


def instance_token(index: int, attempt: int = 1) -> str:
    return f"token-of-test.{index}-{attempt}"


def launch(cloud: Cloud, run: RunRecord, index: int, attempt: int = 1) -> Launched:
    return cloud.launcher.launch(LaunchMessage(run.id, "test", attempt, instance_token(index, attempt),
                                               instance=index))


def end_group(cloud: Cloud, run: RunRecord, token: str = "token-of-the-end") -> Launched:
    return cloud.launcher.launch(LaunchMessage(run.id, "test", 1, token, group_end=True))


def finish(cloud: Cloud, run: RunRecord, index: int, exit_code: int = 0, attempt: int = 1,
           **fields: Any) -> Verdict:
    return cloud.stop(run, f"test.{index}", attempt, exit_code=exit_code,
                      prints=[f"[COUT] COUNT = {index + 1}"] if exit_code == 0 else [], **fields)


# --- the messages --------------------------------------------------------------------------

def test_a_launch_message_reads_an_instance_or_a_group_end_and_a_plain_one_has_neither() -> None:
    body = {"run_id": "r", "job": "test", "attempt": 1, "token": "t"}
    assert LaunchMessage.from_body(json.dumps({**body, "instance": 3})).instance == 3
    assert LaunchMessage.from_body(json.dumps({**body, "group_end": True})).group_end
    plain = LaunchMessage.from_body(json.dumps(body))
    assert (plain.instance, plain.group_end) == (None, False)
    bad_ones = ({"instance": "3"}, {"instance": True}, {"group_end": "yes"},
                {"instance": 1, "group_end": True})
    for bad in bad_ones:
        with pytest.raises(InvalidRequest):
            LaunchMessage.from_body(json.dumps({**body, **bad}))


def test_the_end_of_a_distributed_maps_child_execution_is_no_runs_end() -> None:
    def event(arn: str) -> dict[str, Any]:
        return {"source": "aws.states", "detail": {"status": "SUCCEEDED", "executionArn": arn,
                                                   "name": arn.rsplit(":", 1)[-1]}}
    machine = "arn:aws:states:us-east-1:123456789012:execution:containerops-ci-v1"
    assert execution_ended(event(f"{machine}/job test:0a1b2c")) is None
    ended = execution_ended(event(f"{machine}:run-1"))
    assert ended is not None and ended.run_id == "run-1"


# --- launching instances --------------------------------------------------------------------

def test_an_instance_is_launched_under_its_key_with_its_shard_and_the_group_starts_running(
    cloud: Cloud,
) -> None:
    run = cloud.start(sharded())
    assert launch(cloud, run, 1) is Launched.LAUNCHED
    (request,) = cloud.tasks.requests
    environment = request.plan.environment(run.id, request.attempt)
    assert (environment["CO_JOB"], environment["CO_SHARD_INDEX"], environment["CO_SHARD_COUNT"]) == (
        "test.1", "1", "3")
    instance = cloud.job(run, "test.1")
    assert (instance.status, instance.group, instance.instance, instance.attempts) == (
        JobState.RUNNING, "test", 1, 1)
    assert cloud.store.get_attempt(run.id, "test.1", 1).task_token == instance_token(1)
    assert cloud.job(run, "test").status is JobState.RUNNING
    assert [job.name for job in cloud.store.list_jobs(run.id)] == ["build", "test", "sum"]


def test_a_second_delivery_of_an_instance_message_launches_nothing(cloud: Cloud) -> None:
    run = cloud.start(sharded())
    launch(cloud, run, 0)
    assert launch(cloud, run, 0) is Launched.DUPLICATE
    assert len(cloud.tasks.requests) == 1 and cloud.executions.answers == []


def test_an_instance_index_the_job_does_not_have_is_refused_and_nothing_is_written(cloud: Cloud) -> None:
    run = cloud.start(sharded(shards=3))
    for index in (3, 10_000, -1):
        assert launch(cloud, run, index) is Launched.REFUSED
        error, cause = cloud.executions.answer_of(instance_token(index)) or ("", "")
        assert (error, cause) == (JOB_NOT_RUNNABLE, f"job 'test' has 3 instances; it has no instance {index}")
    assert cloud.tasks.requests == [] and cloud.store.instance_counts(run.id, "test") == {}
    assert cloud.job(run, "test").status is JobState.PENDING


def test_an_instance_message_for_a_job_that_does_not_fan_out_is_refused(cloud: Cloud) -> None:
    run = cloud.start(sharded())
    message = LaunchMessage(run.id, "build", 1, "t", instance=0)
    assert cloud.launcher.launch(message) is Launched.REFUSED
    assert cloud.executions.answer_of("t") == (JOB_NOT_RUNNABLE,
                                               f"job 'build' of run {run.id} does not fan out")


def test_a_plain_message_for_a_fan_out_job_is_refused_rather_than_run_as_one_container(cloud: Cloud) -> None:
    run = cloud.start(sharded())
    assert cloud.launch(run, "test") is Launched.REFUSED
    assert (cloud.executions.answer_of("token-of-test-1") or ("", ""))[0] == JOB_NOT_RUNNABLE
    assert cloud.tasks.requests == [] and cloud.job(run, "test").status is JobState.PENDING


def test_an_instance_whose_if_is_false_is_skipped_at_once_without_a_task(cloud: Cloud) -> None:
    run = cloud.start(workflow(stage("only", action("only", job(
        "test", matrix={"python": ["3.11", "3.12"]}, if_="${{ matrix.python == '3.12' }}")))))
    assert launch(cloud, run, 0) is Launched.ANSWERED
    assert cloud.executions.answer_of(instance_token(0)) == ("", "")
    assert cloud.job(run, "test.0").status is JobState.SKIPPED and cloud.tasks.requests == []
    assert launch(cloud, run, 1) is Launched.LAUNCHED


def test_the_fan_out_gate_of_plain_jobs_is_never_reached_on_the_cloud_path(cloud: Cloud) -> None:
    run = cloud.start(sharded())
    launch(cloud, run, 0)
    finish(cloud, run, 0)
    assert FAN_OUT_AS_ONE_JOB not in cloud.job(run, "test.0").reason
    assert cloud.job(run, "test.0").status is JobState.SUCCEEDED


# --- verdicts --------------------------------------------------------------------------------

def test_an_instances_verdict_writes_its_own_record_not_the_groups_and_answers_its_token(
    cloud: Cloud,
) -> None:
    run = cloud.start(sharded())
    launch(cloud, run, 2)
    assert finish(cloud, run, 2) is Verdict.JUDGED
    instance = cloud.job(run, "test.2")
    assert (instance.status, instance.outputs, instance.exit_code) == (JobState.SUCCEEDED, {"COUNT": "3"}, 0)
    assert cloud.job(run, "test").status is JobState.RUNNING
    assert cloud.executions.answer_of(instance_token(2)) == ("", "")


def test_a_failed_instance_with_retries_left_runs_again_under_the_same_key(cloud: Cloud) -> None:
    run = cloud.start(sharded(retries={"limit": 1, "backoff": "1s"}))
    launch(cloud, run, 0)
    finish(cloud, run, 0, exit_code=1)
    assert (cloud.executions.answer_of(instance_token(0)) or ("", ""))[0] == JOB_FAILED
    assert cloud.job(run, "test.0").status is JobState.RUNNING
    assert launch(cloud, run, 0, attempt=2) is Launched.LAUNCHED
    finish(cloud, run, 0, attempt=2)
    assert (cloud.job(run, "test.0").status, cloud.job(run, "test.0").attempts) == (JobState.SUCCEEDED, 2)


# --- the group's end ----------------------------------------------------------------------

def test_the_group_end_writes_the_groups_record_with_the_aggregate_and_answers_success(cloud: Cloud) -> None:
    run = cloud.start(sharded())
    for index in range(3):
        launch(cloud, run, index)
        finish(cloud, run, index)
    assert end_group(cloud, run) is Launched.GROUP_ENDED
    group = cloud.job(run, "test")
    assert group.status is JobState.SUCCEEDED
    assert group.outputs == {"COUNT": '["1","2","3"]', "CO_INSTANCES": "3", "CO_INSTANCES_SUCCEEDED": "3",
                             "CO_INSTANCES_FAILED": "0", "CO_INSTANCES_SKIPPED": "0",
                             "CO_LISTS_DIR": "/workspace/.containerops/fanout/test"}
    assert cloud.executions.answer_of("token-of-the-end") == ("", "")


def test_the_group_end_adds_its_lists_to_the_runs_workspace(cloud: Cloud) -> None:
    run = cloud.start(sharded())
    for index in range(3):
        launch(cloud, run, index)
        finish(cloud, run, index)
    end_group(cloud, run)
    assert cloud.workspaces.added[run.id] == {".containerops/fanout/test/COUNT.json": '["1","2","3"]'}


def test_a_group_end_that_cannot_add_its_lists_leaves_the_group_running_for_a_redelivery(
        cloud: Cloud) -> None:
    run = cloud.start(sharded())
    for index in range(3):
        launch(cloud, run, index)
        finish(cloud, run, index)
    cloud.workspaces.unavailable = "S3 is down"
    with pytest.raises(ServiceUnavailable, match="S3 is down"):
        end_group(cloud, run)
    assert cloud.job(run, "test").status is JobState.RUNNING
    cloud.workspaces.unavailable = ""
    assert end_group(cloud, run) is Launched.GROUP_ENDED
    assert cloud.job(run, "test").status is JobState.SUCCEEDED


def test_failures_within_allowed_failures_let_the_group_succeed_saying_how_many(cloud: Cloud) -> None:
    run = cloud.start(sharded(allowed_failures=1))
    for index in range(3):
        launch(cloud, run, index)
        finish(cloud, run, index, exit_code=1 if index == 1 else 0)
    end_group(cloud, run)
    group = cloud.job(run, "test")
    assert (group.status, group.reason) == (JobState.SUCCEEDED, "1 of 3 instances failed (allowed: 1)")
    assert group.outputs["COUNT"] == '["1",null,"3"]'


def test_fail_fast_stops_the_running_instances_tasks_and_fails_the_group(cloud: Cloud) -> None:
    run = cloud.start(sharded(shards=4))
    for index in range(3):
        launch(cloud, run, index)
    finish(cloud, run, 1, exit_code=1)  # the Map fails; its other iterations are aborted
    assert end_group(cloud, run) is Launched.GROUP_ENDED
    stopped_tasks = {arn for arn, _ in cloud.tasks.stopped}
    assert stopped_tasks == {cloud.store.get_attempt(run.id, f"test.{i}", 1).container_id for i in (0, 2)}
    assert {reason for _, reason in cloud.tasks.stopped} == {"containerops: stopped: instance 1 failed"}
    for index in (0, 2):
        instance = cloud.job(run, f"test.{index}")
        assert (instance.status, instance.reason) == (JobState.CANCELLED, "stopped: instance 1 failed")
    group = cloud.job(run, "test")
    assert (group.status, group.reason) == (JobState.FAILED, "1 of 4 instances failed (allowed: 0)")
    assert cloud.executions.answer_of("token-of-the-end") == (JOB_FAILED, group.reason)
    # The stopped tasks' verdicts come later: their attempts end, their instances keep their end.
    finish(cloud, run, 0, exit_code=143, stop_code="UserInitiated",
           stopped_reason="containerops: stopped: instance 1 failed")
    attempt = cloud.store.get_attempt(run.id, "test.0", 1)
    assert (attempt.status, attempt.reason) == (AttemptState.CANCELLED, "stopped: instance 1 failed")
    assert (cloud.job(run, "test.0").status, cloud.job(run, "test.0").exit_code) == (JobState.CANCELLED, 143)


def test_once_the_group_failed_fast_an_instance_message_launches_nothing_and_writes_nothing(
    cloud: Cloud,
) -> None:
    run = cloud.start(sharded(shards=4))
    launch(cloud, run, 0)
    finish(cloud, run, 0, exit_code=1)
    assert launch(cloud, run, 3) is Launched.ANSWERED
    assert cloud.executions.answer_of(instance_token(3)) == ("", "")
    assert len(cloud.tasks.requests) == 1
    assert cloud.store.instance_counts(run.id, "test") == {JobState.FAILED: 1}


def test_without_fail_fast_every_instance_runs_and_the_group_fails_at_its_end(cloud: Cloud) -> None:
    run = cloud.start(sharded(fail_fast=False))
    for index in range(3):
        assert launch(cloud, run, index) is Launched.LAUNCHED
        finish(cloud, run, index, exit_code=1 if index < 2 else 0)
    end_group(cloud, run)
    assert cloud.job(run, "test").reason == "2 of 3 instances failed (allowed: 0)"
    assert cloud.tasks.stopped == []


def test_a_map_that_ended_with_an_instance_still_running_stops_it_and_fails_the_group(cloud: Cloud) -> None:
    run = cloud.start(sharded(fail_fast=False))  # say the backstop timed out instance 2's state
    for index in range(3):
        launch(cloud, run, index)
    finish(cloud, run, 0)
    finish(cloud, run, 1)
    end_group(cloud, run)
    assert cloud.tasks.stopped == [(cloud.store.get_attempt(run.id, "test.2", 1).container_id,
                                    "containerops: stopped: the Map of job 'test' ended")]
    group = cloud.job(run, "test")
    assert (group.status, group.reason) == (JobState.FAILED, "1 of 3 instances were cancelled")


def test_a_redelivered_group_end_answers_again_from_the_record(cloud: Cloud) -> None:
    run = cloud.start(sharded(shards=1))
    launch(cloud, run, 0)
    finish(cloud, run, 0, exit_code=1)
    end_group(cloud, run, "first")
    assert end_group(cloud, run, "second") is Launched.DUPLICATE
    assert cloud.executions.answer_of("second") == (JOB_FAILED, "1 of 1 instances failed (allowed: 0)")


def test_a_group_every_instance_of_which_was_skipped_is_skipped(cloud: Cloud) -> None:
    run = cloud.start(workflow(stage("only", action("only", job(
        "test", matrix={"os": ["linux"]}, if_="${{ matrix.os == 'windows' }}")))))
    launch(cloud, run, 0)
    end_group(cloud, run)
    assert cloud.job(run, "test").status is JobState.SKIPPED
    assert cloud.executions.answer_of("token-of-the-end") == ("", "")


def test_a_later_job_reads_the_aggregate_and_one_instances_output(cloud: Cloud) -> None:
    test = job("test", shards=2, command=SHARD_SCRIPT, outputs=["COUNT"])
    later = job("sum", data={"all": "${{ jobs.test.outputs.COUNT }}",
                             "second": "${{ jobs.test.instances[1].outputs.COUNT }}"})
    run = cloud.start(workflow(stage("test", action("test", test)), stage("sum", action("sum", later))))
    for index in range(2):
        launch(cloud, run, index)
        finish(cloud, run, index)
    end_group(cloud, run)
    cloud.launch(run, "sum")
    assert cloud.tasks.requests[-1].plan.data == {"all": '["1","2"]', "second": "2"}


# --- re-runs and the run's end ---------------------------------------------------------------

def test_a_rerun_from_failure_reuses_the_instances_that_succeeded_and_runs_the_others(cloud: Cloud) -> None:
    flow = sharded(fail_fast=False)
    first = cloud.start(flow)
    for index in range(3):
        launch(cloud, first, index)
        finish(cloud, first, index, exit_code=1 if index == 1 else 0)
    end_group(cloud, first)
    cloud.store.save_run(replace(cloud.store.get_run(first.id), status=RunState.FAILED),
                         expected=RunState.RUNNING)  # what its execution's end does
    second = cloud.start(flow, rerun_of=first.id)
    requests_before = len(cloud.tasks.requests)
    assert [launch(cloud, second, index) for index in range(3)] == [
        Launched.ANSWERED, Launched.LAUNCHED, Launched.ANSWERED]
    assert len(cloud.tasks.requests) == requests_before + 1
    reused = cloud.job(second, "test.0")
    assert (reused.status, reused.outputs) == (JobState.REUSED, {"COUNT": "1"})


def test_a_cancelled_run_stops_its_running_instances(cloud: Cloud) -> None:
    run = cloud.start(sharded())
    launch(cloud, run, 0)
    cloud.store.request_cancel(run.id)
    cloud.end(run, "ABORTED")
    instance, group = cloud.job(run, "test.0"), cloud.job(run, "test")
    assert (instance.status, instance.reason) == (JobState.CANCELLED, "cancelled")
    assert (group.status, group.reason) == (JobState.CANCELLED, "cancelled")
    assert cloud.tasks.stopped == [(cloud.store.get_attempt(run.id, "test.0", 1).container_id,
                                    "containerops: cancelled")]
