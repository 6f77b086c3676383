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
- a workflow's run slots (its `concurrency`) are taken and freed atomically across
  threads and processes: of several runs taking the last free slot, exactly one gets it;
- the workflows an event may start are found through an index of their latest versions'
  triggers (`workflows_triggered_by`), kept in the same write as the version it comes
  from, never by reading every workflow; a schedule mark moves only from the mark its
  checker read (`advance_schedule_mark`), so of two checkers of one tick one acts on it;
  a mark is kept under its trigger's identity (`domain.triggers.schedule_key`);
- an event claim (a webhook delivery, an EventBridge event) holds for
  EVENT_CLAIM_RETENTION_SECONDS and is then pruned: the table of claims does not grow
  without end (DynamoDB's TTL deletes them; the SQLite store with each new claim);
- an attempt is found by its container (`find_attempt_by_container`) right after the write
  that gave it one, by the whole id or by the task id alone (`container_task_id`);
- the texts of errors and the page limits come from `messages`, so stores say the same;
- an instance of a fan-out job (design §2) is a job record named `<job>.<index>` with
  `group` and `instance` set. `list_jobs` never lists one; `get_job`, `save_job` and the
  attempt calls take its name as they take a job's, and its attempts are kept under it.
  `create_instance` writes one once: a second create is a StaleWrite, which is how no
  instance is started twice. `list_attempts(run_id)` lists the instances' attempts too
  (a cancel or a sweep must reach every container); `list_job_attempts` leaves them out
  (what the run document shows). `instance_counts` is cheap (an index, or counters kept
  in the writes that change an instance's state), so the run detail can call it on every
  read; `list_instances` pages as `instance_pages` says.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

from chalicelib.domain.models import Component, Workflow
from chalicelib.domain.states import AttemptState, JobState, RunState
from chalicelib.domain.triggers import EVERY_SCHEDULE, TriggerKind
from chalicelib.engine.instance_keys import instance_key, is_instance_key
from chalicelib.engine.records import AttemptRecord, JobRecord, RunRecord
from chalicelib.store import messages
from chalicelib.store.instance_pages import InstanceOrder, InstancePage

# A claimed event id is kept 14 days: SQS keeps a message at most 14 days and EventBridge
# retries a delivery for 24 hours, so no duplicate of an event arrives later than that; a
# webhook sender's manual redelivery of one older than that starts its run again.
EVENT_CLAIM_RETENTION_SECONDS = 14 * 24 * 3600


def container_task_id(container_id: str) -> str:
    """The part of a container id after its last `/`: the task id of an ECS task ARN
    (`arn:aws:ecs:<region>:<account>:task/<cluster>/<task id>`), all that the task's log
    stream name carries; a Docker container id has no `/` and is its own task id."""
    return container_id.rsplit("/", 1)[-1]


def holds_container(container_id: str | None, wanted: str) -> bool:
    """Whether an attempt whose container is `container_id` is the one `wanted` names:
    the same id, or `wanted` is its bare task id."""
    if container_id is None or not container_task_id(wanted):
        return False
    return wanted in (container_id, container_task_id(container_id))


def check_instance_record(record: JobRecord) -> tuple[str, int]:
    """The group and index of an instance record; ValueError unless its name is the
    instance key of both (`instance_keys.instance_key`)."""
    if record.group is None or record.instance is None or record.instance < 0:
        raise ValueError(messages.not_an_instance(record.name))
    if record.name != instance_key(record.group, record.instance):
        raise ValueError(messages.not_an_instance(record.name))
    return record.group, record.instance


def is_instance_record(record: JobRecord) -> bool:
    """Whether a record being written is an instance's (then `check_instance_record` must
    hold): its name is an instance key, or it says it has a group or an index."""
    return record.group is not None or record.instance is not None or is_instance_key(record.name)


def check_run_slot_limit(limit: int) -> None:
    """ValueError (the shared sentence) for a slot limit no store keeps."""
    if not 1 <= limit <= messages.MAX_RUN_SLOTS:
        raise ValueError(messages.bad_run_slot_limit(limit))


@dataclass(frozen=True)
class StoredWorkflow:
    workflow: Workflow
    version: int
    created_at: float


@dataclass(frozen=True)
class WorkflowVersion:
    """One saved version of a workflow without its definition: a line of its version list."""

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
class TriggeredWorkflow:
    """A workflow an event may start: its latest version, and whether it is enabled."""

    stored: StoredWorkflow
    enabled: bool


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
    # --- units of work -------------------------------------------------------------
    def atomically(self) -> AbstractContextManager[object]:
        """The writes this thread makes inside are one transaction: all of them, or none
        when the block raises (or the process dies inside it). A store that cannot join
        writes so gives the plain context: each write stands alone, as outside."""
        return nullcontext()

    # --- namespaces ----------------------------------------------------------------
    @abstractmethod
    def list_namespaces(self) -> list[str]:
        """Every namespace holding a component or a workflow that is not deleted, sorted,
        each once. Namespaces are not stored on their own: one exists while it holds
        something."""

    def component_namespaces(self) -> list[str]:
        """Every namespace holding a component (deprecated or not), sorted, each once: the
        registry's. Read from every entry here; a store may know them more cheaply."""
        return sorted({entry.component.metadata.namespace for entry in self.list_component_entries()})

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
    def list_workflow_versions(self, namespace: str, name: str) -> list[WorkflowVersion]:
        """Every stored version of a workflow that is not deleted, newest first, without
        the definitions; NotFound for an unknown or deleted workflow."""

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
        """True the first time `key` (a delivery or event id) is claimed, False after, for
        EVENT_CLAIM_RETENTION_SECONDS from the claim; then the claim is gone (pruned) and
        the key may be claimed again."""

    @abstractmethod
    def get_schedule_mark(self, namespace: str, name: str, schedule: str) -> float | None:
        """The last tick acted on for a workflow's schedule, or None. `schedule` is the
        trigger's identity (`domain.triggers.schedule_key`), not its position."""

    @abstractmethod
    def set_schedule_mark(self, namespace: str, name: str, schedule: str, tick: float) -> None: ...

    @abstractmethod
    def advance_schedule_mark(self, namespace: str, name: str, schedule: str,
                              expected: float | None, tick: float) -> bool:
        """Set the mark to `tick` only while it is still `expected` (None: no mark yet);
        False, changing nothing, when another checker moved it first. Atomic."""

    @abstractmethod
    def workflows_triggered_by(
        self, kind: TriggerKind, source: str = EVERY_SCHEDULE
    ) -> list[TriggeredWorkflow]:
        """Every workflow that is not deleted whose latest version has a `kind` trigger on
        `source` (an S3 bucket, a CodeCommit repository; for schedules, every workflow with
        one), disabled ones too, each once, by namespace and name. Read from an index (see
        `domain.triggers.index_keys`) written with each version: a save that drops the
        trigger, a delete and a revival are seen by the next lookup."""

    # --- concurrency -----------------------------------------------------------------
    @abstractmethod
    def take_run_slot(self, namespace: str, workflow: str, run_id: str, limit: int) -> bool:
        """True when `run_id` holds one of the workflow's `limit` slots, taking a free one
        if it held none; False when `limit` other runs hold them all. Taking again for a
        run that holds a slot is True and still holds one slot, whatever `limit` says now
        (a lowered limit takes no slot back). Atomic: of N runs taking the last free slot
        at once, in any threads or processes, exactly one is told True. ValueError unless
        1 <= limit <= messages.MAX_RUN_SLOTS."""

    @abstractmethod
    def free_run_slot(self, namespace: str, workflow: str, run_id: str) -> None:
        """Give back the slot `run_id` holds; idempotent, and a run holding none is fine."""

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

    def latest_runs(self, namespace: str, workflows: Sequence[str]) -> dict[str, RunRecord]:
        """The newest run (by creation, as the history orders them) of each of these
        workflows of `namespace` that has one. One indexed history query of one run per
        workflow: cheaper than ranking every run of the namespace, on both stores."""
        latest: dict[str, RunRecord] = {}
        for name in dict.fromkeys(workflows):
            page = self.list_runs(RunFilter(namespace=namespace, workflow=name, limit=1))
            if page.runs:
                latest[name] = page.runs[0]
        return latest

    def newest_succeeded_runs(self, namespace: str, workflow: str, limit: int = 2) -> list[str]:
        """The ids of the workflow's newest succeeded runs (by creation), newest first: whose
        workspaces are kept (engine.rerun.keeps_workspace). One indexed history query."""
        page = self.list_runs(RunFilter(namespace=namespace, workflow=workflow,
                                        statuses=(RunState.SUCCEEDED,), limit=limit))
        return [run.id for run in page.runs]

    @abstractmethod
    def save_job(self, job: JobRecord, expected: JobState | None = None) -> None:
        """Replace the job's record; with `expected`, only while it has that status."""

    @abstractmethod
    def get_job(self, run_id: str, name: str) -> JobRecord:
        """One job of a run; NotFound for an unknown run or job."""

    @abstractmethod
    def list_jobs(self, run_id: str) -> list[JobRecord]:
        """The workflow's jobs in workflow order (stage, action, position); never an
        instance of a fan-out job (see list_instances)."""

    # --- fan-out instances -------------------------------------------------------------
    @abstractmethod
    def create_instance(self, record: JobRecord) -> None:
        """Record an instance of a fan-out job the first time it is started or decided;
        StaleWrite (a Conflict) when it exists already, NotFound for an unknown run or a
        group (`record.group`) the run does not have, ValueError for a record whose name
        is not the instance key of its group and index."""

    @abstractmethod
    def list_instances(
        self, run_id: str, job: str, *, states: Sequence[JobState] | None = None,
        order: InstanceOrder | str = InstanceOrder.INDEX, cursor: str | None = None,
        limit: int = 100,
    ) -> InstancePage:
        """The recorded instances of `job` (in `states`, all when None), in instance order,
        or failed first then running then the rest (`failed-first`); at most `limit` (1 to
        messages.MAX_INSTANCES_PAGE) a page. ValueError for a cursor it did not give. An
        unknown run or job has none (an empty page)."""

    def every_instance(self, run_id: str, job: str,
                       states: Sequence[JobState] | None = None) -> Iterator[JobRecord]:
        """Every recorded instance of `job` (in `states`), in instance order, read a page at a
        time (`list_instances`): what a group's end or a re-run goes through."""
        cursor: str | None = None
        while True:
            page = self.list_instances(run_id, job, states=states, cursor=cursor,
                                       limit=messages.MAX_INSTANCES_PAGE)
            yield from page.instances
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    @abstractmethod
    def instance_counts(self, run_id: str, job: str) -> dict[JobState, int]:
        """How many recorded instances of `job` are in each state (only the states some
        are in). Instances never recorded (pending, or never started) are not counted."""

    def list_job_attempts(self, run_id: str) -> list[AttemptRecord]:
        """`list_attempts(run_id)` without the attempts of fan-out instances; a store may
        read them more cheaply than by reading every attempt."""
        return [a for a in self.list_attempts(run_id) if "." not in a.job]

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

    @abstractmethod
    def find_attempt_by_container(self, container_id: str) -> AttemptRecord | None:
        """The attempt whose `container_id` is this one (an ECS task ARN in aws mode), or
        whose task id (`container_task_id`) it is; None when no attempt holds it. Strongly
        consistent: found right after the create_attempt / save_attempt that set it, and
        not by an id the attempt has since given up. A task belongs to one attempt."""

    def close(self) -> None:  # noqa: B027 (optional hook, not abstract)
        """Release connections; the default has nothing to release."""
