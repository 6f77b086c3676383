"""Executes one run on the local driver: the scheduler loop in one thread, a worker per job.

All job and run records are written here, in this one thread, before the next step is
taken (DESIGN §3: nothing is lost). It starts from whatever the store holds, so the same
code runs a new run and finishes one a dead process left behind.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from chalicelib.domain.catalog import ComponentCatalog
from chalicelib.domain.expressions import ExpressionError
from chalicelib.domain.models import Workflow
from chalicelib.domain.quantities import parse_duration
from chalicelib.domain.scheduler import StageScheduler, layout_of
from chalicelib.domain.states import AttemptState, JobState, RunState
from chalicelib.engine.engine import RunContext, Skip, component_of, plan_job
from chalicelib.engine.records import AttemptRecord, JobRecord, RunRecord
from chalicelib.errors import ContainerOpsError
from chalicelib.launch.base import Launcher
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


_ATTEMPT_TO_JOB = {
    AttemptState.SUCCEEDED: JobState.SUCCEEDED,
    AttemptState.FAILED: JobState.FAILED,
    AttemptState.CANCELLED: JobState.CANCELLED,
    AttemptState.RUNNING: JobState.FAILED,
}


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
    observer: RunObserver = field(default_factory=QuietObserver)
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self.events: queue.Queue[object] = queue.Queue()
        self.workers: dict[str, JobWorker] = {}
        self.ended_workers: list[JobWorker] = []
        self.outputs: dict[str, dict[str, str]] = {}
        self.end_reason = ""
        self.end_state: RunState | None = None
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
        self.scheduler = StageScheduler(layout_of(self.workflow))
        self._mark_running()
        self._restore()
        deadline = self._deadline()
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
            self.store.save_run(self.run)
            self.observer.run_changed(self.run)

    def _deadline(self) -> float | None:
        timeout = self.workflow.spec.timeout
        if timeout is None:
            return None
        return (self.run.started_at or self.clock()) + parse_duration(timeout)

    def _dispatch_ready(self) -> None:
        while ready := self.scheduler.get_ready():
            for name in ready:
                self._begin(name, self.clock())

    def _check_cancel_and_deadline(self, deadline: float | None) -> None:
        if self.end_state is not None:
            return
        if self.store.get_run(self.run_id).cancel_requested:
            self._halt(RunState.CANCELLED, "cancelled", "cancelled")
        elif deadline is not None and self.clock() >= deadline:
            self._halt(RunState.FAILED, "workflow timeout", "stopped: workflow timeout")

    def _halt(self, state: RunState, reason: str, stop_reason: str) -> None:
        self.end_state, self.end_reason = state, reason
        self.scheduler.halt()
        for worker in self.workers.values():
            worker.stop(stop_reason)

    # --- jobs -------------------------------------------------------------------------
    def _begin(self, name: str, ready_at: float, resumption: Resumption | None = None) -> None:
        record = self.jobs[name]
        job = self.workflow.job_named(name)
        assert job is not None  # the scheduler only knows the workflow's jobs
        if name in self.reuse:
            self.outputs[name] = dict(self.reuse[name])
            self._conclude(record, JobState.REUSED, "succeeded in the run re-run from", passed=True,
                           outputs=self.outputs[name])
            return
        try:
            plan = plan_job(self.workflow, job, component_of(job, self.catalog), self._context())
        except (ContainerOpsError, ExpressionError) as exc:
            self.held.discard(name)
            self._conclude(record, JobState.FAILED, str(exc), passed=job.continue_on_error)
            return
        if isinstance(plan, Skip):
            self.held.discard(name)
            self._conclude(record, JobState.SKIPPED, plan.reason, passed=True)
            return
        held = self.held.take(name)
        record.status = JobState.RUNNING
        record.started_at = record.started_at or ready_at
        self._save_job(record)
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
            try:
                plan = plan_job(self.workflow, job, component_of(job, self.catalog), self._context())
            except (ContainerOpsError, ExpressionError):
                continue  # reported when the job is due
            if not isinstance(plan, Skip):
                record = AttemptRecord(run_id=self.run_id, job=name, number=1)
                self.held.hold(name, container_spec(plan, record, self.workspace, self.settings))

    def _context(self) -> RunContext:
        return RunContext(
            run_id=self.run_id, params=self.run.params, trigger=self.run.trigger,
            outputs=self.outputs, secrets=self.secrets,
        )

    def _handle(self, event: object) -> None:
        if isinstance(event, AttemptStarted):
            record = self.jobs[event.job]
            record.attempts = event.number
            self._save_job(record)
        elif isinstance(event, JobEnded):
            self._job_ended(event)

    def _job_ended(self, event: JobEnded) -> None:
        worker = self.workers.pop(event.job, None)
        if worker is not None:
            self.ended_workers.append(worker)
        record, attempt = self.jobs[event.job], event.attempt
        state = JobState.CANCELLED if event.stopped else _ATTEMPT_TO_JOB[attempt.status]
        if state is JobState.SUCCEEDED:
            self.outputs[event.job] = dict(attempt.outputs)
        record.attempts, record.exit_code = event.attempts, attempt.exit_code
        self._conclude(record, state, event.stopped or attempt.reason,
                       passed=passes(self.workflow, record.name, state), outputs=attempt.outputs)

    def _conclude(
        self, record: JobRecord, state: JobState, reason: str, *, passed: bool,
        outputs: Mapping[str, str] | None = None,
    ) -> None:
        record.status, record.reason = state, reason
        record.outputs = dict(outputs or {})
        record.finished_at = self.clock()
        record.started_at = record.started_at or record.finished_at
        self._save_job(record)
        self.scheduler.done(record.name, passed)
        if not passed and self.end_state is None and state is not JobState.CANCELLED:
            self._halt(RunState.FAILED, f"job '{record.name}' failed: {reason}",
                       f"stopped: job '{record.name}' failed")

    def _save_job(self, record: JobRecord) -> None:
        self.store.save_job(record)
        self.observer.job_changed(record)

    # --- restart ----------------------------------------------------------------------
    def _restore(self) -> None:
        """Take up the jobs a previous process left: finished ones count, running ones resume."""
        for record in self.jobs.values():
            if record.status.is_final:
                if record.status in (JobState.SUCCEEDED, JobState.REUSED):
                    self.outputs[record.name] = dict(record.outputs)
                self.scheduler.restore(record.name, passed=passes(self.workflow, record.name, record.status))
        for record in self.jobs.values():
            if record.status is JobState.RUNNING:
                self.scheduler.restore(record.name, running=True)
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
        why = self.end_reason or "run ended"
        for name in self.scheduler.never_started():
            record = self.jobs[name]
            record.status, record.reason = JobState.SKIPPED, f"not run: {why}"
            self._save_job(record)
        self.run.status = self.end_state or RunState.SUCCEEDED
        self.run.reason = self.end_reason
        self.run.finished_at = self.clock()
        self.store.save_run(self.run)
        self.observer.run_changed(self.run)
        return self.run


def passes(workflow: Workflow, job_name: str, state: JobState) -> bool:
    """Whether later jobs may run after a job ended in `state` (continue_on_error counts)."""
    job = workflow.job_named(job_name)
    return state.counts_as_success or (
        state is JobState.FAILED and job is not None and job.continue_on_error
    )
