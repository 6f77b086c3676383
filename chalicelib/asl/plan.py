"""The compiled state machine as data: what `build` makes from a workflow and `render` writes as ASL.

A plan is a chain of steps. A step is either one job state (a callback Task to the launch
queue, with its retry policy, timeout backstop and optional continue-on-error Pass) or a
Parallel state whose branches are chains of job states. Every state name in a plan is
already final (unique in the machine, at most 80 characters). Nothing here knows about
JSON, the store or AWS clients; `Target` carries the few deployment facts the compiler
needs, so the compiler itself reads no environment.
"""

from __future__ import annotations

from dataclasses import dataclass

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

    def __post_init__(self) -> None:
        if not self.queue_url.strip():
            raise ValueError("a target needs the launch queue's URL")
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


@dataclass(frozen=True)
class ParallelStep:
    """A stage whose actions run at once: one branch (a chain of jobs) per action."""

    state: str
    stage: str
    branches: tuple[tuple[JobStep, ...], ...]


Step = JobStep | ParallelStep


@dataclass(frozen=True)
class MachinePlan:
    """The whole state machine: a chain of steps, the queue they send to, the run's timeout."""

    workflow: str
    queue_url: str
    timeout_seconds: int | None
    steps: tuple[Step, ...]

    def job_steps(self) -> list[JobStep]:
        """Every job state, in the order the stages run (branches in action order)."""
        jobs: list[JobStep] = []
        for step in self.steps:
            if isinstance(step, JobStep):
                jobs.append(step)
            else:
                jobs.extend(job for branch in step.branches for job in branch)
        return jobs

    def parallel_steps(self) -> list[ParallelStep]:
        return [step for step in self.steps if isinstance(step, ParallelStep)]

    @property
    def state_count(self) -> int:
        """States in the machine, nested ones included (Parallel, Task and Pass states)."""
        jobs = self.job_steps()
        passes = sum(1 for job in jobs if job.continue_state is not None)
        return len(self.parallel_steps()) + len(jobs) + passes
