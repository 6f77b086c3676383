"""ECS on moto for the adapter tests: a cluster, the default VPC's subnet and security group
(which moto lets Fargate tasks use), settings naming them, and a recording client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.aws.ecs import EcsTasks
from chalicelib.config import AwsSettings
from tests.aws import REGION, fake_aws_environment
from tests.aws.ecs_builders import CLUSTER, Pauses, ScriptedEcs, settings


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    fake_aws_environment(monkeypatch)
    with mock_aws():
        yield


@pytest.fixture
def ecs(aws: None) -> ScriptedEcs:
    client = boto3.client("ecs", region_name=REGION)
    client.create_cluster(clusterName=CLUSTER)
    return ScriptedEcs(client)


@pytest.fixture
def deployment(aws: None) -> AwsSettings:
    ec2 = boto3.client("ec2", region_name=REGION)
    subnet = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"][0]
    group = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]
    return settings(subnets=(subnet["SubnetId"],), security_groups=(group["GroupId"],))


@pytest.fixture
def pauses() -> Pauses:
    return Pauses()


@pytest.fixture
def tasks(ecs: ScriptedEcs, deployment: AwsSettings, pauses: Pauses) -> EcsTasks:
    client: Any = ecs
    return EcsTasks(client, deployment, sleep=pauses, clock=pauses.clock)
