"""The deploy and the destroy, step by step, on clients given to them.

Deploy: check the credentials (STS) and the EKS cluster if one is named (`eks.py`), push the
workspace image unless one is named, put the
Lambda bundle and the template in the package bucket, create or update the stack and wait,
upload the designer with a `config.json` naming the stack's API, invalidate CloudFront's copy,
and, on the stack's first deploy only, make the first API token (its text is returned once;
only its hash is kept). A deploy that changes nothing still uploads the designer, which may
have been rebuilt.

Destroy: empty the workspace bucket (CloudFormation deletes only an empty bucket), delete
the stack and wait. The designer bucket and the tables are kept by the stack's
`DeletionPolicy: Retain`; the designer bucket is emptied and deleted too when asked.

`prepare` lets the caller change the template before it is uploaded: the tests expand SAM
there, which moto cannot do; a real deploy leaves it alone (CloudFormation expands it)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.aws.api_tokens import token_admin
from chalicelib.deploy.aws_errors import error_code, translated
from chalicelib.deploy.designer import empty_bucket, invalidate, upload_designer
from chalicelib.deploy.eks import EksNextSteps, checked_cluster
from chalicelib.deploy.images import ImagePusher, publish_workspace_image
from chalicelib.deploy.packages import PackageBucket, default_bucket_name
from chalicelib.deploy.settings import DeploySettings, DestroySettings
from chalicelib.deploy.stack import Stacks, StackState, state_of
from chalicelib.deploy.template import Template, api_base, content_key, located, stack_parameters
from chalicelib.errors import DeployFailed

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_eks import EKSClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sts import STSClient

TABLES = ("DefinitionsTableName", "RunsTableName", "EventsTableName")


@dataclass(frozen=True)
class AwsClients:
    cloudformation: CloudFormationClient
    s3: S3Client
    cloudfront: CloudFrontClient
    secretsmanager: SecretsManagerClient
    ecr: ECRClient
    sts: STSClient
    eks: EKSClient


def aws_clients(region: str, **client_options: Any) -> AwsClients:
    """Clients of one region from boto3's usual credential chain (`client_options` such as
    `endpoint_url` are for tests)."""
    import boto3

    session = boto3.session.Session(region_name=region)

    def client(name: str) -> Any:
        return session.client(name, **client_options)  # type: ignore[call-overload]

    return AwsClients(cloudformation=client("cloudformation"), s3=client("s3"),
                      cloudfront=client("cloudfront"), secretsmanager=client("secretsmanager"),
                      ecr=client("ecr"), sts=client("sts"), eks=client("eks"))


@dataclass(frozen=True)
class Deployed:
    stack: str
    created: bool
    changed: bool
    designer_url: str
    api_url: str
    workspace_image: str
    token: str | None  # the first API token's text: only on the stack's first deploy
    token_secret: str
    eks: EksNextSteps | None = None  # what is left to do on the EKS cluster (None: no cluster)


def account_of(sts: STSClient) -> str:
    with translated("checking the AWS credentials"):
        return sts.get_caller_identity()["Account"]


def check_eks_cluster(settings: DeploySettings, clients: AwsClients, say: Callable[[str], None]) -> None:
    """The cluster EKS_CLUSTER names, refused in words when the stack cannot use it."""
    if settings.eks_cluster:
        cluster = checked_cluster(clients.eks, settings.eks_cluster, settings.region)
        say(f"EKS cluster {cluster.name}: Kubernetes {cluster.version or '?'}, authentication mode"
            f" {cluster.authentication_mode or '?'}; jobs run in namespace {settings.eks_namespace},"
            f" by default on {settings.default_platform.value}")


def deploy(settings: DeploySettings, clients: AwsClients, pusher: ImagePusher, *,
           say: Callable[[str], None] = print, prepare: Callable[[Template], Template] = lambda t: t,
           stacks: Stacks | None = None, clock: Callable[[], float] = time.time) -> Deployed:
    account = account_of(clients.sts)
    say(f"deploying the stack {settings.stack} to account {account}, region {settings.region}")
    check_eks_cluster(settings, clients, say)
    image = settings.workspace_image
    if image is None:
        say("pushing the workspace image to ECR")
        image = publish_workspace_image(clients.ecr, pusher)
    say(f"workspace image: {image}")

    bucket_name = settings.package_bucket or default_bucket_name(account, settings.region)
    bucket = PackageBucket(clients.s3, bucket_name, settings.region)
    if bucket.ensure():
        say(f"made the package bucket {bucket.name}")
    bundle = (settings.package_dir / "deployment.zip").read_bytes()
    code = bucket.upload(content_key(settings.stack, "deployment.zip", bundle), bundle, "application/zip")
    packaged = json.loads((settings.package_dir / "sam.json").read_text(encoding="utf-8"))
    body = json.dumps(prepare(located(packaged, code)), indent=1, sort_keys=True).encode("utf-8")
    template = bucket.upload(content_key(settings.stack, "template.json", body), body, "application/json")

    stacks = stacks or Stacks(clients.cloudformation)
    say(f"{'updating' if stacks.status(settings.stack) else 'creating'} the stack {settings.stack}"
        " (a first deploy takes 5 to 15 minutes: CloudFront is slow to make)")
    applied = stacks.apply(settings.stack, bucket.url(template), stack_parameters(settings, image))
    say("the stack is " + ("created" if applied.created else "updated" if applied.changed else "unchanged"))

    outputs = stacks.outputs(settings.stack)
    api = api_base(_output(outputs, "EndpointURL", settings.stack))
    designer_bucket = _output(outputs, "DesignerBucketName", settings.stack)
    keys = upload_designer(clients.s3, designer_bucket, settings.designer_dir, api)
    invalidate(clients.cloudfront, _output(outputs, "DesignerDistributionId", settings.stack), clock)
    say(f"uploaded the designer ({len(keys)} files) to {designer_bucket}")

    secret = _output(outputs, "ApiTokenHashesArn", settings.stack)
    token = None
    if applied.created:
        token = token_admin(secret, clients.secretsmanager).create(settings.token_name).token
    eks = None
    if settings.eks_cluster:
        eks = EksNextSteps(cluster=settings.eks_cluster, namespace=settings.eks_namespace,
                           region=_output(outputs, "FluentBitRegion", settings.stack),
                           log_group=_output(outputs, "FluentBitLogGroup", settings.stack),
                           fluent_bit_role=_output(outputs, "FluentBitRoleArn", settings.stack))
    return Deployed(stack=settings.stack, created=applied.created, changed=applied.changed,
                    designer_url=_output(outputs, "DesignerUrl", settings.stack), api_url=api,
                    workspace_image=image, token=token, token_secret=secret, eks=eks)


def destroy(settings: DestroySettings, clients: AwsClients, *, say: Callable[[str], None] = print,
            stacks: Stacks | None = None) -> bool:
    """Delete the stack; False when there was none."""
    account = account_of(clients.sts)
    stacks = stacks or Stacks(clients.cloudformation)
    if state_of(stacks.status(settings.stack)) is StackState.ABSENT:
        say(f"there is no stack {settings.stack} in account {account}, region {settings.region}")
        return False
    outputs = stacks.outputs(settings.stack)  # a stack whose creation failed has none
    workspace = stacks.resource_id(settings.stack, "WorkspaceBucket")
    designer = stacks.resource_id(settings.stack, "DesignerBucket")
    if workspace and _bucket_exists(clients.s3, workspace):
        say(f"emptied the workspace bucket {workspace} ({empty_bucket(clients.s3, workspace)} objects)")
    say(f"deleting the stack {settings.stack}")
    stacks.delete(settings.stack)
    say(f"the stack {settings.stack} is deleted")
    if designer and _bucket_exists(clients.s3, designer):
        if settings.empty_designer_bucket:
            count = empty_bucket(clients.s3, designer)
            with translated(f"deleting the designer bucket {designer}"):
                clients.s3.delete_bucket(Bucket=designer)
            say(f"deleted the designer bucket {designer} ({count} objects)")
        else:
            say(f"kept the designer bucket {designer} (DeletionPolicy Retain); `aws s3 rb"
                f" s3://{designer} --force` deletes it")
    kept = [outputs[name] for name in TABLES if name in outputs]
    if kept:
        say("kept the tables (DeletionPolicy Retain, with your definitions and runs): " + ", ".join(kept)
            + "; delete them in the DynamoDB console when they are no longer wanted")
    return True


def _output(outputs: dict[str, str], name: str, stack: str) -> str:
    if name not in outputs:
        raise DeployFailed(f"the stack {stack} has no output {name}: is it a ContainerOps stack made by"
                           " `make deploy`?")
    return outputs[name]


def _bucket_exists(s3: S3Client, bucket: str) -> bool:
    from botocore.exceptions import ClientError

    with translated(f"looking for the bucket {bucket}"):
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError as exc:
            if error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
                return False
            raise
    return True
