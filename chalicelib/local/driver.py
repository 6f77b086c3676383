"""The local driver: creates runs, executes them on this machine, resumes and cancels them.

Runs are laid out by the shared `RunRecorder` (chalicelib/services/run_service.py), the
same one the API uses, so both resolve params and allow re-runs the same way.

It is what the CLI (and later the server) calls. One process executes a run at a time
(`RunLock`); `resume` takes up every unfinished run no live process holds.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from chalicelib.domain.catalog import ComponentCatalog
from chalicelib.domain.host_mounts import MountPolicy, mount_problems
from chalicelib.domain.models import Workflow
from chalicelib.domain.states import AttemptState, JobState, RunState
from chalicelib.engine.fanout import reused_instances
from chalicelib.engine.records import FROM_FAILURE, JobRecord, RerunScope, RunRecord
from chalicelib.engine.rerun import (
    copies_workspace,
    discarded_workspaces,
    reused_jobs,
    scope_of,
    workspace_kept,
)
from chalicelib.errors import ContainerOpsError, InvalidDefinition
from chalicelib.launch.base import Launcher
from chalicelib.local.attempt import LABEL_ATTEMPT, LABEL_JOB, LABEL_RUN, AttemptSettings
from chalicelib.local.run_execution import (
    QuietObserver,
    ReusedInstances,
    RunExecution,
    RunObserver,
    no_reused_instances,
)
from chalicelib.local.run_lock import RunLock
from chalicelib.local.slots import ContainerSlots, machine_bound
from chalicelib.local.workspace import Workspaces
from chalicelib.logs.base import LogSink
from chalicelib.services.run_service import RunRecorder
from chalicelib.store.base import RunFilter, Store

UNPRIVILEGED_USER = "1000:1000"


def default_container_user() -> str:
    """Never root in a container: uid 1000 when we are root, else our own uid (so the
    files jobs leave in the workspace stay ours to clean up)."""
    uid = os.getuid()
    return UNPRIVILEGED_USER if uid == 0 else f"{uid}:{os.getgid()}"


class LocalDriver:
    def __init__(
        self,
        store: Store,
        launcher: Launcher,
        catalog: ComponentCatalog,
        data_dir: Path,
        *,
        logs: LogSink,
        container_user: str | None = None,
        secrets: Mapping[str, str] | None = None,
        max_stored_log_bytes: int | None = None,
        warm_start: bool = True,
        mounts: MountPolicy | None = None,
        max_containers: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`mounts`: what jobs may mount from this host; default, what this account could
        open itself (`containerops run`); `containerops serve` gives its --allow-mount roots.
        `max_containers`: the machine's bound on containers running at once, shared by every
        run this driver executes (default: CONTAINEROPS_MAX_CONTAINERS, else 4 per core)."""
        self.store = store
        self.logs = logs
        self.launcher = launcher
        self.catalog = catalog
        self._locks = data_dir / "locks"
        self._workspaces = Workspaces(data_dir / "workspaces")
        self._settings = AttemptSettings(
            container_user or default_container_user(), warm_start=warm_start,
            **({"max_stored_log_bytes": max_stored_log_bytes} if max_stored_log_bytes else {}),
        )
        self._secrets = dict(secrets or {})
        self.mounts = mounts or MountPolicy.own_account()
        self._clock = clock
        self._recorder = RunRecorder(store, clock=clock)
        self.slots = ContainerSlots(max_containers or machine_bound())

    # --- starting ---------------------------------------------------------------------
    def create_run(
        self,
        namespace: str,
        workflow: str,
        params: Mapping[str, str],
        *,
        version: int | None = None,
        trigger: Mapping[str, Any] | None = None,
        rerun_of: str | None = None,
    ) -> RunRecord:
        """InvalidDefinition, and no run, when a mount the definition writes out in full is
        refused here (those built by expressions are judged at launch)."""
        new = self._recorder.plan(
            namespace, workflow, params, version=version, trigger=trigger, rerun_of=rerun_of,
        )
        problems = mount_problems(new.workflow, self.mounts)
        if problems:
            raise InvalidDefinition(problems, f"workflow {namespace}/{workflow}")
        return self._recorder.record(new)

    def rerun(self, run_id: str, scope: RerunScope = FROM_FAILURE) -> RunRecord:
        """A re-run of the run, recorded (RunRecorder.plan_rerun says which are allowed)."""
        return self._recorder.record(self._recorder.plan_rerun(run_id, scope))

    def rerun_from_failure(self, run_id: str) -> RunRecord:
        """Conflict unless the run failed or was cancelled."""
        return self.rerun(run_id, FROM_FAILURE)

    # --- executing --------------------------------------------------------------------
    def execute(self, run_id: str, observer: RunObserver | None = None) -> RunRecord:
        """Execute (or finish) a run in this thread; returns it when it has ended."""
        finished = self.execute_if_free(run_id, observer)
        if finished is None:
            raise ContainerOpsError(f"run {run_id} is being executed by another process")
        return finished

    def execute_if_free(self, run_id: str, observer: RunObserver | None = None) -> RunRecord | None:
        """Like `execute`, but None when another live process executes the run."""
        with RunLock(self._locks, run_id) as lock:
            if not lock.acquire():
                return None
            return self._execute_locked(run_id, observer or QuietObserver())

    def _execute_locked(self, run_id: str, observer: RunObserver) -> RunRecord:
        run = self.store.get_run(run_id)
        reuse: dict[str, dict[str, str]] = {}
        copy_from: str | None = None
        reused_of: ReusedInstances = no_reused_instances
        if run.rerun_of:
            pinned = self.store.get_workflow(run.namespace, run.workflow, run.workflow_version)
            previous = self.store.get_run(run.rerun_of)
            kept = workspace_kept(self.store, previous) and self._workspaces.path(previous.id).is_dir()
            previous_jobs = self.store.list_jobs(previous.id)
            reuse = reused_jobs(pinned.workflow, previous_jobs, scope_of(run), workspace_kept=kept)
            reused_of = self._reused_instances_of(pinned.workflow, previous.id, scope_of(run), kept)
            # instances it reuses may have left files too
            copy_from = previous.id if copies_workspace(
                reuse or self._has_instances(previous_jobs), workspace_kept=kept) else None
        workspace = self._workspaces.prepare(run_id, copy_from=copy_from)
        finished = RunExecution(
            store=self.store, logs=self.logs, launcher=self.launcher, catalog=self.catalog,
            run_id=run_id,
            workspace=str(workspace), settings=self._settings, secrets=self._secrets,
            reuse=reuse, observer=observer, mounts=self.mounts, clock=self._clock,
            slots=self.slots, reused_instances=reused_of,
        ).execute()
        for discarded in discarded_workspaces(self.store, finished):
            self._workspaces.discard(discarded)
        return finished

    def _reused_instances_of(self, workflow: Workflow, previous_run: str, scope: RerunScope | None,
                             kept: bool) -> ReusedInstances:
        def reused_of(group: str) -> Mapping[int, Mapping[str, str]]:
            previous = self.store.every_instance(previous_run, group)
            return reused_instances(workflow, group, previous, scope, workspace_kept=kept)
        return reused_of

    def _has_instances(self, previous_jobs: list[JobRecord]) -> dict[str, dict[str, str]]:
        """The previous run's groups with an instance that did its work (whose files the
        re-run's reused instances may have left), in the form `copies_workspace` reads."""
        did_work = (JobState.SUCCEEDED, JobState.REUSED)
        return {job.name: {} for job in previous_jobs if any(
            self.store.instance_counts(job.run_id, job.name).get(state, 0) for state in did_work)}

    def resume(self, observer: RunObserver | None = None) -> list[RunRecord]:
        """Finish every unfinished run that no live process is executing."""
        self.launcher.ping()
        unfinished = self.store.list_runs(
            RunFilter(statuses=(RunState.QUEUED, RunState.RUNNING), limit=500)
        ).runs
        results: list[RunRecord] = []
        threads = []
        for run in unfinished:
            lock = RunLock(self._locks, run.id)
            if not lock.acquire():
                continue

            def finish(run_id: str = run.id, held: RunLock = lock) -> None:
                try:
                    results.append(self._execute_locked(run_id, observer or QuietObserver()))
                finally:
                    held.release()

            thread = threading.Thread(target=finish, name=f"resume-{run.id}")
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()
        self.sweep_containers()
        return results

    # --- cancelling and cleaning ------------------------------------------------------
    def cancel(self, run_id: str) -> RunRecord:
        """Ask the run to stop and stop its containers now, whoever is executing it."""
        run = self.store.request_cancel(run_id)
        if run.status.is_final:
            return run
        for container in self.launcher.find({LABEL_RUN: run_id}):
            try:
                self.launcher.stop(container)
            except ContainerOpsError:
                pass  # already stopped
        return run

    def sweep_containers(self) -> int:
        """Remove containers nobody will read again: those of finished runs and of
        finished attempts (e.g. held containers a stopped process never released)."""
        removed = 0
        for container in self.launcher.find({}):
            if self._is_spent(container.labels):
                self.launcher.remove(container)
                removed += 1
        return removed

    def _is_spent(self, labels: dict[str, str]) -> bool:
        run_id, job, number = labels.get(LABEL_RUN), labels.get(LABEL_JOB), labels.get(LABEL_ATTEMPT)
        if not (run_id and job and number):
            return False
        try:
            if self.store.get_run(run_id).status.is_final:
                return True
            attempts = self.store.list_attempts(run_id, job)
        except ContainerOpsError:
            return False
        return any(str(a.number) == number and a.status is not AttemptState.RUNNING for a in attempts)
