"""The compiled state machine as data: what `build` makes from a workflow and `render` writes as ASL.

A plan is a chain of steps. A step is one job state (a callback Task to the launch queue,
with its retry policy, timeout backstop and optional continue-on-error Pass), a fan-out
job (a Map over its instances, each instance the same kind of Task, then the group's end:
see `FanOutStep`), or a Parallel state whose branches are chains of those. Every state
name in a plan is already final (unique in the machine, at most 80 characters). Nothing
here knows about JSON, the store or AWS clients; `Target` carries the few deployment facts
the compiler needs, so the compiler itself reads no environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# Long enough for SQS delivery, a cold launcher Lambda, a task definition registered on
# demand, a Fargate task provisioned and its image pulled (minutes for a large image), and
# the finaliser reading the end of the log stream after the task stopped. The backstop is
# only there for an answer that never comes; a job's own timeout is enforced by the
# launcher's side, so a generous allowance costs nothing but a later alarm.
DEFAULT_LAUNCH_ALLOWANCE_SECONDS = 300.0


@dataclass(frozen=True)
class Target:
    """Where the compiled machine sends its launches, and how long a launch may take."""

    queue_url: str
    launch_allowance_seconds: float = DEFAULT_LAUNCH_ALLOWANCE_SECONDS
    # The S3 bucket a Distributed Map reads its instances from (`runs/<run id>/fanout/<job>.json`,
    # written by the dispatcher before the execution starts): the runs' workspace bucket.
    # None: a workflow that needs a Distributed Map is refused (`limits`), saying why.
    items_bucket: str | None = None

    def __post_init__(self) -> None:
        if not self.queue_url.strip():
            raise ValueError("a target needs the launch queue's URL")
        if self.items_bucket is not None and not self.items_bucket.strip():
            raise ValueError("an items bucket, when given, has a name")
        if self.launch_allowance_seconds < 0:
            raise ValueError("the launch allowance cannot be negative")


@dataclass(frozen=True)
class RetryPolicy:
    """ASL `Retry` on Job.Failed: the engine's retry rule in Step Functions' words."""

    max_attempts: int
    interval_seconds: int
    backoff_rate: float
    max_delay_seconds: int


@dataclass(frozen=True)
class JobStep:
    """One job: a Task that sends the launch message and waits for the job's verdict."""

    state: str
    job: str
    timeout_seconds: int
    retry: RetryPolicy | None
    continue_state: str | None  # the Pass state a failure is caught into (continue_on_error)

    @property
    def attempts(self) -> int:
        return 1 + (self.retry.max_attempts if self.retry else 0)


class MapMode(StrEnum):
    INLINE = "inline"  # the iterations' events go into the run's own history
    DISTRIBUTED = "distributed"  # one child execution per instance, items read from S3


@dataclass(frozen=True)
class FanOutStep:
    """A fan-out job: a Map whose one state per item is the instance's Task (`instance`, a
    JobStep whose `continue_state` is the Pass an instance failure is caught into when the
    Map must not fail on it), then `end`, the group's verdict Task, which the Map's failure
    is caught into as well and whose `continue_state` is the job's continue_on_error Pass.

    Inline maps get their items from `items_state`, a Pass that writes the instance indices
    into the payload; distributed ones read `items_key` (a `str.format` / `States.Format`
    template of the run id) from `items_bucket`. `tolerated_failures` is the Map's
    ToleratedFailureCount (distributed and fail-fast only); a distributed map that does not
    fail fast tolerates every failure (ToleratedFailurePercentage 100): the end judges.
    """

    state: str
    job: str
    instances: int
    mode: MapMode
    max_concurrency: int
    fail_fast: bool
    allowed_failures: int
    instance: JobStep
    end: JobStep
    items_state: str | None = None
    items_bucket: str | None = None
    items_key: str | None = None

    @property
    def tolerated_failures(self) -> int | None:
        return self.allowed_failures if self.mode is MapMode.DISTRIBUTED and self.fail_fast else None

    @property
    def state_count(self) -> int:
        own = 1 + (self.items_state is not None)
        return own + sum(1 + (job.continue_state is not None) for job in (self.instance, self.end))


ChainStep = JobStep | FanOutStep  # what a Parallel branch is a chain of


@dataclass(frozen=True)
class ParallelStep:
    """A stage whose actions run at once: one branch (a chain of jobs) per action."""

    state: str
    stage: str
    branches: tuple[tuple[ChainStep, ...], ...]


Step = JobStep | FanOutStep | ParallelStep


@dataclass(frozen=True)
class MachinePlan:
    """The whole state machine: a chain of steps, the queue they send to, the run's timeout."""

    workflow: str
    queue_url: str
    timeout_seconds: int | None
    steps: tuple[Step, ...]

    def chain_steps(self) -> list[ChainStep]:
        """Every job and fan-out step, in the order the stages run (branches in action order)."""
        found: list[ChainStep] = []
        for step in self.steps:
            if isinstance(step, ParallelStep):
                found.extend(job for branch in step.branches for job in branch)
            else:
                found.append(step)
        return found

    def job_steps(self) -> list[JobStep]:
        """Every plain job's state, in the order the stages run (branches in action order)."""
        return [step for step in self.chain_steps() if isinstance(step, JobStep)]

    def fan_out_steps(self) -> list[FanOutStep]:
        return [step for step in self.chain_steps() if isinstance(step, FanOutStep)]

    def distributed_steps(self) -> list[FanOutStep]:
        """The fan-out jobs whose items the dispatcher writes to S3 before the run starts."""
        return [step for step in self.fan_out_steps() if step.mode is MapMode.DISTRIBUTED]

    def parallel_steps(self) -> list[ParallelStep]:
        return [step for step in self.steps if isinstance(step, ParallelStep)]

    @property
    def state_count(self) -> int:
        """States in the machine, nested ones included (Parallel, Map, Task and Pass states)."""
        jobs = self.job_steps()
        passes = sum(1 for job in jobs if job.continue_state is not None)
        fan_outs = sum(step.state_count for step in self.fan_out_steps())
        return len(self.parallel_steps()) + len(jobs) + passes + fan_outs
