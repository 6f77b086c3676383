"""The ECS agent of the sandbox: the tasks RunTask created in moto's cluster run on Docker, and
the tasks StopTask stopped have their containers stopped.

Each poll lists the cluster's tasks by desired status, as an agent watches its tasks' desired
state: a RUNNING task it has not seen is described (moto's descriptions no longer move tasks
on: `moto_fixes.manual_task_transitions`) and handed to a `TaskRun` on a thread of its own,
with its task definition (described once per revision); a task now desired STOPPED that
still runs here is stopped with the reason StopTask gave; a task stopped before the agent
ever saw it running gets its STOPPED event without an exit code, as ECS sends one for a
task stopped while it was still being placed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.sandbox.aws_events import USER_INITIATED, TaskEnded, task_state_change
from chalicelib.sandbox.task_runner import TaskRun, TaskSetup

if TYPE_CHECKING:
    from mypy_boto3_ecs.literals import DesiredStatusType

log = logging.getLogger("containerops.sandbox")

DESCRIBE_LIMIT = 100  # tasks per DescribeTasks call
SHUTDOWN_GRACE_SECONDS = 1.0


class EcsAgent:
    def __init__(self, setup: TaskSetup) -> None:
        self._setup = setup
        self._ecs = setup.ecs
        self._cluster = setup.cluster
        self._runs: dict[str, TaskRun] = {}  # task ARN -> its run, while it may still run
        self._runs_lock = threading.Lock()  # `live_tasks` is asked from other threads
        self._seen: set[str] = set()
        self._definitions: dict[str, Mapping[str, Any]] = {}

    def poll(self) -> bool:
        """Start the new tasks and stop the ones asked to stop; whether anything changed."""
        started = self._start_new()
        stopped = self._stop_asked()
        with self._runs_lock:
            for arn in [arn for arn, run in self._runs.items() if not run.is_alive()]:
                del self._runs[arn]
        return started or stopped

    def live_tasks(self, run_id: str | None = None) -> list[str]:
        """The tasks (of one run) whose containers still run or whose end is being told."""
        with self._runs_lock:
            runs = list(self._runs.items())
        return [arn for arn, run in runs if run.is_alive() and (run_id is None or run.run_id == run_id)]

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop every container still running and wait for the task threads."""
        with self._runs_lock:
            runs = list(self._runs.values())
        for run in runs:
            run.stop("the sandbox is closing", grace=SHUTDOWN_GRACE_SECONDS)
        for run in runs:
            run.join(timeout)

    # --- one poll ---------------------------------------------------------------------
    def _start_new(self) -> bool:
        new = [arn for arn in self._listed("RUNNING") if arn not in self._seen]
        for task in self._described(new):
            arn = str(task["taskArn"])
            self._seen.add(arn)
            run = TaskRun(self._setup, task, self._definition(str(task["taskDefinitionArn"])))
            with self._runs_lock:
                self._runs[arn] = run
            run.start()
        return bool(new)

    def _stop_asked(self) -> bool:
        stopped = self._listed("STOPPED")
        asked = [arn for arn in stopped if arn in self._runs and self._runs[arn].is_alive()
                 and not self._runs[arn].stop_requested]
        unseen = [arn for arn in stopped if arn not in self._seen]
        if not (asked or unseen):
            return False
        for task in self._described(asked + unseen):
            arn = str(task["taskArn"])
            reason = str(task.get("stoppedReason") or "Task stopped by user")
            if arn in self._runs:
                self._runs[arn].stop(reason)
            else:
                self._seen.add(arn)
                log.info("task %s was stopped before it ran: %s", arn, reason)
                self._setup.task_stopped(task_state_change(
                    task, TaskEnded(None, USER_INITIATED, reason, stopped_at=self._setup.clock()),
                    self._setup.region, self._setup.clock()))
        return True

    def _listed(self, status: DesiredStatusType) -> list[str]:
        arns: list[str] = []
        for page in self._ecs.get_paginator("list_tasks").paginate(cluster=self._cluster,
                                                                  desiredStatus=status):
            arns.extend(page["taskArns"])
        return arns

    def _described(self, arns: list[str]) -> Iterable[Mapping[str, Any]]:
        for start in range(0, len(arns), DESCRIBE_LIMIT):
            answer = self._ecs.describe_tasks(cluster=self._cluster,
                                              tasks=arns[start:start + DESCRIBE_LIMIT])
            yield from answer["tasks"]

    def _definition(self, arn: str) -> Mapping[str, Any]:
        if arn not in self._definitions:
            self._definitions[arn] = self._ecs.describe_task_definition(
                taskDefinition=arn)["taskDefinition"]
        return self._definitions[arn]
