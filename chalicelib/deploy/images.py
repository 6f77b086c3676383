"""The workspace sidecar's image on AWS. Job tasks pull it from a registry, and the one `make
images` builds is only on this machine, so the deploy pushes it to this account's ECR
repository `containerops/workspace` (made on first use; the task execution role may already
pull from `containerops/…` repositories) and gives its URI to the stack. An operator who
keeps the image elsewhere names it with WORKSPACE_IMAGE= and nothing is pushed.

Docker is behind `ImagePusher` (the real one uses the Docker SDK), so tests need no registry."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from chalicelib.deploy.aws_errors import error_code, translated
from chalicelib.deploy.settings import LOCAL_WORKSPACE_IMAGE
from chalicelib.errors import DeployFailed, EngineUnavailable

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

WORKSPACE_REPOSITORY = "containerops/workspace"


@dataclass(frozen=True)
class RegistryLogin:
    registry: str  # host[:port], without a scheme
    username: str
    password: str


class ImagePusher(Protocol):
    def push(self, local_image: str, remote_image: str, login: RegistryLogin) -> None:
        """Tag `local_image` as `remote_image` and push it, or raise DeployFailed."""
        ...


def image_tag(image: str) -> str:
    name = image.rsplit("/", 1)[-1]
    return name.split(":", 1)[1] if ":" in name else "latest"


def ensure_repository(ecr: ECRClient, name: str = WORKSPACE_REPOSITORY) -> str:
    """The repository's URI, made (scanned on push, encrypted) when it is missing."""
    with translated(f"finding the ECR repository {name}"):
        try:
            found = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
            return found["repositoryUri"]
        except ClientError as exc:
            if error_code(exc) != "RepositoryNotFoundException":
                raise
        made = ecr.create_repository(repositoryName=name, imageScanningConfiguration={"scanOnPush": True},
                                     encryptionConfiguration={"encryptionType": "AES256"})
    return made["repository"]["repositoryUri"]


def registry_login(ecr: ECRClient) -> RegistryLogin:
    with translated("asking ECR for a registry login"):
        data = ecr.get_authorization_token()["authorizationData"][0]
    username, _, password = base64.b64decode(data["authorizationToken"]).decode("utf-8").partition(":")
    registry = data["proxyEndpoint"].removeprefix("https://").removeprefix("http://")
    return RegistryLogin(registry, username, password)


def publish_workspace_image(ecr: ECRClient, pusher: ImagePusher,
                            local_image: str = LOCAL_WORKSPACE_IMAGE) -> str:
    """Push the local workspace image to ECR; the image URI the job tasks will pull."""
    repository = ensure_repository(ecr)
    remote = f"{repository}:{image_tag(local_image)}"
    pusher.push(local_image, remote, registry_login(ecr))
    return remote


class DockerImagePusher:
    """Pushes through the local Docker engine (docker SDK)."""

    def __init__(self, client: Any = None) -> None:
        self._client = client

    def push(self, local_image: str, remote_image: str, login: RegistryLogin) -> None:
        import docker
        from docker.errors import DockerException, ImageNotFound

        try:
            client = self._client or docker.from_env()
            image = client.images.get(local_image)
        except ImageNotFound as exc:
            raise DeployFailed(f"the image {local_image} is not on this machine: run `make images` first,"
                               " or give WORKSPACE_IMAGE= an image the tasks can pull") from exc
        except DockerException as exc:
            raise EngineUnavailable(f"Docker is needed to push {local_image} to ECR ({exc}); start it, or"
                                    " give WORKSPACE_IMAGE= an image already in a registry") from exc
        repository, _, tag = remote_image.rpartition(":")
        try:
            image.tag(repository, tag)
            auth = {"username": login.username, "password": login.password}
            failures = list(_push_errors(client.images.push(repository, tag=tag, auth_config=auth,
                                                            stream=True, decode=True)))
        except DockerException as exc:
            raise DeployFailed(f"pushing {remote_image} failed: {exc}") from exc
        if failures:
            raise DeployFailed(f"pushing {remote_image} failed: {failures[0]}")


def _push_errors(progress: Iterator[dict[str, Any]]) -> Iterator[str]:
    for line in progress:
        if "error" in line:
            yield str(line.get("errorDetail", {}).get("message") or line["error"])
