"""The stack's side of jobs on EKS, as the templates declare it: the cluster is a parameter,
and only with one does the stack make anything for it (the `HasEksCluster` condition); each
function that reaches the cluster's API may describe that one cluster and is mapped by an
access entry to the group infra/eks's Role binds; the jobs' and Fluent Bit's service accounts
get their roles through EKS Pod Identity, each role trusting only its own account; and the
functions are told the cluster, the namespace and the default platform."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from chalicelib.aws.eks_jobs import EksJobSettings
from chalicelib.config import (
    DEFAULT_EKS_NAMESPACE,
    DEFAULT_PLATFORM_VARIABLE,
    EKS_CLUSTER_VARIABLE,
    EKS_ENDPOINT_VARIABLE,
    EKS_NAMESPACE_VARIABLE,
)
from chalicelib.domain.platforms import DEFAULT_PLATFORM, Platform
from tests.infra.templates import (
    NO_VALUE,
    Template,
    existing,
    function_environment,
    function_role,
    permission_statements,
    referenced_resources,
    role_statements,
    statements,
)

EKS_DIR = Path(__file__).resolve().parents[2] / "infra" / "eks"
CLUSTER_ARN = {"Fn::Sub": "arn:${AWS::Partition}:eks:${AWS::Region}:${AWS::AccountId}"
                          ":cluster/${EksClusterName}"}
# The functions that create, stop, read or delete Kubernetes Jobs (chalicelib/aws/eks.py).
REACH_THE_CLUSTER = ("APIHandler", "LaunchJobs", "ExecutionEnded", "SweepRunningJobs", "CheckEksJobs")
EKS_TYPES = ("AWS::EKS::AccessEntry", "AWS::EKS::PodIdentityAssociation")
WITH_A_CLUSTER = {"EksClusterName": "ci"}


def manifest(kind: str, name: str) -> dict[str, Any]:
    found = [doc for path in sorted(EKS_DIR.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text())
             if doc and doc["kind"] == kind and doc["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}"
    document: dict[str, Any] = found[0]
    return document


def launcher_group() -> str:
    (subject,) = manifest("RoleBinding", "containerops-launcher")["subjects"]
    assert subject["kind"] == "Group"
    return str(subject["name"])


def of_type(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r.get("Type") == kind}


def eks_dependent(template: Template) -> set[str]:
    """The resources that exist for a cluster only: everything made with one and not without."""
    return existing(template, WITH_A_CLUSTER) - existing(template)


def test_the_cluster_is_a_parameter_and_none_is_the_default(merge_template: Template) -> None:
    parameters = merge_template["Parameters"]
    assert parameters["EksClusterName"]["Default"] == ""
    assert parameters["EksNamespace"]["Default"] == DEFAULT_EKS_NAMESPACE
    assert EksJobSettings("b", "i").namespace == DEFAULT_EKS_NAMESPACE
    assert parameters["DefaultPlatform"]["AllowedValues"] == [p.value for p in Platform]
    assert parameters["DefaultPlatform"]["Default"] == DEFAULT_PLATFORM.value
    assert merge_template["Conditions"]["HasEksCluster"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "EksClusterName"}, ""]}]}


def test_eks_as_the_default_platform_is_refused_without_a_cluster(merge_template: Template) -> None:
    (rule,) = merge_template["Rules"].values()
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "DefaultPlatform"}, "eks"]}
    (assertion,) = rule["Assertions"]
    assert assertion["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "EksClusterName"}, ""]}]}
    assert "EksClusterName" in assertion["AssertDescription"]


def test_every_function_is_told_the_cluster_the_namespace_and_the_default_platform(
        packaged_template: Template) -> None:
    environment = function_environment(packaged_template)
    assert environment[EKS_CLUSTER_VARIABLE] == {"Ref": "EksClusterName"}  # "" without a cluster: none
    assert environment[EKS_NAMESPACE_VARIABLE] == {"Ref": "EksNamespace"}
    assert environment[DEFAULT_PLATFORM_VARIABLE] == {"Ref": "DefaultPlatform"}
    # the sandbox's harness alone names an endpoint; a real cluster's comes from DescribeCluster
    assert all(EKS_ENDPOINT_VARIABLE not in function_environment(packaged_template, name)
               for name in REACH_THE_CLUSTER)


def test_without_a_cluster_the_stack_makes_nothing_for_eks(packaged_template: Template) -> None:
    made = existing(packaged_template)
    assert {packaged_template["Resources"][name]["Type"] for name in made} & set(EKS_TYPES) == set()
    assert {"CheckEksJobs", "CheckEksJobsRole", "EksClusterPolicy", "FluentBitRole"} & made == set()
    assert {"CheckEksJobs", "CheckEksJobsRole", "CheckEksJobsLogGroup", "CheckEksJobsInvokeConfig",
            "EksClusterPolicy", "FluentBitRole", "JobPodIdentity", "FluentBitPodIdentity"} <= eks_dependent(
        packaged_template)


def test_with_a_cluster_every_eks_resource_is_made(packaged_template: Template) -> None:
    made = existing(packaged_template, WITH_A_CLUSTER)
    for kind in EKS_TYPES:
        assert set(of_type(packaged_template, kind)) <= made, kind
    assert set(of_type(packaged_template, "AWS::EKS::AccessEntry"))
    assert {name for name in eks_dependent(packaged_template)
            if packaged_template["Resources"][name].get("Condition") != "HasEksCluster"} == set()


def test_the_outputs_for_the_cluster_exist_with_one_only(merge_template: Template) -> None:
    outputs = merge_template["Outputs"]
    for name in ("FluentBitRoleArn", "FluentBitLogGroup", "FluentBitRegion", "CheckEksJobsLogGroupName"):
        assert outputs[name]["Condition"] == "HasEksCluster", name
    assert outputs["FluentBitLogGroup"]["Value"] == {"Ref": "JobLogGroup"}
    assert outputs["FluentBitRegion"]["Value"] == {"Ref": "AWS::Region"}


@pytest.mark.parametrize("function", REACH_THE_CLUSTER)
def test_each_function_that_reaches_the_cluster_may_describe_that_one_cluster_only_with_one(
        packaged_template: Template, function: str) -> None:
    role = function_role(packaged_template, function)
    (describe,) = [s for s in role_statements(packaged_template, role) if "eks:DescribeCluster" in s.actions]
    assert describe.actions == ["eks:DescribeCluster"] and describe.resources == [CLUSTER_ARN]
    policy = packaged_template["Resources"][describe.owner]
    assert policy["Condition"] == "HasEksCluster"
    attached = packaged_template["Resources"][role]["Properties"]["ManagedPolicyArns"]
    conditional = {"Fn::If": ["HasEksCluster", {"Ref": describe.owner}, NO_VALUE]}
    role_condition = packaged_template["Resources"][role].get("Condition")
    # a role that exists only with a cluster attaches it as it is
    assert conditional in attached or (role_condition == "HasEksCluster"
                                       and {"Ref": describe.owner} in attached)


def test_no_other_role_may_do_anything_on_eks(packaged_template: Template) -> None:
    reaching = {function_role(packaged_template, f) for f in REACH_THE_CLUSTER}
    for name in of_type(packaged_template, "AWS::IAM::Role"):
        if name not in reaching:
            actions = {a for s in role_statements(packaged_template, name) for a in s.actions}
            assert {a for a in actions if a.startswith("eks:")} == set(), name


def test_each_function_that_reaches_the_cluster_has_an_access_entry_in_the_launchers_group(
        packaged_template: Template) -> None:
    entries = of_type(packaged_template, "AWS::EKS::AccessEntry")
    principals = sorted(name for entry in entries.values()
                        for name in referenced_resources(entry["Properties"]["PrincipalArn"]))
    assert principals == sorted(function_role(packaged_template, f) for f in REACH_THE_CLUSTER)
    for name, entry in entries.items():
        assert entry["Condition"] == "HasEksCluster", name
        assert entry["Properties"]["ClusterName"] == {"Ref": "EksClusterName"}
        assert entry["Properties"]["Type"] == "STANDARD"
        assert entry["Properties"]["KubernetesGroups"] == [launcher_group()]
        assert "AccessPolicies" not in entry["Properties"]  # the Role of infra/eks is all they get


def pod_identities(template: Template) -> list[tuple[Any, Any, str]]:
    """(namespace, service account, the role its pods get) of each association."""
    found = []
    for name, association in of_type(template, "AWS::EKS::PodIdentityAssociation").items():
        properties = association["Properties"]
        assert association["Condition"] == "HasEksCluster", name
        assert properties["ClusterName"] == {"Ref": "EksClusterName"}
        (role,) = referenced_resources(properties["RoleArn"])
        found.append((properties["Namespace"], properties["ServiceAccount"], role))
    return sorted(found, key=lambda found: found[2])


def pod_trust(template: Template, role: str) -> list[Any]:
    return [s for s in statements(template) if s.owner == role and "Principal" in s.body
            and s.body["Principal"] == {"Service": "pods.eks.amazonaws.com"}]


def test_the_jobs_and_fluent_bit_get_their_roles_through_pod_identity(merge_template: Template) -> None:
    job_account = manifest("ServiceAccount", EksJobSettings("b", "i").service_account)
    fluent_bit = manifest("DaemonSet", "fluent-bit")["spec"]["template"]["spec"]["serviceAccountName"]
    fluent_bit_account = manifest("ServiceAccount", fluent_bit)
    assert pod_identities(merge_template) == [
        (fluent_bit_account["metadata"]["namespace"], fluent_bit, "FluentBitRole"),
        ({"Ref": "EksNamespace"}, job_account["metadata"]["name"], "TaskRole"),
    ]


def test_each_pod_role_trusts_only_its_own_service_account_on_the_cluster(merge_template: Template) -> None:
    for namespace, account, role in pod_identities(merge_template):
        (trust,) = pod_trust(merge_template, role)
        assert sorted(trust.body["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
        assert trust.body["Condition"] == {"StringEquals": {
            "aws:RequestTag/eks-cluster-arn": CLUSTER_ARN,
            "aws:RequestTag/kubernetes-namespace": namespace,
            "aws:RequestTag/kubernetes-service-account": account}}


def test_the_job_role_trusts_eks_pods_only_with_a_cluster(merge_template: Template) -> None:
    (trust,) = pod_trust(merge_template, "TaskRole")
    assert trust.condition == "HasEksCluster"
    (fluent_bit,) = pod_trust(merge_template, "FluentBitRole")
    assert merge_template["Resources"]["FluentBitRole"]["Condition"] == "HasEksCluster"
    assert fluent_bit.condition is None


def test_fluent_bit_may_only_write_the_job_log_group(merge_template: Template) -> None:
    (job_logs,) = referenced_resources(function_environment(merge_template)["CONTAINEROPS_LOG_GROUP"])
    granted = [s for s in permission_statements(merge_template) if s.owner == "FluentBitRole"]
    assert [sorted(s.actions) for s in granted] == [
        ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]]
    assert referenced_resources(granted[0].resources) == {job_logs}
    assert "ManagedPolicyArns" not in merge_template["Resources"]["FluentBitRole"]["Properties"]
