"""The API function as deployed (the packaged template): it runs the aws backend, every
variable the aws backend reads is set from the stack's own resources and parameters, its
logs go to a log group with a retention, and its role reaches the tables, the log groups,
the job cluster's tasks and the state-machine role only. What every function shares (the
environment, a role and a log group of its own, exactly what each may do) is in
test_functions.py."""

from __future__ import annotations

import json

import pytest

from chalicelib.config import AWS_VARIABLES, BACKEND_VARIABLE, Backend
from tests.infra.templates import (
    CHALICE_CONFIG,
    Statement,
    Template,
    function_environment,
    function_role,
    referenced_resources,
    role_statements,
)

INDEX_VARIABLES = {
    "CONTAINEROPS_RUNS_BY_WORKFLOW_INDEX", "CONTAINEROPS_RUNS_BY_NAMESPACE_INDEX",
    "CONTAINEROPS_RUNS_BY_TIME_INDEX",
}
LIST_VARIABLES = {"CONTAINEROPS_SUBNETS": "JobSubnets", "CONTAINEROPS_SECURITY_GROUPS": "JobSecurityGroups"}
PARAMETER_VARIABLES = {"CONTAINEROPS_WORKSPACE_IMAGE": "WorkspaceImage",
                       "CONTAINEROPS_MACHINE_PREFIX": "MachineNamePrefix"}


def api_role_statements(template: Template) -> list[Statement]:
    role = function_role(template, "APIHandler")
    assert role == "DefaultRole"  # Chalice's role, its policies replaced (test_iam.py)
    return role_statements(template, role)


def test_the_deployed_stage_selects_the_aws_backend(packaged_template: Template) -> None:
    assert function_environment(packaged_template)[BACKEND_VARIABLE] == Backend.AWS.value


def test_the_chalice_stage_that_is_packaged_sets_the_backend() -> None:
    config = json.loads(CHALICE_CONFIG.read_text(encoding="utf-8"))
    assert config["stages"]["dev"]["environment_variables"][BACKEND_VARIABLE] == "aws"


def test_every_aws_variable_is_set_on_the_api_function(packaged_template: Template) -> None:
    environment = function_environment(packaged_template)
    assert set(AWS_VARIABLES) - set(environment) == set()


@pytest.mark.parametrize("variable", sorted(
    set(AWS_VARIABLES) - INDEX_VARIABLES - set(LIST_VARIABLES) - set(PARAMETER_VARIABLES)))
def test_each_resource_variable_is_a_reference_to_a_resource_of_the_stack(
        packaged_template: Template, variable: str) -> None:
    value = function_environment(packaged_template)[variable]
    assert isinstance(value, dict) and set(value) <= {"Ref", "Fn::GetAtt"}, value
    (name,) = referenced_resources(value)
    assert name in packaged_template["Resources"]


@pytest.mark.parametrize("variable", sorted(INDEX_VARIABLES))
def test_each_index_variable_names_an_index_of_the_runs_table(
        packaged_template: Template, variable: str) -> None:
    environment = function_environment(packaged_template)
    (runs_table,) = referenced_resources(environment["CONTAINEROPS_RUNS_TABLE"])
    properties = packaged_template["Resources"][runs_table]["Properties"]
    assert environment[variable] in {i["IndexName"] for i in properties["GlobalSecondaryIndexes"]}


@pytest.mark.parametrize(("variable", "parameter"), sorted(LIST_VARIABLES.items()))
def test_subnets_and_security_groups_come_from_the_operators_parameters(
        packaged_template: Template, variable: str, parameter: str) -> None:
    assert function_environment(packaged_template)[variable] == {"Fn::Join": [",", {"Ref": parameter}]}
    assert packaged_template["Parameters"][parameter]["Type"].startswith("List<AWS::EC2::")


@pytest.mark.parametrize(("variable", "parameter"), sorted(PARAMETER_VARIABLES.items()))
def test_the_workspace_image_and_the_machine_prefix_are_the_operators_parameters(
        packaged_template: Template, variable: str, parameter: str) -> None:
    assert function_environment(packaged_template)[variable] == {"Ref": parameter}
    assert packaged_template["Parameters"][parameter]["Type"] == "String"


def test_the_api_logs_to_a_log_group_of_the_stack_with_a_retention(packaged_template: Template) -> None:
    logging = packaged_template["Resources"]["APIHandler"]["Properties"]["LoggingConfig"]
    (group,) = referenced_resources(logging["LogGroup"])
    resource = packaged_template["Resources"][group]
    assert resource["Type"] == "AWS::Logs::LogGroup"
    assert "RetentionInDays" in resource["Properties"]


def test_the_api_role_reaches_only_the_tables_logs_cluster_workspaces_cursor_key_and_machine_role(
        packaged_template: Template) -> None:
    environment = function_environment(packaged_template)
    allowed = set().union(*(referenced_resources(environment[v]) for v in (
        "CONTAINEROPS_DEFINITIONS_TABLE", "CONTAINEROPS_RUNS_TABLE", "CONTAINEROPS_EVENTS_TABLE",
        "CONTAINEROPS_LOG_GROUP", "CONTAINEROPS_CLUSTER", "CONTAINEROPS_WORKSPACE_BUCKET",
        "CONTAINEROPS_TOKEN_KEY_SECRET", "CONTAINEROPS_STATE_MACHINE_ROLE_ARN")))
    api_function = packaged_template["Resources"]["APIHandler"]["Properties"]
    allowed |= referenced_resources(api_function["LoggingConfig"])
    statements = api_role_statements(packaged_template)
    reached = set().union(*(referenced_resources(s.resources) for s in statements))
    assert reached - set(packaged_template["Parameters"]) == allowed


def test_the_api_stops_only_tasks_of_the_job_cluster(packaged_template: Template) -> None:
    (cluster,) = referenced_resources(function_environment(packaged_template)["CONTAINEROPS_CLUSTER"])
    stops = [s for s in api_role_statements(packaged_template) if "ecs:StopTask" in s.actions]
    assert [s.actions for s in stops] == [["ecs:StopTask"]]
    assert [referenced_resources(s.resources) for s in stops] == [{cluster}]


def test_the_api_may_read_the_job_logs_but_not_write_them(packaged_template: Template) -> None:
    (job_logs,) = referenced_resources(function_environment(packaged_template)["CONTAINEROPS_LOG_GROUP"])
    on_job_logs = {a for s in api_role_statements(packaged_template)
                   if job_logs in referenced_resources(s.resources) for a in s.actions}
    assert on_job_logs == {"logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents"}


def test_both_run_indexes_can_be_queried(packaged_template: Template) -> None:
    environment = function_environment(packaged_template)
    queries = [s for s in api_role_statements(packaged_template) if "dynamodb:Query" in s.actions]
    subs = [r for s in queries for r in s.resources if isinstance(r, dict) and "Fn::Sub" in r]
    index_arns = {r["Fn::Sub"] for r in subs}
    assert index_arns == {f"${{RunsTable.Arn}}/index/{environment[v]}" for v in sorted(INDEX_VARIABLES)}
