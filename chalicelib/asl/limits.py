"""Step Functions' limits on a compiled machine: its definition's size and its history's length.

A Standard state machine's definition may be at most 1,048,576 bytes, and one execution
may record at most 25,000 history events; past the second, AWS fails the run midway. So
a workflow is refused before it is deployed when its definition (the compact JSON that is
deployed) is too large, or when its worst case could exhaust the history.

The worst case counts every job retried to its limit and every continue-on-error Pass
taken, and is a little pessimistic on purpose (AWS's exact event list per state is not
a contract; moto records fewer for the same runs):

- the execution: 2 (ExecutionStarted; ExecutionSucceeded, Failed, TimedOut or Aborted);
- a job state: 2 (TaskStateEntered, TaskStateExited), plus per attempt 5: TaskScheduled,
  TaskStarted, TaskSubmitted and one of TaskSucceeded, TaskFailed or TaskTimedOut, and
  one spare (e.g. a TaskSubmitFailed or a heartbeat);
- a continue-on-error Pass: 2 (PassStateEntered, PassStateExited);
- a Parallel state: 4 (ParallelStateEntered, Started, Succeeded or Failed, Exited) and
  1 more per branch (room for the branch being aborted or reported).

A fan-out job (`build` says its shape) costs its group's end (a job state, above) and:

- inline: its items Pass (2), the Map state (4: MapStateEntered, Started, Succeeded or
  Failed, Exited) and per instance 2 (MapIterationStarted; Succeeded, Failed or Aborted)
  plus the instance's job state as above (and its caught-failure Pass, 2). So one instance
  of one attempt is 2 + 2 + 5 = 9 events, 11 when its failure is caught, 2 + 2 + 5 * 3 = 19
  with two retries;
- distributed: 7 whatever its size (MapStateEntered, MapStateStarted, MapRunStarted,
  MapRunSucceeded/Failed/Aborted, MapStateSucceeded/Failed, MapStateExited, one spare):
  each instance is a child execution with its own history of 2 + 2 + 5 * attempts events,
  at most 59 (retries are at most 10), far from any limit.

Where the inline/distributed line is (`INLINE_MAP_MAX_EVENTS`): an inline fan-out job may
cost at most 5,000 events, a fifth of the 25,000, so a workflow keeps room for four such
maps and its other jobs. Less its own 13 (items Pass 2, Map 4, group end 7), that is 554
instances of one attempt ((5,000 - 13) // 9), 453 when failures are caught (// 11), 262
with two retries (// 19). `build` also keeps a map inline only when it
needs at most 40 iterations at once (`INLINE_MAX_CONCURRENCY`: Step Functions runs no more
inline, whatever MaxConcurrency says) and when it fails on the first failure (inline Maps
have no ToleratedFailureCount); and when a machine's maps all inline would still pass the
history limit, it makes the largest distributed, one at a time, until the machine fits.

A fan-out job of more than 10,000 instances (`MAX_INSTANCES`, which validation refuses
first) is refused here too, and so is a Distributed Map with no bucket to read its items
from (a `Target` without `items_bucket`).
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.asl.plan import FanOutStep, JobStep, MachinePlan, MapMode
from chalicelib.domain.fanout import MAX_INSTANCES
from chalicelib.errors import InvalidDefinition, Problem

MAX_DEFINITION_BYTES = 1_048_576
MAX_HISTORY_EVENTS = 25_000

EXECUTION_EVENTS = 2
TASK_STATE_EVENTS = 2
EVENTS_PER_ATTEMPT = 5
PASS_EVENTS = 2
PARALLEL_EVENTS = 4
EVENTS_PER_BRANCH = 1
INLINE_MAP_EVENTS = 4
MAP_ITERATION_EVENTS = 2
DISTRIBUTED_MAP_EVENTS = 7

INLINE_MAP_MAX_EVENTS = MAX_HISTORY_EVENTS // 5  # 5,000: the arithmetic is in the docstring
INLINE_MAX_CONCURRENCY = 40  # Step Functions' own bound on an inline Map's iterations at once
MAX_DISTRIBUTED_CONCURRENCY = 10_000  # a Distributed Map's MaxConcurrency at most


@dataclass(frozen=True)
class MachineFigures:
    """What the limits are checked against, and what `compile --check` reports."""

    states: int
    definition_bytes: int
    worst_case_events: int
    # each fan-out job's (name, instances, "inline" or "distributed"), in stage order
    fan_outs: tuple[tuple[str, int, str], ...] = ()
    needs_items_bucket: bool = False  # a Distributed Map, and the target named no bucket


def job_events(job: JobStep) -> int:
    """A job state's worst case: every attempt taken, its caught failure's Pass too."""
    passes = PASS_EVENTS if job.continue_state is not None else 0
    return TASK_STATE_EVENTS + EVENTS_PER_ATTEMPT * job.attempts + passes


def instance_events(step: FanOutStep) -> int:
    """One instance's worst case: in the run's history (inline) or its child execution's."""
    if step.mode is MapMode.INLINE:
        return MAP_ITERATION_EVENTS + job_events(step.instance)
    return EXECUTION_EVENTS + job_events(step.instance)


