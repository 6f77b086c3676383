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

Which workspaces are kept (`keeps_workspace`): a failed or cancelled run's, for a re-run,
and the workspace of each workflow's newest succeeded run; older succeeded runs' are
removed (`workspaces_to_discard`). A re-run of some jobs of a run whose workspace is gone
cannot find the files its earlier jobs left: then every job certain to have finished
before one that runs again (earlier stages, earlier jobs of its action, earlier actions of
a stage in sequence) runs again too, with the jobs their outputs feed, and the files are
made again on an empty workspace, as the run itself did.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Protocol

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


def keeps_workspace(run: RunRecord, newest_success: str | None) -> bool:
    """Whether the finished `run` still has its workspace, `newest_success` being the id of
    its workflow's newest succeeded run: a failed or cancelled run keeps its own (for a
    re-run from failure), and of the succeeded runs only the newest does, so re-running a
    job of the latest good run finds its files while a workflow holds one succeeded
    workspace, not one per run (as a CI server keeps one workspace per job)."""
    return run.status is not RunState.SUCCEEDED or run.id == newest_success


def workspaces_to_discard(ended: RunRecord, newest_successes: Sequence[str]) -> list[str]:
    """The runs whose workspaces go once `ended` has ended: given the ids of its workflow's
    newest succeeded runs, newest first (the two newest are enough: no other is kept), every
    succeeded run but the newest. A failed or cancelled run discards nothing."""
    if ended.status is not RunState.SUCCEEDED:
        return []
    newest = newest_successes[0] if newest_successes else ended.id
    return [run_id for run_id in dict.fromkeys([*newest_successes[1:], ended.id]) if run_id != newest]


class SuccessHistory(Protocol):
    """Where the engine reads a workflow's newest succeeded runs (the store is one)."""

    def newest_succeeded_runs(self, namespace: str, workflow: str, limit: int = 2) -> list[str]: ...


def workspace_kept(history: SuccessHistory, run: RunRecord) -> bool:
    """`keeps_workspace` for a finished run, its workflow's newest success read from `history`."""
    newest = history.newest_succeeded_runs(run.namespace, run.workflow, limit=1)
    return keeps_workspace(run, newest[0] if newest else None)


def discarded_workspaces(history: SuccessHistory, ended: RunRecord) -> list[str]:
    """`workspaces_to_discard` once `ended` is stored as ended."""
    return workspaces_to_discard(ended, history.newest_succeeded_runs(ended.namespace, ended.workflow))


def reused_jobs(
    workflow: Workflow, previous_jobs: Iterable[JobRecord], scope: RerunScope | None, *,
    workspace_kept: bool,
) -> dict[str, dict[str, str]]:
    """The jobs a re-run reuses from the previous run's `previous_jobs`, each with the outputs
    it carries over (none when the run is no re-run, `scope` None); `workspace_kept`: whether
    that run's workspace is still there (`keeps_workspace`)."""
    if scope is None or scope.kind is RerunKind.ALL:
        return {}
    did_work = succeeded_outputs(previous_jobs)
    if scope.kind is RerunKind.FAILED:
        return did_work
    again = runs_again(workflow, scope, workspace_kept=workspace_kept)
    return {name: outputs for name, outputs in did_work.items() if name not in again}


def runs_again(workflow: Workflow, scope: RerunScope, *, workspace_kept: bool) -> frozenset[str]:
    """The jobs a `jobs` re-run runs again whatever they did before (empty for another kind):
    the named ones, those their outputs feed, and, without a kept workspace, what ran before."""
    if scope.kind is not RerunKind.JOBS:
        return frozenset()
    again = fed_by(workflow, scope.jobs)
    if not workspace_kept:
        again = _with_what_ran_before(workflow, again)
    return again


def copies_workspace(reused: Mapping[str, Mapping[str, str]], *, workspace_kept: bool) -> bool:
    """Whether the re-run's workspace starts from a copy of the previous run's: when it
    reuses anything and that run's workspace is kept, so the files its reused jobs left are
    there."""
    return bool(reused) and workspace_kept


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
