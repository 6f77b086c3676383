"""Compiled fan-out jobs run on Step Functions as moto executes them: an inline Map and a
Distributed Map (its items read from S3, as `fanout_items` writes them) each send one launch
message per instance with its index, then the group's end, and the run completes when the
tokens are answered; a failure beyond what is tolerated fails the Map into the group's end.

moto runs executions on a background thread, so every wait is a bounded poll.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.asl import CompiledMachine, Target, compile_workflow
from chalicelib.asl.plan import MapMode
from chalicelib.cloud.fanout_items import item_files
from chalicelib.domain.catalog import InMemoryCatalog
from chalicelib.sandbox.moto_fixes import fresh_token_per_attempt
from tests.asl.test_on_moto import StepFunctions
from tests.aws import REGION, fake_aws_environment
from tests.builders import action, job, stage, workflow

BUCKET = "containerops-workspaces"


class FanOutAws(StepFunctions):
    s3: Any

    def compile(self, *jobs: dict[str, Any]) -> CompiledMachine:
        definition = workflow(stage("test", action("test", *jobs)))
        return compile_workflow(definition, InMemoryCatalog(), Target(self.queue_url, items_bucket=BUCKET))

    def start_run(self, compiled: CompiledMachine, run_id: str) -> str:
        """Write the run's item files (as the dispatcher does), then start its execution."""
        for items in item_files(compiled.plan, run_id):
            self.s3.put_object(Bucket=items.bucket, Key=items.key, Body=items.body)
        return self.start(compiled, run_id)

    def launches(self, count: int) -> list[dict[str, Any]]:
        return [self.next_launch() for _ in range(count)]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FanOutAws]:
    fake_aws_environment(monkeypatch)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}), fresh_token_per_attempt():
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="containerops-launch")["QueueUrl"]
        fan_out = FanOutAws(sqs, boto3.client("stepfunctions", region_name=REGION), queue_url)
        fan_out.s3 = boto3.client("s3", region_name=REGION)
        fan_out.s3.create_bucket(Bucket=BUCKET)
        yield fan_out


def test_an_inline_map_sends_each_instance_with_its_index_then_the_group_end(aws: FanOutAws) -> None:
    compiled = aws.compile(job("test", shards=5))
    assert [step.mode for step in compiled.plan.fan_out_steps()] == [MapMode.INLINE]
    execution = aws.start_run(compiled, "run-inline-1")

    instances = aws.launches(5)  # all five before any is answered: MaxConcurrency 5
    for launch in instances:
        aws.succeed(launch)
    end = aws.next_launch()
    aws.succeed(end)

    assert sorted(launch["instance"] for launch in instances) == [0, 1, 2, 3, 4]
    assert {(launch["run_id"], launch["job"], launch["attempt"]) for launch in instances} == {
        ("run-inline-1", "test", 1)}
    assert len({launch["token"] for launch in instances}) == 5
    assert "group_end" not in instances[0]
    assert (end["job"], end["group_end"], end["attempt"], end["run_id"]) == ("test", True, 1, "run-inline-1")
    assert "instance" not in end
    assert aws.finished(execution)["status"] == "SUCCEEDED"
    assert aws.queue_is_empty()
    assert aws.history_length(execution) <= compiled.figures.worst_case_events


def test_a_distributed_map_reads_its_items_from_s3_and_sends_each_instance_then_the_group_end(
    aws: FanOutAws,
) -> None:
    compiled = aws.compile(job("test", shards=5, allowed_failures=1))  # fail fast, 1 tolerated
    assert [step.mode for step in compiled.plan.fan_out_steps()] == [MapMode.DISTRIBUTED]
    execution = aws.start_run(compiled, "run-distributed-1")

    instances = aws.launches(5)
    for launch in instances:
        aws.succeed(launch)
    end = aws.next_launch()
    aws.succeed(end)

    assert sorted(launch["instance"] for launch in instances) == [0, 1, 2, 3, 4]
    assert {(launch["run_id"], launch["job"], launch["attempt"]) for launch in instances} == {
        ("run-distributed-1", "test", 1)}
    assert (end["job"], end["group_end"]) == ("test", True)
    assert aws.finished(execution)["status"] == "SUCCEEDED"
    [map_run] = aws.sfn.list_map_runs(executionArn=execution)["mapRuns"]
    counts = aws.sfn.describe_map_run(mapRunArn=map_run["mapRunArn"])["itemCounts"]
    assert (counts["total"], counts["succeeded"]) == (5, 5)


