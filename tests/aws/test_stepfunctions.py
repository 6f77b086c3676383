"""The Executions port on Step Functions (chalicelib/aws/stepfunctions.py): on moto, executing
the compiled machines for real with a real SQS launch queue; and on a stubbed client, for
what moto never answers (throttling, a lost create race, errors to translate).

moto runs executions on a background thread, so every wait is a bounded poll. moto keeps one
token for every attempt of a callback Task; `fresh_token_per_attempt` gives each its own, as
AWS does.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from chalicelib.asl import Target, compile_workflow
from chalicelib.aws.stepfunctions import (
    MAX_CAUSE_LENGTH,
    MAX_NAME_LENGTH,
    StepFunctionsExecutions,
    execution_arn,
    machine_name,
)
from chalicelib.aws.stepfunctions_errors import RetryPolicy
from chalicelib.cloud.ports import JOB_FAILED, JOB_NOT_RUNNABLE
from chalicelib.config import ConfigurationError
from chalicelib.domain.catalog import InMemoryCatalog
from chalicelib.domain.models import Workflow
from chalicelib.errors import InvalidDefinition, NotFound, ServiceUnavailable
from chalicelib.sandbox.moto_fixes import fresh_token_per_attempt
from tests.aws import REGION, fake_aws_environment
from tests.aws.launch_queue import DEADLINE_SECONDS, next_launch, queue_is_empty
from tests.builders import action, job, stage, workflow

ROLE = "arn:aws:iam::123456789012:role/containerops-state-machine"
MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:containerops-demo_ci_v1"


@dataclass
class Pauses:
    taken: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.taken.append(seconds)


@dataclass
class StepFunctions:
    sfn: Any
    sqs: Any
    queue_url: str
    pauses: Pauses = field(default_factory=Pauses)

    def adapter(self) -> StepFunctionsExecutions:
        """A new adapter: what another Lambda process (with nothing remembered) would use."""
        return StepFunctionsExecutions(self.sfn, ROLE, sleep=self.pauses)

    def compiled(self, definition: Workflow) -> str:
        return compile_workflow(definition, InMemoryCatalog(), Target(self.queue_url)).text

    def next_launch(self) -> dict[str, Any]:
        return next_launch(self.sqs, self.queue_url)

    def queue_is_empty(self) -> bool:
        return queue_is_empty(self.sqs, self.queue_url)

    def finished(self, machine: str, run_id: str) -> dict[str, Any]:
        """The run's execution once it is no longer RUNNING, polling a bounded time."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            described = self.sfn.describe_execution(executionArn=execution_arn(machine, run_id))
            if described["status"] != "RUNNING":
                return dict(described)
            time.sleep(0.05)
        raise AssertionError(f"execution still running after {DEADLINE_SECONDS} s")


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[StepFunctions]:
    fake_aws_environment(monkeypatch)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}), fresh_token_per_attempt():
        sqs = boto3.client("sqs", region_name=REGION)
        # A queue of its own: an execution a test left waiting must not send its launch into
        # the next test's queue (moto keeps its threads after the mock has ended).
        queue_url = sqs.create_queue(QueueName=f"containerops-launch-{uuid.uuid4().hex[:12]}")["QueueUrl"]
        yield StepFunctions(boto3.client("stepfunctions", region_name=REGION), sqs, queue_url)


def two_jobs(**fields: Any) -> Workflow:
    return workflow(stage("build", action("a", job("compile", **fields), job("pack"))))


# --- names -------------------------------------------------------------------------------

def test_a_machine_is_named_by_namespace_name_and_version_when_that_fits() -> None:
    assert machine_name("demo", "ci", 3) == "containerops-demo_ci_v3"


def test_a_long_name_is_cut_to_80_characters_ending_in_its_version_and_a_hash() -> None:
    namespace, name = "n" * 63, "w" * 63

    short = machine_name(namespace, name, 12)

    head, version, digest = short.rsplit("_", 2)
    assert len(short) == MAX_NAME_LENGTH
    assert head == "containerops-" + "n" * 24 + "_" + "w" * 25  # both parts still recognisable
    assert version == "v12" and len(digest) == 12 and int(digest, 16) >= 0


