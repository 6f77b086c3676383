"""`DynamoDbStore`: the Store interface on DynamoDB (aws mode), through PynamoDB.

This is the adapter's boundary: each operation runs inside `translated`, so whatever
PynamoDB or botocore raise leaves as the project's errors, and every DynamoDB call inside
retries throttling with the injected `sleep`. The work itself is in `definitions` (the
definitions and events tables), `slots` (run slots, in the definitions table), `runs`,
`attempts` and `history` (the runs table); the table design is in the package docstring.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from chalicelib.config import AwsSettings
from chalicelib.domain.models import Component, Workflow
from chalicelib.domain.states import AttemptState, JobState, RunState
from chalicelib.domain.triggers import EVERY_SCHEDULE, TriggerKind
from chalicelib.engine.records import AttemptRecord, JobRecord, RunRecord
from chalicelib.store.base import (
    RunFilter,
    RunPage,
    Store,
    StoredComponent,
    StoredWorkflow,
    TriggeredWorkflow,
    WorkflowSettings,
    WorkflowVersion,
    is_instance_record,
)
from chalicelib.store.dynamodb import history
from chalicelib.store.dynamodb.attempts import Attempts
from chalicelib.store.dynamodb.boundary import (
    DEFAULT_RETRY,
    Backoff,
    RetryPolicy,
    full_jitter,
    translated,
)
from chalicelib.store.dynamodb.calls import Calls
from chalicelib.store.dynamodb.definitions import Definitions
from chalicelib.store.dynamodb.instances import Instances
from chalicelib.store.dynamodb.models import StoreTables, TableNames, bind_tables
from chalicelib.store.dynamodb.runs import Runs
from chalicelib.store.dynamodb.slots import RunSlots
from chalicelib.store.instance_pages import InstanceOrder, InstancePage

ALL_RUNS = RunFilter()


class DynamoDbStore(Store):
    def __init__(self, tables: StoreTables, *, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, retry: RetryPolicy = DEFAULT_RETRY,
                 jitter: Callable[[float], float] = full_jitter) -> None:
        self.tables = tables
        self._calls = Calls(tables, Backoff(sleep, retry, jitter))
        self._definitions = Definitions(self._calls, clock)
        self._runs = Runs(self._calls)
        self._attempts = Attempts(self._calls)
        self._instances = Instances(self._calls)
        self._slots = RunSlots(self._calls)

    @classmethod
    def from_settings(cls, settings: AwsSettings, *, region: str | None = None,
                      clock: Callable[[], float] = time.time,
                      sleep: Callable[[float], None] = time.sleep) -> DynamoDbStore:
        """The store of the tables `settings` name (region: botocore's default when None)."""
        return cls(bind_tables(TableNames.from_settings(settings), region), clock=clock, sleep=sleep)

    # --- namespaces ----------------------------------------------------------------
    def list_namespaces(self) -> list[str]:
        with translated("listing namespaces"):
            return self._definitions.list_namespaces()

    def component_namespaces(self) -> list[str]:
        with translated("listing the namespaces of components"):
            return self._definitions.component_namespaces()

    # --- components ----------------------------------------------------------------
    def put_component(self, component: Component) -> None:
        with translated(f"publishing component {component.ref}"):
            self._definitions.put_component(component)

    def get_component(self, namespace: str, name: str, version: str) -> Component:
        return self.get_component_entry(namespace, name, version).component

    def list_components(
        self, namespace: str | None = None, name: str | None = None
    ) -> list[Component]:
        return [entry.component for entry in self.list_component_entries(namespace, name)]

    def get_component_entry(self, namespace: str, name: str, version: str) -> StoredComponent:
        with translated(f"reading component {namespace}/{name}@{version}"):
            return self._definitions.get_component_entry(namespace, name, version)

    def list_component_entries(
        self, namespace: str | None = None, name: str | None = None, *,
        include_deprecated: bool = True,
    ) -> list[StoredComponent]:
        with translated("listing components"):
            return self._definitions.list_component_entries(namespace, name, include_deprecated)

    def set_component_deprecated(
        self, namespace: str, name: str, version: str, deprecated: bool
    ) -> StoredComponent:
        with translated(f"deprecating component {namespace}/{name}@{version}"):
            return self._definitions.set_component_deprecated(namespace, name, version, deprecated)

    # --- workflows -----------------------------------------------------------------
    def save_workflow(self, workflow: Workflow, expected_version: int | None = None) -> int:
        with translated(f"saving workflow {workflow.ref}"):
            return self._definitions.save_workflow(workflow, expected_version)

    def get_workflow(
        self, namespace: str, name: str, version: int | None = None
    ) -> StoredWorkflow:
        with translated(f"reading workflow {namespace}/{name}"):
            return self._definitions.get_workflow(namespace, name, version)

    def list_workflows(self, namespace: str | None = None) -> list[StoredWorkflow]:
        with translated("listing workflows"):
            return self._definitions.list_workflows(namespace)

    def list_workflow_versions(self, namespace: str, name: str) -> list[WorkflowVersion]:
        with translated(f"listing the versions of workflow {namespace}/{name}"):
            return self._definitions.list_workflow_versions(namespace, name)

    def get_workflow_settings(self, namespace: str, name: str) -> WorkflowSettings:
        with translated(f"reading the settings of workflow {namespace}/{name}"):
            return self._definitions.get_workflow_settings(namespace, name)

    def set_workflow_enabled(self, namespace: str, name: str, enabled: bool) -> WorkflowSettings:
        with translated(f"switching workflow {namespace}/{name}"):
            return self._definitions.set_workflow_enabled(namespace, name, enabled)

    def delete_workflow(self, namespace: str, name: str) -> None:
        with translated(f"deleting workflow {namespace}/{name}"):
            self._definitions.delete_workflow(namespace, name)

    # --- triggers ------------------------------------------------------------------
    def claim_event(self, key: str, now: float) -> bool:
        with translated(f"claiming event {key}"):
            return self._definitions.claim_event(key, now)

    def get_schedule_mark(self, namespace: str, name: str, schedule: str) -> float | None:
        with translated(f"reading the schedule mark of {namespace}/{name}"):
            return self._definitions.get_schedule_mark(namespace, name, schedule)

    def set_schedule_mark(self, namespace: str, name: str, schedule: str, tick: float) -> None:
        with translated(f"marking the schedule of {namespace}/{name}"):
            self._definitions.set_schedule_mark(namespace, name, schedule, tick)

    def advance_schedule_mark(self, namespace: str, name: str, schedule: str,
                              expected: float | None, tick: float) -> bool:
        with translated(f"marking the schedule of {namespace}/{name}"):
            return self._definitions.advance_schedule_mark(namespace, name, schedule, expected, tick)

    def workflows_triggered_by(
        self, kind: TriggerKind, source: str = EVERY_SCHEDULE
    ) -> list[TriggeredWorkflow]:
        what = f"{kind} {source}" if source else str(kind)
        with translated(f"finding the workflows {what} starts"):
            return self._definitions.workflows_triggered_by(kind, source)

    # --- concurrency -----------------------------------------------------------------
    def take_run_slot(self, namespace: str, workflow: str, run_id: str, limit: int) -> bool:
        with translated(f"taking a run slot of {namespace}/{workflow} for run {run_id}"):
            return self._slots.take(namespace, workflow, run_id, limit)

    def free_run_slot(self, namespace: str, workflow: str, run_id: str) -> None:
        with translated(f"freeing the run slot of run {run_id} in {namespace}/{workflow}"):
            self._slots.free(namespace, workflow, run_id)

    # --- runs ----------------------------------------------------------------------
    def create_run(self, run: RunRecord, jobs: Sequence[JobRecord]) -> None:
        with translated(f"creating run {run.id}"):
            self._runs.create_run(run, jobs)

    def get_run(self, run_id: str) -> RunRecord:
        with translated(f"reading run {run_id}"):
            return self._runs.get_run(run_id)

    def save_run(self, run: RunRecord, expected: RunState | None = None) -> None:
        with translated(f"saving run {run.id}"):
            self._runs.save_run(run, expected)

    def request_cancel(self, run_id: str) -> RunRecord:
        with translated(f"cancelling run {run_id}"):
            return self._runs.request_cancel(run_id)

    def list_runs(self, run_filter: RunFilter = ALL_RUNS) -> RunPage:
        with translated("reading run history"):
            return history.list_runs(self._calls, run_filter)

    def save_job(self, job: JobRecord, expected: JobState | None = None) -> None:
        with translated(f"saving job {job.name} of run {job.run_id}"):
            if is_instance_record(job):
                self._instances.save(job, expected)
            else:
                self._runs.save_job(job, expected)

    def get_job(self, run_id: str, name: str) -> JobRecord:
        with translated(f"reading job {name} of run {run_id}"):
            return self._runs.get_job(run_id, name)

    def list_jobs(self, run_id: str) -> list[JobRecord]:
        with translated(f"listing the jobs of run {run_id}"):
            return self._runs.list_jobs(run_id)

    # --- fan-out instances -------------------------------------------------------------
    def create_instance(self, record: JobRecord) -> None:
        with translated(f"creating instance {record.name} of run {record.run_id}"):
            self._instances.create(record)

    def list_instances(
        self, run_id: str, job: str, *, states: Sequence[JobState] | None = None,
        order: InstanceOrder | str = InstanceOrder.INDEX, cursor: str | None = None,
        limit: int = 100,
    ) -> InstancePage:
        with translated(f"listing the instances of job {job} in run {run_id}"):
            return self._instances.page(run_id, job, states, order, cursor, limit)

    def instance_counts(self, run_id: str, job: str) -> dict[JobState, int]:
        with translated(f"counting the instances of job {job} in run {run_id}"):
            return self._instances.counts(run_id, job)

    def list_job_attempts(self, run_id: str) -> list[AttemptRecord]:
        with translated(f"listing the attempts of run {run_id}"):
            return self._attempts.list_attempts(run_id, None)

    def create_attempt(self, attempt: AttemptRecord) -> None:
        with translated(f"creating attempt {attempt.number} of job {attempt.job}"):
            self._attempts.create_attempt(attempt)

    def save_attempt(self, attempt: AttemptRecord, expected: AttemptState | None = None) -> None:
        with translated(f"saving attempt {attempt.number} of job {attempt.job}"):
            self._attempts.save_attempt(attempt, expected)

    def get_attempt(self, run_id: str, job: str, number: int) -> AttemptRecord:
        with translated(f"reading attempt {number} of job {job}"):
            return self._attempts.get_attempt(run_id, job, number)

    def list_attempts(self, run_id: str, job: str | None = None) -> list[AttemptRecord]:
        with translated(f"listing the attempts of run {run_id}"):
            if job is not None:
                return self._attempts.list_attempts(run_id, job)
            return self._attempts.list_every_attempt(run_id)

    def find_attempt_by_container(self, container_id: str) -> AttemptRecord | None:
        with translated(f"finding the attempt of container {container_id}"):
            return self._attempts.find_attempt_by_container(container_id)
