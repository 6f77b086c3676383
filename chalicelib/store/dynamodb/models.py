"""PynamoDB models of the store's three tables, bound to their names when a store is made.

The classes here describe items (their attributes and keys) but name no table: table and
index names come from the environment through `AwsSettings`, so `bind_tables` makes bound
subclasses for one store, and tests or processes with other names never share a default.
The item classes of one table inherit that table's connection, so a store holds one
botocore client per table rather than one per kind of item. `create_tables` makes the
tables from these models (tests, local tries); in AWS the stack's template makes them
(infra/template.json; tests/infra/test_tables_match_the_store.py holds the two together).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar, cast

from pynamodb.attributes import (
    Attribute,
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection import Connection
from pynamodb.constants import MAP, PAY_PER_REQUEST_BILLING_MODE, STRING
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.config import AwsSettings

M = TypeVar("M", bound=Model)


class StringMapAttribute(Attribute[dict[str, str]]):
    """A str -> str dict as a DynamoDB map: its size is the bytes of its keys and values,
    where JSON text would grow with every escaped character."""

    attr_type = MAP

    def serialize(self, value: dict[str, str]) -> dict[str, dict[str, str]]:
        return {key: {STRING: text} for key, text in value.items()}

    def deserialize(self, value: dict[str, dict[str, str]]) -> dict[str, str]:
        return {key: text[STRING] for key, text in value.items()}


# --- the definitions table -----------------------------------------------------------

class DefinitionsTable(Model):
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class ComponentItem(DefinitionsTable):
    namespace = UnicodeAttribute()
    name = UnicodeAttribute()
    version = UnicodeAttribute()
    document = UnicodeAttribute()  # canonical JSON: components are small
    deprecated = BooleanAttribute(default=False)
    created_at = NumberAttribute()


class NamespaceItem(DefinitionsTable):
    """Marks a namespace that holds a component (components are never deleted)."""


class WorkflowHeadItem(DefinitionsTable):
    """The latest-version pointer and the settings of one workflow."""

    namespace = UnicodeAttribute()
    name = UnicodeAttribute()
    latest = NumberAttribute()
    deleted = BooleanAttribute(default=False)
    enabled = BooleanAttribute(default=True)
    webhook_secret = UnicodeAttribute()
    # The partition keys of the trigger index items the latest version is filed under
    # (TriggerIndexItem); DynamoDB has no empty set: none is absent.
    trigger_keys = UnicodeSetAttribute(null=True)


class WorkflowVersionItem(DefinitionsTable):
    namespace = UnicodeAttribute()
    name = UnicodeAttribute()
    version = NumberAttribute()
    document = BinaryAttribute(legacy_encoding=False)  # zlib of the canonical JSON
    created_at = NumberAttribute()


class TriggerIndexItem(DefinitionsTable):
    """One workflow filed under one trigger key (keys.trigger_pk): its latest version has
    a trigger on that bucket or repository, or a schedule."""

    namespace = UnicodeAttribute()
    name = UnicodeAttribute()
    version = NumberAttribute()


class ScheduleMarkItem(DefinitionsTable):
    tick = NumberAttribute()


class RunSlotsItem(DefinitionsTable):
    """The runs holding one workflow's concurrency slots."""

    holders = UnicodeSetAttribute(null=True)  # DynamoDB has no empty set: none held is absent


# --- the runs table ------------------------------------------------------------------

class RunsTable(Model):
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    # The index keys: only a run that is whole has them (see RunItem.creating).
    workflow_ref = UnicodeAttribute(null=True)
    namespace = UnicodeAttribute(null=True)
    created_order = UnicodeAttribute(null=True)
    run_shard = UnicodeAttribute(null=True)
    # Set while a run too big for one transaction is being written: the run item is then
    # a placeholder (no index keys, invisible to readers) and its jobs carry the same token.
    creating = UnicodeAttribute(null=True)


class RunItem(RunsTable):
    id = UnicodeAttribute()
    workflow = UnicodeAttribute(null=True)
    workflow_version = NumberAttribute(null=True)
    status = UnicodeAttribute(null=True)
    created_at = NumberAttribute(null=True)
    params = JSONAttribute(null=True)
    trigger = JSONAttribute(null=True)
    started_at = NumberAttribute(null=True)
    finished_at = NumberAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    rerun_of = UnicodeAttribute(null=True)
    # RerunScope.as_document; absent for a run that is no re-run and for older re-runs.
    rerun_scope = JSONAttribute(null=True)
    cancel_requested = BooleanAttribute(default=False)


class JobItem(RunsTable):
    run_id = UnicodeAttribute()
    name = UnicodeAttribute()
    stage = NumberAttribute()
    action = NumberAttribute()
    position = NumberAttribute()
    status = UnicodeAttribute()
    reason = UnicodeAttribute()
    outputs = StringMapAttribute()
    exit_code = NumberAttribute(null=True)
    attempts = NumberAttribute()
    started_at = NumberAttribute(null=True)
    finished_at = NumberAttribute(null=True)
    # An instance of a fan-out job (keys.instance_sk): its group and index; absent on jobs.
    grp = UnicodeAttribute(null=True)
    instance = NumberAttribute(null=True)


class CountsItem(RunsTable):
    """How many recorded instances of one fan-out job are in each state (keys.counts_sk):
    ADDed to in the transaction that records or moves an instance; absent is none."""

    pending = NumberAttribute(null=True)
    running = NumberAttribute(null=True)
    succeeded = NumberAttribute(null=True)
    failed = NumberAttribute(null=True)
    cancelled = NumberAttribute(null=True)
    skipped = NumberAttribute(null=True)
    reused = NumberAttribute(null=True)


