"""`containerops run FILE --backend aws-sandbox` as a user meets it: what it prints and its exit
codes are those of a local run; what AWS cannot run is refused before anything starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import docker
import pytest

from tests.sandbox.conftest import EXAMPLES

CLI = [sys.executable, "-m", "chalicelib.cli.main"]


def containerops(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "--data-dir", str(tmp_path / "data"), *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})


@pytest.mark.docker
def test_a_run_on_the_sandbox_prints_its_run_record_as_json(
    tmp_path: Path, docker_engine: docker.DockerClient
) -> None:
    result = containerops(tmp_path, "run", str(EXAMPLES / "workflows/hello.yaml"), "--backend",
                          "aws-sandbox", "--output", "json", "-p", "who=Sandbox")

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["workflow"], document["status"]) == ("examples/hello", "succeeded")
    [hello] = document["jobs"]
    assert (hello["status"], hello["outputs"]) == ("succeeded", {"GREETING": "Hello, Sandbox!"})
    assert [a["status"] for a in hello["attempt_history"]] == ["succeeded"]
    assert not (tmp_path / "data").exists(), "the sandbox keeps nothing in the local data directory"


@pytest.mark.docker
def test_a_failed_run_on_the_sandbox_prints_its_summary_and_exits_1(
    tmp_path: Path, docker_engine: docker.DockerClient
) -> None:
    result = containerops(tmp_path, "run", str(EXAMPLES / "workflows/failing.yaml"), "--backend",
                          "aws-sandbox")

    assert result.returncode == 1, result.stderr
    assert "failed in" in result.stdout
    assert "job 'check' failed: component reported CO_RESULT = false" in result.stdout
    assert "check.REASON = CHANGELOG has no entry for this version" in result.stdout
    assert "deploy skipped" in result.stdout


def test_a_workflow_with_host_mounts_is_refused_for_the_sandbox_with_exit_2(tmp_path: Path) -> None:
    components = [f"-c{path}" for path in sorted(EXAMPLES.glob("components/*/component.yaml"))]

    result = containerops(tmp_path, "run", str(EXAMPLES / "workflows/ci.yaml"), *components,
                          "--backend", "aws-sandbox", "-p", "repo-dir=/x", "-p", "release-dir=/y")

    assert result.returncode == 2
    assert "spec.stages[0].actions[0].jobs[0].mounts: host mounts are a local-driver feature" in result.stderr
    assert result.stdout == ""


def test_the_sandbox_cannot_be_combined_with_a_server(tmp_path: Path) -> None:
    result = containerops(tmp_path, "run", str(EXAMPLES / "workflows/hello.yaml"), "--backend",
                          "aws-sandbox", "--server", "http://127.0.0.1:9")

    assert result.returncode == 2
    assert "cannot be combined with --server" in result.stderr


WHERE_AM_I = """\
apiVersion: containerops/v1
kind: Workflow
metadata: {namespace: tests, name: where}
spec:
  stages:
    - name: s
      actions:
        - name: a
          jobs:
            - name: where
              image: containerops/busybox:1
              command: [sh, -c, 'echo "[COUT] CLUSTER = ${KUBERNETES_SERVICE_HOST:-none}"']
              outputs: [CLUSTER]
"""


@pytest.mark.docker
def test_a_run_on_the_sandbox_with_platform_eks_runs_its_jobs_in_pods(
    tmp_path: Path, docker_engine: docker.DockerClient
) -> None:
    workflow = tmp_path / "where.yaml"
    workflow.write_text(WHERE_AM_I, encoding="utf-8")
    on = {platform: containerops(tmp_path, "run", str(workflow), "--backend", "aws-sandbox",
                                 "--platform", platform, "--output", "json")
          for platform in ("eks", "fargate")}

    assert [result.returncode for result in on.values()] == [0, 0], on["eks"].stderr + on["fargate"].stderr
    cluster = {platform: json.loads(result.stdout)["jobs"][0]["outputs"]["CLUSTER"]
               for platform, result in on.items()}
    assert cluster["fargate"] == "none" and cluster["eks"] != "none"  # a pod is told its cluster's API


def test_a_platform_is_refused_for_a_local_run_saying_why(tmp_path: Path) -> None:
    result = containerops(tmp_path, "run", str(EXAMPLES / "workflows/hello.yaml"), "--platform", "eks")

    assert result.returncode == 2
    assert "--platform is for --backend aws-sandbox" in result.stderr
