"""The two places a workflow runs, behind one small interface: `Backend`.

- `LocalBackend`: the local driver (chalicelib/local/driver.py) on the Docker engine, with
  a SQLite store, as `containerops run` runs a workflow;
- `SandboxBackend`: the serverless path in-process (chalicelib/sandbox: moto's DynamoDB,
  Step Functions, SQS, ECS and CloudWatch Logs, our handlers driven with the events AWS
  would send, each ECS task's container on the same Docker engine), or with every job on
  EKS (the sandbox's Kubernetes harness, each pod's containers on the same engine).

A backend runs a workflow to its end and gives back its `Outcome` (tests/conformance/
outcome.py); it re-runs a run from failure; it cancels a run once the run has come to a
point a test names (`RunProgress`, the same view on both: the store and the logs as the
API reads them). Each gets the same secrets and runs its containers as the same user, so
nothing but the path differs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import docker

from chalicelib.domain.catalog import ComponentCatalog
from chalicelib.domain.models import Component, Workflow
from chalicelib.engine.records import FROM_FAILURE, JobRecord, RerunScope, RunRecord
from chalicelib.launch.docker_launcher import DockerLauncher
from chalicelib.local.driver import LocalDriver
from chalicelib.logs.base import LogSource
from chalicelib.store.base import Store
from chalicelib.store.catalog import StoreCatalog
from chalicelib.store.messages import MAX_INSTANCES_PAGE
from chalicelib.store.sqlite import open_store
from tests.conformance.outcome import Normaliser, Outcome, outcome_of

# A run of the suite ends within this; past it the backend is stuck, and the test says so.
RUN_DEADLINE_SECONDS = 120.0
POLL_SECONDS = 0.05

Predicate = Callable[["RunProgress"], bool]


@dataclass(frozen=True)
class RunProgress:
    """A run while it runs (or after), read the way the API reads it."""

    run_id: str
    store: Store
    logs: LogSource

    def job(self, name: str) -> JobRecord:
        return self.store.get_job(self.run_id, name)

    def has_logged(self, job: str, text: str, attempt: int = 1) -> bool:
        """Whether the attempt's first lines include one with `text`."""
        return any(text in line.text for line in self.logs.read_logs(self.run_id, job, attempt, 0, 100))

    def last_log_line(self, job: str, attempt: int = 1) -> str:
        """The last line a reader of the attempt's log is shown, ids normalised."""
        line = self.logs.last_log_line(self.run_id, job, attempt)
        return self.normaliser()(line.text) if line is not None else ""

    def normaliser(self) -> Normaliser:
        return Normaliser.for_run(self.store.get_run(self.run_id), self.store.list_attempts(self.run_id))

    def instance_states(self, job: str) -> str:
        """Each recorded instance of a fan-out job as `index:status`, in instance order."""
        page = self.store.list_instances(self.run_id, job, limit=MAX_INSTANCES_PAGE)
        return " ".join(f"{record.instance}:{record.status}" for record in page.instances)

    def outcome(self) -> Outcome:
        return outcome_of(self.store.get_run(self.run_id), self.store.list_jobs(self.run_id),
                          self.store.list_attempts(self.run_id))


class Backend(Protocol):
    name: str

    def run(self, workflow: Workflow, components: Sequence[Component] = (),
            params: Mapping[str, str] | None = None) -> Outcome:
        """Run the workflow (saved first, with its components) to its end."""

    def rerun_from_failure(self, run_id: str) -> Outcome:
        """Re-run a failed run from its failure, to its end."""

    def rerun(self, run_id: str, scope: RerunScope) -> Outcome:
        """Re-run a finished run in `scope` (every job, or some and those they feed), to its end."""

    def cancel_when(self, workflow: Workflow, ready: Predicate, components: Sequence[Component] = (),
                    params: Mapping[str, str] | None = None) -> Outcome:
        """Run the workflow, cancel it as soon as `ready` holds, and wait for its end."""

    def progress(self, run_id: str) -> RunProgress: ...


def wait_for(ready: Callable[[], bool], what: str, deadline: float = RUN_DEADLINE_SECONDS) -> None:
    """Poll until `ready()`; fail, saying what was awaited, at the deadline."""
    give_up = time.monotonic() + deadline
    while not ready():
        if time.monotonic() > give_up:
            raise AssertionError(f"{what}: not within {deadline:.0f} s")
        time.sleep(POLL_SECONDS)


class Waiter:
    """A run's wait for its end in a thread of its own, so a test can act meanwhile; what
    the wait raised is raised again by `join`."""

    def __init__(self, wait: Callable[[], object], name: str) -> None:
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(wait,), name=name, daemon=True)
        self._thread.start()

    def _run(self, wait: Callable[[], object]) -> None:
        try:
            wait()
        except BaseException as exc:  # handed to join(), in the test's thread
            self._error = exc

    @property
    def finished(self) -> bool:
        return not self._thread.is_alive()

    def join(self) -> None:
        self._thread.join(RUN_DEADLINE_SECONDS)
        if self._thread.is_alive():
            raise AssertionError(f"the run did not end within {RUN_DEADLINE_SECONDS:.0f} s")
        if self._error is not None:
            raise self._error


def cancel_once(progress: RunProgress, ready: Predicate, waiter: Waiter,
                cancel: Callable[[], object]) -> None:
    """Cancel when `ready` holds; if the run ends first, the scenario was not what it meant."""
    wait_for(lambda: waiter.finished or ready(progress), "the run came to the point of cancelling")
    if waiter.finished:
        waiter.join()
        raise AssertionError(f"run {progress.run_id} ended before it could be cancelled")
    cancel()
    waiter.join()


