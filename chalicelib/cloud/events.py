"""The messages and events the aws-mode handlers receive, read into plain values.

A launch message (the body the state machines send to the launch queue), an ECS "Task State
Change" and a Step Functions "Execution Status Change" (both through EventBridge). Reading
is strict about what the handlers need and lenient about the rest (AWS adds fields); what
cannot be read raises `InvalidRequest` with what was wrong, never a KeyError.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeGuard

from chalicelib.errors import InvalidRequest

TASK_GROUP_PREFIX = "containerops"  # RunTask's `group`: containerops:<run id>:<job>:<attempt>
# The containers of a job's task: the job's own, and the workspace sidecars around it that
# restore the run's workspace before it and save what it changed after it.
JOB_CONTAINER = "job"
RESTORE_CONTAINER = "workspace-restore"
SAVE_CONTAINER = "workspace-save"
# Each container's awslogs stream is `task/<container>/<task id>`; not `containerops`, the
# prefix of ContainerOps's own streams.
TASK_STREAM_PREFIX = "task"
# On EKS an attempt's container is a Kubernetes Job, named in the attempt's record as
# `eks:<namespace>/<Job name>`, and Fluent Bit writes each container of its pod to the stream
# `eks/<container>/<run id>/<job>/<attempt>` (infra/eks/fluent-bit.yaml): known from the
# attempt alone.
EKS_REF_PREFIX = "eks:"
EKS_STREAM_PREFIX = "eks"


@dataclass(frozen=True)
class LaunchMessage:
    """A job state's message. A fan-out job's Map sends one per instance attempt (`instance`:
    its index) and, after the Map, one for the group's end (`group_end`); a plain job's
    message has neither."""

    run_id: str
    job: str
    attempt: int
    token: str = ""
    instance: int | None = None
    group_end: bool = False

    @classmethod
    def from_body(cls, body: str) -> LaunchMessage:
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise InvalidRequest(f"a launch message is JSON; this is not: {body[:80]!r}") from exc
        if not isinstance(document, dict):
            raise InvalidRequest("a launch message is a JSON object")
        run_id, job, attempt, token = (document.get(k) for k in ("run_id", "job", "attempt", "token"))
        if not (isinstance(run_id, str) and isinstance(job, str) and isinstance(token, str)
                and _is_int(attempt) and attempt >= 1):
            raise InvalidRequest(
                "a launch message has run_id, job and token (strings) and attempt (1 or more);"
                f" got {sorted(document)}"
            )
        instance, group_end = document.get("instance"), document.get("group_end", False)
        if instance is not None and not _is_int(instance):
            raise InvalidRequest(f"a launch message's instance is a whole number, not {instance!r}")
        if not isinstance(group_end, bool) or (group_end and instance is not None):
            raise InvalidRequest("a launch message's group_end is true or false, and never comes with"
                                 " an instance")
        return cls(run_id, job, attempt, token, instance, group_end)

    def __repr__(self) -> str:  # the token is a credential of sorts: never in a log line
        extra = (f", instance={self.instance}" if self.instance is not None else "") + (
            ", group_end=True" if self.group_end else "")
        return (f"LaunchMessage(run_id={self.run_id!r}, job={self.job!r}, attempt={self.attempt}"
                f"{extra})")


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def task_group(run_id: str, job: str, attempt: int) -> str:
    """The ECS task group that names the attempt a task belongs to."""
    return f"{TASK_GROUP_PREFIX}:{run_id}:{job}:{attempt}"


def attempt_of_group(group: str) -> tuple[str, str, int] | None:
    parts = group.split(":")
    if len(parts) != 4 or parts[0] != TASK_GROUP_PREFIX or not parts[3].isdigit():
        return None
    return parts[1], parts[2], int(parts[3])


def eks_ref(namespace: str, name: str) -> str:
    return f"{EKS_REF_PREFIX}{namespace}/{name}"


def is_eks_ref(container_id: str) -> bool:
    return container_id.startswith(EKS_REF_PREFIX)


def parse_eks_ref(ref: str) -> tuple[str, str]:
    """(namespace, Job name) of an EKS ref; ValueError for anything else."""
    namespace, _, name = ref.removeprefix(EKS_REF_PREFIX).partition("/")
    if not is_eks_ref(ref) or not namespace or not name:
        raise ValueError(f"{ref!r} names no Kubernetes Job")
    return namespace, name


def eks_stream(container: str, run_id: str, job: str, attempt: int) -> str:
    """The CloudWatch Logs stream Fluent Bit writes a container of an attempt's pod to."""
    return f"{EKS_STREAM_PREFIX}/{container}/{run_id}/{job}/{attempt}"


