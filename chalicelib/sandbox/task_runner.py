"""One ECS task run as a Docker container, the way the Fargate agent would run it.

The container is what the task definition and RunTask's overrides say: the definition's
image and command, the overrides' environment, the definition's `secrets` resolved from
Secrets Manager (so their values never pass through RunTask), the task's CPU and memory as
the container's limits, an unprivileged user, no Docker socket, no privileges (the
`DockerLauncher` hardening), and the run's workspace at /workspace. Nothing is pulled: an
image that is not on this engine fails the task as ECS fails one it cannot pull.

Its output goes through `awslogs.LogShipper` into the task's stream (`<prefix>/job/<task id>`,
the definition's awslogs options), stdout and stderr each cut into lines on its own. When
the container has ended, and its last lines are delivered, the task is marked stopped in
ECS (moto) and its STOPPED event is sent, with the real exit code, which moto cannot know:
stop code `EssentialContainerExited` when it ended by itself, `UserInitiated` with the
reason given to StopTask when it was stopped, `TaskFailedToStart` when it never ran.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.cloud.events import attempt_of_group
from chalicelib.domain.protocol import LineAssembler
from chalicelib.errors import ContainerOpsError, ImageNotFound, LaunchError
from chalicelib.launch.base import (
    ContainerExit,
    ContainerRef,
    ContainerSpec,
    Launcher,
    MountSpec,
    OutputChunk,
)
from chalicelib.local.workspace import MOUNT_POINT
from chalicelib.sandbox.aws_events import (
    ESSENTIAL_CONTAINER_EXITED,
    EXITED_REASON,
    OUT_OF_MEMORY_REASON,
    TASK_FAILED_TO_START,
    USER_INITIATED,
    TaskEnded,
    task_state_change,
)
from chalicelib.sandbox.awslogs import LogShipper

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_secretsmanager import SecretsManagerClient

log = logging.getLogger("containerops.sandbox")

MIB = 1024 * 1024
CPU_UNITS_PER_VCPU = 1024
TASK_LABEL = "containerops.sandbox.task"  # not the local driver's labels: its sweeps leave these alone
SANDBOX_LABEL = "containerops.sandbox"


@dataclass(frozen=True)
class TaskSetup:
    """What every task of one sandbox runs with."""

    launcher: Launcher
    ecs: ECSClient
    secrets: SecretsManagerClient
    cluster: str
    shipper: LogShipper
    task_stopped: Callable[[dict[str, Any]], None]  # the STOPPED event's Lambda
    workspace_for: Callable[[str], Path]  # run id -> its host folder
    container_user: str | None
    stop_grace: float
    region: str
    sandbox_id: str
    clock: Callable[[], float] = time.time


class CannotStart(Exception):
    """ECS would not start this task: its reason, as ECS gives it."""


class TaskRun:
    def __init__(self, setup: TaskSetup, task: Mapping[str, Any], definition: Mapping[str, Any]) -> None:
        self._setup = setup
        self._task = dict(task)
        self._definition = dict(definition)
        self.arn = str(task["taskArn"])
        attempt = attempt_of_group(str(task.get("group") or ""))
        self.run_id = attempt[0] if attempt is not None else ""
        self._lock = threading.Lock()
        self._container: ContainerRef | None = None
        self._stop_reason = ""
        self._exited = False
        self._thread = threading.Thread(target=self._run, name=f"sandbox-task-{self.arn[-8:]}",
                                        daemon=True)

    # --- control ----------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def stop_requested(self) -> bool:
        with self._lock:
            return bool(self._stop_reason)

    def stop(self, reason: str, grace: float | None = None) -> None:
        """StopTask: the container gets SIGTERM, then SIGKILL after the grace (on a thread of
        its own, so the caller does not wait)."""
        with self._lock:
            if self._exited or self._stop_reason:
                return
            self._stop_reason = reason or "Task stopped by user"
            container = self._container
        if container is not None:
            self._stop_container(container, grace)

    def _stop_container(self, container: ContainerRef, grace: float | None = None) -> None:
        seconds = self._setup.stop_grace if grace is None else grace

        def stop() -> None:
            try:
                self._setup.launcher.stop(container, grace=seconds)
            except ContainerOpsError:
                pass  # gone already: its end is read by the task's thread

        threading.Thread(target=stop, name=f"sandbox-stop-{self.arn[-8:]}", daemon=True).start()

    # --- the task's thread ------------------------------------------------------------
    def _run(self) -> None:
        try:
            ended = self._run_container()
        except Exception as exc:  # the engine went away, or a bug: the task still ends
            log.exception("task %s could not be run on Docker", self.arn)
            ended = TaskEnded(None, TASK_FAILED_TO_START, f"the sandbox could not run the task: {exc}")
        with self._lock:
            self._exited = True
            asked = self._stop_reason
        if not asked:
            self._mark_stopped()
        self._setup.task_stopped(task_state_change(self._task, ended, self._setup.region,
                                                   self._setup.clock()))

    def _run_container(self) -> TaskEnded:
        try:
            spec = self._spec()
        except CannotStart as exc:
            return TaskEnded(None, TASK_FAILED_TO_START, str(exc))
        with self._lock:
            if self._stop_reason:  # stopped before its container was made
                return TaskEnded(None, USER_INITIATED, self._stop_reason)
        try:
            started = self._setup.launcher.start(spec)
        except ImageNotFound as exc:
            reason = (f"CannotPullContainerError: pull image manifest has been retried 1 time(s):"
                      f" {spec.image}: not found ({exc})")
            return TaskEnded(None, TASK_FAILED_TO_START, reason, container_reason=reason)
        except LaunchError as exc:
            reason = f"CannotStartContainerError: {exc}"
            return TaskEnded(None, TASK_FAILED_TO_START, reason, container_reason=reason)
        container = started.container
        with self._lock:
            self._container = container
            stop_now = bool(self._stop_reason)
        if stop_now:
            self._stop_container(container)
        try:
            try:
                self._ship_output(started.output)
            finally:
                started.close()
            finished = self._setup.launcher.wait(container)
        finally:
            try:
                self._setup.launcher.remove(container)
            except ContainerOpsError:
                log.warning("container %s of task %s could not be removed", container.id[:12], self.arn)
        return self._ended(finished)

    def _ship_output(self, output: Iterator[OutputChunk]) -> None:
        shipper = self._setup.shipper
        stream = self._stream()
        shipper.open(stream)
        assemblers = {"stdout": LineAssembler(), "stderr": LineAssembler()}
        try:
            for chunk in output:
                shipper.add(stream, *(line.text for line in assemblers[chunk.stream].feed("", chunk.data)))
            for assembler in assemblers.values():
                shipper.add(stream, *(line.text for line in assembler.flush()))
        finally:
            shipper.close(stream)

    def _ended(self, finished: ContainerExit | None) -> TaskEnded:
        with self._lock:
            asked = self._stop_reason
        code = finished.exit_code if finished is not None else None
        reason = ""
        if finished is not None and finished.oom_killed:
            reason = OUT_OF_MEMORY_REASON
        elif finished is not None and finished.error:
            reason = finished.error
        return TaskEnded(
            exit_code=code,
            stop_code=USER_INITIATED if asked else ESSENTIAL_CONTAINER_EXITED,
            stopped_reason=asked or EXITED_REASON,
            container_reason=reason,
            started_at=finished.started_at if finished is not None else None,
            stopped_at=(finished.finished_at if finished is not None else None) or self._setup.clock(),
        )

    def _mark_stopped(self) -> None:
        """What ECS records of a task whose essential container exited."""
        try:
            self._setup.ecs.stop_task(cluster=self._setup.cluster, task=self.arn, reason=EXITED_REASON)
        except (ClientError, BotoCoreError):
            log.exception("task %s could not be marked stopped in ECS", self.arn)

    # --- what ECS would run -----------------------------------------------------------
    def _container_definition(self) -> Mapping[str, Any]:
        containers = self._definition.get("containerDefinitions") or []
        if not containers:
            raise CannotStart("the task definition has no container")
        return dict(containers[0])

    def _stream(self) -> str:
        container = self._container_definition()
        options = (container.get("logConfiguration") or {}).get("options") or {}
        prefix = options.get("awslogs-stream-prefix", "")
        task_id = self.arn.rsplit("/", 1)[-1]
        return f"{prefix}/{container['name']}/{task_id}" if prefix else task_id

    def _spec(self) -> ContainerSpec:
        if not self.run_id:
            raise CannotStart(f"task {self.arn} names no attempt of ContainerOps in its group")
        container = self._container_definition()
        env = {item["name"]: item["value"] for item in container.get("environment") or []}
        command = container.get("command") or None
        for override in (self._task.get("overrides") or {}).get("containerOverrides") or []:
            if override.get("name") == container["name"]:
                env.update({item["name"]: item["value"] for item in override.get("environment") or []})
                command = override.get("command") or command
        for secret in container.get("secrets") or []:
            env[secret["name"]] = self._secret(secret["valueFrom"])
        cpu = int(self._definition.get("cpu") or 256)
        memory = int(self._definition.get("memory") or container.get("memory") or 512)
        return ContainerSpec(
            image=str(container["image"]),
            env=env,
            labels={TASK_LABEL: self.arn, SANDBOX_LABEL: self._setup.sandbox_id},
            command=list(command) if command else None,
            mounts=(MountSpec(str(self._setup.workspace_for(self.run_id)), MOUNT_POINT, read_only=False),),
            cpu_limit=cpu / CPU_UNITS_PER_VCPU,
            memory_limit_bytes=memory * MIB,
            user=self._setup.container_user,
        )

    def _secret(self, secret_id: str) -> str:
        try:
            answer = self._setup.secrets.get_secret_value(SecretId=secret_id)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise CannotStart(
                "ResourceInitializationError: unable to pull secrets or registry auth: unable to"
                f" retrieve secret {secret_id} from asm: {code}") from exc
        return str(answer.get("SecretString", ""))
