"""The re-run rule: which jobs a re-run reuses from the run it re-runs, for each scope, and
whether its workspace starts from that run's."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.models import Workflow
from chalicelib.domain.states import JobState, RunState
from chalicelib.engine.records import (
    EVERY_JOB,
    FROM_FAILURE,
    JobRecord,
    RerunKind,
    RerunScope,
    RunRecord,
)
from chalicelib.engine.rerun import (
    copies_workspace,
    fed_by,
    keeps_workspace,
    reused_jobs,
    scope_of,
    unknown_jobs,
    workspaces_to_discard,
)
from tests.builders import action, job, stage, workflow_doc

LINK = "${{ jobs.%s.outputs.%s }}"


def ci() -> Workflow:
    """clone -> build (links clone) -> test (links build), lint beside build, and a report in
    the last stage that links to lint only; notify uses nobody's outputs."""
    return Workflow.model_validate(workflow_doc(
        stage("source", action("get", job("clone", outputs=["SHA"]))),
        stage("check",
              action("compile", job("build", data={"sha": LINK % ("clone", "SHA")}, outputs=["IMAGE"]),
                     job("test", env={"IMAGE": LINK % ("build", "IMAGE")}, outputs=["PASSED"])),
              action("style", job("lint", outputs=["WARNINGS"]))),
        stage("finish",
              action("tell", job("report", if_="${{ jobs.lint.outputs.WARNINGS == '0' }}"),
                     job("notify"))),
    ))


def previous(**states: JobState) -> list[JobRecord]:
    """The previous run's jobs: each with the state given (succeeded otherwise) and an output."""
    names = ["clone", "build", "test", "lint", "report", "notify"]
    return [JobRecord("r1", name, 0, 0, 0, status=states.get(name, JobState.SUCCEEDED),
                      outputs={"OUT": name}) for name in names]


# Whether the run re-run still has its workspace (engine.rerun.keeps_workspace).
KEPT, GONE = {"workspace_kept": True}, {"workspace_kept": False}


def ended(run_id: str, state: RunState) -> RunRecord:
    return RunRecord(run_id, "demo", "ci", 1, state, 0.0)


def jobs_scope(*names: str) -> RerunScope:
    return RerunScope(RerunKind.JOBS, names)


def test_re_running_a_job_re_runs_every_job_its_outputs_feed_through_links_and_chains() -> None:
    assert fed_by(ci(), ["clone"]) == {"clone", "build", "test"}
    assert fed_by(ci(), ["build"]) == {"build", "test"}


def test_an_if_that_reads_a_jobs_outputs_counts_as_being_fed_by_it() -> None:
    assert fed_by(ci(), ["lint"]) == {"lint", "report"}


def test_a_job_in_a_later_stage_that_uses_none_of_its_outputs_is_reused() -> None:
    reused = reused_jobs(ci(), previous(), jobs_scope("build"), **KEPT)
    assert sorted(reused) == ["clone", "lint", "notify", "report"]
    assert reused["notify"] == {"OUT": "notify"}


def test_the_workflows_env_feeds_every_job() -> None:
    document: dict[str, Any] = workflow_doc(
        stage("one", action("a", job("version", outputs=["V"]))),
        stage("two", action("b", job("ship"), job("tag"))),
        env={"VERSION": LINK % ("version", "V")},
    )
    assert fed_by(Workflow.model_validate(document), ["version"]) == {"version", "ship", "tag"}


def test_a_mount_source_that_reads_an_output_counts_as_fed() -> None:
    document = workflow_doc(
        stage("one", action("a", job("where", outputs=["DIR"]))),
        stage("two", action("b", job("use", mounts=[{"source": LINK % ("where", "DIR"), "target": "/in"}]),
                            job("other"))),
    )
    assert fed_by(Workflow.model_validate(document), ["where"]) == {"where", "use"}


def test_a_job_that_did_not_succeed_before_runs_again_whatever_the_scope() -> None:
    before = previous(lint=JobState.FAILED, report=JobState.SKIPPED)
    reused = reused_jobs(ci(), before, jobs_scope("test"), **KEPT)
    assert sorted(reused) == ["build", "clone", "notify"]


