"""The events the sandbox sends are the ones the handlers read: each is built as AWS would send
it and read back by the very parsers app.py's functions use (chalicelib/cloud/events.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from chalicelib.cloud.events import LaunchMessage, execution_ended, task_group, task_stopped
from chalicelib.sandbox.aws_events import (
    ESSENTIAL_CONTAINER_EXITED,
    OUT_OF_MEMORY_REASON,
    TASK_FAILED_TO_START,
    TaskEnded,
    execution_status_change,
    iso_time,
    queue_arn,
    sqs_batch,
    task_state_change,
)

TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/containerops-x/0123456789abcdef"
TASK = {"taskArn": TASK_ARN, "group": task_group("run-1", "build", 2), "startedBy": "co-abc",
        "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/containerops-x",
        "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/containerops-1:1"}


def test_a_stopped_task_is_read_with_its_exit_code_stop_code_and_times() -> None:
    event = task_state_change(TASK, TaskEnded(3, ESSENTIAL_CONTAINER_EXITED, "Essential container in"
                                              " task exited", started_at=1000.25, stopped_at=1002.5),
                              "us-east-1", now=1003.0)

    stopped = task_stopped(event)

    assert stopped is not None
    assert (stopped.task_arn, stopped.exit_code) == (TASK_ARN, 3)
    assert stopped.stop_code == ESSENTIAL_CONTAINER_EXITED
    assert stopped.attempt_key == ("run-1", "build", 2)
    assert (stopped.started_at, stopped.stopped_at) == (1000.25, 1002.5)
    assert event["detail-type"] == "ECS Task State Change" and event["resources"] == [TASK_ARN]


def test_a_task_that_never_ran_has_no_exit_code_and_an_out_of_memory_one_says_so() -> None:
    never = task_stopped(task_state_change(TASK, TaskEnded(None, TASK_FAILED_TO_START, "CannotPull"),
                                           "us-east-1", now=0.0))
    killed = task_stopped(task_state_change(TASK, TaskEnded(137, ESSENTIAL_CONTAINER_EXITED, "exited",
                                                            container_reason=OUT_OF_MEMORY_REASON),
                                            "us-east-1", now=0.0))

    assert never is not None and (never.exit_code, never.stop_code) == (None, TASK_FAILED_TO_START)
    assert killed is not None and killed.container_reason == OUT_OF_MEMORY_REASON


def test_ecs_times_are_iso_8601_in_utc_with_milliseconds() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)

    assert iso_time(moment.timestamp()) == "2026-01-02T03:04:05.678Z"


def test_an_ended_execution_is_read_with_its_status_error_and_stop_time() -> None:
    described = {
        "executionArn": "arn:aws:states:us-east-1:123456789012:execution:m:run-1",
        "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:m",
        "name": "run-1", "status": "FAILED", "error": "Job.Failed", "cause": "exit code 1",
        "startDate": datetime(2026, 1, 2, tzinfo=UTC), "stopDate": datetime(2026, 1, 2, 0, 0, 9, tzinfo=UTC),
    }

    ended = execution_ended(execution_status_change(described, "us-east-1", now=0.0))

    assert ended is not None
    assert (ended.run_id, ended.status) == ("run-1", "FAILED")
    assert (ended.error, ended.cause) == ("Job.Failed", "exit code 1")
    assert ended.stopped_at == datetime(2026, 1, 2, 0, 0, 9, tzinfo=UTC).timestamp()


def test_a_running_execution_tells_of_no_end() -> None:
    described = {"executionArn": "a", "stateMachineArn": "m", "name": "run-1", "status": "RUNNING"}

    assert execution_ended(execution_status_change(described, "us-east-1", now=0.0)) is None


def test_received_messages_become_the_records_of_an_sqs_event() -> None:
    body = json.dumps({"run_id": "run-1", "job": "build", "attempt": 1, "token": "t"})
    received = [{"MessageId": "m-1", "ReceiptHandle": "r-1", "Body": body, "MD5OfBody": "x",
                 "Attributes": {"ApproximateReceiveCount": "1"}}]
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/containerops-launch-x"

    [record] = sqs_batch(received, queue_arn(url, "us-east-1"), "us-east-1")["Records"]

    assert record["messageId"] == "m-1" and record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:containerops-launch-x"
    assert LaunchMessage.from_body(record["body"]) == LaunchMessage("run-1", "build", 1, "t")
