"""Fan-out jobs on real containers: each busybox instance gets its own variables and
values, its own log; fail_fast stops the others' containers; a process killed mid-group
leaves a run that `containerops resume` finishes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import docker
import yaml

from chalicelib.domain.states import JobState, RunState
from chalicelib.store.sqlite import open_store
from tests.local.conftest import Harness, busybox_workflow, shell_job, wait_until

CLI = [sys.executable, "-m", "chalicelib.cli.main"]


def test_each_instance_runs_in_its_own_container_with_its_shard_and_matrix_values(
    harness: Harness,
) -> None:
    job = shell_job(
        "test", 'echo "shard $CO_SHARD_INDEX/$CO_SHARD_COUNT of $CO_INSTANCE_COUNT on $OS";'
                ' echo "[COUT] WHO = $OS-$CO_SHARD_INDEX"',
        matrix={"os": ["linux", "bsd"]}, shards=3, max_parallel=4, env={"OS": "${{ matrix.os }}"},
        outputs=["WHO"],
    )
    finished = harness.run(busybox_workflow("fan-out", job))

    assert finished.run.status is RunState.SUCCEEDED, finished.run.reason
    assert finished.jobs["test"].outputs["WHO"] == (
        '["linux-0","linux-1","linux-2","bsd-0","bsd-1","bsd-2"]')
    assert "shard 1/3 of 6 on bsd" in finished.logs("test.4", attempt=1)
    assert harness.store.instance_counts(finished.run.id, "test") == {JobState.SUCCEEDED: 6}


def test_a_later_job_reads_the_groups_lists_from_the_workspace_and_may_remove_them(
    harness: Harness,
) -> None:
    test = shell_job("test", 'echo "[COUT] WHO = shard-$CO_SHARD_INDEX"', shards=3, outputs=["WHO"])
    read = shell_job(
        "read", 'echo "[COUT] LISTED = $(cat "$DIR/WHO.json")"; rm -r "$DIR" && echo "[COUT] REMOVED = yes"',
        env={"DIR": "${{ jobs.test.outputs.CO_LISTS_DIR }}"}, outputs=["LISTED", "REMOVED"])
    document = busybox_workflow("lists", test)
    document["spec"]["stages"].append({"name": "read", "actions": [{"name": "read", "jobs": [read]}]})
    finished = harness.run(document)

    assert finished.run.status is RunState.SUCCEEDED, finished.run.reason
    assert finished.jobs["test"].outputs["CO_LISTS_DIR"] == "/workspace/.containerops/fanout/test"
    assert finished.jobs["read"].outputs == {"LISTED": '["shard-0","shard-1","shard-2"]', "REMOVED": "yes"}


def test_a_failing_instance_stops_the_sleeping_ones_with_fail_fast(
    harness: Harness, docker_engine: docker.DockerClient,
) -> None:
    job = shell_job("test", '[ "$CO_SHARD_INDEX" = 0 ] && exit 3; sleep 60', shards=8, max_parallel=4)
    finished = harness.run(busybox_workflow("fail-fast", job))

    assert finished.run.status is RunState.FAILED
    test = finished.jobs["test"]
    assert (test.status, test.reason) == (JobState.FAILED, "1 of 8 instances failed (allowed: 0)")
    counts = harness.store.instance_counts(finished.run.id, "test")
    assert counts[JobState.FAILED] == 1 and counts[JobState.CANCELLED] >= 1
    assert sum(counts.values()) < 8  # the queue stopped
    left = docker_engine.containers.list(all=True, filters={"label": f"containerops.run={finished.run.id}"})
    assert left == []  # every instance's container removed


def test_a_process_killed_mid_group_loses_nothing_and_starts_no_instance_twice(
    tmp_path: Path, docker_engine: docker.DockerClient,
) -> None:
    data_dir, definition = tmp_path / "data", tmp_path / "group.yaml"
    job = shell_job("test", 'sleep 1; echo "[COUT] SHARD = $CO_SHARD_INDEX"', shards=10, max_parallel=3,
                    outputs=["SHARD"])
    definition.write_text(yaml.safe_dump(busybox_workflow("killed", job)))
    process = subprocess.Popen([*CLI, "--data-dir", str(data_dir), "run", str(definition)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = open_store(data_dir)
    try:
        def some_done_some_running() -> str | None:
            runs = store.list_runs().runs
            if not runs:
                return None
            counts = store.instance_counts(runs[0].id, "test")
            return runs[0].id if counts.get(JobState.SUCCEEDED) and counts.get(JobState.RUNNING) else None

        run_id: str = wait_until(some_done_some_running)
        process.kill()
        process.wait()
        assert store.get_run(run_id).status is RunState.RUNNING
        assert sum(store.instance_counts(run_id, "test").values()) < 10  # some still queued

        resumed = subprocess.run([*CLI, "--data-dir", str(data_dir), "resume"],
                                 capture_output=True, text=True, timeout=120)

        assert resumed.returncode == 0, resumed.stderr
        assert store.get_run(run_id).status is RunState.SUCCEEDED, store.get_run(run_id).reason
        assert store.get_job(run_id, "test").outputs["SHARD"] == json.dumps(
            [str(i) for i in range(10)], separators=(",", ":"))
        attempts = [a for a in store.list_attempts(run_id) if a.job.startswith("test.")]
        assert sorted(a.job for a in attempts) == sorted(f"test.{i}" for i in range(10))  # one each
    finally:
        store.close()
