"""The AWS resources of one sandbox, made on moto: what the deployed template makes.

The three tables (from the store's own models, `create_tables`), the launch queue, the
workspace bucket, the log cursor key, the ECS cluster with the default VPC's subnet and
`default` security group (which moto lets Fargate tasks use), the job log group, the roles
(ARNs only: moto checks no IAM policy), the secrets (`secrets.NAME` as the Secrets Manager
secret `containerops/NAME`), and the `AwsSettings` naming them all, for `AwsServices.build`.

Every name carries the sandbox's own suffix: moto keeps running the executions of a stopped
sandbox on threads of their own for a while, and with a queue of the same name their launch
messages would land in the next sandbox's queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from secrets import token_hex
from typing import TYPE_CHECKING, Any

from chalicelib.aws.secrets import secret_id
from chalicelib.aws.stepfunctions import MACHINE_PREFIX
from chalicelib.config import AwsSettings
from chalicelib.sandbox.environment import ACCOUNT
from chalicelib.store.dynamodb import TableNames, bind_tables, create_tables

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

# How long a launch message the launcher failed on stays invisible before SQS delivers it
# again: AWS's 30 s default, shortened so that a retried launch does not stall a local try.
LAUNCH_VISIBILITY_SECONDS = 5
WORKSPACE_IMAGE = "containerops/workspace:1"


@dataclass(frozen=True)
class SandboxClients:
    ecs: ECSClient
    ec2: Any  # no EC2 stubs are installed; only two describe calls are made
    logs: CloudWatchLogsClient
    secrets: SecretsManagerClient
    sqs: SQSClient
    s3: S3Client
    region: str


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def create_resources(clients: SandboxClients, suffix: str,
                     secrets: Mapping[str, str]) -> AwsSettings:
    """Make every resource of a deployment named with `suffix`; the settings naming them."""
    queue_url = clients.sqs.create_queue(
        QueueName=f"containerops-launch-{suffix}",
        Attributes={"VisibilityTimeout": str(LAUNCH_VISIBILITY_SECONDS)},
    )["QueueUrl"]
    cluster = f"containerops-{suffix}"
    clients.ecs.create_cluster(clusterName=cluster)
    subnet = clients.ec2.describe_subnets(
        Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"][0]["SubnetId"]
    group = clients.ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
    log_group = f"/containerops/jobs-{suffix}"
    clients.logs.create_log_group(logGroupName=log_group)
    for name, value in secrets.items():
        clients.secrets.create_secret(Name=secret_id(name), SecretString=value)
    token_key_secret = clients.secrets.create_secret(
        Name=f"containerops-log-cursor-key-{suffix}", SecretString=token_hex(32))["ARN"]
    workspace_bucket = f"containerops-workspaces-{suffix}"
    clients.s3.create_bucket(Bucket=workspace_bucket)
    settings = AwsSettings(
        definitions_table=f"containerops-definitions-{suffix}",
        runs_table=f"containerops-runs-{suffix}",
        runs_by_workflow_index="runs-by-workflow",
        runs_by_namespace_index="runs-by-namespace",
        runs_by_time_index="runs-by-time",
        events_table=f"containerops-events-{suffix}",
        launch_queue_url=queue_url,
        state_machine_role_arn=role_arn("containerops-state-machine"),
        cluster=cluster,
        subnets=(subnet,),
        security_groups=(group,),
        task_execution_role_arn=role_arn("containerops-task-execution"),
        task_role_arn=role_arn("containerops-task"),
        log_group=log_group,
        designer_bucket=f"containerops-designer-{suffix}",
        workspace_bucket=workspace_bucket,
        # Never pulled: the sandbox runs the sidecar's code in-process (sidecars.py).
        workspace_image=WORKSPACE_IMAGE,
        machine_prefix=MACHINE_PREFIX,
        token_key_secret=token_key_secret,
    )
    create_tables(bind_tables(TableNames.from_settings(settings), clients.region))
    return settings
