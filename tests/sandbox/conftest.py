"""Fixtures of the AWS sandbox's tests: one sandbox per test module (opening one costs about two
seconds, most of it moto loading its services), the local driver beside it for comparisons,
and what a run ended as, read from either store into one plain shape.

The sandbox and the local driver both need the Docker engine (`docker_engine`,
tests/conftest.py: without one these tests fail, they are never skipped)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from chalicelib.domain.catalog import InMemoryCatalog
from chalicelib.domain.models import Component, Workflow
from chalicelib.launch.docker_launcher import DockerLauncher
from chalicelib.local.driver import LocalDriver, default_container_user
from chalicelib.sandbox import AwsSandbox
from chalicelib.services.definitions import read_definitions
from chalicelib.store.base import Store
from chalicelib.store.catalog import StoreCatalog
from chalicelib.store.sqlite import SqliteStore, open_store

REPO_TOP = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_TOP / "examples"
SECRETS = {"DEPLOY_TOKEN": "s3cr3t-value-42"}
RUN_TIMEOUT = 120.0
STOP_GRACE = 1.0  # the tests' jobs end on SIGTERM; a stuck one is killed soon after


@dataclass(frozen=True)
class JobEnded:
    status: str
    reason: str
    outputs: dict[str, str]
    exit_code: int | None
    attempts: int


@dataclass(frozen=True)
class Ended:
    """A run's end as a user reads it (times and ids aside)."""

    status: str
    reason: str
    jobs: dict[str, JobEnded]


def ended(store: Store, run_id: str) -> Ended:
    run = store.get_run(run_id)
    return Ended(str(run.status), run.reason, {
        job.name: JobEnded(str(job.status), job.reason, dict(job.outputs), job.exit_code, job.attempts)
        for job in store.list_jobs(run_id)})


def examples(*files: str) -> tuple[list[Component], list[Workflow]]:
    """The example components and the named example workflows, checked."""
    paths = [*sorted(EXAMPLES.glob("components/*/component.yaml")),
             *(EXAMPLES / "workflows" / f"{name}.yaml" for name in files)]
    loaded = read_definitions(paths, InMemoryCatalog())
    assert not loaded.failures, loaded.failures
    return [c for _, c in loaded.components], [w for _, w in loaded.workflows]


def example(name: str) -> Workflow:
    return examples(name)[1][0]


def example_components() -> list[Component]:
    return examples()[0]


@dataclass
class Local:
    """The local driver on the same engine, with the same secrets and container user."""

    store: SqliteStore
    driver: LocalDriver

    def run(self, workflow: Workflow, components: Sequence[Component] = (),
            params: Mapping[str, str] | None = None) -> Ended:
        for component in components:
            self.store.put_component(component)
        version = self.store.save_workflow(workflow)
        run = self.driver.create_run(workflow.metadata.namespace, workflow.metadata.name,
                                     dict(params or {}), version=version)
        self.driver.execute(run.id)
        return ended(self.store, run.id)


@dataclass
class Sandbox:
    """The module's sandbox, and the runs of one test on it."""

    aws: AwsSandbox
    failures_before: int = 0

    def start(self, workflow: Workflow, components: Sequence[Component] = (),
              params: Mapping[str, str] | None = None) -> str:
        for component in components:
            self.aws.put_component(component)
        version = self.aws.save_workflow(workflow)
        return self.aws.start_run(workflow.metadata.namespace, workflow.metadata.name,
                                  dict(params or {}), version=version).id

    def run(self, workflow: Workflow, components: Sequence[Component] = (),
            params: Mapping[str, str] | None = None) -> Ended:
        run_id = self.start(workflow, components, params)
        self.aws.wait(run_id, RUN_TIMEOUT)
        return ended(self.aws.services.store, run_id)

    @property
    def store(self) -> Store:
        return self.aws.services.store

    def new_failures(self) -> list[str]:
        """The handler failures since the test began."""
        return self.aws.handler_failures[self.failures_before:]

    def logs(self, run_id: str, job: str, attempt: int = 1) -> list[str]:
        """The attempt's lines as the logs API shows them (from CloudWatch, masked)."""
        return [line.text for line in self.aws.services.logs.read_logs(run_id, job, attempt, 0, 1000)]


@pytest.fixture(scope="module")
def opened_sandbox(tmp_path_factory: pytest.TempPathFactory,
                   docker_engine: docker.DockerClient) -> Iterator[AwsSandbox]:
    with AwsSandbox(tmp_path_factory.mktemp("sandbox"), secrets=SECRETS,
                    container_user=default_container_user(), stop_grace=STOP_GRACE) as opened:
        yield opened


@pytest.fixture
def sandbox(opened_sandbox: AwsSandbox) -> Sandbox:
    return Sandbox(opened_sandbox, len(opened_sandbox.handler_failures))


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory,
          docker_engine: docker.DockerClient) -> Iterator[Local]:
    data = tmp_path_factory.mktemp("local")
    store = open_store(data)
    driver = LocalDriver(store, DockerLauncher(docker_engine), StoreCatalog(store), data, logs=store,
                         secrets=SECRETS, container_user=default_container_user())
    yield Local(store, driver)
    store.close()


def sandbox_containers(engine: docker.DockerClient, sandbox: AwsSandbox) -> list[Any]:
    """Every container (running or not) the sandbox's ECS agent made and has not removed."""
    label = f"containerops.sandbox={sandbox.sandbox_id}"
    return list(engine.containers.list(all=True, filters={"label": label}))