def test_a_short_namespace_leaves_the_rest_to_a_long_name() -> None:
    assert machine_name("demo", "w" * 70, 1).startswith("containerops-demo_" + "w" * 46 + "_v1_")


def test_two_workflows_never_share_a_machine_name() -> None:
    long = "w" * 63
    names = [
        machine_name("a-b", "c", 1), machine_name("a", "b-c", 1),  # the separator is not a slug's
        machine_name("demo", "ci", 1), machine_name("demo", "ci", 11), machine_name("demo", "c", 11),
        machine_name("n" * 63, long, 1), machine_name("n" * 63, long[:-1] + "x", 1),
        machine_name("n" * 62, long, 1), machine_name("n" * 63, long, 1, prefix="staging"),
    ]
    assert len(set(names)) == len(names)
    assert all(len(n) <= MAX_NAME_LENGTH and set(n) <= set("abcdefghijklmnopqrstuvwxyz0123456789-_")
               for n in names)


def test_a_name_with_characters_step_functions_refuses_is_made_safe_and_hashed() -> None:
    odd = machine_name("demo", "c i/d", 1)

    assert odd.startswith("containerops-demo_c-i-d_v1_")
    assert odd != machine_name("demo", "c-i-d", 1)


def test_an_execution_is_found_under_its_machine_by_the_run_id() -> None:
    assert execution_arn(MACHINE_ARN, "run-1") == (
        "arn:aws:states:us-east-1:123456789012:execution:containerops-demo_ci_v1:run-1")
    with pytest.raises(ValueError, match="not the ARN of a state machine"):
        execution_arn("arn:aws:sqs:us-east-1:123456789012:queue", "run-1")


def test_a_role_that_is_not_an_iam_role_arn_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_aws_environment(monkeypatch)
    client = boto3.client("stepfunctions", region_name=REGION)

    with pytest.raises(ConfigurationError, match="not an IAM role ARN"):
        StepFunctionsExecutions(client, "containerops-state-machine")


# --- machines on moto --------------------------------------------------------------------

def test_ensuring_a_machine_twice_creates_one_standard_machine_tagged_with_its_workflow(
    moto: StepFunctions,
) -> None:
    definition = two_jobs()
    text = moto.compiled(definition)

    first = moto.adapter().ensure_machine(definition, 1, text)
    again = moto.adapter().ensure_machine(definition, 1, text)

    [machine] = moto.sfn.list_state_machines()["stateMachines"]
    described = moto.sfn.describe_state_machine(stateMachineArn=first)
    tags = moto.sfn.list_tags_for_resource(resourceArn=first)["tags"]
    assert first == again == machine["stateMachineArn"] == MACHINE_ARN
    assert (described["type"], described["roleArn"], described["definition"]) == ("STANDARD", ROLE, text)
    assert {t["key"]: t["value"] for t in tags} == {"containerops:workflow": "demo/ci",
                                                    "containerops:version": "1"}


def test_two_deployments_with_their_own_prefixes_keep_their_own_machines(moto: StepFunctions) -> None:
    definition = two_jobs()
    text = moto.compiled(definition)
    prod = StepFunctionsExecutions(moto.sfn, ROLE, sleep=moto.pauses, prefix="containerops-prod")
    staging = StepFunctionsExecutions(moto.sfn, ROLE, sleep=moto.pauses, prefix="containerops-staging")

    arns = {prod.ensure_machine(definition, 1, text), staging.ensure_machine(definition, 1, text)}

    assert {arn.rsplit(":", 1)[-1] for arn in arns} == {"containerops-prod-demo_ci_v1",
                                                        "containerops-staging-demo_ci_v1"}
    assert len(moto.sfn.list_state_machines()["stateMachines"]) == 2


def test_a_changed_definition_updates_the_machine(moto: StepFunctions) -> None:
    executions = moto.adapter()
    old, new = moto.compiled(two_jobs()), moto.compiled(two_jobs(retries={"limit": 1, "backoff": "1s"}))
    arn = executions.ensure_machine(two_jobs(), 1, old)

    assert executions.ensure_machine(two_jobs(), 1, new) == arn
    assert moto.sfn.describe_state_machine(stateMachineArn=arn)["definition"] == new
    assert moto.adapter().ensure_machine(two_jobs(), 1, old) == arn  # another process, an older text
    assert moto.sfn.describe_state_machine(stateMachineArn=arn)["definition"] == old
    assert len(moto.sfn.list_state_machines()["stateMachines"]) == 1


