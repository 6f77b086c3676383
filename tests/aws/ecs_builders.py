"""Job attempts to start, the settings of a deployment on moto, and an ECS client that
records its calls and can be told to answer what moto never does (throttling, failures[])."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.cloud.ports import TaskRequest
from chalicelib.config import AwsSettings
from chalicelib.domain.models import Resources
from chalicelib.engine.engine import JobPlan

CLUSTER = "containerops"
LOG_GROUP = "containerops-jobs"
EXECUTION_ROLE = "arn:aws:iam::123456789012:role/containerops-task-execution"
TASK_ROLE = "arn:aws:iam::123456789012:role/containerops-task"
WORKSPACE_BUCKET = "containerops-workspaces"
WORKSPACE_IMAGE = "registry.invalid/containerops/workspace:1"


def settings(subnets: tuple[str, ...] = ("subnet-1",),
             security_groups: tuple[str, ...] = ("sg-1",)) -> AwsSettings:
    return AwsSettings(
        definitions_table="definitions", runs_table="runs", runs_by_workflow_index="by-workflow",
        runs_by_namespace_index="by-namespace", runs_by_time_index="by-time", events_table="events",
        launch_queue_url="https://queue.invalid/launch",
        state_machine_role_arn="arn:aws:iam::123456789012:role/machine", cluster=CLUSTER,
        subnets=subnets, security_groups=security_groups,
        task_execution_role_arn=EXECUTION_ROLE, task_role_arn=TASK_ROLE, log_group=LOG_GROUP,
        designer_bucket="designer", workspace_bucket=WORKSPACE_BUCKET,
        workspace_image=WORKSPACE_IMAGE, machine_prefix="containerops",
        token_key_secret="arn:aws:secretsmanager:us-east-1:123456789012:secret:log-cursor-key",
    )


def plan(**fields: Any) -> JobPlan:
    base = JobPlan(
        job="build", image="registry.invalid/tools/build:1.2.0", command=["make", "all"],
        data={"target": "release"}, data_format="pairs", env={"LEVEL": "debug"}, mounts=(),
        resources=Resources(), timeout=600.0, strict_result=False, retry_limit=0,
        retry_backoff=10.0, continue_on_error=False,
    )
    return replace(base, **fields)


def task_request(run_id: str = "run-1", attempt: int = 1, *,
                 secret_variables: Mapping[str, str] | None = None, **plan_fields: Any) -> TaskRequest:
    return TaskRequest(run_id, attempt, plan(**plan_fields), dict(secret_variables or {}))


def memory(limit: str) -> Resources:
    return Resources(memory_limit=limit)


def client_error(code: str, message: str = "", operation: str = "RunTask") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message or code}}, operation)


REAL = object()  # in a script: let moto answer this call


class ScriptedEcs:
    """The moto ECS client, keeping every call made through it. `script(operation, *answers)`
    makes the next calls of that operation answer these in turn: an exception is raised, a
    dict is returned, REAL lets moto answer, a function is called with moto's method and the
    call's arguments; once they are used up, moto answers."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._scripts: dict[str, list[object]] = {}

    def script(self, operation: str, *answers: object) -> None:
        self._scripts.setdefault(operation, []).extend(answers)

    def named(self, operation: str) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.calls if name == operation]

    def operations(self) -> list[str]:
        return [name for name, _ in self.calls]

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.client, name)
        if name.startswith("_") or not callable(target):
            return target

        def call(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            queue = self._scripts.get(name)
            answer = queue.pop(0) if queue else REAL
            if answer is REAL:
                return target(**kwargs)
            if callable(answer):
                return answer(target, kwargs)
            if isinstance(answer, BaseException):
                raise answer
            return answer

        return call


class Pauses:
    """An injected `sleep` that waits for nothing and moves the injected clock on instead."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.taken: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.taken.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now
