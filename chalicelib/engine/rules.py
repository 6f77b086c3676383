"""The run rules: what a ready job becomes, how an attempt's end turns into the job's next
step, which ends stop the run, and how a run ends.

Every driver asks these functions and acts on the answer: the local driver in its loop,
the cloud handlers (one Lambda call per job launch or job end) from stored records. Pure
functions over definitions and records: no store, no containers, no clock of their own
(`now` is passed in), so two drivers can never disagree about a run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from chalicelib.domain.catalog import ComponentCatalog
from chalicelib.domain.expressions import ExpressionError
from chalicelib.domain.fanout import is_fan_out
from chalicelib.domain.host_mounts import MountPolicy, MountRefused
from chalicelib.domain.models import Job, Workflow
from chalicelib.domain.quantities import parse_duration
from chalicelib.domain.states import AttemptState, JobState, RunState
from chalicelib.engine.engine import (
    AttemptEnd,
    JobPlan,
    ReportedOutput,
    RunContext,
    Skip,
    component_of,
    judge_attempt,
    plan_job,
    retry_delay,
)
from chalicelib.engine.records import AttemptRecord, RunRecord
from chalicelib.errors import ContainerOpsError

# The run and attempt it succeeded in are the run document's `reused_from`.
REUSED_REASON = "reused: it succeeded in the run this one re-runs"


# --- a job that is ready -------------------------------------------------------------

FAN_OUT_AS_ONE_JOB = ("this job fans out (matrix or shards): it runs as its instances"
                      " (engine.fanout), never as one container")


@dataclass(frozen=True)
class Reuse:
    """A re-run from failure takes the job's outputs from the run it re-runs."""

    outputs: dict[str, str]


@dataclass(frozen=True)
class FailJob:
    """The job cannot be planned (an unknown component, a bad expression)."""

    reason: str


@dataclass(frozen=True)
class Launch:
    plan: JobPlan


ReadyDecision = Reuse | FailJob | Skip | Launch


def decide_ready_job(
    workflow: Workflow, job: Job, catalog: ComponentCatalog, context: RunContext,
    reuse: Mapping[str, Mapping[str, str]], mounts: MountPolicy | None = None,
) -> ReadyDecision:
    """What to do with a job whose predecessors are done: reuse, fail, skip, or launch.

    `mounts`: what the driver lets a job mount from its host (the local driver's policy; None
    where jobs have no host, on AWS, whose validation refuses host mounts). A refused mount
    fails the job before anything starts; an admitted one is launched from its real path."""
    if job.name in reuse:
        return Reuse(dict(reuse[job.name]))
    decision = plan_decision(workflow, job, catalog, context, mounts)
    if is_fan_out(job) and isinstance(decision, Launch):
        # Both drivers decide a fan-out job with engine.fanout.decide_ready_group and run
        # its instances; one that asked here would run it as one container: it fails instead.
        return FailJob(FAN_OUT_AS_ONE_JOB)
    return decision


def plan_decision(
    workflow: Workflow, job: Job, catalog: ComponentCatalog, context: RunContext,
    mounts: MountPolicy | None = None, adjust: Callable[[JobPlan], JobPlan] | None = None,
) -> FailJob | Skip | Launch:
    """Fail, skip or launch the job as `context` sees it: what `decide_ready_job` does for a
    job it does not reuse, and `engine.fanout.decide_ready_instance` for each instance
    (`adjust`: what it changes in the plan, before the host mounts are judged)."""
    try:
        planned = plan_job(workflow, job, component_of(job, catalog), context)
    except (ContainerOpsError, ExpressionError) as exc:
        return FailJob(str(exc))
    if isinstance(planned, Skip):
        return planned
    if adjust is not None:
        planned = adjust(planned)
    return Launch(planned) if mounts is None else _admitted(planned, mounts)


