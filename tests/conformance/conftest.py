"""The two backends of the conformance suite, one of each per test module: the local driver
and the AWS sandbox, given the same secrets and the same container user. Both need the
Docker engine (`docker_engine`, tests/conftest.py: without one the tests fail, never skip);
the sandbox runs moto in-process under fake credentials, so nothing reaches out."""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from chalicelib.local.driver import default_container_user
from chalicelib.sandbox import AwsSandbox
from tests.conformance.backends import LocalBackend, SandboxBackend

SECRETS = {"DEPLOY_TOKEN": "s3cr3t-value-42"}
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing", "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory,
          docker_engine: docker.DockerClient) -> Iterator[LocalBackend]:
    backend = LocalBackend(tmp_path_factory.mktemp("local"), docker_engine, secrets=SECRETS,
                           container_user=default_container_user())
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory,
            docker_engine: docker.DockerClient) -> Iterator[SandboxBackend]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_AWS.items():
            patch.setenv(name, value)
        with AwsSandbox(tmp_path_factory.mktemp("sandbox"), secrets=SECRETS,
                        container_user=default_container_user()) as running:
            yield SandboxBackend(running)


@pytest.fixture(scope="module")
def eks(sandbox: SandboxBackend) -> SandboxBackend:
    """The same sandbox with every job on EKS: Kubernetes Jobs on its harness."""
    return SandboxBackend(sandbox.sandbox, platform="eks")