def test_each_version_has_its_own_machine(moto: StepFunctions) -> None:
    executions = moto.adapter()
    text = moto.compiled(two_jobs())

    arns = {executions.ensure_machine(two_jobs(), version, text) for version in (1, 2)}

    assert len(arns) == len(moto.sfn.list_state_machines()["stateMachines"]) == 2


# --- executions on moto ------------------------------------------------------------------

def test_starting_a_run_twice_gives_one_execution_named_by_the_run(moto: StepFunctions) -> None:
    executions = moto.adapter()
    machine = executions.ensure_machine(two_jobs(), 1, moto.compiled(two_jobs()))

    executions.start(machine, "run-1")
    executions.start(machine, "run-1")
    moto.adapter().start(machine, "run-1")

    [execution] = moto.sfn.list_executions(stateMachineArn=machine)["executions"]
    described = moto.sfn.describe_execution(executionArn=execution["executionArn"])
    launch = moto.next_launch()
    executions.fail(launch["token"], JOB_NOT_RUNNABLE, "the test is over")
    assert (launch["job"], moto.finished(machine, "run-1")["status"]) == ("compile", "FAILED")
    assert moto.queue_is_empty()  # one execution, one launch
    assert execution["executionArn"] == execution_arn(machine, "run-1")
    assert (execution["name"], json.loads(described["input"])) == ("run-1", {"run_id": "run-1"})


def test_a_run_started_again_after_its_execution_ended_starts_nothing(moto: StepFunctions) -> None:
    executions = moto.adapter()
    definition = workflow(stage("s", action("a", job("only"))))
    machine = executions.ensure_machine(definition, 1, moto.compiled(definition))
    executions.start(machine, "run-1")
    executions.succeed(moto.next_launch()["token"])
    moto.finished(machine, "run-1")

    executions.start(machine, "run-1")

    assert len(moto.sfn.list_executions(stateMachineArn=machine)["executions"]) == 1
    assert moto.queue_is_empty()


def test_a_job_message_arrives_and_succeeding_its_token_moves_the_run_on(moto: StepFunctions) -> None:
    executions = moto.adapter()
    machine = executions.ensure_machine(two_jobs(), 1, moto.compiled(two_jobs()))
    executions.start(machine, "run-1")

    compile_launch = moto.next_launch()
    executions.succeed(compile_launch["token"])
    pack_launch = moto.next_launch()
    executions.succeed(pack_launch["token"])

    assert (compile_launch["run_id"], compile_launch["job"]) == ("run-1", "compile")
    assert compile_launch["attempt"] == 1
    assert (pack_launch["job"], pack_launch["attempt"]) == ("pack", 1)
    assert moto.finished(machine, "run-1")["status"] == "SUCCEEDED"


def test_a_job_failed_is_retried_by_the_machine_as_its_retry_says(moto: StepFunctions) -> None:
    executions = moto.adapter()
    definition = two_jobs(retries={"limit": 1, "backoff": "1s"})
    machine = executions.ensure_machine(definition, 1, moto.compiled(definition))
    executions.start(machine, "run-1")

    first = moto.next_launch()
    executions.fail(first["token"], JOB_FAILED, "exit code 1")
    second = moto.next_launch()
    executions.fail(second["token"], JOB_FAILED, "exit code 1")

    assert [(first["job"], first["attempt"]), (second["job"], second["attempt"])] == [
        ("compile", 1), ("compile", 2)]
    assert moto.finished(machine, "run-1")["status"] == "FAILED"  # no third attempt: limit 1
    assert moto.queue_is_empty()


def test_a_job_that_cannot_run_is_not_retried(moto: StepFunctions) -> None:
    executions = moto.adapter()
    definition = two_jobs(retries={"limit": 2, "backoff": "1s"})
    machine = executions.ensure_machine(definition, 1, moto.compiled(definition))
    executions.start(machine, "run-1")

    executions.fail(moto.next_launch()["token"], JOB_NOT_RUNNABLE, "component demo/x@1 not found")

    assert moto.finished(machine, "run-1")["status"] == "FAILED"
    assert moto.queue_is_empty()


