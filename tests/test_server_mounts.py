"""`containerops serve --allow-mount DIR` over real HTTP: a definition that writes out a mount
outside the roots is refused when saved, one whose mount a param sends outside fails that job
before its container starts, and a mount inside a root is really mounted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.local.conftest import busybox_workflow, shell_job, wait_until
from tests.test_server import Server, end_server, spawn_server

HEADERS = {"Content-Type": "application/json"}


@pytest.fixture
def allowed(tmp_path: Path) -> Path:
    folder = tmp_path / "allowed"
    folder.mkdir()
    folder.chmod(0o755)
    (folder / "greeting").write_text("hello from the host\n")
    (tmp_path / "private").mkdir()
    return folder


@pytest.fixture
def server(tmp_path: Path, allowed: Path, docker_engine: docker.DockerClient) -> Iterator[Server]:
    started = spawn_server(tmp_path, "--static-dir", str(tmp_path / "no-designer"),
                           "--allow-mount", str(allowed))
    yield started
    end_server(started)


def save(server: Server, workflow: dict[str, Any]) -> Any:
    return server.request("POST", "/api/namespaces/tests/workflows",
                          body=json.dumps(workflow).encode(), headers=HEADERS)


def run_to_its_end(server: Server, name: str, params: dict[str, str]) -> Any:
    started = server.request("POST", f"/api/namespaces/tests/workflows/{name}/runs",
                             body=json.dumps({"params": params}).encode(), headers=HEADERS)
    assert started.status == 201, started.body
    path = f"/api/namespaces/tests/runs/{started.json()['id']}"
    return wait_until(lambda: (doc := server.request("GET", path).json())["status"] in (
        "succeeded", "failed", "cancelled") and doc)


def test_a_workflow_mounting_a_written_out_path_outside_the_roots_is_refused_when_saved(
    server: Server, tmp_path: Path
) -> None:
    outside = busybox_workflow("outside", shell_job("peek", "ls /host", mounts=[
        {"source": str(tmp_path / "private"), "target": "/host"}]))
    reply = save(server, outside)
    assert reply.status == 400, reply.body
    [problem] = reply.json()["error"]["details"]
    assert problem["path"] == "spec.stages[0].actions[0].jobs[0].mounts[0].source"
    assert f"{tmp_path}/private is outside the folders this server allows mounting" in problem["message"]


def test_a_mount_a_param_sends_outside_the_roots_fails_its_job_and_one_inside_is_mounted(
    server: Server, allowed: Path
) -> None:
    flow = busybox_workflow("by-param", shell_job("read", "cat /host/greeting", mounts=[
        {"source": "${{ params.dir }}", "target": "/host"}]), params=[{"name": "dir", "required": True}])
    assert save(server, flow).status == 201

    refused = run_to_its_end(server, "by-param", {"dir": f"{allowed}/../private"})
    assert refused["status"] == "failed"
    assert "is outside the folders this server allows mounting" in refused["jobs"][0]["reason"]
    assert refused["jobs"][0]["attempts"] == 0  # no container was started

    mounted = run_to_its_end(server, "by-param", {"dir": str(allowed)})
    assert mounted["status"] == "succeeded", mounted
