"""Executes one run on the local driver: the scheduler loop in one thread, a worker per job.

All job and run records are written here, in this one thread, before the next step is
taken (DESIGN §3: nothing is lost), each as a change from the state it was read in. It
starts from whatever the store holds, so the same code runs a new run and finishes one a
dead process left behind. Every decision (reuse, skip, fail, launch; what stops the run;
how it ends) is the engine's (`engine.rules`, `engine.restore`): this module only decides
when to ask and acts on the answers.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from chalicelib.domain.catalog import ComponentCatalog
from chalicelib.domain.host_mounts import NO_HOST_MOUNTS, MountPolicy
from chalicelib.domain.states import JobState, RunState
from chalicelib.engine.engine import RunContext
from chalicelib.engine.records import AttemptRecord, JobRecord, RunRecord
from chalicelib.engine.restore import restored_scheduler, run_context
from chalicelib.engine.rules import (
    Halt,
    JobEnd,
    Launch,
    decide_ready_job,
    end_without_launch,
    halt_after,
    halt_requested,
    passes,
    run_deadline,
    run_end,
    unfinished_job_end,
)
from chalicelib.errors import ContainerOpsError
from chalicelib.launch.base import ContainerRef, Launcher
from chalicelib.local.attempt import AttemptSettings, attempt_labels, container_spec
from chalicelib.local.held import HeldContainers
from chalicelib.local.job_worker import AttemptStarted, JobEnded, JobWorker, Resumption
from chalicelib.logs.base import LogSink
from chalicelib.store.base import Store

POLL_SECONDS = 0.25
HOLD_DEPTH = 1  # how many steps ahead containers are started, held


class RunObserver(Protocol):
    def job_changed(self, job: JobRecord) -> None: ...

    def run_changed(self, run: RunRecord) -> None: ...


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

    def __post_init__(self) -> None:
        self.events: queue.Queue[object] = queue.Queue()
        self.workers: dict[str, JobWorker] = {}
        self.ended_workers: list[JobWorker] = []
        self.halt: Halt | None = None
        self.held = HeldContainers(self.launcher)
        self.considered_for_holding: set[str] = set()

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
        deadline = run_deadline(self.workflow, self.run, self.clock())
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

    # --- jobs -------------------------------------------------------------------------
    def _begin(self, name: str, ready_at: float, resumption: Resumption | None = None) -> None:
        record = self.jobs[name]
        job = self.workflow.job_named(name)
        assert job is not None  # the scheduler only knows the workflow's jobs
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
        worker = JobWorker(
            store=self.store, logs=self.logs, launcher=self.launcher, plan=plan, run_id=self.run_id,
            workspace=self.workspace, settings=self.settings, events=self.events,
            ready_at=ready_at, resumption=resumption, held=held, clock=self.clock,
        )
        self.workers[name] = worker
        worker.start()

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
        return run_context(self.run, self.jobs.values(), self.secrets)

    def _handle(self, event: object) -> None:
        if isinstance(event, AttemptStarted):
            record = self.jobs[event.job]
            record.attempts = event.number
            self._save_job(record, JobState.RUNNING)
        elif isinstance(event, JobEnded):
            self._job_ended(event)

    def _job_ended(self, event: JobEnded) -> None:
        worker = self.workers.pop(event.job, None)
        if worker is not None:
            self.ended_workers.append(worker)
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
        self.observer.job_changed(record)

    # --- restart ----------------------------------------------------------------------
    def _resume_running_jobs(self) -> None:
        """Take up the jobs a previous process left running (the restored scheduler counts
        the finished ones already)."""
        for record in self.jobs.values():
            if record.status is JobState.RUNNING:
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
