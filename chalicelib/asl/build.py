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

Timeouts are capped at a year: a Standard execution cannot last longer anyway.
"""

from __future__ import annotations

import math

from chalicelib.asl.names import StateNames
from chalicelib.asl.plan import JobStep, MachinePlan, ParallelStep, RetryPolicy, Step, Target
from chalicelib.domain.catalog import ComponentCatalog
from chalicelib.domain.models import Component, Job, Stage, Workflow
from chalicelib.domain.quantities import parse_duration
from chalicelib.engine.engine import MAX_RETRY_DELAY, component_of, job_timeout_seconds

BACKOFF_RATE = 2.0  # the engine doubles each wait (engine.retry_delay)
MAX_TIMEOUT_SECONDS = 365 * 24 * 3600


def build_machine(workflow: Workflow, catalog: ComponentCatalog, target: Target) -> MachinePlan:
    """The plan of the workflow's state machine (limits are checked apart: see `limits`)."""
    builder = _Builder(catalog, target)
    steps = [step for stage in workflow.spec.stages for step in builder.stage(stage)]
    timeout = workflow.spec.timeout
    return MachinePlan(
        workflow=workflow.ref,
        queue_url=target.queue_url,
        timeout_seconds=whole_seconds(parse_duration(timeout)) if timeout is not None else None,
        steps=tuple(steps),
    )


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
    def __init__(self, catalog: ComponentCatalog, target: Target) -> None:
        self._catalog = catalog
        self._target = target
        self._names = StateNames()
        self._components: dict[str, Component | None] = {}  # one catalog look-up per ref

    def stage(self, stage: Stage) -> list[Step]:
        if stage.sequencing == "parallel" and len(stage.actions) > 1:
            state = self._names.claim(f"stage {stage.name}")
            branches = tuple(tuple(self.job(job) for job in action.jobs) for action in stage.actions)
            return [ParallelStep(state=state, stage=stage.name, branches=branches)]
        return [self.job(job) for action in stage.actions for job in action.jobs]

    def job(self, job: Job) -> JobStep:
        state = self._names.claim(f"job {job.name}")
        timeout = job_timeout_seconds(job, self._component(job)) + self._target.launch_allowance_seconds
        return JobStep(
            state=state,
            job=job.name,
            timeout_seconds=whole_seconds(timeout),
            retry=retry_policy(job),
            continue_state=self._names.claim(f"continue after {job.name}") if job.continue_on_error else None,
        )

    def _component(self, job: Job) -> Component | None:
        if job.component is None:
            return None
        if job.component not in self._components:
            self._components[job.component] = component_of(job, self._catalog)
        return self._components[job.component]
