"""Building the plan: a workflow's stages, actions and jobs as a chain of state-machine steps.

The shape (DESIGN §4 "Compile"):

- The machine is the stages' steps one after another.
- A stage with `sequencing: parallel` and two or more actions is one Parallel state with a
  branch per action. A stage with a single action, and a `sequencing: sequence` stage, add
  their jobs straight to the chain instead (action after action): the run behaves the
  same (the stage ends when its last job does; a failure stops the run), and a Parallel
  state would cost history events and a nesting level in the console for nothing.
- A job is one callback Task. Its `Retry` on Job.Failed is the engine's retry rule: the
  job's `retries.limit` extra attempts, waiting `backoff` (whole seconds, at least 1, as
  ASL requires: rounded up) doubled each time and capped at the engine's
  `MAX_RETRY_DELAY`. There is no Retry when the limit is 0, and none on States.Timeout: the
  backstop only fires when the verdict was lost, and launching again then could run the
  job twice.
- Its `TimeoutSeconds` backstop is the engine's job timeout (`job_timeout_seconds`) plus
  the target's launch allowance, rounded up.
- `continue_on_error` catches every error into a Pass state that joins the chain where
  the job would have gone on.
- The workflow's `timeout` is the machine's `TimeoutSeconds`.
- A fan-out job (`matrix`/`shards`, DESIGN §5) is a Map over its instances whose one
  state per item is the instance's callback Task: the plain job's Task (the same Retry and
  TimeoutSeconds, each instance its own attempts) with the instance index in its message.
  Its `MaxConcurrency` is the group's parallelism, `min(max_parallel or N, N)`. After the
  Map comes the group's end: one more callback Task (`group_end` in its message) that the
  Map's failure is caught into too, so that whatever happened the engine judges the group
  from its instances' records (verdict, aggregate outputs, stopping what still runs) and
  answers success or Job.Failed; `continue_on_error` catches that answer, as for a job.
- The Map is inline when that is enough (`limits` has the arithmetic): its worst case
  costs at most `INLINE_MAP_MAX_EVENTS` history events, it needs at most 40 iterations at
  once, and it either fails fast with no failure allowed (the Map fails at the first
  failed instance) or does not fail fast (each instance's failure is caught into a Pass,
  so every instance runs and the end judges). Its items are the indices `[0..N-1]`,
  written into the payload (`$.instances`) by a Pass just before it: a literal of at most
  a few kilobytes, as the event budget keeps N in the hundreds.
- Otherwise it is a Distributed Map: one Standard child execution per instance (Express
  ones cannot wait for a task token), its items `[{"instance": i}, ...]` read from
  `s3://<items bucket>/runs/<run id>/fanout/<job>.json` (the dispatcher writes them before
  the execution starts: `chalicelib/cloud/fanout_items.py`). Failing fast, its
  `ToleratedFailureCount` is the allowed failures counted at compile time
  (`allowed_failures` of N, a percentage rounded down as the engine does), so the Map fails
  at the first failure beyond them and starts no more children; not failing fast, it
  tolerates every failure (`ToleratedFailurePercentage: 100`) and the end judges.
- When the machine would still pass the history limit with its inline maps, the largest
  of them becomes distributed, one at a time, until it fits (or none is left).

Timeouts are capped at a year: a Standard execution cannot last longer anyway.
"""

from __future__ import annotations

import math

from chalicelib.asl.limits import (
    INLINE_MAP_MAX_EVENTS,
    INLINE_MAX_CONCURRENCY,
    MAX_DISTRIBUTED_CONCURRENCY,
    MAX_HISTORY_EVENTS,
    fan_out_events,
    worst_case_events,
)
from chalicelib.asl.names import StateNames
from chalicelib.asl.plan import (
    ChainStep,
    FanOutStep,
    JobStep,
    MachinePlan,
    MapMode,
    ParallelStep,
    RetryPolicy,
    Step,
    Target,
)
from chalicelib.domain.catalog import ComponentCatalog
from chalicelib.domain.fanout import allowed_failure_count, fails_fast, instance_count, is_fan_out
from chalicelib.domain.models import Component, Job, Stage, Workflow
from chalicelib.domain.quantities import parse_duration
from chalicelib.engine.engine import MAX_RETRY_DELAY, component_of, job_timeout_seconds

BACKOFF_RATE = 2.0  # the engine doubles each wait (engine.retry_delay)
MAX_TIMEOUT_SECONDS = 365 * 24 * 3600
ITEMS_KEY_TEMPLATE = "runs/{{}}/fanout/{job}.json"  # then a template of the run id: `{}`


def build_machine(workflow: Workflow, catalog: ComponentCatalog, target: Target) -> MachinePlan:
    """The plan of the workflow's state machine (limits are checked apart: see `limits`)."""
    distributed: set[str] = set()
    while True:
        plan = _build(workflow, catalog, target, frozenset(distributed))
        inline = [step for step in plan.fan_out_steps() if step.mode is MapMode.INLINE]
        if worst_case_events(plan) <= MAX_HISTORY_EVENTS or not inline:
            return plan
        largest = max(inline, key=fan_out_events)  # the first of equals: stable
        distributed.add(largest.job)


