"""Each attempt runs on the platform its definition chose, and every later call about it goes
to the platform its ref names (chalicelib/cloud/platform_tasks.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.cloud.events import TaskStopped
from chalicelib.cloud.platform_tasks import PlatformTasks
from chalicelib.cloud.ports import TaskRequest
from chalicelib.domain.platforms import Platform
from chalicelib.errors import LaunchError
from tests.aws.ecs_builders import task_request


class RecordingTasks:
    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[tuple[str, str]] = []

    def run(self, request: TaskRequest) -> str:
        self.calls.append(("run", request.plan.job))
        return f"{self.name}-ref" if self.name == "fargate" else f"eks:containerops/{request.plan.job}"

    def find(self, request_key: str) -> str | None:
        self.calls.append(("find", request_key))
        return None

    def stop(self, task_arn: str, reason: str) -> None:
        self.calls.append(("stop", task_arn))

    def end_of(self, task_arn: str) -> TaskStopped | None:
        self.calls.append(("end_of", task_arn))
        return None


def on(platform: str | None) -> TaskRequest:
    request = task_request()
    return replace(request, plan=replace(request.plan, platform=platform))


@pytest.fixture
def fargate() -> RecordingTasks:
    return RecordingTasks("fargate")


@pytest.fixture
def eks() -> RecordingTasks:
    return RecordingTasks("eks")


def test_a_job_naming_eks_runs_on_eks_and_one_naming_none_on_the_default(
        fargate: RecordingTasks, eks: RecordingTasks) -> None:
    tasks = PlatformTasks(fargate, eks, Platform.FARGATE)
    assert tasks.run(on("eks")).startswith("eks:")
    assert tasks.run(on(None)) == tasks.run(on("fargate")) == "fargate-ref"
    assert [call for call, _ in eks.calls] == ["run"] and len(fargate.calls) == 2


def test_the_deployments_default_decides_for_a_job_naming_none(
        fargate: RecordingTasks, eks: RecordingTasks) -> None:
    assert PlatformTasks(fargate, eks, Platform.EKS).run(on(None)).startswith("eks:")


def test_a_job_naming_eks_without_a_cluster_fails_to_launch_saying_so(fargate: RecordingTasks) -> None:
    with pytest.raises(LaunchError, match="this deployment has no EKS cluster"):
        PlatformTasks(fargate, None, Platform.FARGATE).run(on("eks"))


def test_stops_and_ends_go_to_the_platform_the_ref_names(
        fargate: RecordingTasks, eks: RecordingTasks) -> None:
    tasks = PlatformTasks(fargate, eks, Platform.FARGATE)
    tasks.stop("eks:containerops/co-build-1-ab", "cancelled")
    tasks.end_of("arn:aws:ecs:us-east-1:1:task/c/feed")
    assert eks.calls == [("stop", "eks:containerops/co-build-1-ab")]
    assert fargate.calls == [("end_of", "arn:aws:ecs:us-east-1:1:task/c/feed")]


def test_an_attempt_is_looked_for_on_both_platforms(fargate: RecordingTasks, eks: RecordingTasks) -> None:
    assert PlatformTasks(fargate, eks, Platform.FARGATE).find("r1/build/1") is None
    assert fargate.calls == eks.calls == [("find", "r1/build/1")]
