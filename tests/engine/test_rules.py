"""The run rules (chalicelib/engine/rules.py): what a ready job becomes, what an attempt's end
leads to, what stops a run and how it ends. Pure functions: no store, no containers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.host_mounts import MountPolicy
from chalicelib.domain.protocol import OutputCollector
from chalicelib.domain.states import AttemptState, JobState, RunState
from chalicelib.engine.engine import AttemptEnd, JobPlan, RunContext, Skip, plan_job
from chalicelib.engine.records import AttemptRecord, RunRecord
from chalicelib.engine.rules import (
    CANCELLED,
    REUSED_REASON,
    WORKFLOW_TIMEOUT,
    FailJob,
    Halt,
    JobEnd,
    Launch,
    Retry,
    Reuse,
    after_attempt,
    attempt_outcome,
    decide_ready_job,
    end_without_launch,
    halt_after,
    halt_requested,
    passes,
    run_deadline,
    run_end,
    stop_reason_of_run,
    stopped_before_retry,
    unfinished_job_end,
)
from tests.builders import action, catalog, component, job, stage, workflow

CONTEXT = RunContext("run-1", params={"ref": "main"})


def one_job(**fields: Any) -> Any:
    return workflow(stage("only", action("a", job("build", **fields))))


def the_plan(**fields: Any) -> JobPlan:
    flow = one_job(**fields)
    planned = plan_job(flow, flow.jobs()[0], None, CONTEXT)
    assert isinstance(planned, JobPlan)
    return planned


def attempt(number: int = 1, status: AttemptState = AttemptState.FAILED, **fields: Any) -> AttemptRecord:
    return AttemptRecord(run_id="run-1", job="build", number=number, status=status, **fields)


def reported(result: bool | None = None, violation: str = "") -> OutputCollector:
    return OutputCollector(reported_result=result, violation=violation)


# --- a ready job -------------------------------------------------------------------------


def test_a_job_the_rerun_reuses_takes_its_outputs_without_a_plan() -> None:
    flow = one_job(component="demo/unknown@1.0.0")  # would fail to plan
    decision = decide_ready_job(flow, flow.jobs()[0], catalog(), CONTEXT, {"build": {"K": "v"}})
    assert decision == Reuse({"K": "v"})
    assert end_without_launch(decision) == JobEnd(JobState.REUSED, REUSED_REASON, {"K": "v"})


def test_a_job_whose_component_is_unknown_fails_saying_which() -> None:
    flow = one_job(component="demo/unknown@1.0.0")
    decision = decide_ready_job(flow, flow.jobs()[0], catalog(), CONTEXT, {})
    assert isinstance(decision, FailJob)
    assert "demo/unknown@1.0.0" in decision.reason
    assert end_without_launch(decision).state is JobState.FAILED


def test_a_job_whose_condition_is_false_is_skipped() -> None:
    flow = one_job(if_="${{ params.ref == 'release' }}")
    decision = decide_ready_job(flow, flow.jobs()[0], catalog(), CONTEXT, {})
    assert isinstance(decision, Skip)
    assert end_without_launch(decision) == JobEnd(
        JobState.SKIPPED, "condition is false: ${{ params.ref == 'release' }}")


def test_a_job_that_can_run_is_launched_with_its_plan() -> None:
    flow = one_job(component="demo/tool@1.0.0", data={"ref": "${{ params.ref }}"})
    decision = decide_ready_job(flow, flow.jobs()[0], catalog(component()), CONTEXT, {})
    assert isinstance(decision, Launch)
    assert decision.plan.data["ref"] == "main"


def test_a_mount_built_by_expressions_outside_the_roots_fails_the_job_naming_the_path(
    tmp_path: Path,
) -> None:
    (tmp_path / "allowed").mkdir()
    flow = one_job(mounts=[{"source": "${{ params.ref }}", "target": "/src"}])
    context = RunContext("run-1", params={"ref": f"{tmp_path}/allowed/../elsewhere"})
    decision = decide_ready_job(flow, flow.jobs()[0], catalog(), context, {},
                                MountPolicy.allowing([tmp_path / "allowed"]))
    assert isinstance(decision, FailJob)
    assert decision.reason.startswith("host mount refused (mounts[0], at /src): ")
    assert f"{tmp_path}/allowed/../elsewhere (really {tmp_path}/elsewhere) is outside" in decision.reason


def test_an_admitted_mount_is_launched_from_its_real_path(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    flow = one_job(mounts=[{"source": "${{ params.ref }}", "target": "/src", "read_only": False}])
    context = RunContext("run-1", params={"ref": f"{tmp_path}/link"})
    decision = decide_ready_job(flow, flow.jobs()[0], catalog(), context, {},
                                MountPolicy.allowing([tmp_path]))
    assert isinstance(decision, Launch)
    assert [(m.source, m.target, m.read_only) for m in decision.plan.mounts] == [
        (str(tmp_path / "real"), "/src", False)]


# --- an attempt that ended ---------------------------------------------------------------


@pytest.mark.parametrize("result", [None, True])
def test_an_attempt_that_exits_zero_without_reporting_failure_succeeds(result: bool | None) -> None:
    outcome = attempt_outcome(the_plan(), AttemptEnd(0), reported(result))
    assert (outcome.status, outcome.reason, outcome.notes) == (AttemptState.SUCCEEDED, "", ())


def test_an_attempt_that_reports_success_but_exits_non_zero_fails() -> None:
    outcome = attempt_outcome(the_plan(), AttemptEnd(2), reported(True))
    assert (outcome.status, outcome.reason) == (
        AttemptState.FAILED, "container exited with code 2 after reporting CO_RESULT = true")


def test_an_attempt_that_broke_an_output_limit_fails_with_that_limit_even_on_exit_zero() -> None:
    outcome = attempt_outcome(the_plan(), AttemptEnd(0), reported(True, "output K is too big"))
    assert (outcome.status, outcome.reason) == (AttemptState.FAILED, "output K is too big")


def test_a_timed_out_attempt_fails_with_timeout_and_a_note() -> None:
    outcome = attempt_outcome(the_plan(timeout="90s"), AttemptEnd(137, timed_out=True), reported())
    assert (outcome.status, outcome.reason, outcome.notes) == (
        AttemptState.FAILED, "timeout", ("stopped: timeout after 90s",))


def test_a_stopped_attempt_is_cancelled_for_the_reason_it_was_stopped() -> None:
    end = AttemptEnd(137, cancelled=True, stop_reason="stopped: job 'lint' failed")
    outcome = attempt_outcome(the_plan(), end, reported())
    assert (outcome.status, outcome.reason) == (AttemptState.CANCELLED, "stopped: job 'lint' failed")


WORKSPACE_NOT_SAVED = ("the job's changes to the run's workspace were not saved"
                       " (workspace-save exited with code 1)")


def test_an_attempt_whose_workspace_was_not_saved_fails_saying_so_in_its_log() -> None:
    outcome = attempt_outcome(the_plan(), AttemptEnd(0, workspace_error=WORKSPACE_NOT_SAVED), reported())
    assert (outcome.status, outcome.reason, outcome.notes) == (
        AttemptState.FAILED, WORKSPACE_NOT_SAVED, (WORKSPACE_NOT_SAVED,))


def test_an_attempt_that_failed_by_itself_keeps_its_reason_when_its_workspace_was_not_saved() -> None:
    outcome = attempt_outcome(the_plan(), AttemptEnd(2, workspace_error=WORKSPACE_NOT_SAVED), reported())
    assert (outcome.status, outcome.reason, outcome.notes) == (
        AttemptState.FAILED, "container exited with code 2", (WORKSPACE_NOT_SAVED,))


def test_an_attempt_that_could_not_start_fails_with_the_launch_error_in_its_log() -> None:
    outcome = attempt_outcome(the_plan(), AttemptEnd(None, launch_error="image not found: x"),
                              reported())
    assert (outcome.status, outcome.reason, outcome.notes) == (
        AttemptState.FAILED, "image not found: x", ("image not found: x",))


def test_a_failed_attempt_with_retries_left_is_retried_after_a_doubling_backoff() -> None:
    plan = the_plan(retries={"limit": 3, "backoff": "10s"})
    assert after_attempt(plan, attempt(1), stop_reason=None) == Retry(2, 10.0)
    assert after_attempt(plan, attempt(2), stop_reason=None) == Retry(3, 20.0)
    assert after_attempt(plan, attempt(3), stop_reason=None) == Retry(4, 40.0)


def test_a_failed_attempt_with_no_retries_left_ends_the_job_failed_with_its_reason() -> None:
    plan = the_plan(retries={"limit": 1, "backoff": "1s"})
    last = attempt(2, reason="container exited with code 3", outputs={"K": "v"})
    assert after_attempt(plan, last, stop_reason=None) == JobEnd(
        JobState.FAILED, "container exited with code 3", {"K": "v"})


def test_a_job_stopped_as_its_attempt_fails_with_retries_left_ends_cancelled_not_retried() -> None:
    plan = the_plan(retries={"limit": 3, "backoff": "1s"})
    end = after_attempt(plan, attempt(1, reason="container exited with code 1"),
                        stop_reason="cancelled")
    assert end == JobEnd(JobState.CANCELLED, "cancelled")


def test_a_job_stopped_as_its_last_attempt_fails_ends_failed_for_the_attempt_reason() -> None:
    plan = the_plan(retries={"limit": 1, "backoff": "1s"})
    end = after_attempt(plan, attempt(2, reason="container exited with code 1"),
                        stop_reason="cancelled")
    assert end == JobEnd(JobState.FAILED, "container exited with code 1")


def test_a_stored_run_says_why_its_jobs_are_being_stopped() -> None:
    run = RunRecord("r", "demo", "ci", 1, RunState.RUNNING, 0.0)
    assert stop_reason_of_run(run) is None
    assert stop_reason_of_run(replace(run, cancel_requested=True)) == "cancelled"
    assert stop_reason_of_run(replace(run, status=RunState.FAILED)) == "stopped: run ended"


@pytest.mark.parametrize(("status", "state"), [
    (AttemptState.SUCCEEDED, JobState.SUCCEEDED),
    (AttemptState.CANCELLED, JobState.CANCELLED),
    (AttemptState.RUNNING, JobState.FAILED),
])
def test_an_attempt_that_is_not_retried_ends_the_job_in_its_own_state(
    status: AttemptState, state: JobState
) -> None:
    plan = the_plan(retries={"limit": 3, "backoff": "1s"})
    end = after_attempt(plan, attempt(1, status), stop_reason=None)
    assert isinstance(end, JobEnd) and end.state is state


def test_a_job_stopped_while_it_waits_to_retry_ends_cancelled_for_that_reason() -> None:
    assert stopped_before_retry(attempt(1), "cancelled") == JobEnd(JobState.CANCELLED, "cancelled")


# --- what stops a run --------------------------------------------------------------------


def test_a_failed_job_stops_the_run_saying_which_and_why() -> None:
    flow = one_job()
    assert halt_after(flow, "build", JobEnd(JobState.FAILED, "exit 3")) == Halt(
        RunState.FAILED, "job 'build' failed: exit 3", "stopped: job 'build' failed")


def test_a_failed_job_that_may_continue_on_error_does_not_stop_the_run() -> None:
    flow = one_job(continue_on_error=True)
    assert passes(flow, "build", JobState.FAILED)
    assert halt_after(flow, "build", JobEnd(JobState.FAILED, "exit 3")) is None


@pytest.mark.parametrize("state", [JobState.SUCCEEDED, JobState.SKIPPED, JobState.REUSED,
                                   JobState.CANCELLED])
def test_other_ends_do_not_stop_the_run(state: JobState) -> None:
    assert halt_after(one_job(), "build", JobEnd(state)) is None


def test_a_cancelled_job_does_not_let_later_jobs_run() -> None:
    assert not passes(one_job(continue_on_error=True), "build", JobState.CANCELLED)


def test_a_cancel_request_halts_the_run_before_the_workflow_timeout_does() -> None:
    run = RunRecord("r", "demo", "ci", 1, RunState.RUNNING, 0.0, started_at=100.0,
                    cancel_requested=True)
    assert halt_requested(run, deadline=50.0, now=200.0) is CANCELLED


def test_the_workflow_timeout_counts_from_the_runs_start() -> None:
    flow = workflow(stage("only", action("a", job("build"))), timeout="10m")
    run = RunRecord("r", "demo", "ci", 1, RunState.RUNNING, 0.0, started_at=100.0)
    deadline = run_deadline(flow, run, now=500.0)
    assert deadline == 700.0
    assert halt_requested(run, deadline, now=699.0) is None
    assert halt_requested(run, deadline, now=700.0) is WORKFLOW_TIMEOUT


def test_a_workflow_without_a_timeout_has_no_deadline() -> None:
    run = RunRecord("r", "demo", "ci", 1, RunState.RUNNING, 0.0)
    assert run_deadline(one_job(), run, now=1.0) is None
    assert halt_requested(run, None, now=1e12) is None


# --- how a run ends ----------------------------------------------------------------------


def test_a_run_that_was_never_halted_succeeds() -> None:
    end = run_end(None)
    assert (end.state, end.reason, end.not_run_reason) == (RunState.SUCCEEDED, "", "not run: run ended")


def test_a_halted_run_ends_in_the_halts_state_and_its_unstarted_jobs_say_why() -> None:
    end = run_end(Halt(RunState.FAILED, "job 'lint' failed: exit 1", "stopped: job 'lint' failed"))
    assert (end.state, end.reason, end.not_run_reason) == (
        RunState.FAILED, "job 'lint' failed: exit 1", "not run: job 'lint' failed: exit 1")
    assert run_end(CANCELLED).not_run_reason == "not run: cancelled"


def test_a_job_never_started_when_its_run_ends_is_skipped_saying_why() -> None:
    halt = Halt(RunState.FAILED, "job 'lint' failed: exit 1", "stopped: job 'lint' failed")
    assert unfinished_job_end(JobState.PENDING, halt, run_end(halt)) == JobEnd(
        JobState.SKIPPED, "not run: job 'lint' failed: exit 1")


def test_a_job_still_running_when_its_run_halts_is_cancelled_for_the_halts_reason() -> None:
    assert unfinished_job_end(JobState.RUNNING, CANCELLED, run_end(CANCELLED)) == JobEnd(
        JobState.CANCELLED, "cancelled")


def test_a_finished_job_stays_as_it_is_when_its_run_ends() -> None:
    assert unfinished_job_end(JobState.SUCCEEDED, CANCELLED, run_end(CANCELLED)) is None
