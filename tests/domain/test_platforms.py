"""The platform a job runs on in the cloud: named by the job or its workflow, in words when wrong."""

from __future__ import annotations

import pytest

from chalicelib.config import ConfigurationError, default_platform
from chalicelib.domain.catalog import InMemoryCatalog
from chalicelib.domain.models import Workflow
from chalicelib.domain.platforms import Platform, chosen_platform
from chalicelib.domain.validation import check_workflow
from chalicelib.engine.engine import RunContext, plan_job
from tests.builders import action, job, stage, workflow_doc


def planned_platform(document: dict[str, object], job_name: str = "build") -> str | None:
    workflow = Workflow.model_validate(document)
    found = workflow.job_named(job_name)
    assert found is not None
    plan = plan_job(workflow, found, None, RunContext("run-1"))
    assert not hasattr(plan, "reason")
    return plan.platform  # type: ignore[union-attr]


def test_a_job_without_a_platform_leaves_the_choice_to_the_deployment() -> None:
    assert planned_platform(workflow_doc(stage("s", action("a", job("build"))))) is None


def test_the_workflows_platform_applies_to_every_job() -> None:
    document = workflow_doc(stage("s", action("a", job("build"))), platform="eks")
    assert planned_platform(document) == "eks"


def test_the_jobs_platform_wins_over_its_workflows() -> None:
    document = workflow_doc(stage("s", action("a", job("build", platform="fargate"))), platform="eks")
    assert planned_platform(document) == "fargate"


def test_an_unknown_platform_is_refused_with_the_choices_in_words() -> None:
    document = workflow_doc(stage("s", action("a", job("build", platform="k8s"))), platform="lambda")
    problems = check_workflow(document, InMemoryCatalog()).problems
    assert {problem.path for problem in problems} == {
        "spec.platform", "spec.stages[0].actions[0].jobs[0].platform"}
    assert all("not a platform: write fargate" in problem.message and "or eks" in problem.message
               for problem in problems)


def test_a_platform_that_is_not_text_is_refused_once() -> None:
    problems = check_workflow(workflow_doc(stage("s", action("a", job("b", platform=1)))),
                              InMemoryCatalog()).problems
    assert [problem.message for problem in problems] == [
        "1 is not a platform: write fargate (an ECS task on Fargate) or eks (a Kubernetes Job on"
        " the deployment's EKS cluster)"]


def test_the_chosen_platform_is_the_jobs_then_the_workflows_then_the_default() -> None:
    assert chosen_platform("eks", "fargate", Platform.FARGATE) is Platform.EKS
    assert chosen_platform(None, "eks", Platform.FARGATE) is Platform.EKS
    assert chosen_platform(None, None, Platform.EKS) is Platform.EKS


def test_the_deployments_default_is_fargate_unless_configured() -> None:
    assert default_platform({}) is Platform.FARGATE
    assert default_platform({"CONTAINEROPS_DEFAULT_PLATFORM": " EKS "}) is Platform.EKS


def test_a_misconfigured_default_platform_says_what_to_choose() -> None:
    with pytest.raises(ConfigurationError, match="CONTAINEROPS_DEFAULT_PLATFORM='k8s' is not a platform"
                       r" \(choose fargate, eks\)"):
        default_platform({"CONTAINEROPS_DEFAULT_PLATFORM": "k8s"})