def fan_out_events(step: FanOutStep) -> int:
    """What a fan-out job adds to the run's own history."""
    if step.mode is MapMode.INLINE:
        own = PASS_EVENTS + INLINE_MAP_EVENTS + step.instances * instance_events(step)
    else:
        own = DISTRIBUTED_MAP_EVENTS
    return own + job_events(step.end)


def worst_case_events(plan: MachinePlan) -> int:
    """History events of the longest run the plan allows (the model is in the docstring)."""
    job_total = sum(job_events(job) for job in plan.job_steps())
    fan_out_total = sum(fan_out_events(step) for step in plan.fan_out_steps())
    parallel_events = sum(
        PARALLEL_EVENTS + EVENTS_PER_BRANCH * len(step.branches) for step in plan.parallel_steps()
    )
    return EXECUTION_EVENTS + job_total + fan_out_total + parallel_events


def measure(plan: MachinePlan, deployed_text: str) -> MachineFigures:
    fan_outs = plan.fan_out_steps()
    return MachineFigures(
        states=plan.state_count,
        definition_bytes=len(deployed_text.encode()),
        worst_case_events=worst_case_events(plan),
        fan_outs=tuple((step.job, step.instances, str(step.mode)) for step in fan_outs),
        needs_items_bucket=any(step.mode is MapMode.DISTRIBUTED and step.items_bucket is None
                               for step in fan_outs),
    )


def limit_problems(figures: MachineFigures) -> list[Problem]:
    problems = [
        Problem("spec.stages", (
            f"job '{job}' expands to {instances:,} instances; the limit is {MAX_INSTANCES:,}"))
        for job, instances, _ in figures.fan_outs if instances > MAX_INSTANCES
    ]
    if figures.needs_items_bucket:
        distributed = [job for job, _, mode in figures.fan_outs if mode == MapMode.DISTRIBUTED]
        problems.append(Problem("spec.stages", (
            f"job '{distributed[0]}' runs as a Distributed Map, which reads its instances from "
            "S3, and this deployment names no bucket for them (the runs' workspace bucket)")))
    if figures.definition_bytes > MAX_DEFINITION_BYTES:
        over = figures.definition_bytes - MAX_DEFINITION_BYTES
        problems.append(Problem("spec.stages", (
            f"the compiled state machine would be {figures.definition_bytes:,} bytes, "
            f"{over:,} bytes over Step Functions' limit of {MAX_DEFINITION_BYTES:,} bytes "
            "per definition; split the workflow into smaller ones"
        )))
    if figures.worst_case_events > MAX_HISTORY_EVENTS:
        over = figures.worst_case_events - MAX_HISTORY_EVENTS
        problems.append(Problem("spec.stages", (
            f"a run could record {figures.worst_case_events:,} history events (every job "
            f"retried to its limit), {over:,} over Step Functions' limit of "
            f"{MAX_HISTORY_EVENTS:,} events per execution; use fewer jobs or lower retry limits"
        )))
    return problems


def check_limits(figures: MachineFigures, source: str = "") -> None:
    """Raise InvalidDefinition, one sentence per limit passed, when the machine is refused."""
    problems = limit_problems(figures)
    if problems:
        raise InvalidDefinition(problems, source)
