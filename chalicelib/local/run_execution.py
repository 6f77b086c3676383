"""Executes one run on the local driver: the scheduler loop in one thread, a worker per job.

All job and run records are written here, in this one thread, before the next step is
taken (DESIGN §3: nothing is lost), each as a change from the state it was read in. It
starts from whatever the store holds, so the same code runs a new run and finishes one a
dead process left behind. Every decision (reuse, skip, fail, launch; what stops the run;
how it ends) is the engine's (`engine.rules`, `engine.restore`): this module only decides
when to ask and acts on the answers.

A fan-out job is decided as a whole (`engine.fanout.decide_ready_group`: reused, failed,
skipped) and otherwise runs as a `FanOutGroup`, which this loop drives: its instances'
events come here by their keys (`test.3`), and a halt stops its instances too. Every
container start of every run takes a slot of the driver's pool (`slots`: the machine's
bound). Only workflow jobs reach the observer's `job_changed`; a group's progress reaches
an observer that has `group_progressed` (one call per change of its counts).
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol, runtime_checkable

from chalicelib.domain.catalog import ComponentCatalog
from chalicelib.domain.fanout import is_fan_out
from chalicelib.domain.host_mounts import NO_HOST_MOUNTS, MountPolicy
from chalicelib.domain.states import JobState, RunState
from chalicelib.engine.engine import JobPlan, RunContext
from chalicelib.engine.fanout import InstanceTally, decide_ready_group, instance_outputs_lookup
from chalicelib.engine.instance_keys import instance_key, split_instance_key
from chalicelib.engine.records import AttemptRecord, JobRecord, RunRecord
from chalicelib.engine.restore import restored_scheduler, run_context
from chalicelib.engine.rules import (
    REUSED_REASON,
    Halt,
    JobEnd,
    Launch,
    Reuse,
    decide_ready_job,
    end_without_launch,
    halt_after,
    halt_requested,
    passes,
    run_deadline,
    run_end,
    unfinished_job_end,
)
from chalicelib.errors import ContainerOpsError, NotFound, StaleWrite
from chalicelib.launch.base import ContainerRef, Launcher
from chalicelib.local.attempt import AttemptSettings, attempt_labels, container_spec
from chalicelib.local.fan_out_group import FanOutGroup
from chalicelib.local.held import HeldContainers
from chalicelib.local.job_worker import AttemptStarted, JobEnded, JobWorker, Resumption
from chalicelib.local.slots import ContainerSlots, machine_bound
from chalicelib.logs.base import LogSink
from chalicelib.store.base import Store
from chalicelib.workspace.folder_files import FolderListFiles

POLL_SECONDS = 0.25
HOLD_DEPTH = 1  # how many steps ahead containers are started, held


class RunObserver(Protocol):
    def job_changed(self, job: JobRecord) -> None: ...

    def run_changed(self, run: RunRecord) -> None: ...


@runtime_checkable
class GroupObserver(Protocol):
    """An observer that follows fan-out groups by their counts (never instance by instance)."""

    def group_progressed(self, group: JobRecord, tally: InstanceTally) -> None: ...


ReusedInstances = Callable[[str], Mapping[int, Mapping[str, str]]]


def no_reused_instances(group: str) -> Mapping[int, Mapping[str, str]]:
    return {}


class QuietObserver:
    def job_changed(self, job: JobRecord) -> None:
        pass

    def run_changed(self, run: RunRecord) -> None:
        pass


@dataclass
class RunExecution:
    store: Store
    logs: LogSink
    launcher: Launcher
    catalog: ComponentCatalog
    run_id: str
    workspace: str
    settings: AttemptSettings
    secrets: Mapping[str, str] = field(default_factory=dict)
    reuse: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    mounts: MountPolicy = NO_HOST_MOUNTS  # what jobs may mount from this host
    observer: RunObserver = field(default_factory=QuietObserver)
    clock: Callable[[], float] = time.time
    slots: ContainerSlots | None = None  # the process's pool; None: a pool of this run's own
    # the instances of a group a re-run takes from the run it re-runs (engine.fanout.reused_instances)
    reused_instances: ReusedInstances = no_reused_instances

    def __post_init__(self) -> None:
        if self.slots is None:
            self.slots = ContainerSlots(machine_bound())
        self.events: queue.Queue[object] = queue.Queue()
        self.workers: dict[str, JobWorker] = {}
        self.groups: dict[str, FanOutGroup] = {}
        self.ended_workers: list[JobWorker] = []
        self.halt: Halt | None = None
        self.held = HeldContainers(self.launcher)
        self.considered_for_holding: set[str] = set()
        self.deadline: float | None = None

    # --- the loop ---------------------------------------------------------------------
    def execute(self) -> RunRecord:
        self.run = self.store.get_run(self.run_id)
        if self.run.status.is_final:
            return self.run
        self.workflow = self.store.get_workflow(
            self.run.namespace, self.run.workflow, self.run.workflow_version
        ).workflow
        self.jobs = {job.name: job for job in self.store.list_jobs(self.run_id)}
        self.scheduler = restored_scheduler(self.workflow, self.jobs.values())
        self._mark_running()
        self._resume_running_jobs()
        deadline = self.deadline = run_deadline(self.workflow, self.run, self.clock())
        try:
            while True:
                self._check_cancel_and_deadline(deadline)
                self._dispatch_ready()
                if not self.scheduler.is_active():
                    break
                self._hold_upcoming()
                try:
                    self._handle(self.events.get(timeout=POLL_SECONDS))
                except queue.Empty:
                    pass
        finally:
            self.held.close()
        return self._finish()

    def _mark_running(self) -> None:
        if self.run.status is RunState.QUEUED:
            self.run.status = RunState.RUNNING
            self.run.started_at = self.clock()
            self.store.save_run(self.run, expected=RunState.QUEUED)
            self.observer.run_changed(self.run)

    def _dispatch_ready(self) -> None:
        while ready := self.scheduler.get_ready():
            for name in ready:
                self._begin(name, self.clock())

    def _check_cancel_and_deadline(self, deadline: float | None) -> None:
        if self.halt is None:
            current = self.store.get_run(self.run_id)
            halt = halt_requested(current, deadline, self.clock())
            if halt is not None:
                if current.cancel_requested:  # told first: stopping the jobs takes a while
                    self.observer.run_changed(current)
                self._halt(halt)

    def _halt(self, halt: Halt) -> None:
        self.halt = halt
        self.scheduler.halt()
        for worker in self.workers.values():
            worker.stop(halt.stop_reason)
        for group in list(self.groups.values()):
            self._group_step(group, group.halt(halt.stop_reason))

    # --- jobs -------------------------------------------------------------------------
    def _begin(self, name: str, ready_at: float, resumption: Resumption | None = None) -> None:
        record = self.jobs[name]
        job = self.workflow.job_named(name)
        assert job is not None  # the scheduler only knows the workflow's jobs
        if is_fan_out(job):
            self._begin_group(record, ready_at, resuming=resumption is not None)
            return
        decision = decide_ready_job(self.workflow, job, self.catalog, self._context(), self.reuse,
                                    self.mounts)
        if not isinstance(decision, Launch):
            self.held.discard(name)
            if resumption is not None and resumption.container is not None:
                # Started by a previous process, now refused (the roots it may mount from
                # were narrowed since, say): it must not go on unwatched.
                self._remove(resumption.container)
            self._conclude(record, end_without_launch(decision))
            return
        plan = decision.plan
        held = self.held.take(name)
        before = record.status
        record.status = JobState.RUNNING
        record.started_at = record.started_at or ready_at
        self._save_job(record, before)
        worker = self.new_worker(plan, ready_at, resumption)
        worker.held = held
        self.workers[name] = worker
        worker.start()

    def new_worker(self, plan: JobPlan, ready_at: float, resumption: Resumption | None) -> JobWorker:
        """A worker for a job or an instance (not started)."""
        return JobWorker(
            store=self.store, logs=self.logs, launcher=self.launcher, plan=plan, run_id=self.run_id,
            workspace=self.workspace, settings=self.settings, events=self.events,
            ready_at=ready_at, resumption=resumption, clock=self.clock, slots=self.slots,
        )

    # --- fan-out groups ---------------------------------------------------------------
    def _begin_group(self, record: JobRecord, ready_at: float, *, resuming: bool) -> None:
        job = self.workflow.job_named(record.name)
        assert job is not None
        if not resuming:
            decision = decide_ready_group(self.workflow, job, self.catalog, self.context(), self.reuse)
            if decision is not None:
                if isinstance(decision, Reuse):
                    self._copy_reused_instances(record)
                self._conclude(record, end_without_launch(decision))
                return
        assert self.slots is not None
        group = FanOutGroup(
            store=self.store, workflow=self.workflow, job=job, record=record, catalog=self.catalog,
            mounts=self.mounts, bound=self.slots.bound, host=self, clock=self.clock,
            lists=FolderListFiles(Path(self.workspace)), reused=self.reused_instances(record.name),
        )
        self.groups[record.name] = group
        self._group_step(group, group.resume() if resuming else group.start(ready_at))
        if self.halt is not None and record.name in self.groups:
            self._group_step(group, group.halt(self.halt.stop_reason))

    def _copy_reused_instances(self, group: JobRecord) -> None:
        """A group reused whole keeps its instances' records too (as `reused`), so later
        jobs read `jobs.X.instances[N]` and the counts say what it did."""
        for index, outputs in sorted(self.reused_instances(group.name).items()):
            copy = JobRecord(run_id=self.run_id, name=instance_key(group.name, index), stage=group.stage,
                             action=group.action, position=group.position, status=JobState.REUSED,
                             reason=REUSED_REASON, outputs=dict(outputs), started_at=self.clock(),
                             finished_at=self.clock(), group=group.name, instance=index)
            try:
                self.store.create_instance(copy)
            except StaleWrite:
                pass  # copied before a restart

    def _group_step(self, group: FanOutGroup, end: JobEnd | None) -> None:
        """Conclude the group when what it was told ended it."""
        if end is not None and self.groups.pop(group.name, None) is not None:
            self._conclude(group.record, end)

    def resumption(self, record: JobRecord) -> Resumption | None:
        return self._resumption(record)

    def worker_ended(self, worker: JobWorker) -> None:
        # Kept to be joined at the end; those done already are let go, so a group of
        # thousands of instances does not keep thousands of workers.
        self.ended_workers = [w for w in self.ended_workers if w.is_alive()]
        self.ended_workers.append(worker)

    def group_progressed(self, group: JobRecord, tally: InstanceTally) -> None:
        if isinstance(self.observer, GroupObserver):
            self.observer.group_progressed(group, tally)

    def remove_container(self, resumption: Resumption) -> None:
        if resumption.container is not None:
            self._remove(resumption.container)

    def context(self) -> RunContext:
        return self._context()

    def _hold_upcoming(self) -> None:
        """Start the containers of the jobs that come next, held until they are due."""
        if not self.settings.warm_start:
            return
        for name in self.scheduler.upcoming(depth=HOLD_DEPTH):
            if name in self.considered_for_holding or name in self.reuse:
                continue
            self.considered_for_holding.add(name)
            job = self.workflow.job_named(name)
            assert job is not None
            if is_fan_out(job):  # its instances start behind the slots, none held
                continue
            decision = decide_ready_job(self.workflow, job, self.catalog, self._context(), {},
                                        self.mounts)
            if isinstance(decision, Launch):  # anything else is acted on when the job is due
                record = AttemptRecord(run_id=self.run_id, job=name, number=1)
                spec = container_spec(decision.plan, record, self.workspace, self.settings)
                self.held.hold(name, spec)

    def _remove(self, container: ContainerRef) -> None:
        try:
            self.launcher.stop(container)
            self.launcher.remove(container)
        except ContainerOpsError:
            pass  # gone already

    def _context(self) -> RunContext:
        """What the run's expressions see: rebuilt from the job records as they stand."""
        context = run_context(self.run, self.jobs.values(), self.secrets)
        return replace(context, instance_outputs=instance_outputs_lookup(self._get_job))

    def _get_job(self, name: str) -> JobRecord | None:
        try:
            return self.store.get_job(self.run_id, name)
        except NotFound:
            return None

    def _handle(self, event: object) -> None:
        if isinstance(event, AttemptStarted | JobEnded):
            named = split_instance_key(event.job)
            if named is not None:
                group = self.groups.get(named.job)
                if group is not None and group.has(named.index):
                    if isinstance(event, AttemptStarted):
                        group.attempt_started(named.index, event.number)
                        return
                    if event.end.state is JobState.CANCELLED:
                        # A cancel stops the containers before this loop reads it: the
                        # group must know before it starts the next instance.
                        self._check_cancel_and_deadline(self.deadline)
                    self._group_step(group, group.instance_ended(named.index, event))
                return
        if isinstance(event, AttemptStarted):
            record = self.jobs[event.job]
            record.attempts = event.number
            self._save_job(record, JobState.RUNNING)
        elif isinstance(event, JobEnded):
            self._job_ended(event)

    def _job_ended(self, event: JobEnded) -> None:
        worker = self.workers.pop(event.job, None)
        if worker is not None:
            self.worker_ended(worker)
        record = self.jobs[event.job]
        record.attempts, record.exit_code = event.attempts, event.attempt.exit_code
        self._conclude(record, event.end)

    def _conclude(self, record: JobRecord, end: JobEnd) -> None:
        before = record.status
        record.status, record.reason, record.outputs = end.state, end.reason, dict(end.outputs)
        record.finished_at = self.clock()
        record.started_at = record.started_at or record.finished_at
        self._save_job(record, before)
        self.scheduler.done(record.name, passes(self.workflow, record.name, end.state))
        halt = halt_after(self.workflow, record.name, end)
        if halt is not None and self.halt is None:
            self._halt(halt)

    def _save_job(self, record: JobRecord, expected: JobState) -> None:
        self.store.save_job(record, expected=expected)
        if record.group is None:
            self.observer.job_changed(record)

    def save_job(self, record: JobRecord, expected: JobState) -> None:
        self._save_job(record, expected)

    # --- restart ----------------------------------------------------------------------
    def _resume_running_jobs(self) -> None:
        """Take up the jobs a previous process left running (the restored scheduler counts
        the finished ones already)."""
        for record in self.jobs.values():
            if record.status is JobState.RUNNING:
                job = self.workflow.job_named(record.name)
                if job is not None and is_fan_out(job):
                    self._begin_group(record, record.started_at or self.clock(), resuming=True)
                else:
                    self._begin(record.name, record.started_at or self.clock(), self._resumption(record))

    def _resumption(self, record: JobRecord) -> Resumption | None:
        attempts = self.store.list_attempts(self.run_id, record.name)
        if not attempts:
            return None
        last = attempts[-1]
        containers = self.launcher.find(attempt_labels(self.run_id, record.name, last.number))
        return Resumption(last, containers[0] if containers else None)

    # --- the end ----------------------------------------------------------------------
    def _finish(self) -> RunRecord:
        for worker in self.ended_workers:
            worker.join(timeout=60)  # they remove their containers after reporting the end
        end = run_end(self.halt)
        for name in self.scheduler.never_started():
            record = self.jobs[name]
            job_end = unfinished_job_end(record.status, self.halt, end)
            if job_end is not None:
                before = record.status
                record.status, record.reason = job_end.state, job_end.reason
                self._save_job(record, before)
        before_run = self.run.status
        self.run.status, self.run.reason = end.state, end.reason
        self.run.finished_at = self.clock()
        self.store.save_run(self.run, expected=before_run)
        self.observer.run_changed(self.run)
        return self.run
