"""A job's stdout and stderr lines are stored in the order it printed them, each marked with
its stream, on the local driver as `containerops serve` runs it (under the output relay).

Before the relay, the example `failing` job's `error:` line, printed second, was stored
first, second or fourth from one run to the next: the engine interleaves the two streams by
scheduling (chalicelib/launch/docker_relay.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from chalicelib.domain.catalog import InMemoryCatalog, LayeredCatalog
from chalicelib.domain.states import RunState
from chalicelib.launch.docker_launcher import DockerLauncher
from chalicelib.local.driver import LocalDriver
from chalicelib.store.catalog import StoreCatalog
from chalicelib.store.sqlite import open_store
from tests.local.conftest import EXAMPLES, Harness


@pytest.fixture
def relayed(tmp_path: Path, docker_engine: docker.DockerClient, relay_binary: str) -> Iterator[Harness]:
    store = open_store(tmp_path / "data")
    components = InMemoryCatalog()
    launcher = DockerLauncher(docker_engine, relay_binary=relay_binary)
    driver = LocalDriver(store, launcher, LayeredCatalog(components, StoreCatalog(store)),
                         tmp_path / "data", logs=store)
    yield Harness(tmp_path / "data", store, driver, components)
    store.close()


def test_the_failing_examples_error_line_is_stored_second_and_marked_stderr(relayed: Harness) -> None:
    for attempt in range(5):
        finished = relayed.run((EXAMPLES / "workflows/failing.yaml").read_text())
        assert finished.run.status is RunState.FAILED
        lines = relayed.store.read_logs(finished.run.id, "check", 1)
        assert [(line.stream, line.text) for line in lines[:4]] == [
            ("stdout", "checking the release notes"),
            ("stderr", "error: CHANGELOG has no entry for this version"),
            ("stdout", "[COUT] REASON = CHANGELOG has no entry for this version"),
            ("stdout", "[COUT] CO_RESULT = false"),
        ], f"run {attempt + 1}"
        assert all(line.stream == "" for line in lines[4:])  # ContainerOps's notes, if any
