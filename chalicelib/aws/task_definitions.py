"""The ECS task definition of a job attempt, as data, and its registration on demand.

A definition holds what does not change from run to run: the image and command, the Fargate
size (`fargate.py`), the secrets (`valueFrom` a Secrets Manager name under `containerops/`,
so their values never travel in RunTask overrides, which anyone with ecs:DescribeTasks can
read), the awslogs configuration and the two roles. Its family is `containerops-` and 12 hex
of a hash of all that, so the same component version with the same resources and secrets
reuses one definition and anything different gets its own; run-specific values (the
environment) go into RunTask's overrides instead (`task_runs.py`). `TaskDefinitions` looks a
family up (`DescribeTaskDefinition`) and registers it when missing, remembering the families it
has seen in a small in-process cache so a warm launcher asks ECS once per family. botocore's
errors pass through to the caller, which retries and translates them (`ecs_errors.py`).

The run's /workspace (chalicelib/workspace) is a task volume that two sidecars of ours fill
and keep: `workspace-restore` applies the run's layers from S3 into it before the job starts
(the job waits for its SUCCESS), and `workspace-save`, the task's essential container, saves
what the job changed as a new layer once the job has exited (COMPLETE), so the task stops
when the save is done. The job itself is not essential: its exit must not stop the task
before the save. The sidecars run as root to hand the workspace to the job's user; the job
runs unprivileged and never sees the sidecars' own volume, where restore leaves the
snapshot save compares with.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from chalicelib.aws.ecs_errors import CLIENT_EXCEPTION, error_code
from chalicelib.aws.fargate import FargateSize, fargate_size
from chalicelib.cloud.events import JOB_CONTAINER, RESTORE_CONTAINER, SAVE_CONTAINER, TASK_STREAM_PREFIX
from chalicelib.cloud.ports import TaskRequest
from chalicelib.config import AwsSettings
from chalicelib.domain.protocol import WORKSPACE_MOUNT
from chalicelib.errors import LaunchError
from chalicelib.workspace import sidecar

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_ecs.type_defs import (
        ContainerDefinitionTypeDef,
        LogConfigurationTypeDef,
        RegisterTaskDefinitionRequestTypeDef,
    )

FAMILY_PREFIX = "containerops-"
CONTAINER_NAME = JOB_CONTAINER
STREAM_PREFIX = TASK_STREAM_PREFIX  # the job's stream is `task/job/<task id>` (the log readers resolve it so)
SECRET_NAME_PREFIX = "containerops/"  # the names the task execution role may read
JOB_USER = "1000:1000"  # never root in a job's container, as locally
SIDECAR_USER = "0"  # to give the restored workspace to the job's user
SIDECAR_MEMORY_RESERVATION = 64  # MiB; the smallest Fargate task has 512
WORKSPACE_VOLUME, SIDECAR_VOLUME = "workspace", "containerops"
WORKSPACE_PATH, SIDECAR_PATH = WORKSPACE_MOUNT, "/containerops"


@dataclass(frozen=True)
class TaskDefinition:
    """Everything a job's task definition registers; `registration()` is the request."""

    image: str
    command: tuple[str, ...] | None  # None: the image's own CMD
    size: FargateSize
    secrets: tuple[tuple[str, str], ...]  # (variable, secret name), sorted by variable
    log_group: str
    log_region: str
    execution_role_arn: str
    task_role_arn: str
    workspace_bucket: str
    workspace_image: str

    @property
    def family(self) -> str:
        return self.registration()["family"]

    def registration(self) -> RegisterTaskDefinitionRequestTypeDef:
        job: ContainerDefinitionTypeDef = {
            "name": CONTAINER_NAME,
            "image": self.image,
            "essential": False,  # the save after it is; see the module's docstring
            "user": JOB_USER,
            # An init as PID 1 (as locally: Docker's --init), so a stop's SIGTERM reaches the
            # job's own process even when it is a shell that ignores it as PID 1.
            "linuxParameters": {"initProcessEnabled": True},
            # What Fargate reserves for each container adds up to the task's memory (moto
            # cannot run a task whose containers reserve none); none has a limit of its own,
            # so the job may use all of the task's while the sidecars are not running.
            "memoryReservation": self.size.memory - 2 * SIDECAR_MEMORY_RESERVATION,
            "logConfiguration": self._logs(),
            "secrets": [
                {"name": variable, "valueFrom": SECRET_NAME_PREFIX + secret}
                for variable, secret in self.secrets
            ],
            "mountPoints": [{"sourceVolume": WORKSPACE_VOLUME, "containerPath": WORKSPACE_PATH,
                             "readOnly": False}],
            "dependsOn": [{"containerName": RESTORE_CONTAINER, "condition": "SUCCESS"}],
        }
        if self.command is not None:
            job["command"] = list(self.command)
        restore = self._sidecar(RESTORE_CONTAINER, "restore", essential=False)
        save = self._sidecar(SAVE_CONTAINER, "save", essential=True)
        save["dependsOn"] = [{"containerName": CONTAINER_NAME, "condition": "COMPLETE"}]
        request: RegisterTaskDefinitionRequestTypeDef = {
            "family": "",
            "containerDefinitions": [restore, job, save],
            "volumes": [{"name": WORKSPACE_VOLUME}, {"name": SIDECAR_VOLUME}],
            "requiresCompatibilities": ["FARGATE"],
            "networkMode": "awsvpc",
            "cpu": str(self.size.cpu),
            "memory": str(self.size.memory),
            "executionRoleArn": self.execution_role_arn,
            "taskRoleArn": self.task_role_arn,
        }
        request["family"] = family_of(request)
        return request

    def _sidecar(self, name: str, step: str, *, essential: bool) -> ContainerDefinitionTypeDef:
        return {
            "name": name,
            "image": self.workspace_image,
            "essential": essential,
            "user": SIDECAR_USER,
            "memoryReservation": SIDECAR_MEMORY_RESERVATION,
            "command": [step],  # the image's entry point is the sidecar (chalicelib/workspace/sidecar.py)
            "environment": [
                # The run, job and attempt come through RunTask's overrides (task_runs.py).
                {"name": sidecar.BUCKET, "value": self.workspace_bucket},
                {"name": sidecar.WORKSPACE_DIR, "value": WORKSPACE_PATH},
                {"name": sidecar.STATE_FILE, "value": f"{SIDECAR_PATH}/workspace-snapshot.json"},
                {"name": sidecar.OWNER, "value": JOB_USER},
            ],
            "mountPoints": [
                {"sourceVolume": WORKSPACE_VOLUME, "containerPath": WORKSPACE_PATH, "readOnly": False},
                {"sourceVolume": SIDECAR_VOLUME, "containerPath": SIDECAR_PATH, "readOnly": False},
            ],
            "logConfiguration": self._logs(),
        }

    def _logs(self) -> LogConfigurationTypeDef:
        """awslogs into the job log group: stream `task/<container>/<task id>`."""
        return {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": self.log_group,
                "awslogs-region": self.log_region,
                "awslogs-stream-prefix": STREAM_PREFIX,
            },
        }


