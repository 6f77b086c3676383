"""One ECS task run as a Docker container, the way the Fargate agent would run it.

The container is what the task definition and RunTask's overrides say: the definition's
image and command, the overrides' environment, the definition's `secrets` resolved from
Secrets Manager (so their values never pass through RunTask), the task's CPU and memory as
the container's limits, an unprivileged user, no Docker socket, no privileges (the
`DockerLauncher` hardening), and the task's volumes as folders of its own. Nothing is pulled:
an image that is not on this engine fails the task as ECS fails one it cannot pull.

The containers run in the order their `dependsOn` gives: the `workspace-restore` sidecar,
then the job once it succeeded, then `workspace-save` once the job has exited (not when the
task was stopped: ECS stops a task's containers together). The sidecars are ours, so the
sandbox runs their code in-process (`chalicelib.workspace.sidecar.main`, against moto's S3)
instead of their image, with their paths moved to the task's volume folders; their lines go
to their own streams, as awslogs sends them. A restore that fails leaves the job unstarted,
and the task stops as one that failed to start.

Its output goes through `awslogs.LogShipper` into the task's stream (`<prefix>/job/<task id>`,
the definition's awslogs options), stdout and stderr each cut into lines on its own. When
the container has ended, and its last lines are delivered, the task is marked stopped in
ECS (moto) and its STOPPED event is sent, with the real exit code, which moto cannot know:
stop code `EssentialContainerExited` when it ended by itself, `UserInitiated` with the
reason given to StopTask when it was stopped, `TaskFailedToStart` when it never ran.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.cloud.events import JOB_CONTAINER, RESTORE_CONTAINER, SAVE_CONTAINER, attempt_of_group
from chalicelib.errors import ContainerOpsError, ImageNotFound, LaunchError
from chalicelib.launch.base import (
    ContainerExit,
    ContainerRef,
    ContainerSpec,
    Launcher,
    MountSpec,
)
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
from chalicelib.sandbox.container_io import in_volumes, run_sidecar, ship_output, ship_text

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
    workdir: Path  # where each task's volumes are made, a folder per task
    sidecar: SidecarRunner  # runs a workspace sidecar's step in-process
    container_user: str | None
    stop_grace: float
    region: str
    sandbox_id: str
    clock: Callable[[], float] = time.time


# argv (`restore` or `save`), the container's environment, where its lines go -> exit code
SidecarRunner = Callable[[list[str], Mapping[str, str], TextIO], int]
DEPENDENCY_FAILED = "Task failed to start: a container it depends on did not succeed"


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
            containers = self._containers()
        except CannotStart as exc:
            return TaskEnded(None, TASK_FAILED_TO_START, str(exc))
        folder = self._setup.workdir / self.arn.rsplit("/", 1)[-1]
        try:
            volumes = self._volumes(folder)
            restored: int | None = None
            if RESTORE_CONTAINER in containers:
                with self._lock:
                    if self._stop_reason:
                        return TaskEnded(None, USER_INITIATED, self._stop_reason)
                restored = self._run_sidecar(containers[RESTORE_CONTAINER], volumes)
                if restored != 0:
                    return TaskEnded(None, TASK_FAILED_TO_START, DEPENDENCY_FAILED,
                                     restore_exit_code=restored)
            ended = replace(self._run_job(containers[JOB_CONTAINER], volumes), restore_exit_code=restored)
            if SAVE_CONTAINER in containers and ended.exit_code is not None and not self.stop_requested:
                saved = self._run_sidecar(containers[SAVE_CONTAINER], volumes)
                ended = replace(ended, save_exit_code=saved, stopped_at=self._setup.clock())
            return ended
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _run_job(self, definition: Mapping[str, Any], volumes: Mapping[str, Path]) -> TaskEnded:
        try:
            spec = self._spec(definition, volumes)
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
                ship_output(self._setup.shipper, self._stream(definition), started.output)
            finally:
                started.close()
            finished = self._setup.launcher.wait(container)
        finally:
            try:
                self._setup.launcher.remove(container)
            except ContainerOpsError:
                log.warning("container %s of task %s could not be removed", container.id[:12], self.arn)
        return self._ended(finished)

    def _run_sidecar(self, definition: Mapping[str, Any], volumes: Mapping[str, Path]) -> int:
        """A workspace sidecar, in-process: its exit code; its lines to its own stream."""
        mounted = {point["containerPath"]: volumes[point["sourceVolume"]]
                   for point in definition.get("mountPoints") or []}
        env = in_volumes(self._environment(definition), mounted)
        argv = [str(part) for part in self._command(definition) or []]
        code, said = run_sidecar(self._setup.sidecar, argv, env, f"{definition['name']} of task {self.arn}")
        ship_text(self._setup.shipper, self._stream(definition), said)
        return code

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
    def _containers(self) -> dict[str, Mapping[str, Any]]:
        containers: dict[str, Mapping[str, Any]] = {
            str(c["name"]): dict(c) for c in self._definition.get("containerDefinitions") or []}
        if JOB_CONTAINER not in containers:
            raise CannotStart(f"the task definition has no container named {JOB_CONTAINER!r}")
        if not self.run_id:
            raise CannotStart(f"task {self.arn} names no attempt of ContainerOps in its group")
        return containers

    def _volumes(self, folder: Path) -> dict[str, Path]:
        """The task's volumes (Fargate's ephemeral bind mounts): a folder each, empty."""
        volumes = {}
        for volume in self._definition.get("volumes") or []:
            path = folder / str(volume["name"])
            path.mkdir(parents=True)
            volumes[str(volume["name"])] = path
        return volumes

    def _stream(self, definition: Mapping[str, Any]) -> str:
        options = (definition.get("logConfiguration") or {}).get("options") or {}
        prefix = options.get("awslogs-stream-prefix", "")
        task_id = self.arn.rsplit("/", 1)[-1]
        return f"{prefix}/{definition['name']}/{task_id}" if prefix else task_id

    def _overrides(self, definition: Mapping[str, Any]) -> Mapping[str, Any]:
        for override in (self._task.get("overrides") or {}).get("containerOverrides") or []:
            if override.get("name") == definition["name"]:
                return dict(override)
        return {}

    def _environment(self, definition: Mapping[str, Any]) -> dict[str, str]:
        env = {item["name"]: item["value"] for item in definition.get("environment") or []}
        env.update({item["name"]: item["value"]
                    for item in self._overrides(definition).get("environment") or []})
        return env

    def _command(self, definition: Mapping[str, Any]) -> list[str] | None:
        return self._overrides(definition).get("command") or definition.get("command") or None

    def _spec(self, definition: Mapping[str, Any], volumes: Mapping[str, Path]) -> ContainerSpec:
        env = self._environment(definition)
        for secret in definition.get("secrets") or []:
            env[secret["name"]] = self._secret(secret["valueFrom"])
        command = self._command(definition)
        cpu = int(self._definition.get("cpu") or 256)
        memory = int(self._definition.get("memory") or definition.get("memory") or 512)
        mounts = tuple(
            MountSpec(str(volumes[point["sourceVolume"]]), str(point["containerPath"]),
                      read_only=bool(point.get("readOnly", False)))
            for point in definition.get("mountPoints") or [])
        return ContainerSpec(
            image=str(definition["image"]),
            env=env,
            labels={TASK_LABEL: self.arn, SANDBOX_LABEL: self._setup.sandbox_id},
            command=list(command) if command else None,
            mounts=mounts,
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
