"""Runs through the whole serverless path on the sandbox (moto + Docker): the example
workflows end as they do on the local driver, the cloud twin of the CI example runs green
with the local run's outputs, secrets reach the container from Secrets Manager and never
the logs, and a cancel mid-run stops the run's containers."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import docker
import pytest

from chalicelib.domain.models import Workflow
from chalicelib.domain.states import JobState, RunState
from chalicelib.errors import InvalidDefinition
from tests.sandbox.conftest import (
    EXAMPLES,
    RUN_TIMEOUT,
    SECRETS,
    Local,
    Sandbox,
    example,
    example_components,
    sandbox_containers,
)

pytestmark = pytest.mark.docker


def busybox_workflow(name: str, *stages: list[dict[str, object]]) -> Workflow:
    """Stages of busybox jobs, one action per job."""
    return Workflow.model_validate({
        "apiVersion": "containerops/v1", "kind": "Workflow",
        "metadata": {"namespace": "tests", "name": name},
        "spec": {"stages": [
            {"name": f"s{n}", "actions": [{"name": str(job["name"]), "jobs": [job]} for job in jobs]}
            for n, jobs in enumerate(stages)]},
    })


def shell(name: str, script: str, **fields: object) -> dict[str, object]:
    return {"name": name, "image": "containerops/busybox:1", "command": ["sh", "-c", script], **fields}


def sample_commit(folder: Path) -> str:
    """The commit of the sample repository (make-sample-repo.sh), as ci.yaml clones it."""
    repository = folder / "sample.git"
    subprocess.run(["bash", str(EXAMPLES / "make-sample-repo.sh"), str(repository)], check=True,
                   capture_output=True)
    return subprocess.run(["git", "-C", str(repository), "rev-parse", "main"], check=True,
                          capture_output=True, text=True).stdout.strip()


def wait_until(condition: object, what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not callable(condition) or not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds} s")
        time.sleep(0.05)


@pytest.mark.parametrize("name", ["hello", "failing"])
def test_an_example_ends_with_the_job_states_and_reasons_of_the_local_driver(
    name: str, sandbox: Sandbox, local: Local
) -> None:
    workflow = example(name)

    on_aws = sandbox.run(workflow)
    on_this_machine = local.run(workflow)

    assert on_aws == on_this_machine
    assert sandbox.new_failures() == []


def test_the_cloud_ci_example_runs_green_with_the_outputs_of_its_local_run(
    sandbox: Sandbox, local: Local, tmp_path: Path
) -> None:
    workflow, components = example("ci-cloud"), example_components()

    on_aws = sandbox.run(workflow, components)
    on_this_machine = local.run(workflow, components)

    assert on_aws.status == "succeeded", on_aws.reason
    assert on_aws == on_this_machine
    jobs = on_aws.jobs
    assert jobs["clone"].outputs["COMMIT"] == sample_commit(tmp_path), "the commit ci.yaml builds"
    assert int(jobs["test"].outputs["TESTS"]) > 0 and jobs["test"].outputs["FAILURES"] == "0"
    assert jobs["release"].outputs["VERIFIED"] == "true"
    assert sandbox.new_failures() == []


def test_the_ci_example_with_host_mounts_is_refused_saying_why(sandbox: Sandbox) -> None:
    with pytest.raises(InvalidDefinition) as refused:
        sandbox.aws.save_workflow(example("ci"))

    assert [problem.path for problem in refused.value.problems] == [
        "spec.stages[0].actions[0].jobs[0].mounts", "spec.stages[3].actions[0].jobs[0].mounts"]
    assert "host mounts are a local-driver feature" in refused.value.problems[0].message


def test_a_secret_reaches_the_container_from_secrets_manager_and_is_masked_in_its_log(
    sandbox: Sandbox,
) -> None:
    secret = SECRETS["DEPLOY_TOKEN"]
    workflow = busybox_workflow("secret", [shell(
        "deploy", 'echo "token $TOKEN"; echo "[COUT] LENGTH = ${#TOKEN}"',
        env={"TOKEN": "${{ secrets.DEPLOY_TOKEN }}"}, outputs=["LENGTH"])])

    run_id = sandbox.start(workflow)
    sandbox.aws.wait(run_id, RUN_TIMEOUT)

    job = sandbox.store.get_job(run_id, "deploy")
    assert job.status is JobState.SUCCEEDED, job.reason
    assert job.outputs == {"LENGTH": str(len(secret))}
    assert "token ***" in sandbox.logs(run_id, "deploy")
    assert not any(secret in line for line in sandbox.logs(run_id, "deploy"))


def test_a_cancel_mid_run_ends_it_cancelled_with_its_containers_stopped(
    sandbox: Sandbox, docker_engine: docker.DockerClient
) -> None:
    workflow = busybox_workflow(
        "slow",
        [shell("sleeper", "echo started; trap 'exit 143' TERM; sleep 300 & wait")],
        [shell("after", "echo never")],
    )
    run_id = sandbox.start(workflow)
    wait_until(lambda: "started" in sandbox.logs(run_id, "sleeper"), "the job started")

    sandbox.aws.cancel(run_id)
    run = sandbox.aws.wait(run_id, RUN_TIMEOUT)

    assert run.status is RunState.CANCELLED
    sleeper, after = sandbox.store.get_job(run_id, "sleeper"), sandbox.store.get_job(run_id, "after")
    assert (sleeper.status, after.status) == (JobState.CANCELLED, JobState.SKIPPED)
    assert sandbox.store.list_attempts(run_id, "sleeper")[0].exit_code == 143  # SIGTERM, trapped
    assert sandbox_containers(docker_engine, sandbox.aws) == []
    assert sandbox.new_failures() == []
