"""Configuration, read in one place: which backend runs, and the name of every AWS resource.

`CONTAINEROPS_BACKEND` is `local` (the default: SQLite, Docker, one machine) or `aws`
(DynamoDB, Step Functions, ECS, CloudWatch Logs). In aws mode every table, index, queue,
role, cluster, subnet, security group, log group and bucket is named by an environment
variable that the deployed template sets (`infra/`, through `.chalice/config.json`); no
resource name is written anywhere else in the code. Reading happens when asked
(`AwsSettings.from_environment`), never at import time, so tests set the variables they
need and nothing is shared between calls.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from chalicelib.domain.host_mounts import MountPolicy
from chalicelib.domain.platforms import DEFAULT_PLATFORM, Platform
from chalicelib.errors import ContainerOpsError

BACKEND_VARIABLE = "CONTAINEROPS_BACKEND"
DATA_DIR_VARIABLE = "CONTAINEROPS_DATA_DIR"
SECRET_PREFIX = "CONTAINEROPS_SECRET_"
WARM_START_VARIABLE = "CONTAINEROPS_WARM_START"
# The folders `containerops serve` lets jobs mount when --allow-mount is not given.
ALLOW_MOUNTS_VARIABLE = "CONTAINEROPS_ALLOW_MOUNTS"
LAUNCH_QUEUE_URL_VARIABLE = "CONTAINEROPS_LAUNCH_QUEUE_URL"
# Optional (not in AWS_VARIABLES, read by `default_platform` alone): the platform of the jobs
# whose definition names none.
DEFAULT_PLATFORM_VARIABLE = "CONTAINEROPS_DEFAULT_PLATFORM"


class Backend(StrEnum):
    LOCAL = "local"
    AWS = "aws"


class ConfigurationError(ContainerOpsError):
    """The environment does not configure what the chosen backend needs."""


def backend(environ: Mapping[str, str] | None = None) -> Backend:
    raw = (os.environ if environ is None else environ).get(BACKEND_VARIABLE, "").strip().lower()
    if not raw:
        return Backend.LOCAL
    try:
        return Backend(raw)
    except ValueError:
        choices = ", ".join(b.value for b in Backend)
        raise ConfigurationError(f"{BACKEND_VARIABLE}={raw!r} is not a backend (choose {choices})") from None


# --- the local backend ----------------------------------------------------------------

def default_data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_VARIABLE) or Path.home() / ".containerops")


def warm_start_enabled() -> bool:
    """Warm start is on unless CONTAINEROPS_WARM_START is 0, false, no or off."""
    return os.environ.get(WARM_START_VARIABLE, "1").strip().lower() not in ("0", "false", "no", "off")


def engine_sockets(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The engine's own socket when DOCKER_HOST names one (a rootless engine's, say), which
    no job may mount either (besides the usual paths: chalicelib/domain/host_mounts.py)."""
    host = (os.environ if environ is None else environ).get("DOCKER_HOST", "").strip()
    return (host.removeprefix("unix://"),) if host.startswith("unix:///") else ()


def served_mounts(folders: Iterable[str | Path] = (),
                  environ: Mapping[str, str] | None = None) -> MountPolicy:
    """What `containerops serve` lets definitions mount: the folders of `--allow-mount`, else
    those of CONTAINEROPS_ALLOW_MOUNTS (separated by os.pathsep, empty parts skipped, as in
    PATH); the command line replaces the variable, as --token does. None: no host mount."""
    env = os.environ if environ is None else environ
    given = list(folders)
    source = "--allow-mount"
    if not given:
        given = [part for part in env.get(ALLOW_MOUNTS_VARIABLE, "").split(os.pathsep) if part.strip()]
        source = ALLOW_MOUNTS_VARIABLE
    try:
        return MountPolicy.allowing(given, engine_sockets(env))
    except ValueError as exc:
        raise ConfigurationError(f"{source}: {exc}") from None


def own_account_mounts() -> MountPolicy:
    """What a job run on one's own machine (`containerops run`) may mount."""
    return MountPolicy.own_account(engine_sockets())


def secrets_from_environment() -> dict[str, str]:
    """`CONTAINEROPS_SECRET_NPM_TOKEN=...` becomes `${{ secrets.NPM_TOKEN }}`."""
    return {
        name.removeprefix(SECRET_PREFIX): value
        for name, value in os.environ.items()
        if name.startswith(SECRET_PREFIX) and value
    }


