"""Least privilege, as sentences over every IAM statement of the merge template and of the
packaged template: no wildcard actions, every resource named, `*` only where AWS takes
nothing else and the template says why."""

from __future__ import annotations

from typing import Any

from tests.infra.templates import Template, permission_statements, statements, unnamed_reason

# Actions AWS authorises only against Resource "*" (they act on no resource of their own).
ACTIONS_AWS_GRANTS_ONLY_ON_STAR = {"ecr:GetAuthorizationToken"}


def documented_star_reason(template: Template, owner: str, sid: str) -> str:
    metadata: dict[str, Any] = template["Resources"][owner].get("Metadata", {})
    return str(metadata.get("ResourceStar", {}).get(sid, "")).strip()


def test_the_templates_have_iam_statements_to_check(any_template: Template) -> None:
    assert len(permission_statements(any_template)) >= 8


def test_no_iam_action_contains_a_wildcard(any_template: Template) -> None:
    wild = [(str(s), a) for s in statements(any_template) for a in s.actions if "*" in a]
    assert wild == []


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


def test_a_star_resource_stands_alone_with_actions_aws_grants_only_on_star(any_template: Template) -> None:
    starred = [s for s in permission_statements(any_template) if "*" in s.resources]
    assert starred, "the ECR authorisation statement is expected here"
    for statement in starred:
        assert statement.resources == ["*"], f"{statement} mixes * with named resources"
        assert set(statement.actions) <= ACTIONS_AWS_GRANTS_ONLY_ON_STAR, str(statement)
        assert len(documented_star_reason(any_template, statement.owner, statement.sid)) > 20


def test_every_documented_star_belongs_to_a_statement(merge_template: Template) -> None:
    sids_by_owner: dict[str, set[str]] = {}
    for statement in statements(merge_template):
        sids_by_owner.setdefault(statement.owner, set()).add(statement.sid)
    for owner, resource in merge_template["Resources"].items():
        documented = set(resource.get("Metadata", {}).get("ResourceStar", {}))
        assert documented <= sids_by_owner.get(owner, set()), owner


def test_chalices_generated_log_policy_is_replaced_in_the_package(packaged_template: Template) -> None:
    policies = packaged_template["Resources"]["DefaultRole"]["Properties"]["Policies"]
    assert [p["PolicyName"] for p in policies] == ["containerops-api"]
