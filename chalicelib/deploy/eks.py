"""The deploy's side of an existing EKS cluster: before the stack is touched, the cluster that
`EKS_CLUSTER` names is looked up (`eks:DescribeCluster`) and refused in words when the stack
could not use it (missing, not active, Kubernetes older than 1.29, or an authentication mode
without access entries), since CloudFormation would only fail minutes later, at the access
entries. After the deploy, what the operator still does on the cluster itself, with the
stack's outputs filled in: the manifests of infra/eks, Fluent Bit's settings, the jobs'
Secret and the Pod Identity Agent."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from chalicelib.config import DEFAULT_EKS_NAMESPACE, ConfigurationError
from chalicelib.deploy.aws_errors import error_code, translated

if TYPE_CHECKING:
    from mypy_boto3_eks import EKSClient

MIN_KUBERNETES = (1, 29)  # the workspace save is a native sidecar (infra/eks/README.md)
ACCESS_ENTRY_MODES = ("API", "API_AND_CONFIG_MAP")
UNUSABLE_STATUSES = ("CREATING", "DELETING", "FAILED")
LOGGING_NAMESPACE = "containerops-logging"  # infra/eks/namespace.yaml, Fluent Bit's
LOGGING_SETTINGS = "containerops-logging-settings"  # its ConfigMap in infra/eks/fluent-bit.yaml
JOB_SECRET = "containerops-secrets"  # where `${{ secrets.NAME }}` comes from (infra/eks/README.md)


@dataclass(frozen=True)
class Cluster:
    name: str
    version: str  # "1.33"; empty when EKS did not say
    authentication_mode: str  # empty when EKS did not say


@dataclass(frozen=True)
class EksNextSteps:
    cluster: str
    namespace: str
    region: str
    log_group: str
    fluent_bit_role: str


def checked_cluster(eks: EKSClient, name: str, region: str) -> Cluster:
    """The cluster `name`, or ConfigurationError saying why the stack cannot use it."""
    with translated(f"looking up the EKS cluster {name}"):
        try:
            found = eks.describe_cluster(name=name)["cluster"]
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            raise ConfigurationError(
                f"there is no EKS cluster {name} in region {region}: EKS_CLUSTER names an existing cluster"
                f" (`aws eks list-clusters --region {region}` lists them); the stack does not make one"
            ) from exc
    mode = (found.get("accessConfig") or {}).get("authenticationMode") or ""
    cluster = Cluster(name=name, version=str(found.get("version") or ""), authentication_mode=str(mode))
    status = str(found.get("status") or "")
    if status in UNUSABLE_STATUSES:
        raise ConfigurationError(f"the EKS cluster {name} is {status}: deploy once it is ACTIVE")
    if _older_than_minimum(cluster.version):
        raise ConfigurationError(
            f"the EKS cluster {name} runs Kubernetes {cluster.version}: jobs on EKS need"
            f" {MIN_KUBERNETES[0]}.{MIN_KUBERNETES[1]} or later (the workspace save is a native sidecar);"
            " upgrade the cluster first")
    if cluster.authentication_mode and cluster.authentication_mode not in ACCESS_ENTRY_MODES:
        raise ConfigurationError(
            f"the EKS cluster {name} authenticates with {cluster.authentication_mode} only: the stack maps"
            " its functions' roles with access entries, which need API or API_AND_CONFIG_MAP (`aws eks"
            f" update-cluster-config --name {name} --access-config authenticationMode=API_AND_CONFIG_MAP`)")
    return cluster


def next_steps(steps: EksNextSteps) -> list[str]:
    """What the operator runs against the cluster after the deploy (kubectl pointed at it)."""
    settings = shlex.quote(json.dumps({"data": {"log_group": steps.log_group, "region": steps.region}}))
    edited = ([] if steps.namespace == DEFAULT_EKS_NAMESPACE else [
        f"  infra/eks/ makes the namespace {DEFAULT_EKS_NAMESPACE}: edit it to {steps.namespace} first."])
    return [
        f"  Jobs on EKS (cluster {steps.cluster}, namespace {steps.namespace}): with kubectl pointed at",
        f"  it (`aws eks update-kubeconfig --name {steps.cluster} --region {steps.region}`), once, and",
        "  after each change of infra/eks/:",
        *edited,
        "    kubectl apply -f infra/eks/",
        f"    kubectl -n {LOGGING_NAMESPACE} patch configmap {LOGGING_SETTINGS} --type merge -p {settings}",
        f"    kubectl -n {LOGGING_NAMESPACE} rollout restart daemonset/fluent-bit",
        f"  Fluent Bit writes the job log group {steps.log_group} as {steps.fluent_bit_role}"
        " (EKS Pod Identity).",
        "  The cluster needs the EKS Pod Identity Agent add-on (`aws eks list-addons` shows it), or:",
        f"    aws eks create-addon --cluster-name {steps.cluster} --addon-name eks-pod-identity-agent",
        "  A job's `${{ secrets.NAME }}` is the key NAME of the Secret " + JOB_SECRET + ":",
        f"    kubectl -n {steps.namespace} create secret generic {JOB_SECRET} --from-literal=NAME=value",
    ]


def _older_than_minimum(version: str) -> bool:
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        return False  # EKS did not say, or said something unexpected: CloudFormation will tell
    return (major, minor) < MIN_KUBERNETES
