"""Shared fixtures. Tests that need Docker use the `docker_engine` fixture. Without an engine
they fail (never skip): a skipped container test proves nothing. `make test` checks for the
engine first and says what to install."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

BUSYBOX_IMAGE = "containerops/busybox:1"
RELAY_SOURCE = Path(__file__).resolve().parents[1] / "tools" / "co-relay" / "co-relay.c"


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


@pytest.fixture(scope="session")
def relay_binary(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The output relay (chalicelib/launch/docker_relay.py) built from its source as
    `make relay` builds it, so the tests run the source as it is now."""
    compiler = shutil.which("cc")
    if compiler is None:
        pytest.fail("these tests build the output relay: install gcc and libc6-dev")
    binary = tmp_path_factory.mktemp("relay") / "co-relay"
    built = subprocess.run(
        [compiler, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-static", "-o", str(binary),
         str(RELAY_SOURCE)], capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr
    return str(binary)
