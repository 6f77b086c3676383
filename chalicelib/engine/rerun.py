"""What a re-run takes from the run it re-runs: the one rule both drivers follow.

A re-run is a new run of the same pinned version, params and trigger. Its scope says what
runs again; every job of the workflow that does not run again is `reused`: its outputs are
copied from the previous run and no container starts. `reused_jobs` is that plan as data.

- `failed` (re-run from failure): every job that succeeded, or was itself reused, in the
  previous run is reused; the rest runs.
- `all`: nothing is reused; the run is a fresh run of the pinned version.
- `jobs`: the named jobs run again, and so does every job that takes their outputs, through
  a data link or any other expression (`${{ jobs.X.outputs.K }}` in `data`, `env`, the
  workflow's `env`, a mount's source, or `if`), transitively: the outputs it would read are
  being made again, so what it made from the old ones cannot stand. Every other job that
  succeeded (or was reused) in the previous run is reused; the rest runs.

The closure follows the definition's references only: a job that reads a file an earlier
job left in the workspace, without linking to that job's outputs, is not fed by it and is
reused (files are not references). The workspace starts from a copy of the previous run's
whenever anything is reused (`copies_workspace`), so what reused jobs left there is found;
with nothing reused it starts empty, as for a new run.

A succeeded run leaves no workspace (`keeps_workspace`: only a failed or cancelled run keeps
its own, for a re-run). So a re-run of some jobs of a succeeded run cannot find the files
its earlier jobs left: then every job certain to have finished before one that runs again
(earlier stages, earlier jobs of its action, earlier actions of a stage in sequence) runs
again too, with the jobs their outputs feed, and the files are made again. What is reused
then is what ran beside or after them without feeding on them (a `lint` beside a re-run
`test`, a `notify` at the end): "re-run this job" works on any finished run, on a fresh
workspace, as the run itself did.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from chalicelib.domain.expressions import (
    ExpressionError,
    Reference,
    parse_condition,
    parse_template,
    references_in,
)
from chalicelib.domain.models import Job, Workflow
from chalicelib.domain.outline import outline_workflow
from chalicelib.domain.states import RunState
from chalicelib.engine.engine import succeeded_outputs
from chalicelib.engine.records import FROM_FAILURE, JobRecord, RerunKind, RerunScope, RunRecord


def scope_of(run: RunRecord) -> RerunScope | None:
    """The run's re-run scope; None when it is no re-run. A re-run stored before scopes
    were kept was a re-run from failure (the only kind there was)."""
    if run.rerun_of is None:
        return None
    return run.rerun_scope or FROM_FAILURE


def keeps_workspace(state: RunState) -> bool:
    """Whether a run that ended in `state` keeps its workspace: a failed or cancelled one
    does, for a re-run; a succeeded one has no more use for it (both drivers remove it)."""
    return state is not RunState.SUCCEEDED


def reused_jobs(
    workflow: Workflow, previous: RunRecord, previous_jobs: Iterable[JobRecord],
    scope: RerunScope | None,
) -> dict[str, dict[str, str]]:
    """The jobs the re-run of `previous` reuses, each with the outputs it carries over (none
    when the run is no re-run, `scope` None)."""
    if scope is None or scope.kind is RerunKind.ALL:
        return {}
    did_work = succeeded_outputs(previous_jobs)
    if scope.kind is RerunKind.FAILED:
        return did_work
    runs_again = fed_by(workflow, scope.jobs)
    if not keeps_workspace(previous.status):
        runs_again = _with_what_ran_before(workflow, runs_again)
    return {name: outputs for name, outputs in did_work.items() if name not in runs_again}


def copies_workspace(previous: RunRecord, reused: Mapping[str, Mapping[str, str]]) -> bool:
    """Whether the re-run's workspace starts from a copy of the previous run's: when it
    reuses anything and that run kept one, so the files its reused jobs left are there."""
    return bool(reused) and keeps_workspace(previous.status)


def fed_by(workflow: Workflow, names: Iterable[str]) -> frozenset[str]:
    """The named jobs and every job that takes their outputs, directly or through others."""
    uses = {job.name: job_references(workflow, job) for job in workflow.jobs()}
    closure = set(names)
    grew = True
    while grew:  # to a fixed point: it does not rely on the references' order
        grew = False
        for name, sources in uses.items():
            if name not in closure and sources & closure:
                closure.add(name)
                grew = True
    return frozenset(closure)


def _with_what_ran_before(workflow: Workflow, names: frozenset[str]) -> frozenset[str]:
    """`names`, every job certain to have finished before one of them, and the jobs their
    outputs feed, to a fixed point: what makes a workspace afresh for them."""
    jobs = outline_workflow(workflow.dump()).jobs
    closure = names
    while True:
        before = {job.name for job in jobs
                  if any(job.finishes_before(later) for later in jobs if later.name in closure)}
        grown = fed_by(workflow, closure | before)
        if grown == closure:
            return closure
        closure = grown


def job_references(workflow: Workflow, job: Job) -> frozenset[str]:
    """The jobs whose outputs this job's expressions read."""
    return frozenset(
        reference.parts[1] for reference in _references(workflow, job)
        if len(reference.parts) >= 2 and reference.parts[0] == "jobs"
    )


def unknown_jobs(workflow: Workflow, names: Iterable[str]) -> list[str]:
    """The names that are no job of the workflow, in the order given."""
    known = {job.name for job in workflow.jobs()}
    return [name for name in dict.fromkeys(names) if name not in known]


def _references(workflow: Workflow, job: Job) -> Iterator[Reference]:
    texts = [*job.data.values(), *job.env.values(), *workflow.spec.env.values(),
             *(mount.source for mount in job.mounts)]
    for text in texts:
        if isinstance(text, str):
            try:
                yield from parse_template(text).references()
            except ExpressionError:
                continue  # a saved definition parses; an unparsable text reads nothing
    if job.if_ is not None:
        try:
            yield from references_in(parse_condition(job.if_))
        except ExpressionError:
            return
