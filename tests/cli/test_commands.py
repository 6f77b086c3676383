"""The command line as a user meets it: exit codes, messages, and what it prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import docker
import yaml

from tests.local.conftest import EXAMPLES, busybox_workflow, shell_job, wait_until

CLI = [sys.executable, "-m", "chalicelib.cli.main"]


def containerops(data_dir: Path, *args: str, env: dict[str, str] | None = None,
                 ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "--data-dir", str(data_dir), *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "COLUMNS": "200", **(env or {})})


def history(data_dir: Path) -> list[dict[str, object]]:
    runs: list[dict[str, object]] = json.loads(
        containerops(data_dir, "runs", "--output", "json").stdout)
    return runs


def write(path: Path, document: object) -> Path:
    path.write_text(yaml.safe_dump(document) if not isinstance(document, str) else document)
    return path


def test_validate_accepts_the_examples(tmp_path: Path) -> None:
    files = [*map(str, EXAMPLES.glob("components/*/component.yaml")),
             *map(str, EXAMPLES.glob("workflows/*.yaml"))]

    result = containerops(tmp_path, "validate", *files)

    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok") == len(files)


def test_validate_lists_every_problem_with_its_path_and_exits_2(tmp_path: Path) -> None:
    workflow = busybox_workflow("broken", shell_job("a", "true", colour="red"),
                                shell_job("a", "true", data={"x": "${{ jobs.nope.outputs.X }}"}))
    workflow["spec"]["stages"][0]["actions"].append({"name": "c", "jobs": [
        {"name": "c", "component": "demo/unknown@1.0.0"}]})

    result = containerops(tmp_path, "validate", str(write(tmp_path / "broken.yaml", workflow)))

    assert result.returncode == 2
    assert "spec.stages[0].actions[0].jobs[0]: unknown field 'colour'" in result.stderr
    assert "spec.stages[0].actions[1].jobs[0].name: job name 'a' is already used" in result.stderr
    assert "spec.stages[0].actions[1].jobs[0].data.x: 'jobs.nope.outputs.X' names no job" in result.stderr
    assert "spec.stages[0].actions[2].jobs[0].component: unknown component demo/unknown" in result.stderr


def test_invalid_yaml_is_reported_with_its_line_and_exits_2(tmp_path: Path) -> None:
    result = containerops(tmp_path, "validate", str(write(tmp_path / "bad.yaml", "a: [1, 2\nb: 3\n")))

    assert result.returncode == 2
    assert "invalid YAML" in result.stderr and "line" in result.stderr


def test_run_prints_the_final_record_as_json_and_exits_0(
    tmp_path: Path, docker_engine: docker.DockerClient
) -> None:
    result = containerops(tmp_path, "run", str(EXAMPLES / "workflows/hello.yaml"),
                          "--param", "who=JSON", "--output", "json")

    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["status"] == "succeeded"
    [job] = record["jobs"]
    assert (job["name"], job["status"], job["attempts"], job["exit_code"]) == ("hello", "succeeded", 1, 0)
    assert job["outputs"] == {"GREETING": "Hello, JSON!"}


def test_a_run_in_a_pipe_prints_each_change_of_a_job_once(
    tmp_path: Path, docker_engine: docker.DockerClient
) -> None:
    result = containerops(tmp_path, "run", str(EXAMPLES / "workflows/hello.yaml"))

    assert result.returncode == 0, result.stderr
    changes = [line.split(" ", 1)[1] for line in result.stdout.splitlines()
               if line.split(" ")[1:2] == ["hello"]]
    assert [change.split(" in ")[0] for change in changes] == ["hello running", "hello succeeded"]


def test_a_failed_run_exits_1_and_shows_in_history_and_logs(
    tmp_path: Path, docker_engine: docker.DockerClient
) -> None:
    result = containerops(tmp_path, "run", str(EXAMPLES / "workflows/failing.yaml"))
    assert result.returncode == 1
    assert "failed" in result.stdout

    history = json.loads(containerops(tmp_path, "runs", "--output", "json").stdout)
    assert [run["status"] for run in history] == ["failed"]
    logs = containerops(tmp_path, "logs", history[0]["id"], "check")
    assert "[COUT] CO_RESULT = false" in logs.stdout


def test_without_a_docker_engine_run_says_so_in_one_sentence_and_exits_2(tmp_path: Path) -> None:
    result = containerops(tmp_path, "run", str(EXAMPLES / "workflows/hello.yaml"),
                          env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"})

    assert result.returncode == 2
    assert "cannot reach the Docker engine" in result.stderr
    assert "Traceback" not in result.stderr


def build_then_use(tmp_path: Path, name: str) -> Path:
    """`build` makes an output that `use`, in the next stage, links to; `other` beside `use`
    links to nothing. Each job says which run it ran in."""
    workflow = busybox_workflow(name, shell_job("build", 'echo "[COUT] MADE = $CO_RUN_ID"',
                                                outputs=["MADE"]))
    workflow["spec"]["stages"].append({"name": "later", "actions": [
        {"name": "a", "jobs": [shell_job("use", 'echo "[COUT] GOT = $CO_MADE"', outputs=["GOT"],
                                         data={"made": "${{ jobs.build.outputs.MADE }}"})]},
        {"name": "b", "jobs": [shell_job("other", 'echo "[COUT] RAN = $CO_RUN_ID"',
                                         outputs=["RAN"])]},
    ]})
    return write(tmp_path / f"{name}.yaml", workflow)


def test_rerun_of_one_job_of_a_succeeded_run_runs_it_and_its_users_and_reuses_the_rest(
    tmp_path: Path, docker_engine: docker.DockerClient
) -> None:
    first = json.loads(containerops(tmp_path, "run", str(build_then_use(tmp_path, "scoped")),
                                    "--output", "json").stdout)
    assert first["status"] == "succeeded"

    result = containerops(tmp_path, "rerun", first["id"], "--job", "build", "--output", "json")

    assert result.returncode == 0, result.stderr
    again = json.loads(result.stdout)
    assert (again["rerun_of"], again["rerun_scope"]) == (first["id"], {"scope": "jobs", "jobs": ["build"]})
    jobs = {job["name"]: job for job in again["jobs"]}
    assert {name: job["status"] for name, job in jobs.items()} == {
        "build": "succeeded", "use": "succeeded", "other": "reused"}
    assert jobs["use"]["outputs"] == {"GOT": again["id"]}  # the new build's output
    assert jobs["other"]["outputs"] == {"RAN": first["id"]}
    assert jobs["other"]["reused_from"] == {"run": first["id"], "attempt": 1}


def test_rerun_of_a_job_of_an_older_success_runs_again_what_ran_before_it(
    tmp_path: Path, docker_engine: docker.DockerClient
) -> None:
    # Only the workflow's newest success keeps its workspace: re-running `use` of the newest
    # reuses `build`; of the older one, `build` runs again to make its files afresh.
    # `other`, beside `use`, is reused both times.
    flow = str(build_then_use(tmp_path, "later"))
    older = json.loads(containerops(tmp_path, "run", flow, "--output", "json").stdout)
    newest = json.loads(containerops(tmp_path, "run", flow, "--output", "json").stdout)

    def rerun_use(run_id: str) -> dict[str, str]:
        result = containerops(tmp_path, "rerun", run_id, "--job", "use", "--output", "json")
        assert result.returncode == 0, result.stderr
        return {job["name"]: job["status"] for job in json.loads(result.stdout)["jobs"]}

    assert rerun_use(newest["id"]) == {"build": "reused", "use": "succeeded", "other": "reused"}
    assert rerun_use(older["id"]) == {"build": "succeeded", "use": "succeeded", "other": "reused"}


def test_rerun_refuses_what_it_cannot_do_in_one_sentence(
    tmp_path: Path, docker_engine: docker.DockerClient
) -> None:
    first = json.loads(containerops(tmp_path, "run", str(build_then_use(tmp_path, "refused")),
                                    "--output", "json").stdout)

    both = containerops(tmp_path, "rerun", first["id"], "--all", "--job", "build")
    unknown = containerops(tmp_path, "rerun", first["id"], "--job", "deploy")
    from_failure = containerops(tmp_path, "rerun", first["id"])

    assert (both.returncode, unknown.returncode, from_failure.returncode) == (2, 2, 2)
    assert "--all already runs every job again" in both.stderr
    assert "has no job 'deploy' to re-run" in unknown.stderr
    assert "re-run all its jobs, or some of them" in from_failure.stderr
    assert [run["id"] for run in history(tmp_path)] == [first["id"]]


def test_rerun_all_runs_every_job_again(tmp_path: Path, docker_engine: docker.DockerClient) -> None:
    first = json.loads(containerops(tmp_path, "run", str(build_then_use(tmp_path, "every")),
                                    "--output", "json").stdout)

    result = containerops(tmp_path, "rerun", first["id"], "--all", "--output", "json")

    assert result.returncode == 0, result.stderr
    again = json.loads(result.stdout)
    assert again["rerun_scope"] == {"scope": "all"}
    assert {job["name"]: job["status"] for job in again["jobs"]} == {
        "build": "succeeded", "use": "succeeded", "other": "succeeded"}


def test_unknown_runs_are_reported_not_found(tmp_path: Path) -> None:
    for command in (["logs", "20000101-000000-deadbeef"], ["cancel", "20000101-000000-deadbeef"]):
        result = containerops(tmp_path, *command)
        assert result.returncode == 2
        assert "not found" in result.stderr
        assert "Traceback" not in result.stderr


def test_cancel_shows_cancelling_until_the_runs_containers_are_gone(
    tmp_path: Path, docker_engine: docker.DockerClient
) -> None:
    loop = write(tmp_path / "loop.yaml", busybox_workflow(
        "loop", shell_job("loop", "while true; do echo tick; sleep 1; done")))
    running = subprocess.Popen([*CLI, "--data-dir", str(tmp_path), "run", str(loop)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        [run] = wait_until(lambda: [r for r in history(tmp_path) if r["status"] == "running"])
        wait_until(lambda: "tick" in containerops(tmp_path, "logs", run["id"], "loop").stdout)

        result = containerops(tmp_path, "cancel", run["id"])

        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == [f"run {run['id']}: cancelling…",
                                              f"run {run['id']} cancelled"]
        label = {"label": f"containerops.run={run['id']}"}
        assert docker_engine.containers.list(all=True, filters=label) == []
        assert running.wait(timeout=60) == 1
    finally:
        if running.poll() is None:
            running.kill()
        running.communicate()

    again = containerops(tmp_path, "cancel", run["id"])
    assert again.stdout.strip() == f"run {run['id']} had already ended (cancelled): nothing to cancel"


def test_missing_params_are_listed_before_anything_runs(
    tmp_path: Path, docker_engine: docker.DockerClient
) -> None:
    components = [f"-c{p}" for p in EXAMPLES.glob("components/*/component.yaml")]
    result = containerops(tmp_path, "run", str(EXAMPLES / "workflows/ci.yaml"), *components,
                          "--param", "colour=blue")

    assert result.returncode == 2
    assert "param 'repo-dir' is required" in result.stderr
    assert "unknown param 'colour'" in result.stderr


def test_import_converts_a_legacy_flow_into_a_valid_workflow(tmp_path: Path) -> None:
    converted = tmp_path / "converted.yaml"
    result = containerops(tmp_path, "import", str(EXAMPLES / "legacy/pytest-flow.yml"),
                          "-o", str(converted))

    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(converted.read_text())["kind"] == "Workflow"
    assert containerops(tmp_path, "validate", str(converted)).returncode == 0


def test_component_build_builds_the_image_and_registers_the_component(
    tmp_path: Path, docker_engine: docker.DockerClient
) -> None:
    folder = tmp_path / "echo"
    folder.mkdir()
    write(folder / "Dockerfile", 'FROM containerops/busybox:1\n'
                                 'CMD ["sh", "-c", "echo \\"[COUT] SAID = $CO_WORDS\\""]\n')
    write(folder / "component.yaml", {
        "apiVersion": "containerops/v1", "kind": "Component",
        "metadata": {"namespace": "tests", "name": "echo", "version": "0.1.0"},
        "spec": {"image": "containerops-tests/echo:0.1.0", "inputs": [{"name": "words"}],
                 "outputs": [{"name": "SAID"}]},
    })
    try:
        built = containerops(tmp_path, "component", "build", str(folder))
        assert built.returncode == 0, built.stderr
        assert "registered tests/echo@0.1.0" in built.stdout

        workflow = busybox_workflow("echo", {"name": "say", "component": "tests/echo@0.1.0",
                                             "data": {"words": "built and run"}})
        ran = containerops(tmp_path, "run", str(write(tmp_path / "w.yaml", workflow)),
                           "--output", "json")
        assert json.loads(ran.stdout)["jobs"][0]["outputs"] == {"SAID": "built and run"}
    finally:
        docker_engine.images.remove("containerops-tests/echo:0.1.0", force=True)


def test_the_local_commands_refuse_the_aws_backend_in_one_sentence(tmp_path: Path) -> None:
    result = containerops(tmp_path, "runs", env={"CONTAINEROPS_BACKEND": "aws"})
    assert result.returncode == 2
    assert "CONTAINEROPS_BACKEND=aws selects the AWS backend" in " ".join(result.stderr.split())
    assert not (tmp_path / "containerops.db").exists()
