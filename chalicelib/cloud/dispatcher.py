"""The aws-mode RunDispatcher: a submitted run becomes a Step Functions execution of its
pinned workflow version, within the workflow's `concurrency`, and a cancel stops it.

Nothing is kept in memory between calls: each API call or run-end event is its own Lambda
invocation, so the store is the only truth and every change is conditional. A run starts
in this order: its version compiled and its machine made current (a deleted workflow's
versions stay readable, so its runs still start); a concurrency slot taken when the
workflow has a limit (`Store.take_run_slot`; without one the run stays `queued` until
`start_next`, which the run-end handler calls after freeing the ended run's slot); the run
moved `queued -> running` (of two submitters, the one whose write is refused does nothing
more); the items of its Distributed Maps written to S3 (`fanout_items.item_files`, from the
compiled plan: a file exactly for each Distributed Map, under the key its ItemReader reads;
rewriting the same bytes on a repeated submit is harmless, and the removal of the run's
`runs/<id>/` prefix removes them); then the execution started, named by the run id, so a
repeated start changes nothing.
A run that cannot be compiled fails at once with the reason, rather than waiting forever.
A cancel of a `queued` run ends it `cancelled` without an execution; of a running one, stops
its execution and its tasks (the execution's end then finalises the run).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from enum import StrEnum

from chalicelib.asl import CompiledMachine, Target, compile_workflow
from chalicelib.cloud.fanout_items import item_files
from chalicelib.cloud.ports import Executions, ItemFiles, RunWorkspaces, Tasks
from chalicelib.cloud.verdict import RUN_STOP_PREFIX
from chalicelib.domain.catalog import ComponentCatalog
from chalicelib.domain.states import AttemptState, RunState
from chalicelib.engine.records import RunRecord
from chalicelib.engine.rerun import copies_workspace, reused_jobs, scope_of, workspace_kept
from chalicelib.engine.rules import CANCELLED, RunEnd, run_end, unfinished_job_end
from chalicelib.errors import ContainerOpsError, InvalidDefinition, ServiceUnavailable, StaleWrite
from chalicelib.store import messages
from chalicelib.store.base import RunFilter, Store, StoredWorkflow

log = logging.getLogger("containerops.cloud")

QUEUED_PAGE = 500


class Submitted(StrEnum):
    STARTED = "started"  # moved to running here and its execution started
    WAITING = "waiting"  # every slot of its workflow is held: it stays queued
    ENDED = "ended"  # ended here without an execution (cancelled, or it cannot be compiled)
    TAKEN = "taken"  # no longer queued: another submitter or a cancel moved it first


class CloudDispatcher:
    def __init__(self, store: Store, executions: Executions, tasks: Tasks,
                 catalog: ComponentCatalog, target: Target, workspaces: RunWorkspaces,
                 clock: Callable[[], float] = time.time, *, items: ItemFiles | None = None) -> None:
        """`items`: where Distributed Map items are written (a run that needs them cannot
        start without it)."""
        self._items = items
        self._store = store
        self._executions = executions
        self._tasks = tasks
        self._workspaces = workspaces
        self._catalog = catalog
        self._target = target
        self._clock = clock

    # --- the RunDispatcher port -------------------------------------------------------
    def submit(self, run_id: str) -> None:
        outcome = self._submit(self._store.get_run(run_id))
        log.info("run %s submitted: %s", run_id, outcome)

    def cancel(self, run_id: str) -> None:
        """The cancel flag is set already (RunService.cancel)."""
        run = self._store.get_run(run_id)
        stored = self._pinned(run)
        if run.status is RunState.QUEUED:
            if self._end_queued(run, stored, run_end(CANCELLED)) is Submitted.ENDED:
                return
            run = self._store.get_run(run_id)  # a submitter started it meanwhile
        if run.status is not RunState.RUNNING:
            return
        self._executions.stop(self._machine(stored), run.id, CANCELLED.reason)
        for attempt in self._store.list_attempts(run.id):
            if attempt.status is AttemptState.RUNNING and attempt.container_id:
                self._tasks.stop(attempt.container_id, RUN_STOP_PREFIX + CANCELLED.stop_reason)

    # --- what the run-end handler and the workflow service call -----------------------
    def start_next(self, namespace: str, workflow: str) -> None:
        """Start the workflow's queued runs, oldest first, while its slots allow."""
        for listed in self._queued_oldest_first(namespace, workflow):
            outcome = self._submit(self._store.get_run(listed.id))  # the index may lag
            log.info("queued run %s: %s", listed.id, outcome)
            if outcome is Submitted.WAITING:
                return

    def prepare(self, namespace: str, workflow: str, version: int) -> str:
        """The ARN of the version's state machine, created or brought up to date now (when a
        version is saved, so that its first run finds it ready)."""
        return self._machine(self._store.get_workflow(namespace, workflow, version))

    # --- one run ----------------------------------------------------------------------
    def _submit(self, run: RunRecord) -> Submitted:
        if run.status is not RunState.QUEUED:
            return Submitted.TAKEN
        stored = self._pinned(run)
        if run.cancel_requested:
            return self._end_queued(run, stored, run_end(CANCELLED))
        try:
            compiled, machine = self._compiled_machine(stored)
        except InvalidDefinition as exc:
            reason = "the workflow cannot run on Step Functions: " + "; ".join(map(str, exc.problems))
            return self._end_queued(run, stored, RunEnd(RunState.FAILED, reason, f"not run: {reason}"))
        if not self._take_slot(run, stored):
            return Submitted.WAITING
        running = replace(run, status=RunState.RUNNING, started_at=self._clock())
        try:
            self._store.save_run(running, expected=RunState.QUEUED)
        except StaleWrite:
            self._let_go_if_ended(run, stored)
            return Submitted.TAKEN
        try:
            if run.rerun_of and self._copies_workspace(run, stored):  # before a job restores it
                self._workspaces.start_from(run.id, run.rerun_of)
            self._write_items(compiled, run.id)
            self._executions.start(machine, run.id)
        except ContainerOpsError:
            self._back_to_queued(running, stored)
            raise
        if self._store.get_run(run.id).cancel_requested:  # a cancel that found no execution yet
            self._executions.stop(machine, run.id, CANCELLED.reason)
        return Submitted.STARTED

    def _end_queued(self, run: RunRecord, stored: StoredWorkflow, end: RunEnd) -> Submitted:
        """End a run that never started, if it is still queued: its jobs become skipped."""
        now = self._clock()
        ended = replace(run, status=end.state, reason=end.reason, started_at=run.started_at or now,
                        finished_at=now)
        try:
            self._store.save_run(ended, expected=RunState.QUEUED)
        except StaleWrite:
            return Submitted.TAKEN
        for job in self._store.list_jobs(run.id):
            job_end = unfinished_job_end(job.status, None, end)  # a run never started: all pending
            if job_end is not None:
                try:
                    self._store.save_job(replace(job, status=job_end.state, reason=job_end.reason),
                                         expected=job.status)
                except StaleWrite:
                    pass  # nothing else moves the jobs of a run that never started; harmless
        self._free_slot(run, stored)
        return Submitted.ENDED

    def _back_to_queued(self, running: RunRecord, stored: StoredWorkflow) -> None:
        """The execution could not be started: the run waits again, holding no slot, so that
        a later submit or start_next can start it (a start that did happen is found then)."""
        try:
            self._store.save_run(replace(running, status=RunState.QUEUED, started_at=None),
                                 expected=RunState.RUNNING)
        except StaleWrite:
            return  # its execution did start and moved it on
        self._free_slot(running, stored)

    def _let_go_if_ended(self, run: RunRecord, stored: StoredWorkflow) -> None:
        """A slot taken for a run that another writer ended meanwhile would never be freed."""
        if self._store.get_run(run.id).status.is_final:
            self._free_slot(run, stored)

    # --- slots ------------------------------------------------------------------------
    def _take_slot(self, run: RunRecord, stored: StoredWorkflow) -> bool:
        limit = stored.workflow.spec.concurrency
        if limit is None:
            return True
        # The stores keep at most MAX_RUN_SLOTS per workflow; a larger limit is that many.
        return self._store.take_run_slot(run.namespace, run.workflow, run.id,
                                         min(limit, messages.MAX_RUN_SLOTS))

    def _free_slot(self, run: RunRecord, stored: StoredWorkflow) -> None:
        if stored.workflow.spec.concurrency is not None:
            self._store.free_run_slot(run.namespace, run.workflow, run.id)

    # --- reading ----------------------------------------------------------------------
    def _copies_workspace(self, run: RunRecord, stored: StoredWorkflow) -> bool:
        """A re-run starts from the previous run's workspace when it reuses anything of it
        (the same rule the launcher's reuse follows: engine.rerun)."""
        if run.rerun_of is None:
            return False
        previous = self._store.get_run(run.rerun_of)
        kept = workspace_kept(self._store, previous)
        reused = reused_jobs(stored.workflow, self._store.list_jobs(previous.id), scope_of(run),
                             workspace_kept=kept)
        return copies_workspace(reused, workspace_kept=kept)

    def _pinned(self, run: RunRecord) -> StoredWorkflow:
        return self._store.get_workflow(run.namespace, run.workflow, run.workflow_version)

    def _machine(self, stored: StoredWorkflow) -> str:
        return self._compiled_machine(stored)[1]

    def _compiled_machine(self, stored: StoredWorkflow) -> tuple[CompiledMachine, str]:
        compiled = compile_workflow(stored.workflow, self._catalog, self._target)
        return compiled, self._executions.ensure_machine(stored.workflow, stored.version, compiled.text)

    def _write_items(self, compiled: CompiledMachine, run_id: str) -> None:
        files = item_files(compiled.plan, run_id)
        if files and self._items is None:
            raise ServiceUnavailable("this deployment has nowhere to write a Distributed Map's items")
        for file in files:
            assert self._items is not None
            self._items.put(file.bucket, file.key, file.body)

    def _queued_oldest_first(self, namespace: str, workflow: str) -> Iterator[RunRecord]:
        queued: list[RunRecord] = []
        cursor: str | None = None
        while True:
            page = self._store.list_runs(RunFilter(namespace=namespace, workflow=workflow,
                                                   statuses=(RunState.QUEUED,), limit=QUEUED_PAGE,
                                                   cursor=cursor))
            queued.extend(page.runs)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        return reversed(queued)  # the store lists newest first
