"""The minute check of the EKS jobs (chalicelib/cloud/eks_check.py): each Job that ended is
judged by the finaliser and then deleted; one whose last lines may still be on their way waits
for the next check; a failure loses nothing."""

from __future__ import annotations

from typing import cast

import pytest

from chalicelib.cloud.eks_check import EksJobsCheck
from chalicelib.cloud.events import TaskStopped, task_group
from chalicelib.cloud.verdict import TaskFinaliser, Verdict
from chalicelib.errors import StoreUnavailable

NOW = 1_000.0


def ended(name: str, stopped_at: float | None = NOW - 60) -> TaskStopped:
    return TaskStopped(f"eks:containerops/{name}", task_group("r1", name, 1), 0, "EssentialContainerExited",
                       "", "", NOW - 70, stopped_at)


class Jobs:
    def __init__(self, *jobs: TaskStopped) -> None:
        self.jobs = list(jobs)
        self.removed: list[str] = []

    def ended(self) -> list[TaskStopped]:
        return [job for job in self.jobs if job.task_arn not in self.removed]

    def remove(self, task_arn: str) -> None:
        self.removed.append(task_arn)


class Finaliser:
    def __init__(self, failing: set[str] | None = None) -> None:
        self.judged: list[str] = []
        self.failing = failing or set()

    def task_stopped(self, stopped: TaskStopped) -> Verdict:
        if stopped.task_arn in self.failing:
            raise StoreUnavailable("the store is throttled")
        self.judged.append(stopped.task_arn)
        return Verdict.JUDGED


def check(jobs: Jobs, finaliser: Finaliser) -> EksJobsCheck:
    return EksJobsCheck(jobs, cast(TaskFinaliser, finaliser), log_grace=15.0, clock=lambda: NOW)


def test_an_ended_job_is_judged_then_deleted() -> None:
    jobs, finaliser = Jobs(ended("build")), Finaliser()
    assert check(jobs, finaliser).check() == {"eks:containerops/build": Verdict.JUDGED}
    assert finaliser.judged == jobs.removed == ["eks:containerops/build"]


def test_a_job_that_ended_moments_ago_waits_for_its_last_lines() -> None:
    jobs, finaliser = Jobs(ended("build", stopped_at=NOW - 2)), Finaliser()
    assert check(jobs, finaliser).check() == {}
    assert finaliser.judged == jobs.removed == []


def test_a_job_that_could_not_start_has_no_end_time_and_is_judged_at_once() -> None:
    jobs, finaliser = Jobs(ended("build", stopped_at=None)), Finaliser()
    assert list(check(jobs, finaliser).check()) == ["eks:containerops/build"]


def test_a_job_whose_verdict_failed_is_kept_for_the_next_check_and_the_others_go_on(
        caplog: pytest.LogCaptureFixture) -> None:
    jobs = Jobs(ended("build"), ended("test"))
    finaliser = Finaliser(failing={"eks:containerops/build"})
    assert list(check(jobs, finaliser).check()) == ["eks:containerops/test"]
    assert jobs.removed == ["eks:containerops/test"]
    assert "could not be judged" in caplog.text
    finaliser.failing.clear()
    assert list(check(jobs, finaliser).check()) == ["eks:containerops/build"]
