"""The job containers of aws mode: `Tasks` (chalicelib/cloud/ports.py) on ECS Fargate.

`run` starts an attempt's task at most once. Each try first looks for the task already
started for the attempt (`ListTasks` by its `startedBy`, desired status RUNNING and then
STOPPED, since ListTasks shows only one status per call), so a launcher retried after it died
between RunTask and recording the task finds that task instead of starting a second; then it
makes sure the task definition is registered and calls RunTask with a client token per try,
which covers what ListTasks cannot see yet (a duplicate message handled at the same moment).
Throttling, ECS server errors, an unreachable endpoint and RunTask's `failures[]` (no capacity,
an agent away) are tried again with backoff (`ecs_retry.py`); a refused request (a bad image
reference, a role ECS cannot use) is not, since it would be refused alike. What is left
becomes LaunchError in `ecs_errors.py`, with AWS's answer in words. `find` and `stop` retry
the same way and fail with ServiceUnavailable (ECS could not answer; trying later may work).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from chalicelib.aws.ecs_errors import (
    CLIENT_EXCEPTION,
    CONFLICT,
    INVALID_PARAMETER,
    TaskNotPlaced,
    ecs_errors,
    error_code,
)
from chalicelib.aws.ecs_retry import DEFAULT_RETRY, Retrying, RetryPolicy, equal_jitter
from chalicelib.aws.task_definitions import (
    CONTAINER_NAME,
    TaskDefinition,
    TaskDefinitions,
    task_definition_for,
)
from chalicelib.aws.task_runs import client_token, run_task_request, started_by
from chalicelib.cloud.events import TaskStopped, task_stopped
from chalicelib.cloud.ports import TaskRequest
from chalicelib.config import AwsSettings
from chalicelib.errors import LaunchError, ServiceUnavailable

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_ecs.literals import DesiredStatusType
    from mypy_boto3_ecs.type_defs import RunTaskRequestTypeDef

STOP_REASON_LIMIT = 255  # characters ECS keeps of a stop reason
# A live task is the attempt's task before a stopped one (there is one of either, but a task
# started twice by some other path must not hide the one still running).
_SEARCHED: tuple[DesiredStatusType, ...] = ("RUNNING", "STOPPED")


class EcsTasks:
    """`Tasks` on ECS Fargate, with an injected client, sleep and clock."""

    def __init__(self, client: ECSClient, settings: AwsSettings, *,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 policy: RetryPolicy = DEFAULT_RETRY,
                 jitter: Callable[[float], float] = equal_jitter,
                 definitions: TaskDefinitions | None = None) -> None:
        self._client = client
        self._settings = settings
        self._retrying = Retrying(sleep, clock, policy, jitter)
        self._definitions = definitions if definitions is not None else TaskDefinitions(client)

    def run(self, request: TaskRequest) -> str:
        definition = task_definition_for(request, self._settings, self._client.meta.region_name)
        doing = (f"start job '{request.plan.job}' of run {request.run_id}"
                 f" (attempt {request.attempt}) on ECS")
        planned = run_task_request(request, self._settings, definition.family)  # checked before any call
        with ecs_errors(doing, LaunchError):
            return self._retrying.call(
                lambda try_number: self._start(request.key, definition, planned, try_number))

    def find(self, request_key: str) -> str | None:
        with ecs_errors(f"look for the task of {request_key} on ECS", ServiceUnavailable):
            return self._retrying.call(lambda _: self._task_started_by(started_by(request_key)))

    def stop(self, task_arn: str, reason: str) -> None:
        with ecs_errors(f"stop task {task_arn} on ECS", ServiceUnavailable):
            self._retrying.call(lambda _: self._stop(task_arn, reason))

    def end_of(self, task_arn: str) -> TaskStopped | None:
        with ecs_errors(f"describe task {task_arn} on ECS", ServiceUnavailable):
            answer = self._retrying.call(lambda _: self._client.describe_tasks(
                cluster=self._settings.cluster, tasks=[task_arn]))
        for task in answer.get("tasks") or []:
            if task.get("taskArn") == task_arn:
                # DescribeTasks tells a task as its state change event does (the same fields).
                return task_stopped({"source": "aws.ecs", "detail": task}, CONTAINER_NAME)
        return None

    # --- one try of each ------------------------------------------------------------
    def _start(self, key: str, definition: TaskDefinition, planned: RunTaskRequestTypeDef,
               try_number: int) -> str:
        starter = started_by(key)
        existing = self._task_started_by(starter)
        if existing is not None:
            return existing
        self._definitions.ensure(definition)
        this_try = planned.copy()
        this_try["clientToken"] = client_token(key, try_number)
        try:
            answer = self._client.run_task(**this_try)
        except ClientError as exc:
            code = error_code(exc)
            if code == CONFLICT:  # this try's token already started a task: it is ours
                found = self._task_started_by(starter)
                if found is not None:
                    return found
            elif code in (CLIENT_EXCEPTION, INVALID_PARAMETER):
                self._definitions.forget(definition.family)  # deregistered meanwhile, maybe
            raise
        tasks = answer.get("tasks") or []
        if tasks and "taskArn" in tasks[0]:
            return tasks[0]["taskArn"]
        raise TaskNotPlaced(answer.get("failures") or [])

    def _task_started_by(self, starter: str) -> str | None:
        for status in _SEARCHED:
            arns = self._client.list_tasks(cluster=self._settings.cluster, startedBy=starter,
                                           desiredStatus=status)["taskArns"]
            if arns:
                return arns[0]
        return None

    def _stop(self, task_arn: str, reason: str) -> None:
        try:
            self._client.stop_task(cluster=self._settings.cluster, task=task_arn,
                                   reason=reason[:STOP_REASON_LIMIT])
        except ClientError as exc:
            if error_code(exc) == INVALID_PARAMETER:  # ECS's answer for a task it does not know
                return
            raise
