"""One fan-out job (a group) on the local driver: its instances started in index order
behind its parallelism, each a JobWorker like a plain job, and the group's end.

It lives in the run execution's thread and is driven by it (started, told each instance's
attempt and end, halted), so every record is still written from that one thread. The queue
is an index (`next_index`): an instance has no plan, worker, thread or record until it
starts, so memory grows with the instances running, never with those waiting. Every
decision is the engine's (`engine.fanout`): the instance's (`decide_ready_instance`), how
many start (`instances_to_start`, `group_parallelism`), when fail_fast stops the others
(`fail_fast_stop`, `may_start_more`) and what the group ends as (`group_end`,
`aggregate_outputs`).

Decisions taken here:
- An instance's record is created (`create_instance`) before its container starts; a create
  that finds it exists (StaleWrite) starts nothing, so no instance ever starts twice.
- The aggregate outputs are read back from the store when the group ends (pages of the
  instances that did their work), not kept in memory while it runs, and their lists
  written to the run's workspace folder as they are read (`lists`).
- A restarted driver takes the group up from the store: the counts give the tally, the
  recorded indexes where the queue goes on (`resume_index`), and each recorded running
  instance is resumed as a plain job is (re-attached to its container, or judged).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from chalicelib.domain.catalog import ComponentCatalog
from chalicelib.domain.fanout import Instance, expand
from chalicelib.domain.host_mounts import MountPolicy
from chalicelib.domain.models import Job, Workflow
from chalicelib.domain.states import JobState
from chalicelib.engine.aggregate import Aggregate, ListFiles
from chalicelib.engine.engine import JobPlan, RunContext, component_of
from chalicelib.engine.fanout import (
    InstanceTally,
    aggregate_outputs,
    decide_ready_instance,
    fail_fast_stop,
    group_end,
    group_parallelism,
    instances_to_start,
    lists_not_written,
    may_start_more,
    output_keys,
    resume_index,
)
from chalicelib.engine.instance_keys import instance_key
from chalicelib.engine.records import JobRecord
from chalicelib.engine.rules import JobEnd, Launch, ReadyDecision, end_without_launch
from chalicelib.errors import ContainerOpsError, StaleWrite
from chalicelib.local.job_worker import JobEnded, JobWorker, Resumption
from chalicelib.store.base import Store

PAGE = 500


class GroupHost(Protocol):
    """What the run execution does for a group: the context its expressions see, workers,
    record writes (each a change from the state it was read in)."""

    def context(self) -> RunContext: ...

    def new_worker(self, plan: JobPlan, ready_at: float, resumption: Resumption | None) -> JobWorker: ...

    def resumption(self, record: JobRecord) -> Resumption | None: ...

    def save_job(self, record: JobRecord, expected: JobState) -> None: ...

    def worker_ended(self, worker: JobWorker) -> None: ...

    def group_progressed(self, group: JobRecord, tally: InstanceTally) -> None: ...

    def remove_container(self, resumption: Resumption) -> None: ...


@dataclass
class _Running:
    record: JobRecord
    worker: JobWorker


class FanOutGroup:
    def __init__(
        self, *, store: Store, workflow: Workflow, job: Job, record: JobRecord,
        catalog: ComponentCatalog, mounts: MountPolicy, bound: int, host: GroupHost,
        clock: Callable[[], float], lists: ListFiles,
        reused: Mapping[int, Mapping[str, str]] | None = None,
    ) -> None:
        self.store, self.workflow, self.job, self.record = store, workflow, job, record
        self.lists = lists
        self.catalog, self.mounts, self.host, self.clock = catalog, mounts, host, clock
        self.instances: Sequence[Instance] = expand(job)
        self.count = len(self.instances)
        self.parallel = group_parallelism(job, self.count, bound)
        self.reused = reused or {}
        self.next_index = 0
        self.tally = InstanceTally(self.count)
        self.running: dict[int, _Running] = {}
        self.fail_stop: str | None = None  # fail_fast stopped the group
        self.halt_reason: str | None = None  # the run stops it

    @property
    def name(self) -> str:
        return self.job.name

    # --- starting and taking up ---------------------------------------------------------
    def start(self, ready_at: float) -> JobEnd | None:
        """Mark the group running and start what its parallelism allows; its end when it
        ended at once (every instance decided without a container)."""
        self._mark_running(ready_at)
        return self._fill()

    def resume(self) -> JobEnd | None:
        """Take up a group a previous process left running."""
        self.tally = InstanceTally.of(self.count, self.store.instance_counts(self.record.run_id, self.name))
        indexes: list[int] = []
        running: list[JobRecord] = []
        for instance in self.store.every_instance(self.record.run_id, self.name):
            if instance.instance is not None:
                indexes.append(instance.instance)
            if instance.status is JobState.RUNNING:
                running.append(instance)
        self.next_index = resume_index(indexes)
        del indexes
        if not may_start_more(self.job, self.tally):
            failed = next(self.store.every_instance(self.record.run_id, self.name,
                                             [JobState.FAILED]), None)
            self.fail_stop = f"stopped: instance {failed.instance if failed else '?'} failed"
        for instance in running:
            self._resume_instance(instance)
        if self.fail_stop is not None:
            for entry in self.running.values():
                entry.worker.stop(self.fail_stop)
        return self._fill()

    def _resume_instance(self, record: JobRecord) -> None:
        assert record.instance is not None
        resumption = self.host.resumption(record)
        decision = self._decide(record.instance)
        if not isinstance(decision, Launch):
            if resumption is not None and resumption.container is not None:
                self.host.remove_container(resumption)  # refused now: not left unwatched
            self._end_instance(record, end_without_launch(decision))
            return
        worker = self.host.new_worker(decision.plan, record.started_at or self.clock(), resumption)
        self.running[record.instance] = _Running(record, worker)
        worker.start()

    def _mark_running(self, ready_at: float) -> None:
        if self.record.status is not JobState.RUNNING:
            before = self.record.status
            self.record.status = JobState.RUNNING
            self.record.started_at = self.record.started_at or ready_at
            self.host.save_job(self.record, before)

    # --- the queue ------------------------------------------------------------------------
    def _stopped(self) -> bool:
        return self.halt_reason is not None or self.fail_stop is not None or not may_start_more(
            self.job, self.tally)

    def _fill(self) -> JobEnd | None:
        """Start instances while slots are free (those decided without a container take
        none, so the loop goes on past them)."""
        while True:
            wanted = instances_to_start(self.count, self.next_index, len(self.running), self.parallel,
                                        stopped=self._stopped())
            if not wanted:
                break
            for index in wanted:
                self.next_index = index + 1
                self._start_instance(index)
                if self._stopped():
                    break
        self.host.group_progressed(self.record, self.tally)
        return self._end_if_done()

    def _decide(self, index: int) -> ReadyDecision:
        return decide_ready_instance(
            self.workflow, self.job, self.instances[index], self.count, self.catalog, self.host.context(),
            self.reused.get(index), self.mounts,
        )

    def _start_instance(self, index: int) -> None:
        now = self.clock()
        decision = self._decide(index)
        group = self.record
        record = JobRecord(run_id=group.run_id, name=instance_key(self.name, index), stage=group.stage,
                           action=group.action, position=group.position, started_at=now,
                           group=self.name, instance=index)
        if isinstance(decision, Launch):
            record.status = JobState.RUNNING
            if not self._create(record):
                return
            self.tally = replace(self.tally, running=self.tally.running + 1)
            worker = self.host.new_worker(decision.plan, now, None)
            self.running[index] = _Running(record, worker)
            worker.start()
            return
        end = end_without_launch(decision)
        record.status, record.reason, record.outputs = end.state, end.reason, dict(end.outputs)
        record.finished_at = now
        if self._create(record):
            self._count_end(index, end.state, was_running=False)

    def _create(self, record: JobRecord) -> bool:
        try:
            self.store.create_instance(record)
        except StaleWrite:
            # Recorded by a previous process, so started or decided then; `resume` counted it
            # (the tally is the store's counts) and took it up if it runs.
            return False
        return True

    # --- what the run execution tells it ----------------------------------------------------
    def has(self, index: int) -> bool:
        return index in self.running

    def attempt_started(self, index: int, number: int) -> None:
        record = self.running[index].record
        record.attempts = number
        self.host.save_job(record, JobState.RUNNING)

    def instance_ended(self, index: int, event: JobEnded) -> JobEnd | None:
        """An instance's worker ended it; the group's end when that was its last."""
        entry = self.running.pop(index)
        self.host.worker_ended(entry.worker)
        entry.record.attempts, entry.record.exit_code = event.attempts, event.attempt.exit_code
        self._end_instance(entry.record, event.end, was_running=True)
        return self._fill()

    def halt(self, stop_reason: str) -> JobEnd | None:
        """The run stops: running instances are stopped, queued ones never start."""
        self.halt_reason = self.halt_reason or stop_reason
        for entry in self.running.values():
            entry.worker.stop(stop_reason)
        return self._end_if_done()

    def _end_instance(self, record: JobRecord, end: JobEnd, *, was_running: bool = True) -> None:
        record.status, record.reason, record.outputs = end.state, end.reason, dict(end.outputs)
        record.finished_at = self.clock()
        self.host.save_job(record, JobState.RUNNING)
        assert record.instance is not None
        self._count_end(record.instance, end.state, was_running=was_running)

    def _count_end(self, index: int, state: JobState, *, was_running: bool) -> None:
        self.tally = self.tally.with_end(state, was_running=was_running)
        if state is JobState.FAILED and self.fail_stop is None and self.halt_reason is None:
            reason = fail_fast_stop(self.job, self.tally, index)
            if reason is not None:
                self.fail_stop = reason
                for entry in self.running.values():
                    entry.worker.stop(reason)

    # --- the end ----------------------------------------------------------------------------
    def _end_if_done(self) -> JobEnd | None:
        if self.running or group_end(self.job, self.tally, stop_reason=self.halt_reason) is None:
            return None
        if self.halt_reason is not None:
            return group_end(self.job, self.tally, stop_reason=self.halt_reason)
        try:
            aggregate = self._aggregate()
        except OSError as exc:
            return lists_not_written(self.name, self.tally, str(exc))
        return group_end(self.job, self.tally, aggregate=aggregate)

    def _aggregate(self) -> Aggregate:
        try:
            component = component_of(self.job, self.catalog)
        except ContainerOpsError:
            component = None
        did_work = (
            (record.instance, record.outputs)
            for record in self.store.every_instance(self.record.run_id, self.name,
                                                    [JobState.SUCCEEDED, JobState.REUSED])
            if record.instance is not None
        )
        return aggregate_outputs(self.name, output_keys(self.job, component), self.tally, did_work,
                                 self.lists)
