"""`containerops serve --backend aws-sandbox` as a user meets it: the definitions given with
--load are registered (a workflow AWS cannot run is left out, saying why), the API answers
on the serverless path (a run started through it executes and its log is read from
CloudWatch Logs), nothing is written to the local data directory, and SIGTERM stops it."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.local.conftest import wait_until
from tests.sandbox.conftest import EXAMPLES
from tests.test_server import CLI, Server, end_server, spawn_server


@pytest.fixture
def server(tmp_path: Path, docker_engine: docker.DockerClient) -> Iterator[Server]:
    started = spawn_server(tmp_path, "--backend", "aws-sandbox", "--load", str(EXAMPLES / "components"),
                           "--load", str(EXAMPLES / "workflows"))
    yield started
    end_server(started)


@pytest.mark.docker
def test_the_api_on_the_sandbox_runs_a_loaded_workflow_and_reads_its_log(server: Server) -> None:
    workflows = server.request("GET", "/api/namespaces/examples/workflows").json()
    names = {w["name"] for w in workflows["workflows"]}
    assert "ci-cloud" in names and "hello" in names
    assert "ci" not in names  # host mounts: left out

    started = server.request("POST", "/api/namespaces/examples/workflows/hello/runs",
                             json.dumps({"params": {"who": "AWS"}}).encode(),
                             {"Content-Type": "application/json"})
    assert started.status == 201, started.body
    run_id = started.json()["id"]

    def status() -> str:
        return str(server.request("GET", f"/api/namespaces/examples/runs/{run_id}").json()["status"])

    wait_until(lambda: status() in ("succeeded", "failed"), deadline_seconds=120)
    assert status() == "succeeded"
    page = server.request("GET", f"/api/namespaces/examples/runs/{run_id}/jobs/hello/attempts/1/logs").json()
    assert any("Hello, AWS!" in line["text"] for line in page["lines"])
    assert page["cursor"]  # a CloudWatch Logs position, for the next page
    assert not server.data_dir.exists(), "the sandbox keeps nothing in the local data directory"
    assert server.stop() == 0


def test_load_is_only_for_the_sandbox(tmp_path: Path) -> None:
    result = subprocess.run([*CLI, "--data-dir", str(tmp_path), "serve", "--load",
                             str(EXAMPLES / "components")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--load is for --backend aws-sandbox" in result.stderr
