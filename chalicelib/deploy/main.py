"""The command line of `make deploy` and `make destroy` (`python -m chalicelib.deploy`):
options from the make variables, the settings checked, the AWS clients made for the region,
and what a new user needs printed at the end: where the designer is, where the API is, and
the first token with how to use it. Errors are one message and exit code 2 (bad input or
environment) or 1 (AWS refused or the stack failed)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from chalicelib.config import ConfigurationError
from chalicelib.deploy.deploy import Deployed, account_of, aws_clients, check_eks_cluster, deploy, destroy
from chalicelib.deploy.eks import next_steps
from chalicelib.deploy.images import DockerImagePusher
from chalicelib.deploy.settings import deploy_settings, destroy_settings
from chalicelib.errors import ContainerOpsError

ROOT = Path(__file__).resolve().parents[2]
YES = ("1", "y", "yes", "true")


def _say(text: str) -> None:
    click.echo(f"==> {text}", err=True)


class BadSetup(click.ClickException):
    exit_code = 2


class Failed(click.ClickException):
    exit_code = 1


def _fail(exc: ContainerOpsError) -> click.ClickException:
    return BadSetup(str(exc)) if isinstance(exc, ConfigurationError) else Failed(str(exc))


@click.group()
def cli() -> None:
    """Deploy ContainerOps to AWS, or remove it (see the README's "Deploying to AWS")."""


@cli.command(name="deploy")
@click.option("--stack", envvar="STACK", help="The CloudFormation stack's name.")
@click.option("--region", envvar="REGION", help="The AWS region (default: AWS_REGION or your profile's).")
@click.option("--subnets", envvar="SUBNETS", help="Subnet ids for the job tasks, comma-separated.")
@click.option("--security-groups", envvar="SECURITY_GROUPS", help="Security group ids for the job tasks.")
@click.option("--workspace-image", envvar="WORKSPACE_IMAGE",
              help="An image already in a registry; default: push containerops/workspace:1 to ECR.")
@click.option("--package-bucket", envvar="PACKAGE_BUCKET",
              help="Bucket for the packages; default: containerops-packages-<account>-<region>.")
@click.option("--designer-origin", envvar="DESIGNER_ORIGIN", help="Another origin the designer is opened at.")
@click.option("--machine-prefix", envvar="MACHINE_PREFIX", help="The state machines' name prefix.")
@click.option("--eks-cluster", envvar="EKS_CLUSTER",
              help="An existing EKS cluster for jobs with `platform: eks` (default: none, Fargate only).")
@click.option("--eks-namespace", envvar="EKS_NAMESPACE",
              help="The cluster's namespace for the jobs (default: containerops).")
@click.option("--default-platform", envvar="DEFAULT_PLATFORM",
              help="fargate (the default) or eks: where a job that names no platform runs.")
@click.option("--package-dir", type=click.Path(path_type=Path), default=ROOT / ".build" / "package")
@click.option("--designer-dir", type=click.Path(path_type=Path), default=ROOT / "frontend" / "dist")
@click.option("--preflight", is_flag=True,
              help="Only check the settings and the credentials (before minutes of building).")
def deploy_command(stack: str | None, region: str | None, subnets: str | None, security_groups: str | None,
                   workspace_image: str | None, package_bucket: str | None, designer_origin: str | None,
                   machine_prefix: str | None, eks_cluster: str | None, eks_namespace: str | None,
                   default_platform: str | None, package_dir: Path, designer_dir: Path,
                   preflight: bool) -> None:
    """Deploy the stack from the built package, upload the designer, make the first token."""
    try:
        settings = deploy_settings(
            stack=stack, region=region, subnets=subnets, security_groups=security_groups,
            package_dir=package_dir, designer_dir=designer_dir, workspace_image=workspace_image,
            package_bucket=package_bucket, designer_origin=designer_origin, machine_prefix=machine_prefix,
            eks_cluster=eks_cluster, eks_namespace=eks_namespace, default_platform=default_platform,
            environ=os.environ, built=not preflight)
        clients = aws_clients(settings.region)
        if preflight:
            _say(f"deploying {settings.stack} as account {account_of(clients.sts)} in {settings.region}")
            check_eks_cluster(settings, clients, _say)
            return
        result = deploy(settings, clients, DockerImagePusher(), say=_say)
    except ContainerOpsError as exc:
        raise _fail(exc) from exc
    click.echo(summary(result))


@cli.command(name="destroy")
@click.option("--stack", envvar="STACK", help="The CloudFormation stack's name.")
@click.option("--region", envvar="REGION", help="The AWS region.")
@click.option("--delete-designer", envvar="DELETE_DESIGNER", default="",
              help="yes: also empty and delete the designer's bucket (kept otherwise).")
def destroy_command(stack: str | None, region: str | None, delete_designer: str) -> None:
    """Empty the workspace bucket, delete the stack and wait."""
    try:
        settings = destroy_settings(stack=stack, region=region, environ=os.environ,
                                    empty_designer_bucket=delete_designer.strip().lower() in YES)
        destroy(settings, aws_clients(settings.region), say=_say)
    except ContainerOpsError as exc:
        raise _fail(exc) from exc


def summary(result: Deployed) -> str:
    lines = ["", f"ContainerOps is deployed (stack {result.stack}).",
             f"  Designer: {result.designer_url}",
             f"  API:      {result.api_url}"]
    if result.token:
        lines += ["", "  The first API token (shown only now: keep it in a password manager):",
                  "", f"    {result.token}", "",
                  "  Paste it into the designer when it asks, or call the API with it:",
                  f"    curl -H 'Authorization: Bearer <token>' {result.api_url}/namespaces",
                  "  More tokens, rotation, revocation:",
                  f"    containerops tokens create --secret {result.token_secret} --name NAME"]
    else:
        lines += ["", "  No token was made (only the first deploy makes one). Tokens:",
                  f"    containerops tokens list --secret {result.token_secret}"]
    if result.eks is not None:
        lines += ["", *next_steps(result.eks)]
    return "\n".join(lines)


def main() -> None:
    cli(prog_name="python -m chalicelib.deploy")
