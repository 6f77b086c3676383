"""The events AWS would send the Lambda functions, built from what moto and Docker say: pure.

- an SQS batch for the launcher (`Records` with `messageId`, `receiptHandle`, `body`, ...);
- an ECS "Task State Change" (EventBridge, source aws.ecs) for a task that stopped, with the
  job container's exit code, which moto never knows (the container ran on Docker);
- a Step Functions "Execution Status Change" (EventBridge, source aws.states).

Shapes as AWS documents them, with the fields our handlers read and the ones around them a
real event carries; times are ISO 8601 for ECS and milliseconds for Step Functions, as AWS
gives them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.cloud.events import JOB_CONTAINER, RESTORE_CONTAINER, SAVE_CONTAINER
from chalicelib.sandbox.environment import ACCOUNT

# ECS's words for how a task ended.
ESSENTIAL_CONTAINER_EXITED = "EssentialContainerExited"
USER_INITIATED = "UserInitiated"
TASK_FAILED_TO_START = "TaskFailedToStart"
EXITED_REASON = "Essential container in task exited"
OUT_OF_MEMORY_REASON = "OutOfMemoryError: Container killed due to memory usage"


@dataclass(frozen=True)
class TaskEnded:
    """How a task's job container ended, in ECS's terms, and its workspace sidecars."""

    exit_code: int | None  # None: the container never ran
    stop_code: str
    stopped_reason: str
    container_reason: str = ""
    started_at: float | None = None
    stopped_at: float | None = None
    restore_exit_code: int | None = None  # None: never ran
    save_exit_code: int | None = None


def iso_time(seconds: float) -> str:
    """ECS's timestamps: ISO 8601 in UTC with milliseconds."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _envelope(detail_type: str, source: str, region: str, resources: list[str], now: float,
              detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": resources,
        "detail": detail,
    }


def task_state_change(task: Mapping[str, Any], ended: TaskEnded, region: str,
                      now: float) -> dict[str, Any]:
    """The STOPPED event of a task as `describe_tasks` shows it (moto), ended as `ended` says."""
    task_arn = str(task["taskArn"])

    def container(name: str, exit_code: int | None, reason: str = "") -> dict[str, Any]:
        told: dict[str, Any] = {
            "containerArn": f"{task_arn.replace(':task/', ':container/')}/{name}",
            "name": name,
            "lastStatus": "STOPPED",
            "taskArn": task_arn,
        }
        if exit_code is not None:
            told["exitCode"] = exit_code
        if reason:
            told["reason"] = reason
        return told

    containers = [container(RESTORE_CONTAINER, ended.restore_exit_code),
                  container(JOB_CONTAINER, ended.exit_code, ended.container_reason),
                  container(SAVE_CONTAINER, ended.save_exit_code)]
    detail: dict[str, Any] = {
        "clusterArn": task.get("clusterArn", ""),
        "taskArn": task_arn,
        "taskDefinitionArn": task.get("taskDefinitionArn", ""),
        "group": task.get("group", ""),
        "startedBy": task.get("startedBy", ""),
        "launchType": "FARGATE",
        "lastStatus": "STOPPED",
        "desiredStatus": "STOPPED",
        "stopCode": ended.stop_code,
        "stoppedReason": ended.stopped_reason,
        "containers": containers,
        "overrides": task.get("overrides", {}),
    }
    for key, value in (("startedAt", ended.started_at), ("stoppedAt", ended.stopped_at)):
        if value is not None:
            detail[key] = iso_time(value)
    return _envelope("ECS Task State Change", "aws.ecs", region, [task_arn], now, detail)


def execution_status_change(execution: Mapping[str, Any], region: str, now: float) -> dict[str, Any]:
    """The event of an execution as `describe_execution` shows it (its status included)."""
    def millis(value: object) -> int | None:
        return round(value.timestamp() * 1000) if isinstance(value, datetime) else None

    detail = {
        "executionArn": execution["executionArn"],
        "stateMachineArn": execution["stateMachineArn"],
        "name": execution["name"],
        "status": execution["status"],
        "startDate": millis(execution.get("startDate")),
        "stopDate": millis(execution.get("stopDate")),
        "input": execution.get("input"),
        "output": execution.get("output"),
        "error": execution.get("error"),
        "cause": execution.get("cause"),
    }
    return _envelope("Step Functions Execution Status Change", "aws.states", region,
                     [str(execution["executionArn"])], now, detail)


def sqs_batch(messages: Sequence[Mapping[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS event source hands the function for these received messages."""
    return {"Records": [{
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": dict(message.get("MessageAttributes") or {}),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    } for message in messages]}


def queue_arn(queue_url: str, region: str) -> str:
    """arn:aws:sqs:<region>:<account>:<name> of a queue URL (…/<account>/<name>)."""
    account, name = queue_url.rstrip("/").split("/")[-2:]
    return f"arn:aws:sqs:{region}:{account}:{name}"
