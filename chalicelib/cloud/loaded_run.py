"""A run as a handler finds it in the store: its record, its pinned workflow version, its jobs,
and what the engine decides for one of them.

Every aws-mode handler is a separate Lambda invocation with nothing in memory, so each one
starts here: the same records give the same decision (`engine.rules.decide_ready_job`) to
the launcher that launches a job and to the finaliser that judges it.

A fan-out job is never decided as one job here (so `decide_ready_job`'s gate for fan-out
jobs is never reached on the cloud path): its instances, named by their keys (`test.3`),
are decided with `engine.fanout.decide_ready_instance`, and the group with
`decide_ready_group` (chalicelib/cloud/fanout_launch.py). Expressions reading
`jobs.X.instances[N].outputs.K` read that instance's record, one read per reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from chalicelib.domain.catalog import ComponentCatalog
from chalicelib.domain.fanout import expand, instance_count, is_fan_out
from chalicelib.domain.models import Job, Workflow
from chalicelib.engine.engine import InstanceOutputs, RunContext
from chalicelib.engine.fanout import decide_ready_instance, instance_outputs_lookup
from chalicelib.engine.instance_keys import split_instance_key
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
    instance_outputs: InstanceOutputs | None = field(default=None, repr=False)

    def definition(self, job_name: str) -> Job:
        job = self.workflow.job_named(job_name)
        if job is None:
            raise NotFound(f"run {self.run.id} has no job '{job_name}'")
        return job

    def record(self, job_name: str) -> JobRecord:
        if job_name not in self.jobs:
            raise NotFound(f"run {self.run.id} has no job '{job_name}'")
        return self.jobs[job_name]

    def fan_out_job(self, job_name: str) -> Job:
        """The definition of a fan-out job; NotFound for any other name."""
        job = self.definition(job_name)
        if not is_fan_out(job):
            raise NotFound(f"job '{job_name}' of run {self.run.id} does not fan out")
        return job

    def context(self) -> RunContext:
        return replace(run_context(self.run, self.jobs.values()), instance_outputs=self.instance_outputs)

    def decide(self, job_name: str, catalog: ComponentCatalog) -> ReadyDecision:
        """What the engine makes of the job (or fan-out instance, by its key) now. Secrets are
        not rendered: on AWS they reach the container through the task definition, never
        through the plan."""
        named = split_instance_key(job_name)
        if named is not None:
            return self.decide_instance(named.job, named.index, catalog)
        return decide_ready_job(self.workflow, self.definition(job_name), catalog, self.context(),
                                self.reuse)

    def decide_instance(self, job_name: str, index: int, catalog: ComponentCatalog,
                        reused: Mapping[str, str] | None = None) -> ReadyDecision:
        """What instance `index` of fan-out job `job_name` becomes (`reused`: its outputs when
        the re-run takes it from the run it re-runs); NotFound for an index it does not have."""
        job = self.fan_out_job(job_name)
        count = instance_count(job)
        if not 0 <= index < count:
            raise NotFound(f"job '{job_name}' has {count:,} instances; it has no instance {index}")
        return decide_ready_instance(self.workflow, job, expand(job)[index], count, catalog,
                                     self.context(), reused)


def load_run(store: Store, run_id: str) -> LoadedRun:
    run = store.get_run(run_id)
    workflow = store.get_workflow(run.namespace, run.workflow, run.workflow_version).workflow
    jobs = {job.name: job for job in store.list_jobs(run_id)}
    reuse: dict[str, dict[str, str]] = {}
    if run.rerun_of:
        previous = store.get_run(run.rerun_of)
        reuse = reused_jobs(workflow, store.list_jobs(previous.id), scope_of(run),
                            workspace_kept=workspace_kept(store, previous))
    return LoadedRun(run, workflow, jobs, reuse,
                     instance_outputs_lookup(lambda name: _job_or_none(store, run_id, name)))


def _job_or_none(store: Store, run_id: str, name: str) -> JobRecord | None:
    try:
        return store.get_job(run_id, name)
    except NotFound:
        return None
