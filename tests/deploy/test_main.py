"""The command line says in words what is missing: credentials, region, subnets, an EKS cluster."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws

from chalicelib.deploy.main import cli


@pytest.fixture
def built(tmp_path: Path) -> list[str]:
    package, designer = tmp_path / "package", tmp_path / "dist"
    package.mkdir()
    designer.mkdir()
    for file in (package / "sam.json", package / "deployment.zip", designer / "index.html"):
        file.write_text("{}")
    return ["--package-dir", str(package), "--designer-dir", str(designer)]


def test_without_credentials_the_deploy_says_how_to_give_them(
        built: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    answer = CliRunner().invoke(cli, ["deploy", *built], env={
        "STACK": "containerops", "SUBNETS": "subnet-0a1", "SECURITY_GROUPS": "sg-0b2"})
    assert answer.exit_code == 2
    assert "no AWS credentials found: run `aws configure`" in answer.output


def test_without_a_region_the_deploy_asks_for_one(built: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    answer = CliRunner().invoke(cli, ["deploy", *built, "--stack", "containerops", "--subnets", "subnet-0a1",
                                      "--security-groups", "sg-0b2"])
    assert answer.exit_code == 2 and "no AWS region is set: give REGION=" in answer.output


def test_without_subnets_the_deploy_names_the_variable(built: list[str]) -> None:
    answer = CliRunner().invoke(cli, ["deploy", *built],
                                env={"STACK": "containerops", "SECURITY_GROUPS": "sg-0b2"})
    assert answer.exit_code == 2 and "no subnets for the job tasks: give SUBNETS=" in answer.output


def test_destroy_without_credentials_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    answer = CliRunner().invoke(cli, ["destroy", "--stack", "containerops"])
    assert answer.exit_code == 2 and "no AWS credentials found" in answer.output


def test_the_preflight_checks_settings_and_credentials_before_anything_is_built(tmp_path: Path) -> None:
    unbuilt = ["--package-dir", str(tmp_path / "none"), "--designer-dir", str(tmp_path / "none")]
    with mock_aws():
        answer = CliRunner().invoke(cli, ["deploy", "--preflight", *unbuilt, "--stack", "containerops",
                                          "--subnets", "subnet-0a1", "--security-groups", "sg-0b2"])
    assert answer.exit_code == 0, answer.output
    assert "deploying containerops as account 123456789012 in us-east-1" in answer.output


PREFLIGHT = ["deploy", "--preflight", "--stack", "containerops", "--subnets", "subnet-0a1",
             "--security-groups", "sg-0b2"]


def test_the_preflight_refuses_eks_as_the_default_platform_without_a_cluster(tmp_path: Path) -> None:
    unbuilt = ["--package-dir", str(tmp_path / "none"), "--designer-dir", str(tmp_path / "none")]
    with mock_aws():
        answer = CliRunner().invoke(cli, [*PREFLIGHT, *unbuilt], env={"DEFAULT_PLATFORM": "eks"})
    assert answer.exit_code == 2
    assert "DEFAULT_PLATFORM=eks needs EKS_CLUSTER=name" in answer.output


def test_the_preflight_looks_the_cluster_up(tmp_path: Path) -> None:
    unbuilt = ["--package-dir", str(tmp_path / "none"), "--designer-dir", str(tmp_path / "none")]
    with mock_aws():
        boto3.client("eks").create_cluster(name="ci", version="1.31", resourcesVpcConfig={},
                                           roleArn="arn:aws:iam::123456789012:role/eks")
        found = CliRunner().invoke(cli, [*PREFLIGHT, *unbuilt, "--eks-cluster", "ci"])
        missing = CliRunner().invoke(cli, [*PREFLIGHT, *unbuilt], env={"EKS_CLUSTER": "other"})
    assert found.exit_code == 0, found.output
    assert "EKS cluster ci: Kubernetes 1.31" in found.output
    assert missing.exit_code == 2
    assert "there is no EKS cluster other in region us-east-1" in missing.output