def test_a_job_reused_before_is_reused_again() -> None:
    reused = reused_jobs(ci(), previous(clone=JobState.REUSED), jobs_scope("lint"), **KEPT)
    assert reused["clone"] == {"OUT": "clone"}


def test_all_reuses_nothing_and_starts_an_empty_workspace() -> None:
    reused = reused_jobs(ci(), previous(), EVERY_JOB, **KEPT)
    assert reused == {} and not copies_workspace(reused, **KEPT)


def test_from_failure_reuses_every_job_that_did_its_work() -> None:
    before = previous(test=JobState.FAILED, report=JobState.SKIPPED)
    reused = reused_jobs(ci(), before, FROM_FAILURE, **KEPT)
    assert sorted(reused) == ["build", "clone", "lint", "notify"]
    assert copies_workspace(reused, **KEPT)


def test_with_the_workspace_gone_a_job_runs_again_with_what_made_its_files() -> None:
    # clone and build, which ran before test, run again to make its files afresh; lint
    # beside it and the last stage, which do not feed on them, are reused, and the
    # workspace starts empty.
    reused = reused_jobs(ci(), previous(), jobs_scope("test"), **GONE)
    assert sorted(reused) == ["lint", "notify", "report"]
    assert not copies_workspace(reused, **GONE)


def test_with_the_workspace_gone_the_last_job_runs_again_with_everything_before_it() -> None:
    assert reused_jobs(ci(), previous(), jobs_scope("notify"), **GONE) == {}


def test_with_the_workspace_kept_only_the_job_and_what_it_feeds_run_again() -> None:
    reused = reused_jobs(ci(), previous(), jobs_scope("test"), **KEPT)
    assert sorted(reused) == ["build", "clone", "lint", "notify", "report"]
    assert copies_workspace(reused, **KEPT)


def test_a_failed_or_cancelled_run_and_the_newest_success_keep_their_workspaces() -> None:
    assert keeps_workspace(ended("r1", RunState.FAILED), newest_success="r9")
    assert keeps_workspace(ended("r1", RunState.CANCELLED), newest_success=None)
    assert keeps_workspace(ended("r9", RunState.SUCCEEDED), newest_success="r9")
    assert not keeps_workspace(ended("r1", RunState.SUCCEEDED), newest_success="r9")


def test_a_success_discards_the_success_before_it_and_nothing_else() -> None:
    assert workspaces_to_discard(ended("r3", RunState.SUCCEEDED), ["r3", "r2"]) == ["r2"]
    assert workspaces_to_discard(ended("r3", RunState.SUCCEEDED), ["r3"]) == []
    # A run that ends after a newer one succeeded keeps nothing of its own.
    assert workspaces_to_discard(ended("r2", RunState.SUCCEEDED), ["r3", "r2"]) == ["r2"]
    assert workspaces_to_discard(ended("r4", RunState.FAILED), ["r3", "r2"]) == []


def test_a_run_that_is_no_re_run_reuses_nothing() -> None:
    assert reused_jobs(ci(), previous(), None, **KEPT) == {}


def test_a_re_run_without_a_stored_scope_was_from_failure_and_a_new_run_has_none() -> None:
    new = RunRecord("r2", "demo", "ci", 1, RunState.QUEUED, 0.0)
    assert scope_of(new) is None
    new.rerun_of = "r1"
    assert scope_of(new) == FROM_FAILURE
    new.rerun_scope = EVERY_JOB
    assert scope_of(new) == EVERY_JOB


def test_names_that_are_no_job_are_listed_once_in_the_order_given() -> None:
    assert unknown_jobs(ci(), ["zeta", "build", "alpha", "zeta"]) == ["zeta", "alpha"]


def test_a_scope_reads_back_from_its_document() -> None:
    for scope in (FROM_FAILURE, EVERY_JOB, jobs_scope("build", "lint")):
        assert RerunScope.from_document(scope.as_document()) == scope
    assert jobs_scope("build").as_document() == {"scope": "jobs", "jobs": ["build"]}
    assert EVERY_JOB.as_document() == {"scope": "all"}
    assert RerunScope.from_document(None) is None
