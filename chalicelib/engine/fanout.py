"""The fan-out rules: what a group (a fan-out job) and each of its instances become, the
one place both drivers ask (design §3 of issue 12).

A group is decided once (`decide_ready_group`: reused whole, failed, skipped by an `if`
that reads no matrix value, or fanned out); each instance is then decided like a plain job
(`decide_ready_instance`, through `rules.plan_decision`) with its matrix values in the
context, its own retries and timeout, under the name `test.<i>`, with CO_INSTANCE_INDEX/COUNT
and CO_SHARD_INDEX/COUNT. Instances start in index order (`instances_to_start`), at most
`group_parallelism` at once; with `fail_fast` none starts once the failures pass what is
allowed, and the running ones are stopped (`fail_fast_stop`). The group ends from its
instances' tally (`group_end`) with the aggregate outputs (`aggregate_outputs`).

Decisions taken here, where the design is silent:
- An instance counts as succeeded when it succeeded or was reused (CO_INSTANCES_SUCCEEDED
  counts both); only such instances give values to the aggregate lists, so a failed
  instance's partial outputs read as null, like an instance that never ran.
- A group whose instances ended with some cancelled and no stop of the group fails, saying
  how many were cancelled (it did not do all its work).
- The aggregate lists are written to files in the run's workspace, and kept inline only when
  they fit an output value (`engine.aggregate` has the rule); their size never fails a group.
- CO_JOB of an instance is its key (`test.3`), the name its attempts and logs go by.
- A stopped run (cancel, another job's failure, the workflow's timeout) ends the group
  `cancelled` with the run's stop reason, even when its failures had passed what is allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from chalicelib.domain.catalog import ComponentCatalog
from chalicelib.domain.expressions import (
    ExpressionError,
    evaluate,
    is_truthy,
    parse_condition,
    references_in,
)
from chalicelib.domain.fanout import (
    FAILED_OUTPUT,
    INSTANCE_COUNT_VARIABLE,
    INSTANCE_INDEX_VARIABLE,
    INSTANCES_OUTPUT,
    SHARD_COUNT_VARIABLE,
    SHARD_INDEX_VARIABLE,
    SKIPPED_OUTPUT,
    SUCCEEDED_OUTPUT,
    Instance,
    allowed_failure_count,
    fails_fast,
)
from chalicelib.domain.host_mounts import MountPolicy
from chalicelib.domain.models import Component, Job, Workflow
from chalicelib.domain.states import JobState
from chalicelib.engine.aggregate import Aggregate, ListFiles, aggregate_lists
from chalicelib.engine.engine import InstanceOutputs, JobPlan, RunContext, Skip, component_of
from chalicelib.engine.instance_keys import instance_key, split_instance_key
from chalicelib.engine.records import JobRecord, RerunKind, RerunScope
from chalicelib.engine.rerun import runs_again
from chalicelib.engine.rules import FailJob, JobEnd, ReadyDecision, Reuse, plan_decision
from chalicelib.errors import ContainerOpsError

_DID_WORK = (JobState.SUCCEEDED, JobState.REUSED)


# --- the tally of a group's instances ------------------------------------------------

@dataclass(frozen=True)
class InstanceTally:
    """How many of a group's `count` instances are in each state; those with no record yet
    (pending, or never started after a stop) are `not_started`."""

    count: int
    succeeded: int = 0
    reused: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0
    running: int = 0

    @classmethod
    def of(cls, count: int, counts: Mapping[JobState, int]) -> InstanceTally:
        """From a store's counts per state (a `pending` count is read as not started)."""
        return cls(count, succeeded=counts.get(JobState.SUCCEEDED, 0), reused=counts.get(JobState.REUSED, 0),
                   failed=counts.get(JobState.FAILED, 0), skipped=counts.get(JobState.SKIPPED, 0),
                   cancelled=counts.get(JobState.CANCELLED, 0), running=counts.get(JobState.RUNNING, 0))

    @property
    def finished(self) -> int:
        return self.succeeded + self.reused + self.failed + self.skipped + self.cancelled

    @property
    def not_started(self) -> int:
        return max(0, self.count - self.finished - self.running)

    def with_end(self, state: JobState, *, was_running: bool = True) -> InstanceTally:
        """The tally after one instance ended in `state` (it was running, unless decided
        without a launch: reused, skipped, failed before it started)."""
        field_name = {JobState.SUCCEEDED: "succeeded", JobState.REUSED: "reused", JobState.FAILED: "failed",
                      JobState.SKIPPED: "skipped", JobState.CANCELLED: "cancelled"}[state]
        ended = replace(self, **{field_name: getattr(self, field_name) + 1})
        return replace(ended, running=ended.running - 1) if was_running else ended


