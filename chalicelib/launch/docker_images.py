"""Building a component's image from its folder on the local Docker engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import requests

from chalicelib.errors import EngineUnavailable, LaunchError


def build_image(directory: Path, tag: str) -> Iterator[str]:
    """Build `directory` (its Dockerfile) as `tag`, yielding the engine's progress lines.

    Never pulls: base images must already be on the engine (see examples/build-images.sh).
    """
    if not (directory / "Dockerfile").is_file():
        raise LaunchError(f"{directory} has no Dockerfile")
    try:
        client = docker.from_env(timeout=600)
        stream = client.api.build(path=str(directory), tag=tag, rm=True, pull=False, decode=True)
        for event in stream:
            if "error" in event:
                raise LaunchError(f"building {tag} failed: {str(event['error']).strip()}")
            text = str(event.get("stream", "")).strip()
            if text:
                yield text
    except (requests.exceptions.ConnectionError, docker.errors.DockerException) as exc:
        if isinstance(exc, docker.errors.APIError):
            raise LaunchError(f"building {tag} failed: {exc.explanation or exc}") from exc
        raise EngineUnavailable(
            "cannot reach the Docker engine: is dockerd running? (install docker.io and start dockerd)"
        ) from exc
