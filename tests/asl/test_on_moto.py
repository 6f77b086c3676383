"""The compiled machines run on Step Functions as moto executes them: launches arrive on a real
SQS queue in stage order, answered tokens move the run on, Job.Failed retries with the next
attempt number, continue_on_error carries on, and a failure stops the run.

moto runs executions on a background thread, so every wait is a bounded poll. moto keeps
one token for all attempts of a callback Task, and its first answer with it (pinned down
by the last test); `fresh_token_per_attempt` gives each attempt its own, as AWS does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.asl import CompiledMachine, Target, compile_workflow
from chalicelib.domain.catalog import InMemoryCatalog
from chalicelib.sandbox.moto_fixes import fresh_token_per_attempt
from tests.asl.conftest import EXAMPLES, load_workflow
from tests.aws import REGION, fake_aws_environment
from tests.aws.launch_queue import DEADLINE_SECONDS, next_launch, queue_is_empty
from tests.builders import action, job, stage, workflow

ROLE = "arn:aws:iam::123456789012:role/containerops-state-machine"


@dataclass
class StepFunctions:
    sqs: Any
    sfn: Any
    queue_url: str

    def start(self, compiled: CompiledMachine, run_id: str) -> str:
        machine = self.sfn.create_state_machine(name=f"machine-{run_id}", definition=compiled.text,
                                                roleArn=ROLE)["stateMachineArn"]
        return str(self.sfn.start_execution(stateMachineArn=machine, name=run_id,
                                            input=json.dumps({"run_id": run_id}))["executionArn"])

    def next_launch(self) -> dict[str, Any]:
        return next_launch(self.sqs, self.queue_url)

    def queue_is_empty(self) -> bool:
        return queue_is_empty(self.sqs, self.queue_url)

    def succeed(self, launch: dict[str, Any]) -> None:
        self.sfn.send_task_success(taskToken=launch["token"], output="{}")

    def fail(self, launch: dict[str, Any]) -> None:
        self.sfn.send_task_failure(taskToken=launch["token"], error="Job.Failed", cause="exit code 1")

    def finished(self, execution: str) -> dict[str, Any]:
        """The execution once it is no longer RUNNING, polling a bounded time."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            description = self.sfn.describe_execution(executionArn=execution)
            if description["status"] != "RUNNING":
                return dict(description)
            time.sleep(0.05)
        raise AssertionError(f"execution still running after {DEADLINE_SECONDS} s")

    def history_length(self, execution: str) -> int:
        return len(self.sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"])


@pytest.fixture
def moto_as_is(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[StepFunctions]:
    """Step Functions and SQS in moto, with moto's own handling of callback tokens."""
    fake_aws_environment(monkeypatch)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="containerops-launch")["QueueUrl"]
        yield StepFunctions(sqs, boto3.client("stepfunctions", region_name=REGION), queue_url)


@pytest.fixture
def aws(moto_as_is: StepFunctions) -> Iterator[StepFunctions]:
    """Step Functions and SQS in moto, each attempt of a callback Task with its own token."""
    with fresh_token_per_attempt():
        yield moto_as_is


def compiled_example(name: str, aws: StepFunctions, catalog: InMemoryCatalog) -> CompiledMachine:
    return compile_workflow(load_workflow(EXAMPLES / "workflows" / f"{name}.yaml"), catalog,
                            Target(aws.queue_url))


def test_the_ci_example_launches_its_jobs_in_stage_order_and_succeeds(
    aws: StepFunctions, examples_catalog: InMemoryCatalog
) -> None:
    compiled = compiled_example("ci", aws, examples_catalog)
    execution = aws.start(compiled, "run-ci-1")

    clone = aws.next_launch()
    aws.succeed(clone)
    verify = [aws.next_launch(), aws.next_launch()]  # both before either is answered: in parallel
    for launch in verify:
        aws.succeed(launch)
    package = aws.next_launch()
    aws.succeed(package)
    release = aws.next_launch()
    aws.succeed(release)

    launches = [clone, *verify, package, release]
    assert clone["job"] == "clone"
    assert {launch["job"] for launch in verify} == {"lint", "test"}
    assert [package["job"], release["job"]] == ["package", "release"]
    assert all((launch["run_id"], launch["attempt"]) == ("run-ci-1", 1) for launch in launches)
    assert aws.finished(execution)["status"] == "SUCCEEDED"
    assert aws.history_length(execution) <= compiled.figures.worst_case_events


def test_a_failed_attempt_is_launched_again_with_the_next_attempt_number(
    aws: StepFunctions, examples_catalog: InMemoryCatalog
) -> None:
    compiled = compiled_example("retry", aws, examples_catalog)
    execution = aws.start(compiled, "run-retry-1")

    first = aws.next_launch()
    aws.fail(first)
    second = aws.next_launch()
    aws.succeed(second)

    assert (first["job"], first["attempt"]) == ("flaky", 1)
    assert (second["job"], second["attempt"], second["run_id"]) == ("flaky", 2, "run-retry-1")
    assert second["token"] != first["token"]
    assert aws.finished(execution)["status"] == "SUCCEEDED"
    assert aws.queue_is_empty()  # no third attempt
    assert aws.history_length(execution) <= compiled.figures.worst_case_events


def test_a_retry_inside_a_parallel_branch_counts_that_jobs_attempts_alone(aws: StepFunctions) -> None:
    definition = workflow(stage("verify", action("lint", job("lint")),
                                action("test", job("test", retries={"limit": 1, "backoff": "1s"}))))
    compiled = compile_workflow(definition, InMemoryCatalog(), Target(aws.queue_url))
    execution = aws.start(compiled, "run-branch-retry-1")

    launches = {launch["job"]: launch for launch in (aws.next_launch(), aws.next_launch())}
    aws.fail(launches["test"])
    again = aws.next_launch()
    aws.succeed(again)
    aws.succeed(launches["lint"])

    assert (launches["lint"]["attempt"], launches["test"]["attempt"]) == (1, 1)
    assert (again["job"], again["attempt"]) == ("test", 2)
    assert aws.finished(execution)["status"] == "SUCCEEDED"
    assert aws.queue_is_empty()


def test_a_job_that_continues_on_error_lets_the_next_stage_run(aws: StepFunctions) -> None:
    definition = workflow(stage("check", action("a", job("advisory", continue_on_error=True))),
                          stage("ship", action("a", job("deploy"))))
    compiled = compile_workflow(definition, InMemoryCatalog(), Target(aws.queue_url))
    execution = aws.start(compiled, "run-continue-1")

    aws.fail(aws.next_launch())
    deploy = aws.next_launch()
    aws.succeed(deploy)

    assert deploy["job"] == "deploy"
    assert aws.finished(execution)["status"] == "SUCCEEDED"


def test_a_failed_job_fails_the_run_and_launches_nothing_after_it(
    aws: StepFunctions, examples_catalog: InMemoryCatalog
) -> None:
    execution = aws.start(compiled_example("failing", aws, examples_catalog), "run-failing-1")

    check = aws.next_launch()
    aws.fail(check)
    ended = aws.finished(execution)

    assert check["job"] == "check"
    assert ended["status"] == "FAILED"
    assert aws.queue_is_empty()


def test_a_verdict_that_never_comes_times_the_job_out_once_without_a_retry(aws: StepFunctions) -> None:
    definition = workflow(stage("s", action("a", job("lost", timeout="1s",
                                                    retries={"limit": 2, "backoff": "1s"}))))
    target = Target(aws.queue_url, launch_allowance_seconds=0)
    execution = aws.start(compile_workflow(definition, InMemoryCatalog(), target), "run-lost-1")

    lost = aws.next_launch()  # and never answered
    ended = aws.finished(execution)

    assert lost["attempt"] == 1
    assert (ended["status"], ended.get("error")) == ("FAILED", "States.Timeout")
    assert aws.queue_is_empty()


def test_moto_still_reuses_a_callback_tasks_token_and_first_answer_for_its_retries(
    moto_as_is: StepFunctions,
) -> None:
    """When this fails, moto gives each attempt its own wait: drop fresh_token_per_attempt."""
    definition = workflow(stage("s", action("a", job("flaky", retries={"limit": 1, "backoff": "1s"}))))
    compiled = compile_workflow(definition, InMemoryCatalog(), Target(moto_as_is.queue_url))
    execution = moto_as_is.start(compiled, "run-moto-tokens-1")

    first = moto_as_is.next_launch()
    moto_as_is.fail(first)
    second = moto_as_is.next_launch()

    assert (second["attempt"], second["token"]) == (2, first["token"])
    assert moto_as_is.finished(execution)["status"] == "FAILED"  # the old failure, read again