def family_of(request: RegisterTaskDefinitionRequestTypeDef) -> str:
    """`containerops-` and 12 hex of a hash of everything the request registers but its family."""
    content = {key: value for key, value in request.items() if key != "family"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return FAMILY_PREFIX + hashlib.sha256(canonical.encode()).hexdigest()[:12]


def task_definition_for(request: TaskRequest, settings: AwsSettings, region: str) -> TaskDefinition:
    """The definition an attempt runs with; LaunchError when the job cannot run on Fargate."""
    plan = request.plan
    if not plan.image:
        raise LaunchError(f"job '{plan.job}' has no image to run")
    if plan.mounts:
        # Validation refuses host mounts for workflows run in the cloud; this is the backstop.
        raise LaunchError(f"job '{plan.job}' mounts host paths, which a Fargate task does not have")
    return TaskDefinition(
        image=plan.image,
        command=tuple(plan.command) if plan.command is not None else None,
        size=fargate_size(plan.resources),
        secrets=tuple(sorted(request.secret_variables.items())),
        log_group=settings.log_group,
        log_region=region,
        execution_role_arn=settings.task_execution_role_arn,
        task_role_arn=settings.task_role_arn,
        workspace_bucket=settings.workspace_bucket,
        workspace_image=settings.workspace_image,
    )


class TaskDefinitions:
    """The task definitions of ECS, registered on demand."""

    def __init__(self, client: ECSClient, cache_size: int = 256) -> None:
        self._client = client
        self._cache_size = cache_size
        self._known: OrderedDict[str, str] = OrderedDict()  # family -> an ACTIVE revision's ARN

    def ensure(self, definition: TaskDefinition) -> str:
        """The ARN of an ACTIVE revision of the definition's family, registered if none is."""
        family = definition.family
        arn = self._known.get(family)
        if arn is None:
            arn = self._registered(family) or self._register(definition)
            self._known[family] = arn
            while len(self._known) > self._cache_size:
                self._known.popitem(last=False)
        self._known.move_to_end(family)
        return arn

    def forget(self, family: str) -> None:
        """Ask ECS again next time (RunTask refused the family: it may have been deregistered)."""
        self._known.pop(family, None)

    def _registered(self, family: str) -> str | None:
        try:
            found = self._client.describe_task_definition(taskDefinition=family)["taskDefinition"]
        except ClientError as exc:
            if error_code(exc) == CLIENT_EXCEPTION:  # ECS's answer for a family it does not have
                return None
            raise
        return found["taskDefinitionArn"] if found.get("status") == "ACTIVE" else None

    def _register(self, definition: TaskDefinition) -> str:
        answer = self._client.register_task_definition(**definition.registration())
        return answer["taskDefinition"]["taskDefinitionArn"]
