"""The launcher: what becomes of each launch message a workflow's state machine sends.

For the job the message names, the engine decides (`LoadedRun.decide`): a job the re-run
reuses, a skipped one (`if` false) and one that cannot be planned are answered at once,
without a container; anything else is launched as an ECS task for the message's attempt.
Every record is changed conditionally on the state it was read in, so SQS's at-least-once
delivery is harmless: a second message for the same attempt finds the attempt recorded and
launches nothing (and a launcher that died between RunTask and recording the task is
retried into the same task, which `Tasks.run` finds by the attempt's key). The callback
token is kept in the attempt record, never given to the container.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from enum import StrEnum

from chalicelib.cloud.attempt_end import AttemptEnder
from chalicelib.cloud.events import LaunchMessage
from chalicelib.cloud.loaded_run import LoadedRun, load_run
from chalicelib.cloud.ports import JOB_NOT_RUNNABLE, Executions, TaskRequest, Tasks
from chalicelib.domain.catalog import ComponentCatalog
from chalicelib.domain.states import AttemptState, JobState
from chalicelib.engine.engine import AttemptEnd, JobPlan
from chalicelib.engine.ingest import IngestState
from chalicelib.engine.records import AttemptRecord, JobRecord
from chalicelib.engine.rules import (
    FailJob,
    JobEnd,
    Launch,
    Reuse,
    attempt_outcome,
    end_without_launch,
)
from chalicelib.engine.secrets import secret_variables
from chalicelib.errors import Conflict, LaunchError, NotFound, StaleWrite
from chalicelib.logs.base import LogSink
from chalicelib.store.base import Store

log = logging.getLogger("containerops.cloud")


class Launched(StrEnum):
    LAUNCHED = "launched"
    ANSWERED = "answered"  # reused, skipped or failed without a container
    DUPLICATE = "duplicate"  # the attempt (or the job's end) is recorded already
    DROPPED = "dropped"  # nothing to launch: the run is unknown, ended or cancelled
    LAUNCH_FAILED = "launch failed"


class JobLauncher:
    def __init__(self, store: Store, executions: Executions, tasks: Tasks,
                 catalog: ComponentCatalog, notes: LogSink,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._executions = executions
        self._tasks = tasks
        self._catalog = catalog
        self._clock = clock
        self._ender = AttemptEnder(store, executions, notes, clock)

    def launch(self, message: LaunchMessage) -> Launched:
        try:
            loaded = load_run(self._store, message.run_id)
            record = loaded.record(message.job)
        except NotFound as exc:
            log.warning("launch of %r dropped: %s", message, exc)
            self._executions.fail(message.token, JOB_NOT_RUNNABLE, str(exc))
            return Launched.DROPPED
        if loaded.run.status.is_final or loaded.run.cancel_requested:
            log.info("launch of %r dropped: the run is %s", message,
                     "cancelled" if loaded.run.cancel_requested else loaded.run.status)
            self._executions.fail(message.token, JOB_NOT_RUNNABLE, "the run has ended")
            return Launched.DROPPED
        if record.status.is_final:
            return Launched.DUPLICATE  # its token was answered when it ended
        decision = loaded.decide(message.job, self._catalog)
        if not isinstance(decision, Launch):
            return self._answer_without_container(record, end_without_launch(decision),
                                                  message, failed=isinstance(decision, FailJob),
                                                  reused=isinstance(decision, Reuse))
        return self._launch(loaded, record, decision.plan, message)

    # --- no container --------------------------------------------------------------
    def _answer_without_container(self, record: JobRecord, end: JobEnd, message: LaunchMessage,
                                  *, failed: bool, reused: bool) -> Launched:
        now = self._clock()
        ended = replace(record, status=end.state, reason=end.reason, outputs=dict(end.outputs),
                        started_at=record.started_at or now, finished_at=now)
        try:
            self._store.save_job(ended, expected=record.status)
        except StaleWrite:
            return Launched.DUPLICATE
        if failed:
            self._executions.fail(message.token, JOB_NOT_RUNNABLE, end.reason)
        else:
            self._executions.succeed(message.token)
        log.info("job %s of run %s %s without a container", record.name, record.run_id,
                 "reused" if reused else end.state)
        return Launched.ANSWERED

    # --- a container -----------------------------------------------------------------
    def _launch(self, loaded: LoadedRun, record: JobRecord, plan: JobPlan,
                message: LaunchMessage) -> Launched:
        now = self._clock()
        if record.status is JobState.PENDING:
            try:
                self._store.save_job(replace(record, status=JobState.RUNNING, started_at=now),
                                     expected=JobState.PENDING)
            except StaleWrite:
                pass  # another delivery of this message moved it first: the attempt decides
        attempt = AttemptRecord(run_id=record.run_id, job=record.name, number=message.attempt,
                                ready_at=now, task_token=message.token)
        try:
            self._store.create_attempt(attempt)
        except Conflict:
            attempt = self._store.get_attempt(record.run_id, record.name, message.attempt)
            if attempt.container_id is not None or attempt.status is not AttemptState.RUNNING:
                return Launched.DUPLICATE
            # A launcher died before recording the task: carry on; Tasks.run finds its task.
        request = TaskRequest(record.run_id, message.attempt, plan,
                              secret_variables(loaded.workflow, loaded.definition(record.name)))
        try:
            task_arn = self._tasks.run(request)
        except LaunchError as exc:
            return self._launch_failed(plan, attempt, str(exc))
        started = replace(attempt, container_id=task_arn, started_at=self._clock())
        try:
            self._store.save_attempt(started, expected=AttemptState.RUNNING)
        except StaleWrite:
            return Launched.DUPLICATE  # judged already: the task stopped before we got here
        self._count_attempt(record.run_id, record.name, message.attempt)
        return Launched.LAUNCHED

    def _launch_failed(self, plan: JobPlan, attempt: AttemptRecord, reason: str) -> Launched:
        end = AttemptEnd(None, launch_error=reason)
        outcome = attempt_outcome(plan, end, IngestState())
        if not self._ender.end(plan, attempt, end, outcome, stop_reason=None):
            return Launched.DUPLICATE
        log.warning("attempt %d of job %s of run %s could not start: %s", attempt.number,
                    attempt.job, attempt.run_id, reason)
        return Launched.LAUNCH_FAILED

    def _count_attempt(self, run_id: str, job_name: str, number: int) -> None:
        job = self._store.get_job(run_id, job_name)
        if job.status is JobState.RUNNING and job.attempts < number:
            try:
                self._store.save_job(replace(job, attempts=number), expected=JobState.RUNNING)
            except StaleWrite:
                pass  # the job ended meanwhile: its end counts the attempts
