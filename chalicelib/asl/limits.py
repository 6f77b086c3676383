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
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.asl.plan import MachinePlan
from chalicelib.errors import InvalidDefinition, Problem

MAX_DEFINITION_BYTES = 1_048_576
MAX_HISTORY_EVENTS = 25_000

EXECUTION_EVENTS = 2
TASK_STATE_EVENTS = 2
EVENTS_PER_ATTEMPT = 5
PASS_EVENTS = 2
PARALLEL_EVENTS = 4
EVENTS_PER_BRANCH = 1


@dataclass(frozen=True)
class MachineFigures:
    """What the limits are checked against, and what `compile --check` reports."""

    states: int
    definition_bytes: int
    worst_case_events: int


def worst_case_events(plan: MachinePlan) -> int:
    """History events of the longest run the plan allows (the model is in the docstring)."""
    jobs = plan.job_steps()
    job_events = sum(TASK_STATE_EVENTS + EVENTS_PER_ATTEMPT * job.attempts for job in jobs)
    pass_events = sum(PASS_EVENTS for job in jobs if job.continue_state is not None)
    parallel_events = sum(
        PARALLEL_EVENTS + EVENTS_PER_BRANCH * len(step.branches) for step in plan.parallel_steps()
    )
    return EXECUTION_EVENTS + job_events + pass_events + parallel_events


def measure(plan: MachinePlan, deployed_text: str) -> MachineFigures:
    return MachineFigures(
        states=plan.state_count,
        definition_bytes=len(deployed_text.encode()),
        worst_case_events=worst_case_events(plan),
    )


def limit_problems(figures: MachineFigures) -> list[Problem]:
    problems = []
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
