"""`containerops compile`: a workflow file as its Step Functions state machine, or one line with --check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from chalicelib.cli.compile import PLACEHOLDER_QUEUE_URL, QUEUE_URL_VARIABLE
from chalicelib.config import AWS_VARIABLES

REPO_TOP = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_TOP / "examples"
CI = str(EXAMPLES / "workflows" / "ci.yaml")
COMPONENT_OPTIONS = [arg for path in sorted(EXAMPLES.glob("components/*/component.yaml"))
                     for arg in ("-c", str(path))]
QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/launch"


def containerops(data_dir: Path, *args: str, env: dict[str, str] | None = None
                 ) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key != QUEUE_URL_VARIABLE}
    return subprocess.run([sys.executable, "-m", "chalicelib.cli.main", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, timeout=120,
                          env={**environment, "COLUMNS": "200", **(env or {})})


def test_compile_prints_the_ci_examples_state_machine_as_json(tmp_path: Path) -> None:
    result = containerops(tmp_path, "compile", CI, *COMPONENT_OPTIONS, "--queue-url", QUEUE_URL)

    assert result.returncode == 0, result.stderr
    machine = json.loads(result.stdout)
    assert machine["StartAt"] == "job clone"
    assert machine["States"]["job clone"]["Parameters"]["QueueUrl"] == QUEUE_URL
    assert machine["States"]["stage verify"]["Type"] == "Parallel"
    assert result.stdout.startswith('{\n  "Comment"')  # indented for people


def test_compile_check_prints_one_line_with_states_size_and_worst_case_events(tmp_path: Path) -> None:
    result = containerops(tmp_path, "compile", CI, *COMPONENT_OPTIONS, "--queue-url", QUEUE_URL, "--check")

    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    assert line.startswith(f"{CI}: ok, would deploy examples/ci as a state machine of 6 states, ")
    assert line.endswith(" bytes, at most 43 history events per run")


def test_compile_reads_distributed_maps_items_from_the_items_bucket_and_check_names_each_map(
        tmp_path: Path) -> None:
    fan_out = str(REPO_TOP / "tests" / "asl" / "workflows" / "fan-out.yaml")
    machine = containerops(tmp_path, "compile", fan_out, "--items-bucket", "my-workspaces")
    check = containerops(tmp_path, "compile", fan_out, "--items-bucket", "my-workspaces", "--check")

    assert machine.returncode == check.returncode == 0, machine.stderr + check.stderr
    reader = json.loads(machine.stdout)["States"]["job wide"]["ItemReader"]
    assert reader["Parameters"]["Bucket"] == "my-workspaces"
    line = " ".join(check.stdout.split())  # rich wraps long lines
    assert "; job build: 4 instances, inline map; job unit: 1,000 instances, distributed map;" in line


def test_the_queue_url_comes_from_the_aws_backends_variable_when_not_given(tmp_path: Path) -> None:
    assert QUEUE_URL_VARIABLE in AWS_VARIABLES
    result = containerops(tmp_path, "compile", CI, *COMPONENT_OPTIONS, env={QUEUE_URL_VARIABLE: QUEUE_URL})

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["States"]["job clone"]["Parameters"]["QueueUrl"] == QUEUE_URL
    assert "placeholder" not in result.stderr


def test_without_a_queue_url_the_machine_gets_a_placeholder_and_a_warning(tmp_path: Path) -> None:
    result = containerops(tmp_path, "compile", CI, *COMPONENT_OPTIONS)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["States"]["job clone"]["Parameters"]["QueueUrl"] == PLACEHOLDER_QUEUE_URL
    assert "warning: no --queue-url" in result.stderr


def test_components_registered_in_the_data_directory_are_found_without_files(tmp_path: Path) -> None:
    loaded = containerops(tmp_path, "load", str(EXAMPLES / "components"))
    assert loaded.returncode == 0, loaded.stderr

    result = containerops(tmp_path, "compile", CI, "--check")

    assert result.returncode == 0, result.stderr


def test_an_invalid_workflow_is_reported_like_validate_does_and_exits_2(tmp_path: Path) -> None:
    result = containerops(tmp_path, "compile", CI, "--queue-url", QUEUE_URL)

    assert result.returncode == 2
    assert result.stdout == ""
    assert f"{CI}: 5 problem(s)" in result.stderr
    assert "spec.stages[0].actions[0].jobs[0].component: unknown component containerops/git-clone" \
        in result.stderr


def test_a_workflow_past_a_step_functions_limit_is_refused_with_the_sentence_and_exits_2(
    tmp_path: Path,
) -> None:
    jobs = [{"name": f"j{i}", "image": "busybox:1", "retries": {"limit": 10, "backoff": "1s"}}
            for i in range(500)]
    document = {"apiVersion": "containerops/v1", "kind": "Workflow",
                "metadata": {"namespace": "demo", "name": "huge"},
                "spec": {"stages": [{"name": "all", "actions": [{"name": "a", "jobs": jobs}]}]}}
    path = tmp_path / "huge.yaml"
    path.write_text(yaml.safe_dump(document))

    result = containerops(tmp_path, "compile", str(path), "--check", "--queue-url", QUEUE_URL)

    assert result.returncode == 2
    assert f"{path}: 1 problem(s)" in result.stderr
    assert ("spec.stages: a run could record 28,502 history events (every job retried to its limit), "
            "3,502 over Step Functions' limit of 25,000 events per execution") in result.stderr