class AttemptItem(RunsTable):
    run_id = UnicodeAttribute()
    job = UnicodeAttribute()
    number = NumberAttribute()
    status = UnicodeAttribute()
    container_id = UnicodeAttribute(null=True)
    exit_code = NumberAttribute(null=True)
    reason = UnicodeAttribute()
    outputs = StringMapAttribute()
    ready_at = NumberAttribute(null=True)
    started_at = NumberAttribute(null=True)
    finished_at = NumberAttribute(null=True)
    log_bytes = NumberAttribute()
    log_truncated = BooleanAttribute()
    stdout_bytes = NumberAttribute()
    stderr_bytes = NumberAttribute()
    reported_result = BooleanAttribute(null=True)
    output_violation = UnicodeAttribute()
    task_token = UnicodeAttribute(null=True)
    log_position = UnicodeAttribute(null=True)


class TaskItem(RunsTable):
    """Which attempt holds a container (an ECS task): the index that finds an attempt by
    its task id, read consistently where a GSI would lag behind the write."""

    run_id = UnicodeAttribute()
    job = UnicodeAttribute()
    number = NumberAttribute()


# --- the events table ----------------------------------------------------------------

class EventClaimItem(Model):
    pk = UnicodeAttribute(hash_key=True)
    claimed_at = NumberAttribute()
    expires_at = TTLAttribute()


# --- binding -------------------------------------------------------------------------

@dataclass(frozen=True)
class TableNames:
    definitions: str
    runs: str
    events: str
    runs_by_workflow_index: str
    runs_by_namespace_index: str
    runs_by_time_index: str

    @classmethod
    def from_settings(cls, settings: AwsSettings) -> TableNames:
        return cls(
            definitions=settings.definitions_table,
            runs=settings.runs_table,
            events=settings.events_table,
            runs_by_workflow_index=settings.runs_by_workflow_index,
            runs_by_namespace_index=settings.runs_by_namespace_index,
            runs_by_time_index=settings.runs_by_time_index,
        )


@dataclass(frozen=True)
class StoreTables:
    """The model classes of one store, bound to its tables."""

    names: TableNames
    component: type[ComponentItem]
    namespace: type[NamespaceItem]
    head: type[WorkflowHeadItem]
    version: type[WorkflowVersionItem]
    trigger: type[TriggerIndexItem]
    mark: type[ScheduleMarkItem]
    slots: type[RunSlotsItem]
    run: type[RunItem]
    job: type[JobItem]
    counts: type[CountsItem]
    attempt: type[AttemptItem]
    task: type[TaskItem]
    claim: type[EventClaimItem]
    connection: Connection  # for transactions, which may span tables

    @property
    def table_models(self) -> list[type[Model]]:
        """One model per table, each knowing its table's whole key and index schema."""
        return [self.component, self.run, self.claim]


def bind_tables(names: TableNames, region: str | None = None) -> StoreTables:
    definitions = _bound_table(DefinitionsTable, names.definitions, region)
    runs = _bound_table(RunsTable, names.runs, region, indexes={
        "runs_by_workflow": _index(names.runs_by_workflow_index, "workflow_ref"),
        "runs_by_namespace": _index(names.runs_by_namespace_index, "namespace"),
        "runs_by_time": _index(names.runs_by_time_index, "run_shard"),
    })
    events = _bound_table(EventClaimItem, names.events, region)
    return StoreTables(
        names=names,
        component=_bound_item(ComponentItem, definitions),
        namespace=_bound_item(NamespaceItem, definitions),
        head=_bound_item(WorkflowHeadItem, definitions),
        version=_bound_item(WorkflowVersionItem, definitions),
        trigger=_bound_item(TriggerIndexItem, definitions),
        mark=_bound_item(ScheduleMarkItem, definitions),
        slots=_bound_item(RunSlotsItem, definitions),
        run=_bound_item(RunItem, runs),
        job=_bound_item(JobItem, runs),
        counts=_bound_item(CountsItem, runs),
        attempt=_bound_item(AttemptItem, runs),
        task=_bound_item(TaskItem, runs),
        claim=events,
        # A transaction is one API call naming its tables in its items: any client serves.
        connection=runs._get_connection().connection,
    )


def create_tables(tables: StoreTables) -> None:
    """Create the three tables (with their indexes and the events TTL), on demand billing."""
    for model in tables.table_models:
        model.create_table(wait=True)


def _bound_table(table: type[M], name: str, region: str | None,
                 indexes: dict[str, GlobalSecondaryIndex[Any]] | None = None) -> type[M]:
    meta = type("Meta", (), {
        "table_name": name,
        "region": region,
        "billing_mode": PAY_PER_REQUEST_BILLING_MODE,
        # botocore would retry throttling on its own, sleeping where tests cannot see it;
        # the store's Backoff (boundary.py) is the one retry policy.
        "max_retry_attempts": 0,
    })
    bound = cast(type[M], type(table.__name__, (table,), {
        "Meta": meta, "__module__": __name__, **(indexes or {})}))
    # Made now (no client yet: botocore's is created at the first call) so that the item
    # classes below inherit this one connection instead of each making its own.
    bound._get_connection()
    return bound


def _bound_item(item: type[M], table: type[Model]) -> type[M]:
    return cast(type[M], type(item.__name__, (item, table), {"__module__": __name__}))


def _index(name: str, hash_key: str) -> GlobalSecondaryIndex[Any]:
    meta = type("Meta", (), {"index_name": name, "projection": AllProjection()})
    index_class = type(f"{hash_key}_index", (GlobalSecondaryIndex,), {
        "Meta": meta,
        hash_key: UnicodeAttribute(hash_key=True),
        "created_order": UnicodeAttribute(range_key=True),
    })
    return cast(GlobalSecondaryIndex[Any], index_class())