def _build(workflow: Workflow, catalog: ComponentCatalog, target: Target,
           distributed: frozenset[str]) -> MachinePlan:
    builder = _Builder(catalog, target, distributed)
    steps = [step for stage in workflow.spec.stages for step in builder.stage(stage)]
    timeout = workflow.spec.timeout
    return MachinePlan(
        workflow=workflow.ref,
        queue_url=target.queue_url,
        timeout_seconds=whole_seconds(parse_duration(timeout)) if timeout is not None else None,
        steps=tuple(steps),
    )


def items_key(job: str) -> str:
    """Where a Distributed Map's items are, as a template of the run id (`str.format`'s `{}`
    and `States.Format`'s `{}` alike; a job name holds no brace, quote or backslash)."""
    return ITEMS_KEY_TEMPLATE.format(job=job)


def whole_seconds(seconds: float) -> int:
    """A duration as ASL takes it: a whole number of seconds, at least 1, at most a year."""
    return min(max(1, math.ceil(seconds)), MAX_TIMEOUT_SECONDS)


def retry_policy(job: Job) -> RetryPolicy | None:
    if job.retries.limit == 0:
        return None
    max_delay = whole_seconds(MAX_RETRY_DELAY)
    return RetryPolicy(
        max_attempts=job.retries.limit,
        interval_seconds=min(whole_seconds(parse_duration(job.retries.backoff)), max_delay),
        backoff_rate=BACKOFF_RATE,
        max_delay_seconds=max_delay,
    )


class _Builder:
    def __init__(self, catalog: ComponentCatalog, target: Target,
                 distributed: frozenset[str] = frozenset()) -> None:
        self._catalog = catalog
        self._target = target
        self._distributed = distributed  # fan-out jobs made distributed to fit the history
        self._names = StateNames()
        self._components: dict[str, Component | None] = {}  # one catalog look-up per ref

    def stage(self, stage: Stage) -> list[Step]:
        if stage.sequencing == "parallel" and len(stage.actions) > 1:
            state = self._names.claim(f"stage {stage.name}")
            branches = tuple(tuple(self.step(job) for job in action.jobs) for action in stage.actions)
            return [ParallelStep(state=state, stage=stage.name, branches=branches)]
        return [self.step(job) for action in stage.actions for job in action.jobs]

    def step(self, job: Job) -> ChainStep:
        return self.fan_out(job) if is_fan_out(job) else self.job(job)

    def job(self, job: Job) -> JobStep:
        state = self._names.claim(f"job {job.name}")
        return JobStep(
            state=state,
            job=job.name,
            timeout_seconds=self._timeout(job),
            retry=retry_policy(job),
            continue_state=self._names.claim(f"continue after {job.name}") if job.continue_on_error else None,
        )

    def fan_out(self, job: Job) -> FanOutStep:
        count = instance_count(job)
        fail_fast = fails_fast(job)
        allowed = min(allowed_failure_count(job.allowed_failures, count), count)
        parallelism = min(job.max_parallel or count, count)
        timeout, retry = self._timeout(job), retry_policy(job)
        inline = (job.name not in self._distributed and parallelism <= INLINE_MAX_CONCURRENCY
                  and (not fail_fast or allowed == 0)
                  and _inline_events(count, timeout, retry, caught=not fail_fast) <= INLINE_MAP_MAX_EVENTS)
        state = self._names.claim(f"job {job.name}")
        items_state = self._names.claim(f"instances of {job.name}") if inline else None
        instance_state = self._names.claim(f"instance of {job.name}")
        caught = self._names.claim(f"instance of {job.name} failed") if inline and not fail_fast else None
        end = JobStep(
            state=self._names.claim(f"end of {job.name}"),
            job=job.name,
            timeout_seconds=whole_seconds(self._target.launch_allowance_seconds),
            retry=None,
            continue_state=self._names.claim(f"continue after {job.name}") if job.continue_on_error else None,
        )
        return FanOutStep(
            state=state, job=job.name, instances=count,
            mode=MapMode.INLINE if inline else MapMode.DISTRIBUTED,
            max_concurrency=min(parallelism, MAX_DISTRIBUTED_CONCURRENCY), fail_fast=fail_fast,
            allowed_failures=allowed,
            instance=JobStep(instance_state, job.name, timeout, retry, continue_state=caught),
            end=end, items_state=items_state,
            items_bucket=None if inline else self._target.items_bucket,
            items_key=None if inline else items_key(job.name),
        )

    def _timeout(self, job: Job) -> int:
        timeout = job_timeout_seconds(job, self._component(job)) + self._target.launch_allowance_seconds
        return whole_seconds(timeout)

    def _component(self, job: Job) -> Component | None:
        if job.component is None:
            return None
        if job.component not in self._components:
            self._components[job.component] = component_of(job, self._catalog)
        return self._components[job.component]


def _inline_events(count: int, timeout: int, retry: RetryPolicy | None, *, caught: bool) -> int:
    """The history an inline Map of these instances would cost (the shape's names do not
    matter to the count, so none is claimed before the mode is chosen)."""
    instance = JobStep("", "", timeout, retry, continue_state="" if caught else None)
    end = JobStep("", "", 1, None, continue_state=None)
    probe = FanOutStep(state="", job="", instances=count, mode=MapMode.INLINE, max_concurrency=1,
                       fail_fast=not caught, allowed_failures=0, instance=instance, end=end,
                       items_state="")
    return fan_out_events(probe)