def _admitted(plan: JobPlan, policy: MountPolicy) -> Launch | FailJob:
    admitted = []
    for index, mount in enumerate(plan.mounts):
        verdict = policy.judge(mount.source, read_only=mount.read_only)
        if isinstance(verdict, MountRefused):
            return FailJob(f"host mount refused (mounts[{index}], at {mount.target}): {verdict.reason}")
        admitted.append(replace(mount, source=verdict.source))
    return Launch(replace(plan, mounts=tuple(admitted)))


@dataclass(frozen=True)
class JobEnd:
    """A job's final state, its reason and the outputs its record keeps."""

    state: JobState
    reason: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


def end_without_launch(decision: Reuse | FailJob | Skip) -> JobEnd:
    if isinstance(decision, Reuse):
        return JobEnd(JobState.REUSED, REUSED_REASON, dict(decision.outputs))
    if isinstance(decision, FailJob):
        return JobEnd(JobState.FAILED, decision.reason)
    return JobEnd(JobState.SKIPPED, decision.reason)


# --- an attempt that ended -----------------------------------------------------------

@dataclass(frozen=True)
class AttemptOutcome:
    status: AttemptState
    reason: str
    notes: tuple[str, ...] = ()  # lines ContainerOps adds to the attempt's log, in order


def attempt_outcome(plan: JobPlan, end: AttemptEnd, reported: ReportedOutput) -> AttemptOutcome:
    """The attempt's final state and reason, from how its container ended and what it said.

    A stopped attempt is `cancelled` with the reason it was stopped for (the run was
    cancelled, another job failed); a timed-out one fails with `timeout`.
    """
    verdict = judge_attempt(plan, end, reported)
    notes: tuple[str, ...] = ()
    if end.launch_error:
        notes = (end.launch_error,)
    elif not verdict.succeeded and end.timed_out:
        notes = (f"stopped: timeout after {plan.timeout:g}s"
                 + (f", never started: {end.waiting_reason}" if end.waiting_reason else ""),)
    if end.workspace_error:
        notes += (end.workspace_error,)
    if verdict.succeeded:
        return AttemptOutcome(AttemptState.SUCCEEDED, "", notes)
    if end.cancelled and not end.timed_out:
        return AttemptOutcome(AttemptState.CANCELLED, end.stop_reason or verdict.reason, notes)
    return AttemptOutcome(AttemptState.FAILED, verdict.reason, notes)


@dataclass(frozen=True)
class Retry:
    attempt: int  # the number of the next attempt
    delay: float  # seconds to wait before it


_JOB_STATE_OF_ATTEMPT = {
    AttemptState.SUCCEEDED: JobState.SUCCEEDED,
    AttemptState.FAILED: JobState.FAILED,
    AttemptState.CANCELLED: JobState.CANCELLED,
    AttemptState.RUNNING: JobState.FAILED,  # an attempt that never got a verdict
}


def after_attempt(plan: JobPlan, attempt: AttemptRecord, *, stop_reason: str | None) -> Retry | JobEnd:
    """Retry a failed attempt that has retries left, or end the job with the attempt's state,
    reason and outputs.

    `stop_reason` is why the job is being stopped (None while it is not). A stopped job is
    never retried: a failed attempt that had retries left ends it `cancelled` for that
    reason, as if the stop had come while it waited to retry. So the job's end does not
    depend on whether the stop reached it just before or just after its container exited.
    A failed attempt with no retries left ends it `failed` whether it is being stopped or not.
    """
    if attempt.status is AttemptState.FAILED:
        delay = retry_delay(plan, attempt.number, cancelled=False)
        if delay is not None:
            if stop_reason is not None:
                return stopped_before_retry(attempt, stop_reason)
            return Retry(attempt.number + 1, delay)
    return JobEnd(_JOB_STATE_OF_ATTEMPT[attempt.status], attempt.reason, dict(attempt.outputs))