class LocalBackend:
    """The local driver on Docker, with its SQLite store in `workdir`."""

    name = "local"

    def __init__(self, workdir: Path, engine: docker.DockerClient, *, secrets: Mapping[str, str],
                 container_user: str) -> None:
        self.store = open_store(workdir / "data")
        catalog: ComponentCatalog = StoreCatalog(self.store)
        self.driver = LocalDriver(self.store, DockerLauncher(engine), catalog, workdir / "data",
                                  logs=self.store, secrets=secrets, container_user=container_user)

    def close(self) -> None:
        self.store.close()

    def _start(self, workflow: Workflow, components: Sequence[Component],
               params: Mapping[str, str] | None) -> str:
        for component in components:
            self.store.put_component(component)
        version = self.store.save_workflow(workflow)
        metadata = workflow.metadata
        return self.driver.create_run(metadata.namespace, metadata.name, dict(params or {}),
                                      version=version).id

    def run(self, workflow: Workflow, components: Sequence[Component] = (),
            params: Mapping[str, str] | None = None) -> Outcome:
        run_id = self._start(workflow, components, params)
        self.driver.execute(run_id)
        return self.progress(run_id).outcome()

    def rerun_from_failure(self, run_id: str) -> Outcome:
        return self.rerun(run_id, FROM_FAILURE)

    def rerun(self, run_id: str, scope: RerunScope) -> Outcome:
        rerun = self.driver.rerun(run_id, scope)
        self.driver.execute(rerun.id)
        return self.progress(rerun.id).outcome()

    def cancel_when(self, workflow: Workflow, ready: Predicate, components: Sequence[Component] = (),
                    params: Mapping[str, str] | None = None) -> Outcome:
        run_id = self._start(workflow, components, params)
        waiter = Waiter(lambda: self.driver.execute(run_id), f"local-{run_id}")
        cancel_once(self.progress(run_id), ready, waiter, lambda: self.driver.cancel(run_id))
        return self.progress(run_id).outcome()

    def progress(self, run_id: str) -> RunProgress:
        return RunProgress(run_id, self.store, self.store)


class SandboxServices(Protocol):
    """What the suite reads of the sandbox's AwsServices (chalicelib/aws/bootstrap.py)."""

    @property
    def store(self) -> Store: ...

    @property
    def logs(self) -> LogSource: ...


class Sandbox(Protocol):
    """What the suite uses of chalicelib.sandbox.AwsSandbox."""

    @property
    def services(self) -> SandboxServices: ...

    def put_component(self, component: Component) -> None: ...

    def save_workflow(self, workflow: Workflow) -> int: ...

    def start_run(self, namespace: str, name: str, params: Mapping[str, str], *,
                  version: int | None = None) -> RunRecord: ...

    def rerun(self, run_id: str, scope: RerunScope = ...) -> RunRecord: ...

    def cancel(self, run_id: str) -> None: ...

    def wait(self, run_id: str, timeout: float = 300.0) -> RunRecord: ...


class SandboxBackend:
    """The serverless path in-process: AwsSandbox (chalicelib/sandbox). With `platform`, every
    job of a workflow runs there (`spec.platform`): `eks`, Kubernetes Jobs on the sandbox's
    harness, rather than ECS tasks on Fargate."""

    def __init__(self, sandbox: Sandbox, *, platform: str | None = None) -> None:
        self.sandbox = sandbox
        self.platform = platform
        self.name = f"aws-sandbox-{platform}" if platform else "aws-sandbox"

    def _start(self, workflow: Workflow, components: Sequence[Component],
               params: Mapping[str, str] | None) -> str:
        for component in components:
            self.sandbox.put_component(component)
        if self.platform is not None:
            workflow = workflow.model_copy(update={"spec": workflow.spec.model_copy(
                update={"platform": self.platform})})
        version = self.sandbox.save_workflow(workflow)
        metadata = workflow.metadata
        return self.sandbox.start_run(metadata.namespace, metadata.name, dict(params or {}),
                                      version=version).id

    def _finish(self, run_id: str) -> Outcome:
        self.sandbox.wait(run_id, RUN_DEADLINE_SECONDS)
        return self.progress(run_id).outcome()

    def run(self, workflow: Workflow, components: Sequence[Component] = (),
            params: Mapping[str, str] | None = None) -> Outcome:
        return self._finish(self._start(workflow, components, params))

    def rerun_from_failure(self, run_id: str) -> Outcome:
        return self.rerun(run_id, FROM_FAILURE)

    def rerun(self, run_id: str, scope: RerunScope) -> Outcome:
        return self._finish(self.sandbox.rerun(run_id, scope).id)

    def cancel_when(self, workflow: Workflow, ready: Predicate, components: Sequence[Component] = (),
                    params: Mapping[str, str] | None = None) -> Outcome:
        run_id = self._start(workflow, components, params)
        waiter = Waiter(lambda: self.sandbox.wait(run_id, RUN_DEADLINE_SECONDS), f"sandbox-{run_id}")
        cancel_once(self.progress(run_id), ready, waiter, lambda: self.sandbox.cancel(run_id))
        return self.progress(run_id).outcome()

    def progress(self, run_id: str) -> RunProgress:
        services = self.sandbox.services
        return RunProgress(run_id, services.store, services.logs)