def test_answering_a_closed_token_is_silent(moto: StepFunctions) -> None:
    executions = moto.adapter()
    definition = workflow(stage("s", action("a", job("only"))))
    machine = executions.ensure_machine(definition, 1, moto.compiled(definition))
    executions.start(machine, "run-1")
    token = moto.next_launch()["token"]
    executions.succeed(token)
    moto.finished(machine, "run-1")

    executions.succeed(token)
    executions.fail(token, JOB_FAILED, "a verdict that came late")
    executions.succeed("not-a-token-step-functions-ever-gave")

    assert moto.finished(machine, "run-1")["status"] == "SUCCEEDED"


def test_stopping_a_run_aborts_its_execution(moto: StepFunctions) -> None:
    executions = moto.adapter()
    machine = executions.ensure_machine(two_jobs(), 1, moto.compiled(two_jobs()))
    executions.start(machine, "run-1")
    pending = moto.next_launch()

    executions.stop(machine, "run-1", "cancelled")
    # moto keeps an execution with a pending token running until the token is answered
    # (AWS aborts it at once): answer it, as the verdict of the stopped task would.
    executions.succeed(pending["token"])

    assert moto.finished(machine, "run-1")["status"] == "ABORTED"
    assert moto.queue_is_empty()  # pack was never launched


def test_an_executions_end_is_told_as_its_event_would_tell_it_and_nothing_while_it_runs(
        moto: StepFunctions) -> None:
    executions = moto.adapter()
    machine = executions.ensure_machine(two_jobs(), 1, moto.compiled(two_jobs()))
    executions.start(machine, "run-1")
    first = moto.next_launch()
    assert executions.end_of(machine, "run-1") is None
    assert executions.end_of(machine, "run-never-started") is None

    executions.fail(first["token"], JOB_NOT_RUNNABLE, "unknown component 'x'")
    moto.finished(machine, "run-1")
    ended = executions.end_of(machine, "run-1")

    assert ended is not None
    # (moto keeps no cause for a task failure; the run's end reads the cause only when no
    # failed job explains the failure)
    assert (ended.run_id, ended.status, ended.error) == ("run-1", "FAILED", JOB_NOT_RUNNABLE)
    assert ended.stopped_at is not None


def test_stopping_a_run_that_ended_or_never_started_is_fine(moto: StepFunctions) -> None:
    executions = moto.adapter()
    definition = workflow(stage("s", action("a", job("only"))))
    machine = executions.ensure_machine(definition, 1, moto.compiled(definition))
    executions.start(machine, "run-1")
    executions.succeed(moto.next_launch()["token"])
    moto.finished(machine, "run-1")

    executions.stop(machine, "run-1", "cancelled")
    executions.stop(machine, "run-never-started", "cancelled")

    assert [e["name"] for e in moto.sfn.list_executions(stateMachineArn=machine)["executions"]] == ["run-1"]
    assert moto.pauses.taken == []  # nothing was retried either


# --- what moto never answers: a stubbed client ---------------------------------------------

@dataclass
class Stubbed:
    client: Any
    stub: Stubber
    pauses: Pauses

    def adapter(self, attempts: int = 3) -> StepFunctionsExecutions:
        return StepFunctionsExecutions(self.client, ROLE, sleep=self.pauses,
                                       retry=RetryPolicy(attempts=attempts, base_delay=0.1, max_delay=1.0),
                                       jitter=lambda ceiling: ceiling)

    def refuse(self, operation: str, code: str, times: int = 1) -> None:
        for _ in range(times):
            self.stub.add_client_error(operation, service_error_code=code, service_message=f"{code}!")

    def described(self, definition: str) -> None:
        self.stub.add_response("describe_state_machine", {
            "stateMachineArn": MACHINE_ARN, "name": "containerops-demo_ci_v1", "definition": definition,
            "roleArn": ROLE, "type": "STANDARD", "creationDate": datetime.now(UTC)})


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubbed]:
    fake_aws_environment(monkeypatch)
    client = boto3.client("stepfunctions", region_name=REGION)
    with Stubber(client) as stub:
        yield Stubbed(client, stub, Pauses())
        stub.assert_no_pending_responses()


DEFINITION = json.dumps({"StartAt": "x", "States": {"x": {"Type": "Pass", "End": True}}})


