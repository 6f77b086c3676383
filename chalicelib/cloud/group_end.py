"""The end of a fan-out job on the cloud path: what the group-end message after a job's Map
state makes of the group (the job's own record), and the answer to the state machine.

The Map's end (or its failure, caught into the same state) sends one message; the engine
decides (`engine.fanout`): a group reused, skipped or failed as a whole
(`decide_ready_group`), or the group's end from its instances' tally (`group_end`) with the
aggregate outputs (`aggregate_outputs`, from the records of the instances that did their
work), whose lists are added to the run's workspace as one layer before the group's record
is written, so the jobs the group's end lets start find them. The group's record is written
once, conditionally on the state it was read in, and the token answered: success,
`Job.Failed` with the reason (a group that cannot be planned: `Job.NotRunnable`). A
redelivery that finds the group final answers again from its record (the first answer may
have been lost with the handler), and one that comes before it adds the same files again.

Neither kind of Map stops containers itself: when the Map ends with instances still running
(fail_fast stopped the group, so the Map failed and its other iterations were aborted), they
are ended `cancelled` and their tasks stopped here (`instance_records`), with the engine's
reason (`fail_fast_stop`: `stopped: instance 7 failed`, the instance whose failure passed
what is allowed, by the order the failures were recorded in).

Decisions taken here, where the design is silent:
- A Map that ended with instances still running or never started although the failures did
  not stop the group (only a lost verdict's backstop, `States.Timeout`, does that) stops
  what runs with `stopped: the Map of job '<job>' ended`, and fails the group saying how
  many instances did not run when some never started.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from enum import StrEnum

from chalicelib.cloud.instance_records import stop_running_instances
from chalicelib.cloud.loaded_run import LoadedRun
from chalicelib.cloud.ports import JOB_FAILED, JOB_NOT_RUNNABLE, Executions, RunWorkspaces, Tasks
from chalicelib.domain.catalog import ComponentCatalog
from chalicelib.domain.fanout import fails_fast, instance_count
from chalicelib.domain.models import Job
from chalicelib.domain.states import JobState
from chalicelib.engine.engine import component_of
from chalicelib.engine.fanout import (
    InstanceTally,
    aggregate_outputs,
    allowed_failures,
    decide_ready_group,
    fail_fast_stop,
    failures_passed,
    group_end,
    output_keys,
)
from chalicelib.engine.records import JobRecord
from chalicelib.engine.rules import FailJob, JobEnd, end_without_launch
from chalicelib.errors import StaleWrite
from chalicelib.store.base import Store

log = logging.getLogger("containerops.cloud")


class GroupEnded(StrEnum):
    ENDED = "ended"
    ANSWERED_AGAIN = "answered again"  # a redelivery: the group was final already


class GroupEnder:
    def __init__(self, store: Store, executions: Executions, tasks: Tasks, catalog: ComponentCatalog,
                 workspaces: RunWorkspaces, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._workspaces = workspaces
        self._executions = executions
        self._tasks = tasks
        self._catalog = catalog
        self._clock = clock

    def end(self, loaded: LoadedRun, job: Job, token: str) -> GroupEnded:
        group = loaded.record(job.name)
        if group.status.is_final:
            self._answer(group.status, group.reason, token)
            return GroupEnded.ANSWERED_AGAIN
        decision = decide_ready_group(loaded.workflow, job, self._catalog, loaded.context(), loaded.reuse)
        end = end_without_launch(decision) if decision is not None else self._from_instances(loaded, job)
        now = self._clock()
        ended = replace(group, status=end.state, reason=end.reason, outputs=dict(end.outputs),
                        started_at=group.started_at or now, finished_at=now)
        try:
            self._store.save_job(ended, expected=group.status)
        except StaleWrite:
            again = self._store.get_job(group.run_id, group.name)  # the run's end, or a redelivery
            self._answer(again.status, again.reason, token)
            return GroupEnded.ANSWERED_AGAIN
        self._answer(end.state, end.reason, token, not_runnable=isinstance(decision, FailJob))
        log.info("fan-out job %s of run %s ended %s: %s", group.name, group.run_id, end.state, end.reason)
        return GroupEnded.ENDED

    def _from_instances(self, loaded: LoadedRun, job: Job) -> JobEnd:
        run_id = loaded.run.id
        count = instance_count(job)
        tally = InstanceTally.of(count, self._store.instance_counts(run_id, job.name))
        if tally.running or tally.not_started:
            stopped_fast = fails_fast(job) and failures_passed(job, tally)
            reason = (fail_fast_stop(job, tally, self._failure_that_stopped(run_id, job, tally))
                      if stopped_fast else None) or f"stopped: the Map of job '{job.name}' ended"
            if tally.running:
                stop_running_instances(self._store, self._tasks, run_id, job.name, reason, self._clock)
                tally = InstanceTally.of(count, self._store.instance_counts(run_id, job.name))
        keys = output_keys(job, component_of(job, self._catalog))
        did_work = ((record.instance, record.outputs) for record in self._store.every_instance(
            run_id, job.name, (JobState.SUCCEEDED, JobState.REUSED))
            if record.instance is not None)
        aggregate = self._workspaces.add_files(
            run_id, job.name, lambda files: aggregate_outputs(job.name, keys, tally, did_work, files))
        end = group_end(job, tally, aggregate=aggregate)
        if end is None:  # the Map ended, yet neither all ran nor did failures stop the group
            end = JobEnd(JobState.FAILED, f"{tally.not_started:,} of {count:,} instances did not run",
                         dict(aggregate.outputs))
        return end

    def _failure_that_stopped(self, run_id: str, job: Job, tally: InstanceTally) -> int:
        """The instance whose failure passed what the job allows: the (allowed + 1)-th to fail."""
        failed = sorted(self._store.every_instance(run_id, job.name, (JobState.FAILED,)),
                        key=_failure_order)
        if not failed:
            return 0
        record = failed[min(allowed_failures(job, tally.count), len(failed) - 1)]
        return record.instance if record.instance is not None else 0

    def _answer(self, state: JobState, reason: str, token: str, *, not_runnable: bool = False) -> None:
        if state.counts_as_success:
            self._executions.succeed(token)
        else:
            self._executions.fail(token, JOB_NOT_RUNNABLE if not_runnable else JOB_FAILED, reason)


def _failure_order(record: JobRecord) -> tuple[float, int]:
    return (record.finished_at or 0.0, record.instance or 0)
