"""The packaged template, SAM expanded, creates every resource on moto's CloudFormation but
the types moto has no model for (tests/deploy/moto_stack.py lists them with the reason), with
and without an EKS cluster named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from moto.cloudformation.parsing import get_model_map

from chalicelib.deploy.deploy import AwsClients
from chalicelib.deploy.template import S3Location, located
from tests.deploy.moto_stack import LEFT_OUT, MOTO_CANNOT_CREATE, MotoStandIns, expanded
from tests.infra.templates import conditions, existing

WITHOUT_A_CLUSTER: dict[str, str] = {}
WITH_A_CLUSTER = {"EksClusterName": "ci", "DefaultPlatform": "eks"}


def packaged(package_dir: Path) -> dict:  # type: ignore[type-arg]
    template = json.loads((package_dir / "sam.json").read_text(encoding="utf-8"))
    return located(template, S3Location("packages", "deployment.zip"))


def test_the_types_moto_cannot_create_are_exactly_the_listed_ones(package_dir: Path) -> None:
    types = {body["Type"] for body in expanded(packaged(package_dir))["Resources"].values()}
    assert {t for t in types if t not in get_model_map()} == set(MOTO_CANNOT_CREATE)


@pytest.mark.parametrize("parameters", [WITHOUT_A_CLUSTER, WITH_A_CLUSTER], ids=["no cluster", "a cluster"])
def test_every_other_resource_is_created(package_dir: Path, clients: AwsClients,
                                         subnets_and_groups: tuple[str, str],
                                         parameters: dict[str, str]) -> None:
    subnet, group = subnets_and_groups
    clients.s3.create_bucket(Bucket="packages")
    clients.s3.put_object(Bucket="packages", Key="deployment.zip",
                          Body=(package_dir / "deployment.zip").read_bytes())
    plain = expanded(packaged(package_dir))
    template = MotoStandIns(clients, "whole", parameters=parameters).prepare(packaged(package_dir))

    clients.cloudformation.create_stack(
        StackName="whole", TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"],
        Parameters=[{"ParameterKey": "JobSubnets", "ParameterValue": subnet},
                    {"ParameterKey": "JobSecurityGroups", "ParameterValue": group},
                    {"ParameterKey": "WorkspaceImage", "ParameterValue": "r/containerops/workspace:1"},
                    *({"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items())])

    stack = clients.cloudformation.describe_stacks(StackName="whole")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    created = {r["LogicalResourceId"]: r["ResourceStatus"] for r in
               clients.cloudformation.list_stack_resources(StackName="whole")["StackResourceSummaries"]}
    expected = {name for name in existing(plain, parameters)
                if plain["Resources"][name]["Type"] not in LEFT_OUT}
    assert set(created) == expected
    assert set(created.values()) == {"CREATE_COMPLETE"}
    holds = conditions(plain, parameters)
    outputs = {o["OutputKey"] for o in stack["Outputs"]}
    assert outputs == {name for name, output in plain["Outputs"].items()
                       if holds.get(output.get("Condition", ""), True)}
    assert ("CheckEksJobs" in created) == ("FluentBitRoleArn" in outputs) == bool(parameters)

