"""What the store keeps about runs: the run, each job, each attempt, each log line.

Plain dataclasses so the engine, the drivers and every store implementation share them
without importing each other. Times are UNIX seconds (float) in UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from chalicelib.domain.states import AttemptState, JobState, RunState


class RerunKind(StrEnum):
    """Which jobs of the run it re-runs a re-run runs again (chalicelib/engine/rerun.py)."""

    FAILED = "failed"  # from failure: what succeeded is reused
    ALL = "all"  # every job: nothing is reused
    JOBS = "jobs"  # the named jobs and every job fed by their outputs; the rest is reused


@dataclass(frozen=True)
class RerunScope:
    """What a re-run was asked to run again: its kind, and for `jobs` the jobs named."""

    kind: RerunKind
    jobs: tuple[str, ...] = ()

    def as_document(self) -> dict[str, Any]:
        """`{"scope": kind}`, with `"jobs"` for the `jobs` kind: the API's, the stores' form."""
        if self.kind is RerunKind.JOBS:
            return {"scope": self.kind.value, "jobs": list(self.jobs)}
        return {"scope": self.kind.value}

    @classmethod
    def from_document(cls, document: Mapping[str, Any] | None) -> RerunScope | None:
        """The scope `as_document` wrote (None for none); what a store or the CLI reads back."""
        if not document:
            return None
        kind = RerunKind(str(document["scope"]))
        jobs = tuple(str(name) for name in document.get("jobs") or ()) if kind is RerunKind.JOBS else ()
        return cls(kind, jobs)


FROM_FAILURE = RerunScope(RerunKind.FAILED)
EVERY_JOB = RerunScope(RerunKind.ALL)


@dataclass
class RunRecord:
    id: str
    namespace: str
    workflow: str
    workflow_version: int
    status: RunState
    created_at: float
    params: dict[str, str] = field(default_factory=dict)
    trigger: dict[str, Any] = field(default_factory=dict)
    started_at: float | None = None
    finished_at: float | None = None
    reason: str = ""
    rerun_of: str | None = None
    cancel_requested: bool = False
    # What the re-run (`rerun_of`) runs again; None for a run that is no re-run, and for a
    # re-run stored before scopes were kept (every one of those was from failure).
    rerun_scope: RerunScope | None = None


@dataclass
class JobRecord:
    run_id: str
    name: str
    stage: int
    action: int
    position: int
    status: JobState = JobState.PENDING
    reason: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    exit_code: int | None = None
    attempts: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    # An instance of a fan-out job (design §2) is a record of its own named
    # `instance_keys.instance_key(group, instance)` ("test.3"); both are None for a job of
    # the workflow, including a fan-out job's own record (its group record).
    group: str | None = None
    instance: int | None = None


@dataclass
class AttemptRecord:
    run_id: str
    job: str
    number: int
    status: AttemptState = AttemptState.RUNNING
    container_id: str | None = None
    exit_code: int | None = None
    reason: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    ready_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    log_bytes: int = 0
    log_truncated: bool = False
    # How far the stored output reaches, to re-attach after a restart without repeats:
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    reported_result: bool | None = None  # the CO_RESULT read so far
    output_violation: str = ""  # the first output limit the attempt broke, if it broke one
    # aws mode: the Step Functions callback token the attempt answers (never shown, never
    # in the container), and how far its log stream has been ingested (opaque to the store).
    task_token: str = field(default="", repr=False)
    log_position: str = ""


class LogLine(NamedTuple):
    """One stored line of a job attempt's output, in order (`seq` starts at 1).

    A named tuple rather than a dataclass: log pages build hundreds per request, and a
    tuple is several times cheaper to make.
    """

    run_id: str
    job: str
    attempt: int
    seq: int
    time: float
    text: str
    is_cout: bool = False
    source_time: str = ""  # the container engine's own timestamp, to re-attach without gaps
    # "stdout" or "stderr" when the log source records which stream the container wrote it
    # to; "" for a note of ContainerOps's own and for sources that keep no streams
    # (CloudWatch Logs: the awslogs driver sends the text alone).
    stream: str = ""
