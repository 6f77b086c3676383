"""What a workflow may not do on AWS (chalicelib/domain/cloud_rules.py)."""

from __future__ import annotations

from chalicelib.domain.cloud_rules import cloud_problems
from chalicelib.domain.platforms import Platform
from tests.builders import action, job, stage, workflow


def test_a_workflow_without_mounts_or_embedded_secrets_may_run_on_aws() -> None:
    flow = workflow(stage("s", action("a", job("b", env={"TOKEN": "${{ secrets.DEPLOY }}"}))))
    assert cloud_problems(flow) == []


def test_host_mounts_are_refused_for_aws_saying_why() -> None:
    mounted = job("c", mounts=[{"source": "/srv", "target": "/srv"}])
    flow = workflow(stage("s", action("a", job("b"), mounted)))
    [problem] = cloud_problems(flow)
    assert problem.path == "spec.stages[0].actions[0].jobs[1].mounts"
    assert "local-driver feature" in problem.message and "/workspace" in problem.message


def test_a_secret_inside_a_longer_value_is_refused_for_aws_with_its_path() -> None:
    flow = workflow(stage("s", action("a", job("b", env={"AUTH": "Bearer ${{ secrets.TOKEN }}"}))),
                    env={"URL": "https://${{ secrets.USER }}@example.invalid"})
    assert [p.path for p in cloud_problems(flow)] == [
        "spec.env.URL", "spec.stages[0].actions[0].jobs[0].env.AUTH"]


def test_a_platform_the_deployment_lacks_is_refused_where_it_is_named() -> None:
    flow = workflow(stage("s", action("a", job("b", platform="eks"), job("c", platform="fargate"))),
                    platform="eks")
    problems = cloud_problems(flow, platforms={Platform.FARGATE})
    assert [p.path for p in problems] == ["spec.platform", "spec.stages[0].actions[0].jobs[0].platform"]
    assert "this deployment has no EKS cluster" in problems[0].message


def test_every_platform_is_fine_in_a_deployment_that_has_them_all() -> None:
    flow = workflow(stage("s", action("a", job("b", platform="eks"))), platform="fargate")
    assert cloud_problems(flow) == cloud_problems(flow, platforms=set(Platform)) == []
