"""Least privilege, as sentences over every IAM statement of the merge template and of the
packaged template: no wildcard actions, every action one AWS defines, every resource named,
`*` only where AWS takes nothing else and the template says why, roles passed only to the
service that runs them, and the name prefixes the same as the code's."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest

from chalicelib.aws.secrets import SECRET_PREFIX
from chalicelib.aws.stepfunctions import MACHINE_PREFIX
from chalicelib.aws.task_definitions import FAMILY_PREFIX, SECRET_NAME_PREFIX
from tests.infra.templates import (
    NAME_PREFIXES,
    NO_VALUE,
    ROLE,
    Template,
    permission_statements,
    referenced_resources,
    statements,
    unnamed_reason,
)

# The statements whose Resource is "*", and nothing else: AWS authorises these actions only
# on "*" (each reason is in the template, beside the statement's owner).
STAR_STATEMENTS = {
    ("TaskExecutionRole", "AuthorizeImagePulls"): {"ecr:GetAuthorizationToken"},
    ("LaunchJobsRole", "ManageTaskDefinitions"): {"ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"},
    ("LaunchJobsRole", "FindJobTasks"): {"ecs:ListTasks"},
    ("JobAnswersPolicy", "AnswerJobStates"): {"states:SendTaskSuccess", "states:SendTaskFailure"},
}
# Actions AWS's reference lists a resource type for, granted on "*" all the same: ListTasks
# of a whole cluster is authorised only on "*" (its container-instance type is for listing
# one instance's tasks, and Fargate has none), and a RegisterTaskDefinition grant by family
# is not relied on (infra/template.json says why).
STAR_DESPITE_A_RESOURCE_TYPE = {"ecs:ListTasks", "ecs:RegisterTaskDefinition"}
# The service each role of the stack may be passed to, and only to it.
PASSED_TO = {
    "StateMachineRole": "states.amazonaws.com",
    "TaskExecutionRole": "ecs-tasks.amazonaws.com",
    "TaskRole": "ecs-tasks.amazonaws.com",
}


def aws_actions() -> dict[str, dict[str, Any]]:
    """AWS's actions by service prefix, as the Service Authorization Reference lists them
    (the copy cfn-lint, pinned in pyproject.toml, ships)."""
    text = resources.files("cfnlint.data.AdditionalSpecs").joinpath("Policies.json").read_text("utf-8")
    services: dict[str, dict[str, Any]] = json.loads(text)
    return {prefix: service.get("Actions", {}) for prefix, service in services.items()}


def resource_types(action: str) -> list[str]:
    service, name = action.lower().split(":", 1)
    types: list[str] = aws_actions()[service][name].get("Resources", [])
    return types


def documented_star_reason(template: Template, owner: str, sid: str) -> str:
    metadata: dict[str, Any] = template["Resources"][owner].get("Metadata", {})
    return str(metadata.get("ResourceStar", {}).get(sid, "")).strip()


def test_the_templates_have_iam_statements_to_check(any_template: Template) -> None:
    assert len(permission_statements(any_template)) >= 25


def test_no_iam_action_contains_a_wildcard(any_template: Template) -> None:
    wild = [(str(s), a) for s in statements(any_template) for a in s.actions if "*" in a]
    assert wild == []


def test_every_granted_action_is_one_aws_defines(packaged_template: Template) -> None:
    # cfn-lint does not check actions in a template with the SAM transform; this does.
    known = aws_actions()
    unknown = []
    for statement in statements(packaged_template):
        for action in statement.actions:
            service, _, name = action.lower().partition(":")
            if name not in known.get(service, {}):
                unknown.append(f"{statement}: {action}")
    assert unknown == []


def test_no_statement_grants_by_exclusion(any_template: Template) -> None:
    inverted = [str(s) for s in statements(any_template) if {"NotAction", "NotResource"} & set(s.body)]
    assert inverted == []


def test_every_resource_in_a_statement_is_named_or_a_documented_star(any_template: Template) -> None:
    problems = []
    for statement in permission_statements(any_template):
        assert statement.resources, f"{statement} names no Resource"
        for resource in statement.resources:
            if resource == "*" and documented_star_reason(any_template, statement.owner, statement.sid):
                continue
            reason = unnamed_reason(resource, any_template)
            if reason is not None:
                problems.append(f"{statement}: {reason}")
    assert problems == []


def test_exactly_the_expected_statements_grant_on_star_each_alone_and_documented(
        any_template: Template) -> None:
    starred = {(s.owner, s.sid): s for s in permission_statements(any_template) if "*" in s.resources}
    assert {key: set(s.actions) for key, s in starred.items()} == STAR_STATEMENTS
    for (owner, sid), statement in starred.items():
        assert statement.resources == ["*"], f"{statement} mixes * with named resources"
        assert len(documented_star_reason(any_template, owner, sid)) > 40, f"{statement} says not why"


def test_a_star_goes_only_to_actions_aws_authorises_on_star(packaged_template: Template) -> None:
    starred = {a for s in permission_statements(packaged_template) if s.resources == ["*"] for a in s.actions}
    typed = {a for a in starred if resource_types(a)}
    assert typed == STAR_DESPITE_A_RESOURCE_TYPE


def test_no_named_resource_is_given_to_an_action_aws_authorises_only_on_star(
        packaged_template: Template) -> None:
    # Such a grant looks tighter but is refused at run time: the action matches only "*".
    refused = [f"{s}: {a}" for s in permission_statements(packaged_template) if s.resources != ["*"]
               for a in s.actions if not resource_types(a)]
    assert refused == []


def test_the_cluster_wide_task_listing_is_held_to_the_job_cluster(merge_template: Template) -> None:
    (listing,) = [s for s in permission_statements(merge_template) if "ecs:ListTasks" in s.actions]
    assert listing.body["Condition"] == {"ArnEquals": {"ecs:cluster": {"Fn::GetAtt": ["JobCluster", "Arn"]}}}


@pytest.mark.parametrize("role", sorted(PASSED_TO))
def test_each_role_of_the_stack_is_passed_only_to_the_service_that_runs_it(
        any_template: Template, role: str) -> None:
    passes = [s for s in permission_statements(any_template) if "iam:PassRole" in s.actions]
    naming = [s for s in passes if role in referenced_resources(s.resources)]
    assert naming, f"nothing may pass {role}"
    for statement in naming:
        assert statement.actions == ["iam:PassRole"], str(statement)
        assert statement.body["Condition"] == {"StringEquals": {"iam:PassedToService": PASSED_TO[role]}}


def test_only_the_stacks_own_roles_are_passed(any_template: Template) -> None:
    passes = [s for s in permission_statements(any_template) if "iam:PassRole" in s.actions]
    passed = set().union(*(referenced_resources(s.resources) for s in passes))
    assert passed == set(PASSED_TO)
    assert {any_template["Resources"][r]["Type"] for r in passed} == {ROLE}


def test_roles_attach_only_the_stacks_own_managed_policies(any_template: Template) -> None:
    # An AWS managed policy (AWSLambdaBasicExecutionRole and the like) grants on "*". One of the
    # stack's may be attached only under a condition (Fn::If [condition, Ref, AWS::NoValue]).
    for name, resource in any_template["Resources"].items():
        for arn in resource.get("Properties", {}).get("ManagedPolicyArns", []):
            if isinstance(arn, dict) and set(arn) == {"Fn::If"}:
                _, arn, absent = arn["Fn::If"]
                assert absent == NO_VALUE, f"{name} attaches another policy otherwise"
            assert isinstance(arn, dict) and set(arn) == {"Ref"}, f"{name} attaches {arn!r}"
            assert any_template["Resources"][arn["Ref"]]["Type"] == "AWS::IAM::ManagedPolicy"


def test_every_documented_star_belongs_to_a_statement(merge_template: Template) -> None:
    sids_by_owner: dict[str, set[str]] = {}
    for statement in statements(merge_template):
        sids_by_owner.setdefault(statement.owner, set()).add(statement.sid)
    for owner, resource in merge_template["Resources"].items():
        documented = set(resource.get("Metadata", {}).get("ResourceStar", {}))
        assert documented <= sids_by_owner.get(owner, set()), owner


def test_the_name_prefixes_are_the_codes_and_documented(merge_template: Template) -> None:
    documented = merge_template["Metadata"]["ContainerOps"]["NamePrefixes"]
    assert set(documented) == set(NAME_PREFIXES)
    assert {SECRET_PREFIX, SECRET_NAME_PREFIX} == {"containerops/"}  # secrets, and images beside them
    assert {MACHINE_PREFIX + "-", FAMILY_PREFIX} == {"containerops-"}
    assert merge_template["Parameters"]["MachineNamePrefix"]["Default"] == MACHINE_PREFIX


def test_chalices_generated_log_policy_is_replaced_in_the_package(packaged_template: Template) -> None:
    policies = packaged_template["Resources"]["DefaultRole"]["Properties"]["Policies"]
    assert [p["PolicyName"] for p in policies] == ["containerops-api"]