def test_throttling_is_retried_with_growing_pauses(stubbed: Stubbed) -> None:
    stubbed.refuse("start_execution", "ThrottlingException", times=2)
    stubbed.stub.add_response("start_execution", {"executionArn": execution_arn(MACHINE_ARN, "run-1"),
                                                  "startDate": datetime.now(UTC)})

    stubbed.adapter(attempts=3).start(MACHINE_ARN, "run-1")

    assert stubbed.pauses.taken == [0.1, 0.2]


def test_throttling_past_the_last_attempt_is_service_unavailable(stubbed: Stubbed) -> None:
    stubbed.refuse("send_task_success", "ThrottlingException", times=3)

    with pytest.raises(ServiceUnavailable, match=r"throttled the request .*3 attempts"):
        stubbed.adapter(attempts=3).succeed("token")
    assert len(stubbed.pauses.taken) == 2


def test_a_machine_known_current_costs_no_call(stubbed: Stubbed) -> None:
    executions = stubbed.adapter()
    stubbed.described(DEFINITION)

    first = executions.ensure_machine(two_jobs(), 1, DEFINITION)
    again = executions.ensure_machine(two_jobs(), 1, DEFINITION)  # the stub has nothing left to give

    assert first == again == MACHINE_ARN


def test_a_definition_equal_as_json_is_not_updated(stubbed: Stubbed) -> None:
    stubbed.described(json.dumps(json.loads(DEFINITION), indent=2))

    assert stubbed.adapter().ensure_machine(two_jobs(), 1, DEFINITION) == MACHINE_ARN


def test_a_machine_another_handler_created_first_is_updated_to_this_definition(stubbed: Stubbed) -> None:
    stubbed.refuse("describe_state_machine", "StateMachineDoesNotExist")
    stubbed.refuse("create_state_machine", "StateMachineAlreadyExists")
    stubbed.stub.add_response("update_state_machine", {"updateDate": datetime.now(UTC)},
                              {"stateMachineArn": MACHINE_ARN, "definition": DEFINITION, "roleArn": ROLE})

    assert stubbed.adapter().ensure_machine(two_jobs(), 1, DEFINITION) == MACHINE_ARN


def test_a_cause_is_cut_to_what_step_functions_keeps(stubbed: Stubbed) -> None:
    stubbed.stub.add_response("send_task_failure", {}, {
        "taskToken": "token", "error": JOB_FAILED, "cause": "x" * MAX_CAUSE_LENGTH})

    stubbed.adapter().fail("token", JOB_FAILED, "x" * (MAX_CAUSE_LENGTH + 10))


@pytest.mark.parametrize(("operation", "code", "error"), [
    ("start_execution", "StateMachineDoesNotExist", NotFound),
    ("start_execution", "AccessDeniedException", ServiceUnavailable),
    ("start_execution", "ExecutionLimitExceeded", ServiceUnavailable),
    ("stop_execution", "ValidationException", ServiceUnavailable),
    ("send_task_success", "AccessDeniedException", ServiceUnavailable),
])
def test_other_refusals_become_the_projects_errors_naming_the_code(
    stubbed: Stubbed, operation: str, code: str, error: type[Exception]
) -> None:
    stubbed.refuse(operation, code)
    executions = stubbed.adapter()
    call: dict[str, Callable[[], None]] = {
        "start_execution": lambda: executions.start(MACHINE_ARN, "run-1"),
        "stop_execution": lambda: executions.stop(MACHINE_ARN, "run-1", "cancelled"),
        "send_task_success": lambda: executions.succeed("token"),
    }

    with pytest.raises(error, match=f"{code}!"):
        call[operation]()
    assert stubbed.pauses.taken == []


def test_a_definition_step_functions_refuses_is_an_invalid_definition(stubbed: Stubbed) -> None:
    stubbed.refuse("describe_state_machine", "StateMachineDoesNotExist")
    stubbed.refuse("create_state_machine", "InvalidDefinition")

    with pytest.raises(InvalidDefinition) as refused:
        stubbed.adapter().ensure_machine(two_jobs(), 1, DEFINITION)
    assert "Step Functions refused the state machine: InvalidDefinition!" in str(refused.value.problems[0])