# --- access to the API on AWS ------------------------------------------------------------
# Read by one function each (not by every function, unlike AWS_VARIABLES below): the token
# authorizer reads the secret of the token hashes, the API the designer's origin (CORS).

API_TOKENS_SECRET_VARIABLE = "CONTAINEROPS_API_TOKENS_SECRET"
DESIGNER_ORIGIN_VARIABLE = "CONTAINEROPS_DESIGNER_ORIGIN"


def api_tokens_secret(environ: Mapping[str, str] | None = None) -> str:
    """The Secrets Manager secret (ARN or name) holding the API tokens' hashes."""
    value = (os.environ if environ is None else environ).get(API_TOKENS_SECRET_VARIABLE, "").strip()
    if not value:
        raise ConfigurationError(f"{API_TOKENS_SECRET_VARIABLE} names no secret: the API token"
                                 " authorizer cannot check tokens (the deployed template sets it)")
    return value


def designer_origin(environ: Mapping[str, str] | None = None) -> str | None:
    """The one browser origin (https://host[:port]) the API answers cross-origin; None: none."""
    value = (os.environ if environ is None else environ).get(DESIGNER_ORIGIN_VARIABLE, "").strip()
    return value.rstrip("/") or None


# --- the aws backend ------------------------------------------------------------------

# Every variable the aws backend reads, with what it names. The template sets each one.
AWS_VARIABLES: dict[str, str] = {
    "CONTAINEROPS_DEFINITIONS_TABLE": "DynamoDB table of components, workflow versions and settings",
    "CONTAINEROPS_RUNS_TABLE": "DynamoDB table of runs, jobs and attempts",
    "CONTAINEROPS_RUNS_BY_WORKFLOW_INDEX": "GSI of the runs table: history of one workflow by time",
    "CONTAINEROPS_RUNS_BY_NAMESPACE_INDEX": "GSI of the runs table: history of a namespace by time",
    "CONTAINEROPS_RUNS_BY_TIME_INDEX": "GSI of the runs table: every run by time, across namespaces",
    "CONTAINEROPS_EVENTS_TABLE": "DynamoDB table of claimed event ids (idempotency, with a TTL)",
    LAUNCH_QUEUE_URL_VARIABLE: "SQS queue the state machines send job launches to",
    "CONTAINEROPS_STATE_MACHINE_ROLE_ARN": "IAM role the workflows' state machines run as",
    "CONTAINEROPS_CLUSTER": "ECS cluster the jobs run on",
    "CONTAINEROPS_SUBNETS": "comma-separated subnet ids for Fargate tasks",
    "CONTAINEROPS_SECURITY_GROUPS": "comma-separated security group ids for Fargate tasks",
    "CONTAINEROPS_TASK_EXECUTION_ROLE_ARN": "IAM role ECS uses to pull images and read secrets",
    "CONTAINEROPS_TASK_ROLE_ARN": "IAM role the job containers run as (no permissions)",
    "CONTAINEROPS_LOG_GROUP": "CloudWatch Logs group the job containers write to",
    "CONTAINEROPS_DESIGNER_BUCKET": "S3 bucket the designer is served from",
    "CONTAINEROPS_WORKSPACE_BUCKET": "S3 bucket of the runs' workspaces (a prefix of layers per run)",
    "CONTAINEROPS_WORKSPACE_IMAGE": "image of the sidecar that restores and saves each job's /workspace",
    "CONTAINEROPS_MACHINE_PREFIX": "how this deployment's state machines are named (<prefix>-<workflow>...)",
    "CONTAINEROPS_TOKEN_KEY_SECRET": "Secrets Manager secret whose value signs the log API's cursors",
}


# Optional: the EKS cluster jobs with `platform: eks` run on (none: only Fargate), the
# namespace of infra/eks/namespace.yaml, and the API's endpoint when it is not the one
# DescribeCluster gives (the sandbox's harness on 127.0.0.1).
EKS_CLUSTER_VARIABLE = "CONTAINEROPS_EKS_CLUSTER"
EKS_NAMESPACE_VARIABLE = "CONTAINEROPS_EKS_NAMESPACE"
EKS_ENDPOINT_VARIABLE = "CONTAINEROPS_EKS_ENDPOINT"
DEFAULT_EKS_NAMESPACE = "containerops"


@dataclass(frozen=True)
class EksSettings:
    cluster: str
    namespace: str = DEFAULT_EKS_NAMESPACE
    endpoint: str = ""  # empty: DescribeCluster's, with its certificate authority


