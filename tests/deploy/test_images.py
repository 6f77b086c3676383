"""The workspace image pushed to ECR: the repository made once, the login from ECR's token,
and Docker's push errors reported (a fake Docker engine: no registry is reached)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from docker.errors import ImageNotFound
from moto import mock_aws

from chalicelib.deploy.images import (
    DockerImagePusher,
    RegistryLogin,
    ensure_repository,
    image_tag,
    registry_login,
)
from chalicelib.errors import DeployFailed

LOGIN = RegistryLogin("123456789012.dkr.ecr.us-east-1.amazonaws.com", "AWS", "secret")


class FakeImage:
    def __init__(self) -> None:
        self.tags: list[tuple[str, str]] = []

    def tag(self, repository: str, tag: str) -> bool:
        self.tags.append((repository, tag))
        return True


class FakeImages:
    def __init__(self, progress: list[dict[str, Any]], present: bool = True) -> None:
        self.image, self.progress, self.present = FakeImage(), progress, present
        self.pushes: list[dict[str, Any]] = []

    def get(self, name: str) -> FakeImage:
        if not self.present:
            raise ImageNotFound(f"no such image: {name}")
        return self.image

    def push(self, repository: str, **options: Any) -> Any:
        self.pushes.append({"repository": repository, **options})
        return iter(self.progress)


class FakeDocker:
    def __init__(self, images: FakeImages) -> None:
        self.images = images


def test_the_tag_is_read_from_the_image_name() -> None:
    assert image_tag("containerops/workspace:1") == "1"
    assert image_tag("localhost:5000/workspace") == "latest"


def test_the_repository_is_made_once_and_the_login_comes_from_ecr() -> None:
    with mock_aws():
        ecr = boto3.client("ecr", region_name="us-east-1")
        first, second = ensure_repository(ecr), ensure_repository(ecr)
        login = registry_login(ecr)
        assert first == second and first.endswith("/containerops/workspace")
        assert len(ecr.describe_repositories()["repositories"]) == 1
        assert login.username == "AWS" and login.password and "://" not in login.registry


def test_the_image_is_tagged_and_pushed_with_the_login() -> None:
    images = FakeImages([{"status": "Pushed"}])
    DockerImagePusher(FakeDocker(images)).push("containerops/workspace:1", f"{LOGIN.registry}/cw:1", LOGIN)
    assert images.image.tags == [(f"{LOGIN.registry}/cw", "1")]
    [push] = images.pushes
    assert push["auth_config"] == {"username": "AWS", "password": "secret"} and push["tag"] == "1"


def test_a_push_error_in_the_progress_fails_the_deploy() -> None:
    images = FakeImages([{"errorDetail": {"message": "denied: not authorized"}, "error": "denied"}])
    with pytest.raises(DeployFailed, match="denied: not authorized"):
        DockerImagePusher(FakeDocker(images)).push("containerops/workspace:1", "r/cw:1", LOGIN)


def test_an_image_that_was_never_built_says_to_run_make_images() -> None:
    images = FakeImages([], present=False)
    with pytest.raises(DeployFailed, match="run `make images` first"):
        DockerImagePusher(FakeDocker(images)).push("containerops/workspace:1", "r/cw:1", LOGIN)
