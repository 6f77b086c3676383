"""The Store interface: everything ContainerOps keeps, independent of where it is kept.

Implementations: `sqlite.SqliteStore` (embedded) and `dynamodb.DynamoDbStore` (aws). Both
pass the contract suite in `tests/store/contract.py`. Log lines are kept behind their own
interface (`chalicelib/logs/base.py`). Rules every implementation keeps:

- components are immutable per namespace/name@version: putting the same document again
  is a no-op, a different one raises Conflict;
- saving a workflow creates the next integer version; `expected_version` (the version the
  caller edited, 0 for a new workflow) that is not the latest raises Conflict;
- unknown ids raise NotFound;
- records are upserted whole; the cancel flag is set on its own so a runner's write
  cannot undo a cancel;
- a state change may be made conditional: `expected=` the state the writer read. The write
  happens only while the stored record is still in that state; otherwise `StaleWrite` (a
  Conflict) is raised and nothing is written, so of two writers moving the same record one
  wins and the other learns it lost. Several writers (Lambda handlers on AWS) only ever
  write this way;
- the texts of errors and the page limits come from `messages`, so stores say the same.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

from chalicelib.domain.models import Component, Workflow
from chalicelib.domain.states import AttemptState, JobState, RunState
from chalicelib.engine.records import AttemptRecord, JobRecord, RunRecord


@dataclass(frozen=True)
class StoredWorkflow:
    workflow: Workflow
    version: int
    created_at: float


@dataclass(frozen=True)
class StoredComponent:
    component: Component
    deprecated: bool
    created_at: float


@dataclass(frozen=True)
class WorkflowSettings:
    """Per-workflow state that is not part of its definition."""

    enabled: bool
    webhook_secret: str = field(repr=False)  # made by the store when first saved; never shown


@dataclass(frozen=True)
class RunFilter:
    namespace: str | None = None
    workflow: str | None = None
    statuses: tuple[RunState, ...] = ()
    created_after: float | None = None
    created_before: float | None = None
    limit: int = 50
    cursor: str | None = None  # opaque; from RunPage.next_cursor


@dataclass(frozen=True)
class RunPage:
    runs: list[RunRecord]
    next_cursor: str | None


class Store(ABC):
    # --- namespaces ----------------------------------------------------------------
    @abstractmethod
    def list_namespaces(self) -> list[str]:
        """Every namespace holding a component or a workflow that is not deleted, sorted,
        each once. Namespaces are not stored on their own: one exists while it holds
        something."""

    # --- components ----------------------------------------------------------------
    @abstractmethod
    def put_component(self, component: Component) -> None: ...

    @abstractmethod
    def get_component(self, namespace: str, name: str, version: str) -> Component: ...

    @abstractmethod
    def list_components(
        self, namespace: str | None = None, name: str | None = None
    ) -> list[Component]: ...

    @abstractmethod
    def get_component_entry(self, namespace: str, name: str, version: str) -> StoredComponent: ...

    @abstractmethod
    def list_component_entries(
        self, namespace: str | None = None, name: str | None = None, *,
        include_deprecated: bool = True,
    ) -> list[StoredComponent]:
        """Ordered by namespace, name, then version number (1.2.0 before 1.10.0)."""

    @abstractmethod
    def set_component_deprecated(
        self, namespace: str, name: str, version: str, deprecated: bool
    ) -> StoredComponent:
        """Deprecated versions stay runnable by pinned workflows; the palette hides them."""

    # --- workflows -----------------------------------------------------------------
    @abstractmethod
    def save_workflow(self, workflow: Workflow, expected_version: int | None = None) -> int:
        """Store a new version and return its number; None skips the concurrency check."""

    @abstractmethod
    def get_workflow(
        self, namespace: str, name: str, version: int | None = None
    ) -> StoredWorkflow: ...

    @abstractmethod
    def list_workflows(self, namespace: str | None = None) -> list[StoredWorkflow]:
        """The latest version of each workflow."""

    @abstractmethod
    def get_workflow_settings(self, namespace: str, name: str) -> WorkflowSettings: ...

    @abstractmethod
    def set_workflow_enabled(self, namespace: str, name: str, enabled: bool) -> WorkflowSettings: ...

    @abstractmethod
    def delete_workflow(self, namespace: str, name: str) -> None:
        """Hide the workflow: latest lookups and lists raise NotFound / leave it out, while
        every stored version stays readable by number (runs pinned to one keep working).
        Saving it again with expected_version=0 revives it with the next version number."""

    # --- triggers ------------------------------------------------------------------
    @abstractmethod
    def claim_event(self, key: str, now: float) -> bool:
        """True the first time `key` (a delivery or event id) is claimed, False after."""

    @abstractmethod
    def get_schedule_mark(self, namespace: str, name: str, trigger: int) -> float | None:
        """The last schedule tick acted on for a workflow's trigger, or None."""

    @abstractmethod
    def set_schedule_mark(self, namespace: str, name: str, trigger: int, tick: float) -> None: ...

    # --- runs ----------------------------------------------------------------------
    @abstractmethod
    def create_run(self, run: RunRecord, jobs: Sequence[JobRecord]) -> None: ...

    @abstractmethod
    def get_run(self, run_id: str) -> RunRecord: ...

    @abstractmethod
    def save_run(self, run: RunRecord, expected: RunState | None = None) -> None:
        """Upsert everything but `cancel_requested`, which only `request_cancel` sets; with
        `expected`, only while the stored run has that status (else StaleWrite)."""

    @abstractmethod
    def request_cancel(self, run_id: str) -> RunRecord: ...

    @abstractmethod
    def list_runs(self, run_filter: RunFilter = RunFilter()) -> RunPage:
        """Newest first."""

    @abstractmethod
    def save_job(self, job: JobRecord, expected: JobState | None = None) -> None:
        """Replace the job's record; with `expected`, only while it has that status."""

    @abstractmethod
    def get_job(self, run_id: str, name: str) -> JobRecord:
        """One job of a run; NotFound for an unknown run or job."""

    @abstractmethod
    def list_jobs(self, run_id: str) -> list[JobRecord]:
        """In workflow order (stage, action, position)."""

    @abstractmethod
    def create_attempt(self, attempt: AttemptRecord) -> None:
        """Record a new attempt; Conflict when that attempt number exists already (a
        duplicate launch message must not start a second container)."""

    @abstractmethod
    def save_attempt(self, attempt: AttemptRecord, expected: AttemptState | None = None) -> None:
        """Upsert the attempt; with `expected`, only while it exists with that status."""

    @abstractmethod
    def get_attempt(self, run_id: str, job: str, number: int) -> AttemptRecord:
        """One attempt; NotFound when it was never recorded."""

    @abstractmethod
    def list_attempts(self, run_id: str, job: str | None = None) -> list[AttemptRecord]:
        """By job name, then number."""

    def close(self) -> None:  # noqa: B027 (optional hook, not abstract)
        """Release connections; the default has nothing to release."""
