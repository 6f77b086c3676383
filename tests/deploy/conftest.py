"""What the deploy tests share: fake AWS credentials (nothing may reach AWS or the instance
metadata service), the package `chalice package` makes (once per session, without the
bundled libraries), a built designer to upload, and a moto server on 127.0.0.1 with AWS
clients for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from botocore.config import Config
from moto.server import ThreadedMotoServer

from chalicelib.deploy.deploy import AwsClients, aws_clients
from chalicelib.deploy.settings import DeploySettings
from tests.infra.templates import package_without_dependencies

REGION = "us-east-1"
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in FAKE_AWS.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture(scope="session")
def package_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("deploy-package")
    package_without_dependencies(workdir)
    return workdir / "package"


@pytest.fixture
def designer_dir(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text('<!doctype html><script src="assets/index-Ab12.js"></script>')
    (dist / "assets" / "index-Ab12.js").write_text("console.log('designer')")
    (dist / "assets" / "index-Cd34.css").write_text("body{}")
    (dist / "favicon.svg").write_text("<svg/>")
    return dist


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # The server keeps moto's backends, which live as long as the process: start each test empty.
    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
    try:
        yield endpoint
    finally:
        requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
        server.stop()


@pytest.fixture
def clients(moto_endpoint: str) -> AwsClients:
    return aws_clients(REGION, endpoint_url=moto_endpoint, config=Config(s3={"addressing_style": "path"}))


@pytest.fixture
def subnets_and_groups(clients: AwsClients, moto_endpoint: str) -> tuple[str, str]:
    import boto3

    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=moto_endpoint)
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    group = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
    return subnet, group


@pytest.fixture
def settings(package_dir: Path, designer_dir: Path, subnets_and_groups: tuple[str, str]) -> DeploySettings:
    subnet, group = subnets_and_groups
    return DeploySettings(stack="containerops-test", region=REGION, subnets=(subnet,),
                          security_groups=(group,), package_dir=package_dir, designer_dir=designer_dir,
                          workspace_image="123456789012.dkr.ecr.us-east-1.amazonaws.com/containerops/workspace:1")
