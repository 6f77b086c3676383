"""A run's end, from its execution's end: the same final state and reasons the local driver
gives.

Step Functions says how the execution ended; the engine says what that means for the run
(`engine.rules`): a failed execution stops at the first job whose failure does not pass,
an aborted one was cancelled, a timed-out one hit the workflow timeout. Jobs never started
become `skipped` (`not run: …`); jobs still running were stopped with the run: they end
`cancelled`, for the halt's reason, and their tasks are stopped (their verdicts, arriving
later, find the job ended and change only the attempt). A fan-out job stopped with the run
stops its running instances the same way (`instance_records`); its instances never started
get no record (their count is `not_started`). The run's concurrency slot is freed and the
next queued run of its workflow started. The ends of a Distributed Map's child executions
are no run's end (`events.execution_ended` reads none from them).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from enum import StrEnum
from typing import Protocol

from chalicelib.cloud.events import ExecutionEnded
from chalicelib.cloud.instance_records import stop_running_instances
from chalicelib.cloud.loaded_run import LoadedRun, load_run
from chalicelib.cloud.ports import RunWorkspaces, Tasks
from chalicelib.cloud.verdict import RUN_STOP_PREFIX
from chalicelib.domain.fanout import is_fan_out
from chalicelib.domain.states import AttemptState, JobState, RunState
from chalicelib.engine.records import JobRecord
from chalicelib.engine.rerun import discarded_workspaces
from chalicelib.engine.rules import (
    CANCELLED,
    WORKFLOW_TIMEOUT,
    Halt,
    JobEnd,
    RunEnd,
    halt_after,
    run_end,
    unfinished_job_end,
)
from chalicelib.errors import ContainerOpsError, NotFound, StaleWrite
from chalicelib.store.base import Store

log = logging.getLogger("containerops.cloud")


class NextRuns(Protocol):
    def start_next(self, namespace: str, workflow: str) -> None: ...


class RunEnded(StrEnum):
    ENDED = "ended"
    DUPLICATE = "duplicate"
    UNKNOWN = "unknown"


class RunFinaliser:
    def __init__(self, store: Store, tasks: Tasks, next_runs: NextRuns, workspaces: RunWorkspaces,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._tasks = tasks
        self._workspaces = workspaces
        self._next_runs = next_runs
        self._clock = clock

    def execution_ended(self, ended: ExecutionEnded) -> RunEnded:
        try:
            loaded = load_run(self._store, ended.run_id)
        except NotFound:
            log.warning("execution %s ended, but no such run: ignored", ended.run_id)
            return RunEnded.UNKNOWN
        run = loaded.run
        if run.status.is_final:
            self._free_slot(loaded)
            return RunEnded.DUPLICATE
        halt = halt_of(loaded, ended)
        end = run_end(halt)
        now = ended.stopped_at or self._clock()
        for record in loaded.jobs.values():
            self._end_job(loaded, record, halt, end, now)
        try:
            self._store.save_run(replace(run, status=end.state, reason=end.reason,
                                         started_at=run.started_at or now, finished_at=now),
                                 expected=run.status)
        except StaleWrite:
            return RunEnded.DUPLICATE
        for discarded in discarded_workspaces(self._store, replace(run, status=end.state)):
            self._discard_workspace(discarded)
        self._free_slot(loaded)
        return RunEnded.ENDED

    def _discard_workspace(self, run_id: str) -> None:
        """As locally: a workflow keeps the workspace of its newest succeeded run and of its
        failed ones, for re-runs (the bucket's lifecycle rule removes them in the end)."""
        try:
            self._workspaces.discard(run_id)
        except ContainerOpsError:
            log.warning("the workspace of run %s could not be removed (the bucket's lifecycle"
                        " rule will)", run_id, exc_info=True)

    def _end_job(self, loaded: LoadedRun, record: JobRecord, halt: Halt | None, end: RunEnd,
                 now: float) -> None:
        job_end = unfinished_job_end(record.status, halt, end)
        if job_end is None:
            return
        changed = replace(record, status=job_end.state, reason=job_end.reason)
        if job_end.state is JobState.CANCELLED:
            changed = replace(changed, finished_at=now)
            self._stop_tasks(record, job_end.reason)
            definition = loaded.workflow.job_named(record.name)
            if definition is not None and is_fan_out(definition):
                stop_running_instances(self._store, self._tasks, record.run_id, record.name,
                                       job_end.reason, self._clock)
        try:
            self._store.save_job(changed, expected=record.status)
        except StaleWrite:
            pass  # its verdict ended it meanwhile

    def _stop_tasks(self, record: JobRecord, reason: str) -> None:
        for attempt in self._store.list_attempts(record.run_id, record.name):
            if attempt.status is AttemptState.RUNNING and attempt.container_id:
                self._tasks.stop(attempt.container_id, RUN_STOP_PREFIX + reason)

    def _free_slot(self, loaded: LoadedRun) -> None:
        if loaded.workflow.spec.concurrency is None:
            return
        run = loaded.run
        self._store.free_run_slot(run.namespace, run.workflow, run.id)
        self._next_runs.start_next(run.namespace, run.workflow)


def halt_of(loaded: LoadedRun, ended: ExecutionEnded) -> Halt | None:
    """Why the run stopped, as the local driver would say it."""
    if ended.status == "SUCCEEDED":
        return None
    if ended.status == "ABORTED" or loaded.run.cancel_requested:
        return CANCELLED
    if ended.status == "TIMED_OUT":
        return WORKFLOW_TIMEOUT
    failed = sorted(
        (job for job in loaded.jobs.values() if job.status is JobState.FAILED),
        key=lambda job: (job.finished_at or 0.0, job.stage, job.action, job.position),
    )
    for job in failed:
        halt = halt_after(loaded.workflow, job.name, JobEnd(job.status, job.reason))
        if halt is not None:
            return halt
    detail = ": ".join(part for part in (ended.error, ended.cause) if part) or "no reason given"
    return Halt(RunState.FAILED, f"the execution failed: {detail}", "stopped: the execution failed")
