"""Shared fixtures. Tests that need Docker use the `docker_engine` fixture. Without an engine
they fail (never skip): a skipped container test proves nothing. `make test` checks for the
engine first and says what to install."""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

BUSYBOX_IMAGE = "containerops/busybox:1"


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[docker.DockerClient]:
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except Exception as exc:  # any failure to reach the engine means: no engine here
        pytest.fail(f"these tests need a running Docker engine: {exc}")
    try:
        client.images.get(BUSYBOX_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"image {BUSYBOX_IMAGE} is missing: run `make images` first")
    yield client
    client.close()
