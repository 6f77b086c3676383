"""A run taken up from stored records (chalicelib/engine/restore.py): the context its
expressions see and where its stages stand."""

from __future__ import annotations

from chalicelib.domain.states import JobState, RunState
from chalicelib.engine.records import JobRecord, RunRecord
from chalicelib.engine.restore import restored_scheduler, run_context
from tests.builders import action, job, stage, workflow

RUN = RunRecord("r1", "demo", "ci", 1, RunState.RUNNING, 0.0, params={"ref": "main"},
                trigger={"type": "api"})


def record(name: str, status: JobState, stage_index: int = 0, **fields: object) -> JobRecord:
    return JobRecord("r1", name, stage_index, 0, 0, status, **fields)  # type: ignore[arg-type]


def test_the_context_sees_the_outputs_of_jobs_that_did_their_work_only() -> None:
    jobs = [record("build", JobState.SUCCEEDED, outputs={"IMAGE": "app:1"}),
            record("lint", JobState.REUSED, outputs={"SCORE": "10"}),
            record("flaky", JobState.FAILED, outputs={"HALF": "done"}),
            record("later", JobState.PENDING)]
    context = run_context(RUN, jobs, {"TOKEN": "t0ken"})
    assert context.outputs == {"build": {"IMAGE": "app:1"}, "lint": {"SCORE": "10"}}
    assert (context.run_id, context.params, context.trigger, context.secrets) == (
        "r1", {"ref": "main"}, {"type": "api"}, {"TOKEN": "t0ken"})


def test_a_restored_scheduler_offers_the_jobs_after_the_finished_ones() -> None:
    flow = workflow(stage("one", action("a", job("build"), job("pack"))),
                    stage("two", action("b", job("deploy"))))
    scheduler = restored_scheduler(flow, [record("build", JobState.SUCCEEDED),
                                          record("pack", JobState.PENDING),
                                          record("deploy", JobState.PENDING, 1)])
    assert scheduler.get_ready() == ["pack"]


def test_a_restored_scheduler_counts_running_jobs_as_running() -> None:
    flow = workflow(stage("one", action("a", job("build")), action("b", job("lint"))),
                    stage("two", action("c", job("deploy"))))
    scheduler = restored_scheduler(flow, [record("build", JobState.RUNNING),
                                          record("lint", JobState.SUCCEEDED),
                                          record("deploy", JobState.PENDING, 1)])
    assert scheduler.get_ready() == [] and scheduler.running() == ["build"]
    scheduler.done("build", True)
    assert scheduler.get_ready() == ["deploy"]


def test_a_restored_scheduler_stops_after_a_failure_unless_it_may_continue() -> None:
    flow = workflow(stage("one", action("a", job("build")), action("b", job("lint", continue_on_error=True))),
                    stage("two", action("c", job("deploy"))))
    passing = restored_scheduler(flow, [record("build", JobState.SUCCEEDED),
                                        record("lint", JobState.FAILED),
                                        record("deploy", JobState.PENDING, 1)])
    assert passing.get_ready() == ["deploy"]
    failing = restored_scheduler(flow, [record("build", JobState.FAILED),
                                        record("lint", JobState.SUCCEEDED),
                                        record("deploy", JobState.PENDING, 1)])
    assert failing.get_ready() == [] and failing.never_started() == ["deploy"]
