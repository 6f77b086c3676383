"""A run as a handler finds it in the store: its record, its pinned workflow version, its jobs,
and what the engine decides for one of them.

Every aws-mode handler is a separate Lambda invocation with nothing in memory, so each one
starts here: the same records give the same decision (`engine.rules.decide_ready_job`) to
the launcher that launches a job and to the finaliser that judges it.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.catalog import ComponentCatalog
from chalicelib.domain.models import Job, Workflow
from chalicelib.engine.records import JobRecord, RunRecord
from chalicelib.engine.rerun import reused_jobs, scope_of, workspace_kept
from chalicelib.engine.restore import run_context
from chalicelib.engine.rules import ReadyDecision, decide_ready_job
from chalicelib.errors import NotFound
from chalicelib.store.base import Store


@dataclass
class LoadedRun:
    run: RunRecord
    workflow: Workflow
    jobs: dict[str, JobRecord]
    reuse: dict[str, dict[str, str]]

    def definition(self, job_name: str) -> Job:
        job = self.workflow.job_named(job_name)
        if job is None:
            raise NotFound(f"run {self.run.id} has no job '{job_name}'")
        return job

    def record(self, job_name: str) -> JobRecord:
        if job_name not in self.jobs:
            raise NotFound(f"run {self.run.id} has no job '{job_name}'")
        return self.jobs[job_name]

    def decide(self, job_name: str, catalog: ComponentCatalog) -> ReadyDecision:
        """What the engine makes of the job now. Secrets are not rendered: on AWS they reach
        the container through the task definition, never through the plan."""
        context = run_context(self.run, self.jobs.values())
        return decide_ready_job(self.workflow, self.definition(job_name), catalog, context, self.reuse)


def load_run(store: Store, run_id: str) -> LoadedRun:
    run = store.get_run(run_id)
    workflow = store.get_workflow(run.namespace, run.workflow, run.workflow_version).workflow
    jobs = {job.name: job for job in store.list_jobs(run_id)}
    reuse: dict[str, dict[str, str]] = {}
    if run.rerun_of:
        previous = store.get_run(run.rerun_of)
        reuse = reused_jobs(workflow, store.list_jobs(previous.id), scope_of(run),
                            workspace_kept=workspace_kept(store, previous))
    return LoadedRun(run, workflow, jobs, reuse)
