"""The ports through which the aws-mode handlers reach AWS: the executions of the workflows'
state machines (Step Functions), the job tasks (ECS), and the values of secrets.

The handlers in this package decide nothing themselves (the engine does) and call AWS only
through these small interfaces, so each is tested with a fake and each adapter in
`chalicelib/aws/` is tested on moto. Every method may raise the project's errors only:
adapters translate botocore's at their boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from chalicelib.cloud.events import ExecutionEnded, TaskStopped
from chalicelib.domain.models import Workflow
from chalicelib.engine.aggregate import ListFiles
from chalicelib.engine.engine import JobPlan

T = TypeVar("T")

# The errors a job state is failed with (the compiled Retry retries Job.Failed only).
JOB_FAILED = "Job.Failed"  # an attempt that ran and failed: retried while retries are left
JOB_NOT_RUNNABLE = "Job.NotRunnable"  # the job could not be planned: a retry would fail alike


class Executions(Protocol):
    """The workflows' state machines and their executions (one execution per run)."""

    def ensure_machine(self, workflow: Workflow, version: int, definition: str) -> str:
        """The ARN of the state machine of this workflow version, created (or its definition
        updated) when needed. `definition` is the compact ASL JSON."""

    def start(self, machine_arn: str, run_id: str) -> None:
        """Start the run's execution, named by the run id with input `{"run_id": ...}`; a
        second start of the same run changes nothing."""

    def stop(self, machine_arn: str, run_id: str, cause: str) -> None:
        """Stop the run's execution if it still runs."""

    def machine_arn(self, workflow: Workflow, version: int) -> str:
        """Where the machine of this workflow version is (or will be), without a call."""

    def end_of(self, machine_arn: str, run_id: str) -> ExecutionEnded | None:
        """How the run's execution ended, as its status change event would have said; None
        while it runs, or when it has none. What the run's end is judged from when that event
        was lost."""

    def succeed(self, token: str) -> None:
        """Answer a job state: the job passed. A token already closed is ignored."""

    def fail(self, token: str, error: str, cause: str) -> None:
        """Answer a job state: the job failed with `error`. A token already closed is ignored."""


@dataclass(frozen=True)
class TaskRequest:
    """One attempt of a job, as a container to run."""

    run_id: str
    attempt: int
    plan: JobPlan
    # Variables whose value is a secret: variable name -> the secret's name. They reach the
    # container through the task definition (valueFrom), never through overrides.
    secret_variables: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.run_id}/{self.plan.job}/{self.attempt}"


@dataclass(frozen=True)
class TaskEnd:
    """How a task ended, as ECS reports it."""

    exit_code: int | None
    stop_code: str = ""  # e.g. EssentialContainerExited, TaskFailedToStart, UserInitiated
    reason: str = ""  # ECS's stoppedReason, or the container's reason (OutOfMemoryError...)
    started_at: float | None = None
    stopped_at: float | None = None

    @property
    def oom_killed(self) -> bool:
        return "OutOfMemory" in self.reason


class Tasks(Protocol):
    """The job containers: ECS tasks on Fargate (EKS Jobs later)."""

    def run(self, request: TaskRequest) -> str:
        """Start the attempt's task and return its ARN. Starting the same attempt again
        returns the task already started for it (a launcher that died after RunTask and is
        retried must not start a second container). LaunchError when it cannot start, with
        AWS's reason in words."""

    def find(self, request_key: str) -> str | None:
        """The task started for an attempt (`TaskRequest.key`), if there is one."""

    def stop(self, task_arn: str, reason: str) -> None:
        """Stop a task; a task already stopped is fine."""

    def end_of(self, task_arn: str) -> TaskStopped | None:
        """How the task ended, once ECS says it has stopped; None while it runs (or once ECS
        no longer knows it). What its STOPPED event would have said, for an event lost."""


class ItemFiles(Protocol):
    """Where a run's Distributed Map items are written before its execution starts (S3)."""

    def put(self, bucket: str, key: str, body: bytes) -> None:
        """Write (or rewrite) one object. ServiceUnavailable when it cannot be written."""


class SecretValues(Protocol):
    def values(self, names: list[str]) -> dict[str, str]:
        """The values of these secrets (to mask them in logs); a secret missing is left out."""


class RunWorkspaces(Protocol):
    """The runs' shared /workspace as the cloud keeps it, between the tasks that restore and
    save it (chalicelib/workspace): what the run's lifecycle does to it."""

    def start_from(self, run_id: str, previous_run_id: str) -> None:
        """A re-run from failure starts from what the run it re-runs left in its workspace.
        Done again, it changes nothing. ServiceUnavailable when the store cannot be reached."""

    def discard(self, run_id: str) -> None:
        """The workspace of a run no longer kept (an older success of its workflow: locally it
        is removed)."""

    def add_files(self, run_id: str, job: str, write: Callable[[ListFiles], T]) -> T:
        """Add files to the run's workspace from the end of `job` (a fan-out group's lists):
        `write` writes them; they are saved together, as one layer, once it returns (a job
        that starts later sees them), and none of them if it raises. ServiceUnavailable
        when the store cannot be reached."""
