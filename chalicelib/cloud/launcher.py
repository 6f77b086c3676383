"""The launcher: what becomes of each launch message a workflow's state machine sends.

For the job the message names, the engine decides (`LoadedRun.decide`): a job the re-run
reuses, a skipped one (`if` false) and one that cannot be planned are answered at once,
without a container; anything else is launched as an ECS task for the message's attempt.
Every record is changed conditionally on the state it was read in, so SQS's at-least-once
delivery is harmless: a second message for the same attempt finds the attempt recorded and
launches nothing (and a launcher that died between RunTask and recording the task is
retried into the same task, which `Tasks.run` finds by the attempt's key). The callback
token is kept in the attempt record, never given to the container.

A fan-out job's Map sends one message per instance attempt (`instance`) and one for the
group's end (`group_end`: `group_end.GroupEnder`). An instance message is checked against
the definition (0 <= instance < its instance count: job tasks can write under `runs/*`, so
the Distributed Map's items file is not trusted, and anything else is refused as not
runnable); then, in order: a group the engine decides as a whole (reused, skipped, failed:
`decide_ready_group`) or one fail_fast has stopped (`may_start_more`) launches nothing and
writes nothing, answering success at once (the group's end judges); an instance with a
final record is a duplicate; one with none is decided (`decide_ready_instance`: reused
when the re-run takes it, skipped by its `if`) and recorded under its key `test.<i>`
(`create_instance`: a second create is a duplicate delivery and launches nothing), the
group moving pending -> running at its first instance; a launched instance's attempts are
kept under its key, like a job's. A fan-out job is never decided as one job: a plain message
naming one is refused as not runnable (so `rules.decide_ready_job`'s fan-out gate is never
reached here).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from enum import StrEnum

from chalicelib.cloud.attempt_end import AttemptEnder
from chalicelib.cloud.events import LaunchMessage
from chalicelib.cloud.group_end import GroupEnded, GroupEnder
from chalicelib.cloud.loaded_run import LoadedRun, load_run
from chalicelib.cloud.ports import JOB_NOT_RUNNABLE, Executions, RunWorkspaces, TaskRequest, Tasks
from chalicelib.domain.catalog import ComponentCatalog
from chalicelib.domain.fanout import instance_count, is_fan_out
from chalicelib.domain.models import Job
from chalicelib.domain.states import AttemptState, JobState
from chalicelib.engine.engine import AttemptEnd, JobPlan
from chalicelib.engine.fanout import InstanceTally, decide_ready_group, may_start_more, reused_instances
from chalicelib.engine.ingest import IngestState
from chalicelib.engine.instance_keys import instance_key
from chalicelib.engine.records import AttemptRecord, JobRecord
from chalicelib.engine.rerun import scope_of, workspace_kept
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
    REFUSED = "refused"  # an instance the job does not have (answered as not runnable)
    GROUP_ENDED = "group ended"  # a fan-out job's end judged and answered


class JobLauncher:
    def __init__(self, store: Store, executions: Executions, tasks: Tasks,
                 catalog: ComponentCatalog, notes: LogSink, workspaces: RunWorkspaces,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._executions = executions
        self._tasks = tasks
        self._catalog = catalog
        self._clock = clock
        self._ender = AttemptEnder(store, executions, notes, clock)
        self._groups = GroupEnder(store, executions, tasks, catalog, workspaces, clock)

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
        if message.group_end or message.instance is not None:
            return self._fan_out(loaded, message)
        if is_fan_out(loaded.definition(message.job)):  # never decided as one job (and one container)
            reason = f"job '{message.job}' fans out: its Map sends one message per instance"
            log.warning("launch of %r refused: %s", message, reason)
            self._executions.fail(message.token, JOB_NOT_RUNNABLE, reason)
            return Launched.REFUSED
        if record.status.is_final:
            return Launched.DUPLICATE  # its token was answered when it ended
        decision = loaded.decide(message.job, self._catalog)
        if not isinstance(decision, Launch):
            return self._answer_without_container(record, end_without_launch(decision),
                                                  message, failed=isinstance(decision, FailJob),
                                                  reused=isinstance(decision, Reuse))
        return self._launch(loaded, record, decision.plan, message, loaded.definition(record.name))

    # --- a fan-out job's instances and end -------------------------------------------
    def _fan_out(self, loaded: LoadedRun, message: LaunchMessage) -> Launched:
        try:
            job = loaded.fan_out_job(message.job)
        except NotFound as exc:
            log.warning("launch of %r refused: %s", message, exc)
            self._executions.fail(message.token, JOB_NOT_RUNNABLE, str(exc))
            return Launched.REFUSED
        if message.group_end:
            ended = self._groups.end(loaded, job, message.token)
            return Launched.GROUP_ENDED if ended is GroupEnded.ENDED else Launched.DUPLICATE
        assert message.instance is not None
        count, index = instance_count(job), message.instance
        if not 0 <= index < count:
            reason = f"job '{job.name}' has {count:,} instances; it has no instance {index}"
            log.warning("launch of %r refused: %s", message, reason)
            self._executions.fail(message.token, JOB_NOT_RUNNABLE, reason)
            return Launched.REFUSED
        group = loaded.record(job.name)
        tally = InstanceTally.of(count, self._store.instance_counts(loaded.run.id, job.name))
        if (group.status.is_final or not may_start_more(job, tally) or decide_ready_group(
                loaded.workflow, job, self._catalog, loaded.context(), loaded.reuse) is not None):
            # Nothing of this instance runs: the group's end judges the group (or has).
            self._executions.succeed(message.token)
            return Launched.ANSWERED
        return self._instance(loaded, job, group, index, message)

    def _instance(self, loaded: LoadedRun, job: Job, group: JobRecord, index: int,
                  message: LaunchMessage) -> Launched:
        key = instance_key(job.name, index)
        record = self._job_or_none(loaded.run.id, key)
        if record is not None and record.status.is_final:
            return Launched.DUPLICATE  # its token was answered when it ended
        if record is not None:  # a retry of an instance that runs (or a launcher that died)
            decision = loaded.decide_instance(job.name, index, self._catalog)
        else:
            decision = loaded.decide_instance(job.name, index, self._catalog,
                                              self._reused_instance(loaded, job.name, index))
            now = self._clock()
            if isinstance(decision, Launch):
                record = JobRecord(run_id=group.run_id, name=key, stage=group.stage, action=group.action,
                                   position=group.position, status=JobState.RUNNING, started_at=now,
                                   group=job.name, instance=index)
            else:
                end = end_without_launch(decision)
                record = JobRecord(run_id=group.run_id, name=key, stage=group.stage, action=group.action,
                                   position=group.position, status=end.state, reason=end.reason,
                                   outputs=dict(end.outputs), started_at=now, finished_at=now,
                                   group=job.name, instance=index)
            try:
                self._store.create_instance(record)
            except StaleWrite:
                return Launched.DUPLICATE  # another delivery of this message recorded it first
            self._group_running(group)
        if not isinstance(decision, Launch):
            if isinstance(decision, FailJob):
                self._executions.fail(message.token, JOB_NOT_RUNNABLE, decision.reason)
            else:
                self._executions.succeed(message.token)
            return Launched.ANSWERED
        return self._launch(loaded, record, decision.plan, message, job)

    def _reused_instance(self, loaded: LoadedRun, group: str, index: int) -> dict[str, str] | None:
        """The outputs of the instance in the run this one re-runs, when the re-run takes it."""
        run = loaded.run
        if not run.rerun_of:
            return None
        previous = self._job_or_none(run.rerun_of, instance_key(group, index))
        if previous is None:
            return None
        kept = workspace_kept(self._store, self._store.get_run(run.rerun_of))
        return reused_instances(loaded.workflow, group, [previous], scope_of(run),
                                workspace_kept=kept).get(index)

    def _group_running(self, group: JobRecord) -> None:
        if group.status is JobState.PENDING:
            try:
                self._store.save_job(replace(group, status=JobState.RUNNING, started_at=self._clock()),
                                     expected=JobState.PENDING)
            except StaleWrite:
                pass  # another instance moved it first

    def _job_or_none(self, run_id: str, name: str) -> JobRecord | None:
        try:
            return self._store.get_job(run_id, name)
        except NotFound:
            return None

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
                message: LaunchMessage, definition: Job) -> Launched:
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
                              secret_variables(loaded.workflow, definition))
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
