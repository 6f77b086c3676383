"""A process killed mid-run loses nothing: `containerops resume` finishes the run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import docker
import yaml

from chalicelib.domain.states import JobState, RunState
from chalicelib.store.sqlite import open_store
from tests.local.conftest import busybox_workflow, shell_job, wait_until

CLI = [sys.executable, "-m", "chalicelib.cli.main"]
TICKER = 'for i in 1 2 3 4 5 6; do echo "tick $i"; sleep 0.4; done; echo "[COUT] TICKS = 6"'


def write_ticker_workflow(path: Path) -> Path:
    workflow = busybox_workflow("ticker", shell_job("ticker", TICKER, outputs=["TICKS"]))
    workflow["spec"]["stages"].append({"name": "after", "actions": [{"name": "a", "jobs": [
        shell_job("after", 'echo "[COUT] SAW = $CO_TICKS"', data={
            "ticks": "${{ jobs.ticker.outputs.TICKS }}"}, outputs=["SAW"]),
    ]}]})
    path.write_text(yaml.safe_dump(workflow))
    return path


def start_and_kill_mid_job(data_dir: Path, workflow: Path) -> str:
    process = subprocess.Popen([*CLI, "--data-dir", str(data_dir), "run", str(workflow)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = open_store(data_dir)
    try:
        def second_tick_stored() -> str | None:
            runs = store.list_runs().runs
            if runs and any(line.text == "tick 2" for line in
                            store.read_logs(runs[0].id, "ticker", 1)):
                return runs[0].id
            return None

        run_id: str = wait_until(second_tick_stored)
        process.kill()
        process.wait()
        assert store.get_run(run_id).status is RunState.RUNNING
        return run_id
    finally:
        store.close()


def assert_finished_without_gaps(data_dir: Path, run_id: str) -> None:
    store = open_store(data_dir)
    try:
        run = store.get_run(run_id)
        jobs = {job.name: job for job in store.list_jobs(run_id)}
        lines = [line.text for line in store.read_logs(run_id, "ticker", 1)]
    finally:
        store.close()
    assert run.status is RunState.SUCCEEDED, run.reason
    assert lines == [f"tick {i}" for i in range(1, 7)] + ["[COUT] TICKS = 6"]
    assert jobs["ticker"].outputs == {"TICKS": "6"}
    assert jobs["after"].status is JobState.SUCCEEDED and jobs["after"].outputs == {"SAW": "6"}


def test_resume_reattaches_to_a_container_that_is_still_running(
    tmp_path: Path, docker_engine: docker.DockerClient
) -> None:
    run_id = start_and_kill_mid_job(tmp_path / "data", write_ticker_workflow(tmp_path / "t.yaml"))

    resumed = subprocess.run([*CLI, "--data-dir", str(tmp_path / "data"), "resume"],
                             capture_output=True, text=True, timeout=120)

    assert resumed.returncode == 0, resumed.stderr
    assert f"run {run_id} succeeded" in resumed.stdout
    assert_finished_without_gaps(tmp_path / "data", run_id)


def test_resume_finishes_a_job_whose_container_ended_while_nobody_watched(
    tmp_path: Path, docker_engine: docker.DockerClient
) -> None:
    run_id = start_and_kill_mid_job(tmp_path / "data", write_ticker_workflow(tmp_path / "t.yaml"))
    ticker = {"label": [f"containerops.run={run_id}", "containerops.job=ticker"]}
    for container in docker_engine.containers.list(all=True, filters=ticker):
        container.wait(timeout=60)

    resumed = subprocess.run([*CLI, "--data-dir", str(tmp_path / "data"), "resume"],
                             capture_output=True, text=True, timeout=120)

    assert resumed.returncode == 0, resumed.stderr
    assert_finished_without_gaps(tmp_path / "data", run_id)
    assert not docker_engine.containers.list(all=True, filters={"label": f"containerops.run={run_id}"})