def attempt_of_eks_stream(stream: str, container: str) -> tuple[str, str, int] | None:
    """(run id, job, attempt) of `container`'s EKS stream; None for any other stream."""
    parts = stream.split("/")
    if (len(parts) != 5 or parts[0] != EKS_STREAM_PREFIX or parts[1] != container
            or not parts[2] or not parts[3] or not parts[4].isdigit()):
        return None
    return parts[2], parts[3], int(parts[4])


@dataclass(frozen=True)
class TaskStopped:
    """An attempt's container that ended: an ECS task that stopped (lastStatus STOPPED), or
    a Kubernetes Job that ended (`aws.eks_status`), told in the same terms."""

    task_arn: str
    group: str
    exit_code: int | None  # of the job container; None when it never ran
    stop_code: str
    stopped_reason: str
    container_reason: str
    started_at: float | None
    stopped_at: float | None
    # The workspace sidecars' exit codes: None when the task has no such container, or when
    # it never ran (a restore that failed leaves the job and the save unstarted).
    restore_exit_code: int | None = None
    save_exit_code: int | None = None
    oom_killed: bool = False  # the job container was killed for passing its memory limit
    # Why the job's container had still not started when its timeout ended it (on EKS: the
    # scheduler's message for a pod no node could take); empty when it did start.
    waiting_reason: str = ""

    @property
    def attempt_key(self) -> tuple[str, str, int] | None:
        return attempt_of_group(self.group)


def task_stopped(event: Mapping[str, Any], container_name: str = JOB_CONTAINER) -> TaskStopped | None:
    """The stopped task an ECS Task State Change tells of; None for any other state."""
    detail = _detail(event, "aws.ecs")
    if detail.get("lastStatus") != "STOPPED":
        return None
    task_arn = detail.get("taskArn")
    if not isinstance(task_arn, str):
        raise InvalidRequest("an ECS task state change names its task (detail.taskArn)")
    containers = {str(c.get("name")): c for c in detail.get("containers") or [] if isinstance(c, Mapping)}
    job = containers.get(container_name)
    return TaskStopped(
        task_arn=task_arn,
        group=str(detail.get("group") or ""),
        exit_code=_exit_code(job),
        stop_code=str(detail.get("stopCode") or ""),
        stopped_reason=str(detail.get("stoppedReason") or ""),
        container_reason=str(job.get("reason") or "") if job is not None else "",
        oom_killed=job is not None and "OutOfMemory" in str(job.get("reason") or ""),
        started_at=seconds_of(detail.get("startedAt")),
        stopped_at=seconds_of(detail.get("stoppedAt")),
        restore_exit_code=_exit_code(containers.get(RESTORE_CONTAINER)),
        save_exit_code=_exit_code(containers.get(SAVE_CONTAINER)),
    )


def _exit_code(container: Mapping[str, Any] | None) -> int | None:
    code = container.get("exitCode") if container is not None else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


@dataclass(frozen=True)
class ExecutionEnded:
    run_id: str
    status: str  # SUCCEEDED | FAILED | TIMED_OUT | ABORTED
    error: str
    cause: str
    stopped_at: float | None


ENDED_STATUSES = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


def execution_ended(event: Mapping[str, Any]) -> ExecutionEnded | None:
    """The execution end a Step Functions Execution Status Change tells of; None while it runs,
    and for a Distributed Map's child execution (`is_child_execution`), which the
    ExecutionEnded rule's ARN prefix matches too."""
    detail = _detail(event, "aws.states")
    status = detail.get("status")
    if status not in ENDED_STATUSES:
        return None
    if is_child_execution(str(detail.get("executionArn") or "")):
        return None  # a Distributed Map's child (one instance): the run's own execution goes on
    name = detail.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidRequest("an execution status change names its execution (detail.name)")
    return ExecutionEnded(name, str(status), str(detail.get("error") or ""),
                          str(detail.get("cause") or ""), seconds_of(detail.get("stopDate")))


def is_child_execution(execution_arn: str) -> bool:
    """Whether the ARN is a Distributed Map's child execution's:
    `arn:aws:states:<region>:<account>:execution:<machine>/<map label>:<id>`, a `/` after the
    machine's name (which never holds one), where a run's own execution is
    `...:execution:<machine>:<run id>`. Both match the ExecutionEnded rule's ARN prefix."""
    parts = execution_arn.split(":")
    return len(parts) >= 8 and parts[5] == "execution" and "/" in parts[6]


def _detail(event: Mapping[str, Any], source: str) -> Mapping[str, Any]:
    if event.get("source") != source:
        raise InvalidRequest(f"expected an event from {source}, got one from {event.get('source')!r}")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise InvalidRequest(f"an event from {source} has a detail object")
    return detail


def seconds_of(value: object) -> float | None:
    """A time of an event or an API answer, in Unix seconds. ECS's events (and Kubernetes)
    give ISO 8601 times, its API datetimes; Step Functions gives milliseconds."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) / 1000.0
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None
