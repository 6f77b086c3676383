"""Containers of the next jobs start early, held; results are the same as cold starts."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from chalicelib.domain.catalog import InMemoryCatalog
from chalicelib.domain.states import JobState, RunState
from chalicelib.launch.docker_gate import find_static_busybox
from chalicelib.launch.docker_launcher import DockerLauncher
from chalicelib.local.driver import LocalDriver
from chalicelib.store.sqlite import open_store
from tests.local.conftest import Harness, busybox_workflow, shell_job


@pytest.fixture(params=[True, False], ids=["warm", "cold"])
def harness_by_start(request: pytest.FixtureRequest, tmp_path: Path,
                     docker_engine: docker.DockerClient) -> Harness:
    store = open_store(tmp_path / "data")
    request.addfinalizer(store.close)
    driver = LocalDriver(store, DockerLauncher(docker_engine, gate_binary=find_static_busybox()),
                         InMemoryCatalog(), tmp_path / "data", logs=store,
                         warm_start=request.param)
    return Harness(tmp_path / "data", store, driver, InMemoryCatalog())


def three_stages() -> dict:
    workflow = busybox_workflow("warm", shell_job("first", "sleep 1; echo '[COUT] STOP = yes'",
                                                  outputs=["STOP"]))
    workflow["spec"]["stages"] += [
        {"name": "second", "actions": [
            {"name": "fast", "jobs": [shell_job(
                "fast", 'echo "[COUT] SAW = $CO_STOP"', data={"stop": "${{ jobs.first.outputs.STOP }}"},
                outputs=["SAW"])]},
            {"name": "maybe", "jobs": [shell_job(
                "maybe", "echo should not run", **{"if": "jobs.first.outputs.STOP != 'yes'"})]},
        ]},
        {"name": "third", "actions": [{"name": "reads", "jobs": [shell_job(
            "reads", "cat; echo \"[COUT] SAID = $CO_SAW\"", data={"saw": "${{ jobs.fast.outputs.SAW }}"},
            outputs=["SAID"])]}]},
    ]
    return workflow


def test_warm_and_cold_starts_give_the_same_results_and_leave_no_container(
    harness_by_start: Harness, docker_engine: docker.DockerClient
) -> None:
    finished = harness_by_start.run(three_stages())

    assert finished.run.status is RunState.SUCCEEDED, finished.run.reason
    assert finished.jobs["fast"].outputs == {"SAW": "yes"}
    assert finished.jobs["maybe"].status is JobState.SKIPPED, "held early, skipped when due"
    assert finished.jobs["reads"].outputs == {"SAID": "yes"}, "stdin is closed, output complete"
    assert not docker_engine.containers.list(
        all=True, filters={"label": f"containerops.run={finished.run.id}"})