def allowed_failures(job: Job, count: int) -> int:
    return allowed_failure_count(job.allowed_failures, count)


def _failures_text(tally: InstanceTally, allowed: int) -> str:
    return f"{tally.failed:,} of {tally.count:,} instances failed (allowed: {allowed:,})"


# --- fail_fast and the queue ---------------------------------------------------------

def failures_passed(job: Job, tally: InstanceTally) -> bool:
    """Whether more instances failed than the job allows."""
    return tally.failed > allowed_failures(job, tally.count)


def fail_fast_stop(job: Job, tally: InstanceTally, failed_index: int) -> str | None:
    """After instance `failed_index` failed (counted in `tally`): the reason to stop the
    running instances with, when the group stops now; None when the others go on."""
    if fails_fast(job) and failures_passed(job, tally):
        return f"stopped: instance {failed_index} failed"
    return None


def may_start_more(job: Job, tally: InstanceTally) -> bool:
    """Whether a new instance may start: not once fail_fast has stopped the group."""
    return not (fails_fast(job) and failures_passed(job, tally))


def group_parallelism(job: Job, count: int, bound: int) -> int:
    """How many instances run at once: the job's max_parallel (else all), within the driver's bound."""
    return max(1, min(job.max_parallel or count, bound, count))


def instances_to_start(count: int, next_index: int, running: int, parallel: int, *,
                       stopped: bool = False) -> range:
    """The indexes to start now, in order: up to the free slots from `next_index` (the first
    never started). A range: the waiting instances are never listed."""
    if stopped:
        return range(next_index, next_index)
    free = max(0, parallel - running)
    return range(next_index, min(count, next_index + free))


def resume_index(recorded: Iterable[int]) -> int:
    """Where a restarted driver's queue goes on: the lowest index with no record (instances
    start in index order, so every one below it was started or decided)."""
    seen = set(recorded)
    index = 0
    while index in seen:
        index += 1
    return index


# --- deciding the group and each instance --------------------------------------------

def _reads_matrix(condition: str) -> bool:
    return any(ref.parts[0] == "matrix" for ref in references_in(parse_condition(condition)))


def decide_ready_group(
    workflow: Workflow, job: Job, catalog: ComponentCatalog, context: RunContext,
    reuse: Mapping[str, Mapping[str, str]],
) -> Reuse | FailJob | Skip | None:
    """What a ready fan-out job becomes as a whole: reused (it succeeded in the run a re-run
    re-runs), failed (no component), skipped (its `if` reads no matrix value and is false),
    or None: fan out, deciding each instance with `decide_ready_instance`."""
    if job.name in reuse:
        return Reuse(dict(reuse[job.name]))
    try:
        component_of(job, catalog)
        if job.if_ is not None and not _reads_matrix(job.if_) and not is_truthy(
            evaluate(parse_condition(job.if_), context.resolve)
        ):
            return Skip(job.name, f"condition is false: {job.if_}")
    except (ContainerOpsError, ExpressionError) as exc:
        return FailJob(str(exc))
    return None


def instance_variables(instance: Instance, count: int) -> dict[str, str]:
    """CO_INSTANCE_INDEX/COUNT, and with shards CO_SHARD_INDEX/COUNT."""
    variables = {INSTANCE_INDEX_VARIABLE: str(instance.index), INSTANCE_COUNT_VARIABLE: str(count)}
    if instance.shard is not None and instance.shard_count is not None:
        variables[SHARD_INDEX_VARIABLE] = str(instance.shard)
        variables[SHARD_COUNT_VARIABLE] = str(instance.shard_count)
    return variables


def instance_context(context: RunContext, instance: Instance) -> RunContext:
    """The run's context with the instance's matrix values (`${{ matrix.<axis> }}`)."""
    return replace(context, matrix=dict(instance.values))


def decide_ready_instance(
    workflow: Workflow, job: Job, instance: Instance, count: int, catalog: ComponentCatalog,
    context: RunContext, reused: Mapping[str, str] | None = None, mounts: MountPolicy | None = None,
) -> ReadyDecision:
    """What instance `instance` of the fan-out `job` becomes: reused (`reused`: its outputs in
    the run a re-run re-runs), failed, skipped (its `if`, read with its matrix values), or
    launched as `test.<i>` with its own variables."""
    if reused is not None:
        return Reuse(dict(reused))
    key = instance_key(job.name, instance.index)

    def as_instance(plan: JobPlan) -> JobPlan:
        return replace(plan, job=key, instance_variables=instance_variables(instance, count))

    decision = plan_decision(workflow, job, catalog, instance_context(context, instance), mounts,
                             adjust=as_instance)
    return Skip(key, decision.reason) if isinstance(decision, Skip) else decision


