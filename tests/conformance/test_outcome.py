"""Outcomes compare what both backends must agree on, and normalise only the ids that must
differ: the run's own id and its containers' ids."""

from __future__ import annotations

from chalicelib.domain.states import AttemptState, JobState, RunState
from chalicelib.engine.records import AttemptRecord, JobRecord, RunRecord
from tests.conformance.outcome import AttemptOutcome, outcome_of, with_stopped_exit_codes_unknown

TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/containerops/0123456789abcdef0123456789abcdef"
DOCKER_ID = "f" * 64


def run(run_id: str = "20261201-000000-aaaaaaaa", reason: str = "", rerun_of: str | None = None) -> RunRecord:
    return RunRecord(run_id, "ns", "wf", 1, RunState.FAILED, 1.0, reason=reason, rerun_of=rerun_of,
                     started_at=2.0, finished_at=3.0)


def job(reason: str = "", **fields: object) -> JobRecord:
    return JobRecord("r", "build", 0, 0, 0, status=JobState.FAILED, reason=reason, attempts=1,
                     exit_code=1, **fields)  # type: ignore[arg-type]


def attempt(container_id: str, reason: str = "") -> AttemptRecord:
    return AttemptRecord("r", "build", 1, AttemptState.FAILED, container_id=container_id, exit_code=1,
                         reason=reason)


def test_times_and_ids_are_not_compared() -> None:
    early = outcome_of(run("run-a"), [job(started_at=1.0)], [attempt(DOCKER_ID)])
    late = outcome_of(run("run-b"), [job(started_at=9.0)], [attempt(TASK_ARN)])

    assert early == late
    assert (early.run_id, late.run_id) == ("run-a", "run-b")


def test_a_run_id_in_a_reason_is_normalised_and_the_first_run_apart_from_this_one() -> None:
    outcome = outcome_of(run("run-b", "run run-b re-runs run-a", rerun_of="run-a"), [job()], [])

    assert outcome.reason == "run <run> re-runs <first run>"


def test_container_ids_are_normalised_in_every_spelling() -> None:
    docker_side = outcome_of(run(), [job(f"container {DOCKER_ID[:12]} gone")],
                             [attempt(DOCKER_ID, f"container {DOCKER_ID} gone")])
    aws_side = outcome_of(run(), [job("container 0123456789abcdef0123456789abcdef gone")],
                          [attempt(TASK_ARN, f"container {TASK_ARN} gone")])

    assert docker_side == aws_side
    assert docker_side.job("build").attempt_outcomes == (
        AttemptOutcome("failed", "container <container> gone", 1),)


def test_any_other_difference_in_a_reason_or_exit_code_counts() -> None:
    base = outcome_of(run(), [job("timeout")], [attempt(DOCKER_ID, "timeout")])
    other_reason = outcome_of(run(), [job("timed out")], [attempt(DOCKER_ID, "timeout")])
    other_exit = outcome_of(run(), [job("timeout")], [
        AttemptRecord("r", "build", 1, AttemptState.FAILED, DOCKER_ID, 137, "timeout")])

    assert base != other_reason
    assert base != other_exit


def test_an_observation_counts_like_the_records() -> None:
    base = outcome_of(run(), [job()], [])

    assert base.observed("last line", "a") == base.observed("last line", "a")
    assert base.observed("last line", "a") != base.observed("last line", "b")


def test_on_eks_only_the_exit_codes_of_stopped_attempts_are_unknown() -> None:
    timed_out = outcome_of(run(), [job("timeout")], [attempt(DOCKER_ID, "timeout")])
    exited = outcome_of(run(), [job("container exited with code 1")], [attempt(DOCKER_ID, "exited")])

    [stopped] = with_stopped_exit_codes_unknown(timed_out).jobs.values()
    assert (stopped.exit_code, stopped.attempt_outcomes[0].exit_code) == (None, None)
    assert with_stopped_exit_codes_unknown(exited) == exited
