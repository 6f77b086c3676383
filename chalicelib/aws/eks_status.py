"""How an attempt's Kubernetes Job ended, read from the Job, its pod and the scheduler's events
into the `TaskStopped` the verdict judges (the same value an ECS STOPPED event becomes): pure.

A Job of ContainerOps has one pod and never a second (`backoffLimit: 0`); it has ended when:

- a condition `Complete` or `Failed` is true: the job container's exit code, OOMKilled and
  times come from the pod's `containerStatuses`, the workspace sidecars' exit codes from its
  `initContainerStatuses`. A `Failed` Job of reason `DeadlineExceeded` passed its
  `activeDeadlineSeconds` (the job's timeout): it is told as the sweep's own timeout stop
  (`TIMEOUT_STOP_REASON`), and when its container never started, with why it waited: the
  scheduler's `FailedScheduling` message (events outlive the pod the deadline removed), or
  the container's waiting reason;
- ContainerOps stopped it (`stop`: the stop's reason in the annotation `STOP_ANNOTATION`,
  and `spec.suspend`, which makes the Job controller terminate the pod) and no pod is active;
- its container cannot start and will not by waiting: a missing image (`ErrImagePull`...),
  a missing Secret key (`CreateContainerConfigError`): told as a task that failed to start,
  with the kubelet's message, as ECS tells a CannotPullContainerError.

Anything else still runs (or waits to be scheduled: a pod that is Unschedulable may get a
node from the cluster's autoscaler until the deadline): None.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from chalicelib.aws.eks_jobs import ATTEMPT_LABEL, JOB_LABEL, RUN_LABEL
from chalicelib.cloud.events import (
    JOB_CONTAINER,
    RESTORE_CONTAINER,
    SAVE_CONTAINER,
    TaskStopped,
    eks_ref,
    seconds_of,
    task_group,
)
from chalicelib.cloud.verdict import FAILED_TO_START, TIMEOUT_STOP_REASON

STOP_ANNOTATION = "containerops.dev/stop-reason"
JOB_EXITED = "EssentialContainerExited"
STOPPED_BY_US = "UserInitiated"
DEADLINE_EXCEEDED = "DeadlineExceeded"
# Waiting reasons the kubelet does not get over by itself: the job would wait for its deadline.
CANNOT_START = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
                          "CreateContainerConfigError", "CreateContainerError"})
UNSCHEDULABLE_EVENT = "FailedScheduling"

Obj = Mapping[str, Any]


def job_ended(job: Obj, pods: Iterable[Obj], scheduler_messages: Iterable[str] = ()) -> TaskStopped | None:
    """The attempt's end, told as a stopped task; None while the Job still runs."""
    metadata = job.get("metadata") or {}
    status = job.get("status") or {}
    annotations = metadata.get("annotations") or {}
    pod = _the_pod(pods)
    statuses = _container_statuses(pod)
    job_state = statuses.get(JOB_CONTAINER, {})
    terminated = job_state.get("terminated") or {}
    base = TaskStopped(
        task_arn=eks_ref(str(metadata.get("namespace") or ""), str(metadata.get("name") or "")),
        group=_group(annotations), exit_code=_exit_code(job_state), stop_code="", stopped_reason="",
        container_reason="", stopped_at=None,
        started_at=seconds_of(terminated.get("startedAt")
                              or (job_state.get("running") or {}).get("startedAt")),
        restore_exit_code=_exit_code(statuses.get(RESTORE_CONTAINER)),
        save_exit_code=_exit_code(statuses.get(SAVE_CONTAINER)))
    condition = _final_condition(status)
    if condition is not None:
        ended_at = seconds_of(condition.get("lastTransitionTime")) or seconds_of(status.get("completionTime"))
        if condition.get("reason") == DEADLINE_EXCEEDED:
            started = bool(terminated or job_state.get("running"))
            return replace(base, stop_code=DEADLINE_EXCEEDED, stopped_reason=TIMEOUT_STOP_REASON,
                           stopped_at=ended_at,
                           waiting_reason="" if started else _why_it_waited(job_state, scheduler_messages))
        return replace(base, stop_code=JOB_EXITED,
                       stopped_reason=str(condition.get("message") or condition.get("type") or ""),
                       container_reason=str(terminated.get("reason") or ""),
                       oom_killed=terminated.get("reason") == "OOMKilled",
                       stopped_at=seconds_of(terminated.get("finishedAt")) or ended_at)
    stop_reason = str(annotations.get(STOP_ANNOTATION) or "")
    if stop_reason and not status.get("active") and (pod is None or _is_over(pod)):
        suspended = _condition(status, "Suspended") or {}
        return replace(base, stop_code=STOPPED_BY_US, stopped_reason=stop_reason,
                       stopped_at=seconds_of(suspended.get("lastTransitionTime")))
    for name in (RESTORE_CONTAINER, JOB_CONTAINER):
        waiting = (statuses.get(name) or {}).get("waiting") or {}
        if waiting.get("reason") in CANNOT_START:
            reason = f"{name} cannot start: {waiting['reason']}: {waiting.get('message') or 'no message'}"
            return replace(base, exit_code=None, stop_code=FAILED_TO_START, stopped_reason=reason,
                           container_reason=reason, restore_exit_code=None, save_exit_code=None)
    return None


def _the_pod(pods: Iterable[Obj]) -> Obj | None:
    """The Job's pod (backoffLimit 0: at most one; the newest, should there be more)."""
    listed = sorted(pods, key=lambda pod: str((pod.get("metadata") or {}).get("creationTimestamp") or ""))
    return listed[-1] if listed else None


def _container_statuses(pod: Obj | None) -> dict[str, Obj]:
    status = (pod or {}).get("status") or {}
    found: dict[str, Obj] = {}
    for entry in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
        if isinstance(entry, Mapping) and entry.get("name"):
            found[str(entry["name"])] = entry.get("state") or {}
    return found


def _final_condition(status: Obj) -> Obj | None:
    return _condition(status, "Failed") or _condition(status, "Complete")


def _condition(status: Obj, kind: str) -> Obj | None:
    for condition in status.get("conditions") or []:
        if condition.get("type") == kind and condition.get("status") == "True":
            return dict(condition)
    return None


def _is_over(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def _why_it_waited(job_state: Obj, scheduler_messages: Iterable[str]) -> str:
    messages = [message for message in scheduler_messages if message]
    if messages:
        return f"the pod was never scheduled: {messages[-1]}"
    waiting = job_state.get("waiting") or {}
    if waiting.get("reason"):
        return f"the container waited: {waiting['reason']}: {waiting.get('message') or 'no message'}"
    return ""


def _group(annotations: Obj) -> str:
    run, job, attempt = (annotations.get(key) for key in (RUN_LABEL, JOB_LABEL, ATTEMPT_LABEL))
    if isinstance(run, str) and isinstance(job, str) and isinstance(attempt, str) and attempt.isdigit():
        return task_group(run, job, int(attempt))
    return ""


def _exit_code(state: Obj | None) -> int | None:
    code = ((state or {}).get("terminated") or {}).get("exitCode")
    return code if isinstance(code, int) and not isinstance(code, bool) else None