# --- reading instances in later jobs ---------------------------------------------------

def instance_outputs_lookup(get_job: Callable[[str], JobRecord | None]) -> InstanceOutputs:
    """`RunContext.instance_outputs` from a store's `get_job` of the run: one record read
    per reference, only an instance that did its work answers."""
    def lookup(job: str, index: int) -> Mapping[str, str] | None:
        record = get_job(instance_key(job, index))
        return record.outputs if record is not None and record.status in _DID_WORK else None
    return lookup


# --- the group's end ---------------------------------------------------------------------

def output_keys(job: Job, component: Component | None) -> list[str]:
    """The outputs a group aggregates: its component's, then the job's own, each once."""
    keys = [output.name for output in (component.spec.outputs if component else [])]
    return list(dict.fromkeys([*keys, *job.outputs]))


def count_outputs(tally: InstanceTally) -> dict[str, str]:
    return {
        INSTANCES_OUTPUT: str(tally.count),
        SUCCEEDED_OUTPUT: str(tally.succeeded + tally.reused),
        FAILED_OUTPUT: str(tally.failed),
        SKIPPED_OUTPUT: str(tally.skipped),
    }


def aggregate_outputs(
    job: str, keys: Sequence[str], tally: InstanceTally,
    instances: Iterable[tuple[int, Mapping[str, str]]], files: ListFiles,
) -> Aggregate:
    """The group's outputs for later jobs, its lists written to `files` (engine.aggregate):
    `instances`, (index, outputs) of the instances that did their work, in index order."""
    return aggregate_lists(job, keys, tally.count, count_outputs(tally), instances, files)


def lists_not_written(job: str, tally: InstanceTally, error: str) -> JobEnd:
    """A group whose lists could not be written to the workspace (a full disk) fails: the jobs
    after it would read lists that are not there."""
    return JobEnd(JobState.FAILED, f"the output lists of job '{job}' could not be written to the "
                                   f"workspace: {error}", count_outputs(tally))


def group_end(job: Job, tally: InstanceTally, *, stop_reason: str | None = None,
              aggregate: Aggregate | None = None) -> JobEnd | None:
    """The group's final state and reason from its instances, or None while it goes on.

    `stop_reason`: why the run stops the group (its cancel, another job's failure), which
    ends it cancelled once no instance runs. `aggregate`: its outputs, which its record keeps.
    """
    outputs = dict(aggregate.outputs) if aggregate is not None else count_outputs(tally)
    if tally.running:
        return None
    if stop_reason is not None:
        return JobEnd(JobState.CANCELLED, stop_reason, outputs)
    allowed = allowed_failures(job, tally.count)
    if tally.failed > allowed:
        if tally.not_started and not fails_fast(job):
            return None
        return JobEnd(JobState.FAILED, _failures_text(tally, allowed), outputs)
    if tally.not_started:
        return None
    if tally.cancelled:
        return JobEnd(JobState.FAILED, f"{tally.cancelled:,} of {tally.count:,} instances were cancelled",
                      outputs)
    if tally.skipped == tally.count:
        return JobEnd(JobState.SKIPPED, "every instance was skipped", outputs)
    return JobEnd(JobState.SUCCEEDED, _failures_text(tally, allowed) if tally.failed else "", outputs)


# --- re-run from failure ---------------------------------------------------------------

def reused_instances(
    workflow: Workflow, group: str, previous_instances: Iterable[JobRecord],
    scope: RerunScope | None, *, workspace_kept: bool,
) -> dict[int, dict[str, str]]:
    """The instances of `group` a re-run takes from the run it re-runs, by index, with their
    outputs: those that succeeded (or were reused) there, unless the re-run runs every job
    or (a `jobs` re-run) runs this group again, when every instance runs."""
    if scope is None or scope.kind is RerunKind.ALL or group in runs_again(
            workflow, scope, workspace_kept=workspace_kept):
        return {}
    reused: dict[int, dict[str, str]] = {}
    for record in previous_instances:
        named = split_instance_key(record.name)
        if named is not None and named.job == group and record.status in _DID_WORK:
            reused[named.index] = dict(record.outputs)
    return reused