def test_a_distributed_map_goes_on_past_a_tolerated_failure_and_the_group_end_judges(
    aws: FanOutAws,
) -> None:
    execution = aws.start_run(aws.compile(job("test", shards=5, allowed_failures=1)), "run-tolerated-1")

    instances = sorted(aws.launches(5), key=lambda launch: launch["instance"])
    aws.fail(instances[2])
    for launch in instances[:2] + instances[3:]:
        aws.succeed(launch)
    end = aws.next_launch()
    aws.fail(end)  # the engine could judge either way; its answer is the job's

    assert end["group_end"] is True
    assert aws.finished(execution)["status"] == "FAILED"


def test_an_inline_map_that_fails_fast_fails_into_the_group_end_at_the_first_failure(
    aws: FanOutAws,
) -> None:
    execution = aws.start_run(aws.compile(job("test", shards=3)), "run-fail-fast-1")

    first, *others = aws.launches(3)
    aws.fail(first)
    end = aws.next_launch()
    aws.fail(end)

    assert end["group_end"] is True
    assert aws.finished(execution)["status"] == "FAILED"
    for launch in others:  # aborted with the Map: what they answer changes nothing
        aws.sfn.send_task_failure(taskToken=launch["token"], error="Job.Failed")
    assert aws.queue_is_empty()


def test_an_instance_that_fails_is_retried_with_the_next_attempt_number_and_its_index(
    aws: FanOutAws,
) -> None:
    execution = aws.start_run(aws.compile(job("test", shards=2, retries={"limit": 1, "backoff": "1s"})),
                              "run-instance-retry-1")

    launches = {launch["instance"]: launch for launch in aws.launches(2)}
    aws.fail(launches[1])
    again = aws.next_launch()
    aws.succeed(again)
    aws.succeed(launches[0])
    aws.succeed(aws.next_launch())

    assert (again["instance"], again["attempt"]) == (1, 2)
    assert aws.finished(execution)["status"] == "SUCCEEDED"


def test_an_inline_map_that_does_not_fail_fast_runs_every_instance_past_a_failure(aws: FanOutAws) -> None:
    compiled = aws.compile(job("test", shards=3, fail_fast=False, allowed_failures=1))
    assert [step.mode for step in compiled.plan.fan_out_steps()] == [MapMode.INLINE]
    execution = aws.start_run(compiled, "run-go-on-1")

    first, *others = aws.launches(3)
    aws.fail(first)
    for launch in others:
        aws.succeed(launch)
    end = aws.next_launch()
    aws.succeed(end)  # the engine judged the one failure allowed

    assert end["group_end"] is True
    assert aws.finished(execution)["status"] == "SUCCEEDED"
    assert aws.history_length(execution) <= compiled.figures.worst_case_events


def test_moto_still_ignores_a_distributed_maps_tolerated_failure_count(aws: FanOutAws) -> None:
    """AWS fails the map run at the second failure here and starts no third child; moto runs
    every child and ends the run SUCCEEDED. The group's end judges from the records either
    way, and the launcher must start no instance of a group that has failed fast already.
    When this fails, moto honours ToleratedFailureCount: test the Map failing instead."""
    execution = aws.start_run(aws.compile(job("test", shards=3, max_parallel=1, allowed_failures=1)),
                              "run-moto-tolerance-1")

    instances = []
    for _ in range(3):
        instances.append(aws.next_launch())
        aws.fail(instances[-1])
    end = aws.next_launch()
    aws.fail(end)

    assert [launch["instance"] for launch in instances] == [0, 1, 2]
    assert end["group_end"] is True
    assert aws.finished(execution)["status"] == "FAILED"
    [map_run] = aws.sfn.list_map_runs(executionArn=execution)["mapRuns"]
    described = aws.sfn.describe_map_run(mapRunArn=map_run["mapRunArn"])
    assert (described["status"], described["itemCounts"]["failed"]) == ("SUCCEEDED", 3)
