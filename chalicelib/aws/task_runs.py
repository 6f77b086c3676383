"""The RunTask request of a job attempt, as data.

The attempt runs on the settings' cluster, on Fargate, in the settings' private subnets and
security groups (no public IP: the subnets reach the registries through NAT or endpoints). Its
`startedBy` is `co-` and 32 hex of a hash of the attempt's key (run/job/attempt), which is how
an attempt finds its task again; the tags name the run, job and attempt for a person looking
at the console. The environment reaches the container through overrides, without the
variables whose value is a secret (those come from the task definition's `secrets`), and is
checked before it leaves: no secret value in it, and within the 8192 characters ECS accepts
for overrides, so either mistake is a launch error that says so rather than a leak or
AWS's bare refusal. The client token (`<startedBy>-<try>`) makes a RunTask sent again with
the same try (a launcher retried after it died, or a duplicate message handled at the same
time) return the task the first one started instead of starting another.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from chalicelib.aws.task_definitions import CONTAINER_NAME
from chalicelib.cloud.events import RESTORE_CONTAINER, SAVE_CONTAINER, task_group
from chalicelib.cloud.ports import TaskRequest
from chalicelib.config import AwsSettings
from chalicelib.errors import LaunchError
from chalicelib.workspace import sidecar

if TYPE_CHECKING:
    from mypy_boto3_ecs.type_defs import (
        KeyValuePairTypeDef,
        RunTaskRequestTypeDef,
        TagTypeDef,
        TaskOverrideTypeDef,
    )

STARTED_BY_PREFIX = "co-"
OVERRIDES_LIMIT = 8192  # characters of the overrides' JSON, as ECS counts them
TAG_VALUE_LIMIT = 256
RUN_TAG, JOB_TAG, ATTEMPT_TAG = "containerops:run", "containerops:job", "containerops:attempt"


def started_by(request_key: str) -> str:
    """The `startedBy` of an attempt's task (`TaskRequest.key`): within ECS's 36 characters."""
    return STARTED_BY_PREFIX + hashlib.sha256(request_key.encode()).hexdigest()[:32]


def client_token(request_key: str, try_number: int) -> str:
    """The client token of try `try_number` (0 for the first) of starting the attempt's task."""
    return f"{started_by(request_key)}-{try_number}"


def environment(request: TaskRequest) -> dict[str, str]:
    """The container's environment as overrides carry it: the plan's, minus the variables
    that come from secrets. LaunchError if a secret value would still be in it."""
    plan = request.plan
    variables = {
        name: value for name, value in plan.environment(request.run_id, request.attempt).items()
        if name not in request.secret_variables
    }
    for name, value in variables.items():
        if any(secret in value for secret in plan.secret_values if secret):
            raise LaunchError(
                f"variable {name} of job '{plan.job}' holds a secret's value, which RunTask"
                " overrides would show to anyone allowed to describe tasks; give the secret a"
                " variable of its own (NAME: ${{ secrets.NAME }})"
            )
    return variables


def sidecar_environment(request: TaskRequest) -> dict[str, str]:
    """Which attempt's layer the workspace sidecars restore for and save."""
    return {sidecar.RUN_ID: request.run_id, sidecar.JOB: request.plan.job,
            sidecar.ATTEMPT: str(request.attempt)}


def overrides(request: TaskRequest) -> TaskOverrideTypeDef:
    variables = environment(request)
    sidecars: list[KeyValuePairTypeDef] = [
        {"name": name, "value": value} for name, value in sidecar_environment(request).items()]
    answer: TaskOverrideTypeDef = {"containerOverrides": [
        {"name": CONTAINER_NAME,
         "environment": [{"name": name, "value": value} for name, value in variables.items()]},
        {"name": RESTORE_CONTAINER, "environment": sidecars},
        {"name": SAVE_CONTAINER, "environment": sidecars},
    ]}
    size = len(json.dumps(answer, separators=(",", ":")))
    if size > OVERRIDES_LIMIT:
        data = len(variables.get("CO_DATA", ""))
        raise LaunchError(
            f"the environment of job '{request.plan.job}' takes {size} characters of RunTask"
            f" overrides (CO_DATA {data} of them), more than the {OVERRIDES_LIMIT} ECS accepts"
        )
    return answer


def tags(request: TaskRequest) -> list[TagTypeDef]:
    values = {RUN_TAG: request.run_id, JOB_TAG: request.plan.job, ATTEMPT_TAG: str(request.attempt)}
    return [{"key": key, "value": value[:TAG_VALUE_LIMIT]} for key, value in values.items()]


def run_task_request(request: TaskRequest, settings: AwsSettings, family: str) -> RunTaskRequestTypeDef:
    """RunTask of the attempt's task from the latest revision of `family` (every revision of a
    family registers the same content), without the client token of a try (`client_token`)."""
    return {
        "cluster": settings.cluster,
        "taskDefinition": family,
        "launchType": "FARGATE",
        "count": 1,
        "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": list(settings.subnets),
            "securityGroups": list(settings.security_groups),
            "assignPublicIp": "DISABLED",
        }},
        "startedBy": started_by(request.key),
        # The group names the attempt, so the task's STOPPED event finds it even before the
        # launcher recorded the task (chalicelib/cloud/verdict.py).
        "group": task_group(request.run_id, request.plan.job, request.attempt),
        "tags": tags(request),
        "overrides": overrides(request),
    }
