"""The verdict check of the jobs that run on EKS: scheduled every minute (`@app.schedule`), it
reads which of the deployment's Kubernetes Jobs have ended and hands each to the same
finaliser an ECS STOPPED event reaches (`verdict.TaskFinaliser`: the whole log read again,
the engine's judgement, the attempt and job written once, the token answered once), then
deletes the Job.

Kubernetes sends no event a Lambda can subscribe to, so the check looks: one list of the
Jobs and one of their pods per minute, whatever the number of attempts (`EndedJobs`). A Job
that ended less than `log_grace` seconds ago is left for the next check: Fluent Bit ships a
container's last lines some seconds after it exited, and the verdict must read them all.
A Job is deleted only once its verdict is recorded (or it was no attempt of ours, or its
attempt had ended already), so a check that fails half-way loses nothing: the next one
finds the same Jobs. A failure on one Job is logged and the check goes on with the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from chalicelib.cloud.events import TaskStopped
from chalicelib.cloud.verdict import TaskFinaliser, Verdict
from chalicelib.errors import ContainerOpsError

log = logging.getLogger("containerops.cloud")

LOG_GRACE_SECONDS = 15.0  # Fluent Bit flushes every 5 s (infra/eks/fluent-bit.yaml), retries after


class EndedJobs(Protocol):
    def ended(self) -> Iterable[TaskStopped]:
        """Every Job of ContainerOps that has ended, told as a stopped task."""

    def remove(self, task_arn: str) -> None:
        """Delete a judged Job and its pod; a Job already gone is fine."""


class EksJobsCheck:
    def __init__(self, jobs: EndedJobs, finaliser: TaskFinaliser, *,
                 log_grace: float = LOG_GRACE_SECONDS, clock: Callable[[], float] = time.time) -> None:
        self._jobs = jobs
        self._finaliser = finaliser
        self._log_grace = log_grace
        self._clock = clock

    def check(self) -> dict[str, Verdict]:
        """Judge and remove the Jobs that ended; what became of each (by its ref)."""
        judged: dict[str, Verdict] = {}
        for ended in self._jobs.ended():
            if ended.stopped_at is not None and self._clock() - ended.stopped_at < self._log_grace:
                continue  # its last lines may still be on their way
            try:
                judged[ended.task_arn] = self._finaliser.task_stopped(ended)
                self._jobs.remove(ended.task_arn)
            except ContainerOpsError:
                log.exception("the end of Kubernetes Job %s could not be judged; the next check tries"
                              " again", ended.task_arn)
        return judged
