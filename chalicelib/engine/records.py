"""What the store keeps about runs: the run, each job, each attempt, each log line.

Plain dataclasses so the engine, the drivers and every store implementation share them
without importing each other. Times are UNIX seconds (float) in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from chalicelib.domain.states import AttemptState, JobState, RunState


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
