"""Fixtures for driving real workflows on the real Docker engine and a real SQLite file."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
import yaml

from chalicelib.domain.catalog import InMemoryCatalog, LayeredCatalog
from chalicelib.domain.models import Component, Workflow
from chalicelib.engine.records import JobRecord, RunRecord
from chalicelib.launch.docker_launcher import DockerLauncher
from chalicelib.local.driver import LocalDriver
from chalicelib.store.catalog import StoreCatalog
from chalicelib.store.sqlite import SqliteStore, open_store

REPO_TOP = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_TOP / "examples"


def wait_until(condition: Callable[[], Any], deadline_seconds: float = 60.0) -> Any:
    """Poll until `condition()` is truthy; fail with a clear message at the deadline."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {deadline_seconds}s")


@dataclass
class Finished:
    run: RunRecord
    jobs: dict[str, JobRecord]
    store: SqliteStore

    def logs(self, job: str, attempt: int | None = None) -> list[str]:
        number = attempt or self.jobs[job].attempts
        texts: list[str] = []
        while lines := self.store.read_logs(self.run.id, job, number, len(texts), 5000):
            texts.extend(line.text for line in lines)
        return texts


@dataclass
class Harness:
    data_dir: Path
    store: SqliteStore
    driver: LocalDriver
    components: InMemoryCatalog

    def save(self, workflow: str | dict[str, Any]) -> Workflow:
        document = yaml.safe_load(workflow) if isinstance(workflow, str) else workflow
        model = Workflow.model_validate(document)
        self.store.save_workflow(model)
        return model

    def start(self, workflow: str | dict[str, Any], **params: str) -> RunRecord:
        model = self.save(workflow)
        return self.driver.create_run(model.metadata.namespace, model.metadata.name, params)

    def run(self, workflow: str | dict[str, Any], **params: str) -> Finished:
        return self.finish(self.start(workflow, **params).id)

    def finish(self, run_id: str) -> Finished:
        run = self.driver.execute(run_id)
        return Finished(run, {j.name: j for j in self.store.list_jobs(run_id)}, self.store)

    def use_example_components(self) -> None:
        for path in sorted(EXAMPLES.glob("components/*/component.yaml")):
            component = Component.model_validate(yaml.safe_load(path.read_text()))
            self.store.put_component(component)


@pytest.fixture
def harness(tmp_path: Path, docker_engine: docker.DockerClient) -> Iterator[Harness]:
    store = open_store(tmp_path / "data")
    components = InMemoryCatalog()
    driver = LocalDriver(
        store, DockerLauncher(docker_engine), LayeredCatalog(components, StoreCatalog(store)),
        tmp_path / "data", logs=store, secrets={"DEPLOY_TOKEN": "s3cr3t-value-42"},
    )
    yield Harness(tmp_path / "data", store, driver, components)
    store.close()


def busybox_workflow(name: str, *jobs: dict[str, Any], **spec: Any) -> dict[str, Any]:
    """A one-stage workflow of busybox jobs in parallel actions."""
    return {
        "apiVersion": "containerops/v1",
        "kind": "Workflow",
        "metadata": {"namespace": "tests", "name": name},
        "spec": {
            **spec,
            "stages": [{"name": "only", "actions": [
                {"name": f"a{i}", "jobs": [job]} for i, job in enumerate(jobs)
            ]}],
        },
    }


def shell_job(name: str, script: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "image": "containerops/busybox:1", "command": ["sh", "-c", script],
            **fields}