def stopped_before_retry(attempt: AttemptRecord, stop_reason: str) -> JobEnd:
    """A job stopped while it waited to retry ends cancelled, for the reason it was stopped."""
    return JobEnd(JobState.CANCELLED, stop_reason, dict(attempt.outputs))


def stop_reason_of_run(run: RunRecord) -> str | None:
    """Why the stored run's jobs are being stopped: its cancel, or its end; None while it
    runs on (what a driver without a loop in memory passes to `after_attempt`)."""
    if run.cancel_requested:
        return CANCELLED.stop_reason
    if run.status.is_final:
        return RUN_ENDED_STOP_REASON
    return None


# --- what stops a run ----------------------------------------------------------------

@dataclass(frozen=True)
class Halt:
    """Why a run stops early: its final state and reason, and the reason given to the jobs
    still running when they are stopped."""

    state: RunState
    reason: str
    stop_reason: str


CANCELLED = Halt(RunState.CANCELLED, "cancelled", "cancelled")
WORKFLOW_TIMEOUT = Halt(RunState.FAILED, "workflow timeout", "stopped: workflow timeout")


def stop_reason_of(stop_reason: str, *, run_cancelled: bool) -> str:
    """Why an attempt's container was stopped: the reason the attempt was given, or the run's
    cancel when none reached it (a cancel may stop the container before the attempt is told,
    and an exit on SIGTERM must not read as a failure of the job)."""
    return stop_reason or (CANCELLED.stop_reason if run_cancelled else "")


def passes(workflow: Workflow, job_name: str, state: JobState) -> bool:
    """Whether later jobs may run after a job ended in `state` (continue_on_error counts)."""
    job = workflow.job_named(job_name)
    return state.counts_as_success or (
        state is JobState.FAILED and job is not None and job.continue_on_error
    )


def halt_after(workflow: Workflow, job_name: str, end: JobEnd) -> Halt | None:
    """The halt a job's end causes: a failure that does not pass stops the run. A cancelled
    job was stopped by a halt already, so it causes none of its own."""
    if passes(workflow, job_name, end.state) or end.state is JobState.CANCELLED:
        return None
    return Halt(RunState.FAILED, f"job '{job_name}' failed: {end.reason}",
                f"stopped: job '{job_name}' failed")


def run_deadline(workflow: Workflow, run: RunRecord, now: float) -> float | None:
    """When the workflow's timeout stops the run (counted from its start), if it has one."""
    if workflow.spec.timeout is None:
        return None
    return (run.started_at or now) + parse_duration(workflow.spec.timeout)


def halt_requested(run: RunRecord, deadline: float | None, now: float) -> Halt | None:
    """A cancel asked for, or the workflow's timeout reached."""
    if run.cancel_requested:
        return CANCELLED
    if deadline is not None and now >= deadline:
        return WORKFLOW_TIMEOUT
    return None


# --- how a run ends ------------------------------------------------------------------

@dataclass(frozen=True)
class RunEnd:
    state: RunState
    reason: str
    not_run_reason: str  # for the jobs that never started, which become skipped


def run_end(halt: Halt | None) -> RunEnd:
    if halt is None:
        return RunEnd(RunState.SUCCEEDED, "", "not run: run ended")
    return RunEnd(halt.state, halt.reason, f"not run: {halt.reason}")


RUN_ENDED_STOP_REASON = "stopped: run ended"


def unfinished_job_end(state: JobState, halt: Halt | None, end: RunEnd) -> JobEnd | None:
    """What a job that had not finished when its run ended becomes: one never started is
    skipped (`not run: …`), one still running was stopped with the run: cancelled, for the
    reason the halt gave the jobs it stopped. A finished job stays as it is (None)."""
    if state is JobState.PENDING:
        return JobEnd(JobState.SKIPPED, end.not_run_reason)
    if state is JobState.RUNNING:
        return JobEnd(JobState.CANCELLED, halt.stop_reason if halt is not None else RUN_ENDED_STOP_REASON)
    return None
