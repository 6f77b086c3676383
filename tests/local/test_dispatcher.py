"""The local dispatcher on the real Docker engine and a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from chalicelib.domain.states import JobState, RunState
from chalicelib.local.dispatcher import LocalDispatcher
from tests.cli.test_restart import assert_finished_without_gaps, start_and_kill_mid_job, write_ticker_workflow
from tests.local.conftest import Harness, busybox_workflow, shell_job, wait_until

WAIT_FOR_GATE = "echo started; while [ ! -e /gate/open ]; do sleep 0.1; done; echo passed"


@pytest.fixture
def dispatcher(harness: Harness) -> Iterator[LocalDispatcher]:
    dispatcher = LocalDispatcher(harness.driver, harness.store)
    yield dispatcher
    dispatcher.stop()
    assert dispatcher.join(60), "runs still executing at the end of the test"


@pytest.fixture
def gate(tmp_path: Path) -> Path:
    """A folder the jobs watch: they end once `open` exists in it."""
    folder = tmp_path / "gate"
    folder.mkdir()
    folder.chmod(0o777)  # the containers run unprivileged
    return folder


def gated_workflow(gate: Path, **spec: Any) -> dict[str, Any]:
    job = shell_job("wait", WAIT_FOR_GATE, mounts=[{"source": str(gate), "target": "/gate"}])
    return busybox_workflow("gated", job, **spec)


def status(harness: Harness, run_id: str) -> RunState:
    return harness.store.get_run(run_id).status


def has_started(harness: Harness, run_id: str) -> bool:
    return any(line.text == "started" for line in harness.store.read_logs(run_id, "wait", 1))


def run_labelled(docker_engine: docker.DockerClient, run_id: str) -> list[Any]:
    return list(docker_engine.containers.list(all=True, filters={"label": f"containerops.run={run_id}"}))


def test_beyond_its_concurrency_a_run_stays_queued_until_the_running_one_ends(
    harness: Harness, dispatcher: LocalDispatcher, gate: Path
) -> None:
    workflow = gated_workflow(gate, concurrency=1)
    first, second = harness.start(workflow), harness.start(workflow)

    dispatcher.submit(first.id)
    dispatcher.submit(second.id)
    wait_until(lambda: has_started(harness, first.id))

    assert status(harness, second.id) is RunState.QUEUED
    assert dispatcher.queued() == [second.id]

    (gate / "open").touch()
    wait_until(lambda: status(harness, second.id).is_final)
    ended, started = harness.store.get_run(first.id), harness.store.get_run(second.id)
    assert (ended.status, started.status) == (RunState.SUCCEEDED, RunState.SUCCEEDED)
    assert ended.finished_at is not None and started.started_at is not None
    assert started.started_at >= ended.finished_at


def test_queued_runs_start_oldest_first(
    harness: Harness, dispatcher: LocalDispatcher, gate: Path
) -> None:
    workflow = gated_workflow(gate, concurrency=1)
    first, second, third = (harness.start(workflow) for _ in range(3))

    dispatcher.submit(first.id)
    dispatcher.submit(third.id)
    dispatcher.submit(second.id)
    wait_until(lambda: has_started(harness, first.id))
    assert dispatcher.queued() == [second.id, third.id]

    (gate / "open").touch()
    wait_until(lambda: status(harness, third.id).is_final)
    runs = [harness.store.get_run(r.id) for r in (first, second, third)]
    starts = [run.started_at or 0.0 for run in runs]
    assert starts == sorted(starts)


def test_without_a_concurrency_runs_execute_side_by_side(
    harness: Harness, dispatcher: LocalDispatcher, gate: Path
) -> None:
    workflow = gated_workflow(gate)
    first, second = harness.start(workflow), harness.start(workflow)

    dispatcher.submit(first.id)
    dispatcher.submit(second.id)

    wait_until(lambda: has_started(harness, first.id) and has_started(harness, second.id))
    (gate / "open").touch()
    wait_until(lambda: status(harness, first.id).is_final and status(harness, second.id).is_final)


def test_a_cancelled_queued_run_ends_cancelled_without_starting_a_container(
    harness: Harness, dispatcher: LocalDispatcher, gate: Path, docker_engine: docker.DockerClient
) -> None:
    workflow = gated_workflow(gate, concurrency=1)
    first, second = harness.start(workflow), harness.start(workflow)
    dispatcher.submit(first.id)
    dispatcher.submit(second.id)
    wait_until(lambda: has_started(harness, first.id))

    dispatcher.cancel(second.id)

    wait_until(lambda: status(harness, second.id).is_final)
    cancelled = harness.store.get_run(second.id)
    [job] = harness.store.list_jobs(second.id)
    assert cancelled.status is RunState.CANCELLED
    assert (job.status, job.attempts) == (JobState.SKIPPED, 0)
    assert harness.store.list_attempts(second.id) == []
    assert run_labelled(docker_engine, second.id) == []
    assert dispatcher.queued() == []
    assert status(harness, first.id) is RunState.RUNNING, "the running run is left alone"

    (gate / "open").touch()
    wait_until(lambda: status(harness, first.id) is RunState.SUCCEEDED)


def test_cancel_stops_a_running_run(
    harness: Harness, dispatcher: LocalDispatcher, gate: Path
) -> None:
    run = harness.start(gated_workflow(gate))
    dispatcher.submit(run.id)
    wait_until(lambda: has_started(harness, run.id))

    dispatcher.cancel(run.id)

    wait_until(lambda: status(harness, run.id).is_final)
    assert status(harness, run.id) is RunState.CANCELLED


def test_start_takes_up_a_queued_run_left_by_a_previous_process(
    harness: Harness, dispatcher: LocalDispatcher
) -> None:
    run = harness.start(busybox_workflow("left", shell_job("hello", "echo hello")))

    dispatcher.start()

    wait_until(lambda: status(harness, run.id).is_final)
    assert status(harness, run.id) is RunState.SUCCEEDED


def test_start_reattaches_to_a_run_whose_process_was_killed(
    harness: Harness, dispatcher: LocalDispatcher, tmp_path: Path, docker_engine: docker.DockerClient
) -> None:
    run_id = start_and_kill_mid_job(harness.data_dir, write_ticker_workflow(tmp_path / "t.yaml"))

    dispatcher.start()

    wait_until(lambda: status(harness, run_id).is_final)
    assert_finished_without_gaps(harness.data_dir, run_id)
    # Including the container the killed process had started ahead for the next job.
    wait_until(lambda: not run_labelled(docker_engine, run_id))


def test_a_stopped_dispatcher_leaves_submitted_runs_queued(
    harness: Harness, dispatcher: LocalDispatcher
) -> None:
    run = harness.start(busybox_workflow("later", shell_job("hello", "echo hello")))

    dispatcher.stop()
    dispatcher.submit(run.id)

    assert dispatcher.join(5)
    assert status(harness, run.id) is RunState.QUEUED