def eks_settings(environ: Mapping[str, str] | None = None) -> EksSettings | None:
    env = os.environ if environ is None else environ
    cluster = env.get(EKS_CLUSTER_VARIABLE, "").strip()
    if not cluster:
        return None
    return EksSettings(cluster, env.get(EKS_NAMESPACE_VARIABLE, "").strip() or DEFAULT_EKS_NAMESPACE,
                       env.get(EKS_ENDPOINT_VARIABLE, "").strip())


@dataclass(frozen=True)
class AwsSettings:
    definitions_table: str
    runs_table: str
    runs_by_workflow_index: str
    runs_by_namespace_index: str
    runs_by_time_index: str
    events_table: str
    launch_queue_url: str
    state_machine_role_arn: str
    cluster: str
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    task_execution_role_arn: str
    task_role_arn: str
    log_group: str
    designer_bucket: str
    workspace_bucket: str
    workspace_image: str
    machine_prefix: str
    token_key_secret: str
    default_platform: Platform = DEFAULT_PLATFORM
    eks: EksSettings | None = None  # None: the deployment has no EKS cluster

    @property
    def platforms(self) -> frozenset[Platform]:
        """The platforms this deployment can run a job on."""
        return frozenset({Platform.FARGATE} | ({Platform.EKS} if self.eks is not None else set()))

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> AwsSettings:
        """Every resource name, or one error listing every variable that is missing."""
        env = os.environ if environ is None else environ
        missing = [name for name in AWS_VARIABLES if not env.get(name, "").strip()]
        if missing:
            raise ConfigurationError(
                "the aws backend needs these environment variables (the deployed template sets"
                f" them): {', '.join(missing)}"
            )

        def value(name: str) -> str:
            return env[name].strip()

        eks = eks_settings(env)
        platform = default_platform(env)
        if platform is Platform.EKS and eks is None:
            raise ConfigurationError(f"{DEFAULT_PLATFORM_VARIABLE}=eks needs an EKS cluster:"
                                     f" {EKS_CLUSTER_VARIABLE} names none")

        def names(name: str) -> tuple[str, ...]:
            return tuple(part.strip() for part in value(name).split(",") if part.strip())

        return cls(
            definitions_table=value("CONTAINEROPS_DEFINITIONS_TABLE"),
            runs_table=value("CONTAINEROPS_RUNS_TABLE"),
            runs_by_workflow_index=value("CONTAINEROPS_RUNS_BY_WORKFLOW_INDEX"),
            runs_by_namespace_index=value("CONTAINEROPS_RUNS_BY_NAMESPACE_INDEX"),
            runs_by_time_index=value("CONTAINEROPS_RUNS_BY_TIME_INDEX"),
            events_table=value("CONTAINEROPS_EVENTS_TABLE"),
            launch_queue_url=value(LAUNCH_QUEUE_URL_VARIABLE),
            state_machine_role_arn=value("CONTAINEROPS_STATE_MACHINE_ROLE_ARN"),
            cluster=value("CONTAINEROPS_CLUSTER"),
            subnets=names("CONTAINEROPS_SUBNETS"),
            security_groups=names("CONTAINEROPS_SECURITY_GROUPS"),
            task_execution_role_arn=value("CONTAINEROPS_TASK_EXECUTION_ROLE_ARN"),
            task_role_arn=value("CONTAINEROPS_TASK_ROLE_ARN"),
            log_group=value("CONTAINEROPS_LOG_GROUP"),
            designer_bucket=value("CONTAINEROPS_DESIGNER_BUCKET"),
            workspace_bucket=value("CONTAINEROPS_WORKSPACE_BUCKET"),
            workspace_image=value("CONTAINEROPS_WORKSPACE_IMAGE"),
            machine_prefix=value("CONTAINEROPS_MACHINE_PREFIX"),
            token_key_secret=value("CONTAINEROPS_TOKEN_KEY_SECRET"),
            default_platform=platform,
            eks=eks,
        )


def default_platform(environ: Mapping[str, str] | None = None) -> Platform:
    """The platform of a job whose definition names none: CONTAINEROPS_DEFAULT_PLATFORM,
    fargate when unset (chalicelib/domain/platforms.py)."""
    raw = (os.environ if environ is None else environ).get(DEFAULT_PLATFORM_VARIABLE, "").strip().lower()
    if not raw:
        return DEFAULT_PLATFORM
    try:
        return Platform(raw)
    except ValueError:
        choices = ", ".join(p.value for p in Platform)
        raise ConfigurationError(
            f"{DEFAULT_PLATFORM_VARIABLE}={raw!r} is not a platform (choose {choices})") from None
