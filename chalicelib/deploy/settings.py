"""What a deploy or a destroy is given, read from the command line and the environment in one
place and checked before any AWS call, so that a missing subnet or region is said in words
instead of surfacing as CloudFormation's own refusal ten minutes in."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from chalicelib.config import DEFAULT_EKS_NAMESPACE, ConfigurationError
from chalicelib.domain.platforms import DEFAULT_PLATFORM, Platform

# CloudFormation's rule for a stack's name.
STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
SUBNET_ID = re.compile(r"^subnet-[0-9a-f]+$")
SECURITY_GROUP_ID = re.compile(r"^sg-[0-9a-f]+$")
EKS_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")  # EKS's rule, as the template's
KUBERNETES_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")  # a DNS label
LOCAL_WORKSPACE_IMAGE = "containerops/workspace:1"  # what `make images` builds
DEFAULT_TOKEN_NAME = "deploy"


@dataclass(frozen=True)
class DeploySettings:
    stack: str
    region: str
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    package_dir: Path  # sam.json and deployment.zip, as `make package` leaves them
    designer_dir: Path  # the built designer, as `make frontend` leaves it
    workspace_image: str | None = None  # None: push LOCAL_WORKSPACE_IMAGE to this account's ECR
    package_bucket: str | None = None  # None: containerops-packages-<account>-<region>
    designer_origin: str = ""
    machine_prefix: str | None = None
    token_name: str = DEFAULT_TOKEN_NAME
    eks_cluster: str = ""  # an existing EKS cluster's name; empty: no EKS
    eks_namespace: str = DEFAULT_EKS_NAMESPACE
    default_platform: Platform = DEFAULT_PLATFORM


@dataclass(frozen=True)
class DestroySettings:
    stack: str
    region: str
    empty_designer_bucket: bool = False


def split_list(text: str | None) -> tuple[str, ...]:
    """`a,b c` → (a, b, c): make variables are easier to write with spaces or commas."""
    return tuple(part for part in re.split(r"[,\s]+", text or "") if part)


def checked_stack(stack: str | None) -> str:
    if not stack:
        raise ConfigurationError("name the stack: make deploy STACK=containerops (letters, digits and -)")
    if not STACK_NAME.match(stack):
        raise ConfigurationError(f"STACK={stack} is not a CloudFormation stack name: it must start with a"
                                 " letter and hold only letters, digits and -, at most 128 characters")
    return stack


def checked_region(region: str | None, environ: Mapping[str, str]) -> str:
    chosen = region or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if not chosen:
        raise ConfigurationError("no AWS region is set: give REGION=eu-west-1 (or set AWS_REGION, or"
                                 " `aws configure set region eu-west-1`)")
    return chosen


def deploy_settings(*, stack: str | None, region: str | None, subnets: str | None,
                    security_groups: str | None, package_dir: Path, designer_dir: Path,
                    workspace_image: str | None = None, package_bucket: str | None = None,
                    designer_origin: str | None = None, machine_prefix: str | None = None,
                    eks_cluster: str | None = None, eks_namespace: str | None = None,
                    default_platform: str | None = None,
                    environ: Mapping[str, str], built: bool = True) -> DeploySettings:
    """The deploy's settings, or ConfigurationError naming everything that is missing or wrong
    (`built=False`: before the package and the designer are built, so not looking for them)."""
    name = checked_stack(stack)
    problems: list[str] = []
    subnet_ids, group_ids = split_list(subnets), split_list(security_groups)
    if not subnet_ids:
        problems.append("no subnets for the job tasks: give SUBNETS=subnet-aaa,subnet-bbb (private"
                        " subnets with a route to ECR, CloudWatch Logs, Secrets Manager and S3)")
    problems += [f"SUBNETS: {s} is not a subnet id (subnet-...)"
                 for s in subnet_ids if not SUBNET_ID.match(s)]
    if not group_ids:
        problems.append("no security groups for the job tasks: give SECURITY_GROUPS=sg-ccc")
    problems += [f"SECURITY_GROUPS: {g} is not a security group id (sg-...)"
                 for g in group_ids if not SECURITY_GROUP_ID.match(g)]
    cluster, namespace = (eks_cluster or "").strip(), (eks_namespace or "").strip() or DEFAULT_EKS_NAMESPACE
    platform, platform_problems = _platform(default_platform, cluster)
    problems += platform_problems
    if cluster and not EKS_CLUSTER_NAME.match(cluster):
        problems.append(f"EKS_CLUSTER={cluster} is not an EKS cluster name (letters, digits, - and _,"
                        " at most 100 characters)")
    if not KUBERNETES_NAMESPACE.match(namespace):
        problems.append(f"EKS_NAMESPACE={namespace} is not a Kubernetes namespace name (lower-case letters,"
                        " digits and -, at most 63 characters)")
    for needed, hint in ((package_dir / "sam.json", "make package"),
                         (package_dir / "deployment.zip", "make package"),
                         (designer_dir / "index.html", "make frontend")):
        if built and not needed.is_file():
            problems.append(f"{needed} is missing: run `{hint}` first")
    try:
        chosen_region = checked_region(region, environ)
    except ConfigurationError as exc:
        problems.append(str(exc))
        chosen_region = ""
    if problems:
        raise ConfigurationError("cannot deploy:\n  - " + "\n  - ".join(problems))
    return DeploySettings(
        stack=name, region=chosen_region, subnets=subnet_ids, security_groups=group_ids,
        package_dir=package_dir, designer_dir=designer_dir, workspace_image=workspace_image or None,
        package_bucket=package_bucket or None, designer_origin=designer_origin or "",
        machine_prefix=machine_prefix or None, eks_cluster=cluster, eks_namespace=namespace,
        default_platform=platform,
    )


def _platform(text: str | None, cluster: str) -> tuple[Platform, list[str]]:
    """DEFAULT_PLATFORM read (fargate when not given), and what is wrong with it."""
    chosen = (text or "").strip().lower() or DEFAULT_PLATFORM.value
    if chosen not in {p.value for p in Platform}:
        return DEFAULT_PLATFORM, [f"DEFAULT_PLATFORM={chosen} is not a platform: write fargate (ECS tasks) or"
                                  " eks (Kubernetes Jobs on EKS_CLUSTER)"]
    platform = Platform(chosen)
    if platform is Platform.EKS and not cluster:
        return platform, ["DEFAULT_PLATFORM=eks needs EKS_CLUSTER=name: the jobs that name no platform"
                          " would have no cluster to run on (name an existing EKS cluster, or leave"
                          " DEFAULT_PLATFORM at fargate and choose `platform: eks` per workflow or job)"]
    return platform, []


def destroy_settings(*, stack: str | None, region: str | None, empty_designer_bucket: bool,
                     environ: Mapping[str, str]) -> DestroySettings:
    return DestroySettings(stack=checked_stack(stack), region=checked_region(region, environ),
                           empty_designer_bucket=empty_designer_bucket)
