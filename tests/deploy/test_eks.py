"""The cluster EKS_CLUSTER names is looked up before the stack is touched and refused in words
when the stack could not use it; after the deploy, what is left to do on the cluster is said
with the stack's values filled in."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.config import ConfigurationError
from chalicelib.deploy.deploy import AwsClients
from chalicelib.deploy.eks import Cluster, EksNextSteps, checked_cluster, next_steps
from chalicelib.errors import DeployFailed
from tests.deploy.conftest import REGION

ROLE = "arn:aws:iam::123456789012:role/eks-cluster"


def make_cluster(clients: AwsClients, name: str = "ci", version: str = "1.33") -> None:
    clients.eks.create_cluster(name=name, version=version, roleArn=ROLE, resourcesVpcConfig={})


class DescribedAs:
    """An EKS client whose DescribeCluster answers `cluster` (what moto's EKS does not keep)."""

    def __init__(self, **cluster: Any) -> None:
        self.cluster = {"name": "ci", "status": "ACTIVE", "version": "1.33", **cluster}

    def describe_cluster(self, name: str) -> dict[str, Any]:
        return {"cluster": self.cluster}


class Refusing:
    def describe_cluster(self, name: str) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}},
                          "DescribeCluster")


def test_an_existing_cluster_is_found(clients: AwsClients) -> None:
    make_cluster(clients)
    found = checked_cluster(clients.eks, "ci", REGION)
    assert (found.name, found.version) == ("ci", "1.33")


def test_a_cluster_that_is_not_there_is_said_to_be_missing(clients: AwsClients) -> None:
    with pytest.raises(ConfigurationError, match=r"there is no EKS cluster nope in region us-east-1:"
                                                 r" EKS_CLUSTER names an existing cluster \(`aws eks"):
        checked_cluster(clients.eks, "nope", REGION)


def test_a_cluster_older_than_kubernetes_1_29_is_refused(clients: AwsClients) -> None:
    make_cluster(clients, version="1.28")
    with pytest.raises(ConfigurationError, match=r"runs Kubernetes 1\.28: jobs on EKS need 1\.29 or later"):
        checked_cluster(clients.eks, "ci", REGION)


def test_a_cluster_without_access_entries_is_refused_with_the_command_that_allows_them() -> None:
    with pytest.raises(ConfigurationError, match=r"authenticates with CONFIG_MAP only.*authenticationMode="
                                                 r"API_AND_CONFIG_MAP"):
        checked_cluster(DescribedAs(accessConfig={"authenticationMode": "CONFIG_MAP"}), "ci",  # type: ignore[arg-type]
                        REGION)


@pytest.mark.parametrize("mode", ["API", "API_AND_CONFIG_MAP"])
def test_both_modes_with_access_entries_are_accepted(mode: str) -> None:
    found = checked_cluster(DescribedAs(accessConfig={"authenticationMode": mode}), "ci",  # type: ignore[arg-type]
                            REGION)
    assert found == Cluster("ci", "1.33", mode)


def test_a_cluster_being_made_is_refused_until_it_is_active() -> None:
    with pytest.raises(ConfigurationError, match="the EKS cluster ci is CREATING: deploy once it is ACTIVE"):
        checked_cluster(DescribedAs(status="CREATING"), "ci", REGION)  # type: ignore[arg-type]


def test_a_deployer_who_may_not_describe_the_cluster_is_told_what_aws_said() -> None:
    with pytest.raises(DeployFailed, match="looking up the EKS cluster ci: AWS answered AccessDenied"):
        checked_cluster(Refusing(), "ci", REGION)  # type: ignore[arg-type]


STEPS = EksNextSteps(cluster="ci", namespace="containerops", region="eu-west-1",
                     log_group="stack-JobLogGroup-1",
                     fluent_bit_role="arn:aws:iam::123456789012:role/stack-FluentBitRole-1")
SETTINGS = """'{"data": {"log_group": "stack-JobLogGroup-1", "region": "eu-west-1"}}'"""


def test_the_next_steps_apply_the_manifests_then_set_fluent_bits_log_group_and_region() -> None:
    lines = [line.strip() for line in next_steps(STEPS)]
    logging = "kubectl -n containerops-logging"
    apply = lines.index("kubectl apply -f infra/eks/")
    patch = lines.index(f"{logging} patch configmap containerops-logging-settings --type merge -p {SETTINGS}")
    restart = lines.index(f"{logging} rollout restart daemonset/fluent-bit")
    assert apply < patch < restart  # applying the manifests again resets the ConfigMap
    assert "aws eks create-addon --cluster-name ci --addon-name eks-pod-identity-agent" in lines
    secret = "kubectl -n containerops create secret generic containerops-secrets --from-literal=NAME=value"
    assert secret in lines


def test_another_namespace_needs_the_manifests_edited() -> None:
    lines = next_steps(EksNextSteps(**{**STEPS.__dict__, "namespace": "builds"}))
    edit = "infra/eks/ makes the namespace containerops: edit it to builds first"
    assert any(edit in line for line in lines)
    assert not any("edit it to" in line for line in next_steps(STEPS))
