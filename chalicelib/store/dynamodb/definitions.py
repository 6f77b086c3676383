"""Components, workflow versions and settings, namespaces, schedule marks and event claims.

Everything here but the event claims lives in the definitions table (keys in `keys`). A
workflow is a head item (latest version number, deleted flag, settings) plus one item per
version. Saving writes the next version item (`attribute_not_exists`) and moves the head
(on the condition that it still says what the writer read) in one transaction, so of two
writers from the same version one wins; an unchecked save that loses a race reads the head
again and takes the next number, so concurrent saves get contiguous versions and none is
lost. The same transaction files the version in the trigger index (`trigger_index`).
Deleting flags the head and takes the workflow out of the index: versions stay readable by
number, and saving again revives the workflow with the next number and its settings as
they were.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.domain.models import Component, Workflow
from chalicelib.domain.triggers import TriggerKind
from chalicelib.errors import Conflict, NotFound
from chalicelib.store import messages
from chalicelib.store.base import (
    EVENT_CLAIM_RETENTION_SECONDS,
    StoredComponent,
    StoredWorkflow,
    TriggeredWorkflow,
    WorkflowSettings,
    WorkflowVersion,
)
from chalicelib.store.dynamodb import items, keys, trigger_index
from chalicelib.store.dynamodb.boundary import (
    CONDITION_FAILED_REASON,
    cancellation_codes,
    condition_failed,
)
from chalicelib.store.dynamodb.calls import Calls
from chalicelib.store.dynamodb.models import WorkflowHeadItem
from chalicelib.store.dynamodb.sizes import canonical_json, check_document, compress, ordered_json
from chalicelib.store.ordering import version_order

WEBHOOK_SECRET_BYTES = 32
# An unchecked save that keeps losing races to other writers gives up after this many
# rounds (each round another writer saved a version, so the workflow is very busy).
SAVE_RACE_ROUNDS = 50
# A claimed event id is kept EVENT_CLAIM_RETENTION_SECONDS (14 days, chalicelib/store/base.py).
# DynamoDB deletes expired items lazily (often days later), so a claim past its expiry
# that is still stored counts as free: it is the TTL that decides, not the deletion.
EVENT_CLAIM_TTL_SECONDS = EVENT_CLAIM_RETENTION_SECONDS

Clock = Callable[[], float]


class Definitions:
    def __init__(self, calls: Calls, clock: Clock) -> None:
        self._calls = calls
        self._t = calls.tables
        self._clock = clock

    # --- namespaces ------------------------------------------------------------------
    def list_namespaces(self) -> list[str]:
        live = {head.namespace for head in self._heads(None) if not head.deleted}
        return sorted(set(self.component_namespaces()) | live)

    def component_namespaces(self) -> list[str]:
        """The namespace markers, one item each, written with a namespace's components (and
        never removed: components are never deleted)."""
        return sorted({item.sk for item in self._calls.query(self._t.namespace, keys.NAMESPACES_PK)})

    # --- components ------------------------------------------------------------------
    def put_component(self, component: Component) -> None:
        m = component.metadata
        document = canonical_json(component)
        model = self._t.component
        item = model(keys.COMPONENTS_PK, keys.component_sk(m.namespace, m.name, m.version),
                     namespace=m.namespace, name=m.name, version=m.version, document=document,
                     deprecated=False, created_at=self._clock())
        check_document(f"component {component.ref}", item.serialize(), compressed=False)
        marker = self._t.namespace(keys.NAMESPACES_PK, m.namespace)

        def publish(transaction: TransactWrite) -> None:
            transaction.save(item, condition=model.pk.does_not_exist())
            transaction.save(marker)

        try:
            self._calls.transact(f"publishing component {component.ref}", publish)
        except TransactWriteError as exc:
            if cancellation_codes(exc)[:1] != [CONDITION_FAILED_REASON]:
                raise
            stored = self._calls.get(model, item.pk, item.sk)
            # Parse and dump again so a default added since it was stored is not a difference.
            if stored is None or canonical_json(
                    Component.model_validate_json(stored.document)) != document:
                raise Conflict(messages.immutable_component(component.ref)) from exc

    def get_component_entry(self, namespace: str, name: str, version: str) -> StoredComponent:
        sk = keys.component_sk(namespace, name, version)
        item = self._calls.get(self._t.component, keys.COMPONENTS_PK, sk)
        if item is None:
            raise NotFound(messages.unknown_component(namespace, name, version))
        return items.stored_component(item)

    def list_component_entries(self, namespace: str | None, name: str | None,
                               include_deprecated: bool) -> list[StoredComponent]:
        model = self._t.component
        prefix = keys.components_prefix(namespace, name)
        found = self._calls.query(model, keys.COMPONENTS_PK,
                                  None if prefix is None else model.sk.startswith(prefix))
        entries = [items.stored_component(item) for item in found
                   if include_deprecated or not item.deprecated]
        entries.sort(key=lambda e: (e.component.metadata.namespace, e.component.metadata.name,
                                    version_order(e.component.metadata.version)))
        return entries

    def set_component_deprecated(self, namespace: str, name: str, version: str,
                                 deprecated: bool) -> StoredComponent:
        model = self._t.component
        item = model(keys.COMPONENTS_PK, keys.component_sk(namespace, name, version))
        try:
            self._calls.update(f"deprecating component {item.sk}", item,
                               [model.deprecated.set(deprecated)], model.pk.exists())
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
            raise NotFound(messages.unknown_component(namespace, name, version)) from exc
        return items.stored_component(item)

    # --- workflows -------------------------------------------------------------------
    def save_workflow(self, workflow: Workflow, expected_version: int | None) -> int:
        m = workflow.metadata
        document = compress(ordered_json(workflow))
        for race in range(SAVE_RACE_ROUNDS):
            head = self._head(m.namespace, m.name)
            latest = 0 if head is None else int(head.latest)
            deleted = head is not None and bool(head.deleted)
            if expected_version is not None and expected_version != (0 if deleted else latest):
                raise Conflict(messages.stale_workflow(workflow.ref, expected_version, latest, deleted))
            if self._write_version(workflow, document, head, latest + 1):
                return latest + 1
            # Another writer moved the head since it was read: read it again and judge anew.
            self._calls.backoff.pause(race)
        raise Conflict(f"workflow {workflow.ref} is being saved by many writers at once; "
                       f"gave up after {SAVE_RACE_ROUNDS} rounds, try again")

    def _write_version(self, workflow: Workflow, document: bytes,
                       head: WorkflowHeadItem | None, version: int) -> bool:
        """Write `version` and point the head at it, if the head is still `head`; False when
        another writer got there first."""
        m = workflow.metadata
        version_model, head_model = self._t.version, self._t.head
        item = version_model(keys.workflow_pk(m.namespace, m.name), keys.workflow_version_sk(version),
                             namespace=m.namespace, name=m.name, version=version,
                             document=document, created_at=self._clock())
        check_document(f"workflow {workflow.ref}", item.serialize(), compressed=True)
        head_key = head_model(keys.WORKFLOWS_PK, keys.workflow_head_sk(m.namespace, m.name))
        index = trigger_index.filing(self._t, workflow, head)
        moves: list[Action] = [
            head_model.namespace.set(m.namespace),
            head_model.name.set(m.name),
            head_model.latest.set(version),
            head_model.deleted.set(False),
            # The first version makes the settings; later ones (and a revival) keep them.
            head_model.enabled.set(head_model.enabled | True),
            head_model.webhook_secret.set(
                head_model.webhook_secret | secrets.token_hex(WEBHOOK_SECRET_BYTES)),
            index.head_action,
        ]
        unchanged = (head_model.pk.does_not_exist() if head is None else
                     (head_model.latest == head.latest) & (head_model.deleted == bool(head.deleted)))

        def save(transaction: TransactWrite) -> None:
            transaction.save(item, condition=version_model.pk.does_not_exist())
            transaction.update(head_key, moves, condition=unchanged)
            index.apply(self._t, transaction, m.namespace, m.name, version)

        return self._calls.transact_if_unchanged(f"saving workflow {workflow.ref}", save)

    def get_workflow(self, namespace: str, name: str, version: int | None) -> StoredWorkflow:
        number = version
        if number is None:
            head = self._head(namespace, name)
            if head is None or head.deleted:
                raise NotFound(messages.unknown_workflow(namespace, name))
            number = int(head.latest)
        item = self._calls.get(self._t.version, keys.workflow_pk(namespace, name),
                               keys.workflow_version_sk(number))
        if item is None:
            raise NotFound(messages.unknown_workflow(namespace, name, version))
        return items.stored_workflow(item)

    def list_workflows(self, namespace: str | None) -> list[StoredWorkflow]:
        latest = [(keys.workflow_pk(h.namespace, h.name), keys.workflow_version_sk(int(h.latest)))
                  for h in self._heads(namespace) if not h.deleted]
        if not latest:
            return []
        model = self._t.version
        found = self._calls.backoff.call(
            "reading workflows", lambda: list(model.batch_get(latest, consistent_read=True)))
        stored = [items.stored_workflow(item) for item in found]
        stored.sort(key=lambda s: (s.workflow.metadata.namespace, s.workflow.metadata.name))
        return stored

    def list_workflow_versions(self, namespace: str, name: str) -> list[WorkflowVersion]:
        head = self._head(namespace, name)
        if head is None or head.deleted:
            raise NotFound(messages.unknown_workflow(namespace, name))
        model = self._t.version
        # Only the numbers and times: the documents (up to 400 KB each) are not read.
        found = self._calls.query(model, keys.workflow_pk(namespace, name),
                                  model.sk.startswith(keys.WORKFLOW_VERSION_PREFIX),
                                  attributes=["version", "created_at"])
        listed = [WorkflowVersion(int(item.version), float(item.created_at)) for item in found]
        return sorted(listed, key=lambda v: v.version, reverse=True)

    def get_workflow_settings(self, namespace: str, name: str) -> WorkflowSettings:
        head = self._head(namespace, name)
        if head is None or head.deleted:
            raise NotFound(messages.unknown_workflow(namespace, name))
        return items.workflow_settings(head)

    def set_workflow_enabled(self, namespace: str, name: str, enabled: bool) -> WorkflowSettings:
        head = self._change_live_head(namespace, name, self._t.head.enabled.set(enabled))
        return items.workflow_settings(head)

    def delete_workflow(self, namespace: str, name: str) -> None:
        for race in range(SAVE_RACE_ROUNDS):
            head = self._head(namespace, name)
            if head is None or head.deleted:
                raise NotFound(messages.unknown_workflow(namespace, name))
            if self._delete(head):
                return
            self._calls.backoff.pause(race)  # a version was saved meanwhile: its keys count
        raise Conflict(f"workflow {namespace}/{name} is being saved by many writers at once; "
                       f"gave up deleting it after {SAVE_RACE_ROUNDS} rounds, try again")

    def _delete(self, head: WorkflowHeadItem) -> bool:
        """Flag the head deleted and take it out of the index, if the head is still `head`;
        False when a save moved it first."""
        model = self._t.head
        index = trigger_index.forgetting(self._t, head)
        head_key = model(keys.WORKFLOWS_PK, head.sk)
        unchanged = (model.latest == head.latest) & (model.deleted == False)  # noqa: E712

        def delete(transaction: TransactWrite) -> None:
            transaction.update(head_key, [model.deleted.set(True), index.head_action],
                               condition=unchanged)
            index.apply(self._t, transaction, head.namespace, head.name, int(head.latest))

        return self._calls.transact_if_unchanged(f"deleting workflow {head.namespace}/{head.name}", delete)

    def workflows_triggered_by(self, kind: TriggerKind, source: str) -> list[TriggeredWorkflow]:
        return trigger_index.triggered_by(self._calls, kind, source)

    def _change_live_head(self, namespace: str, name: str, change: Action) -> WorkflowHeadItem:
        """Update the head of a workflow that exists and is not deleted, else NotFound."""
        model = self._t.head
        head = model(keys.WORKFLOWS_PK, keys.workflow_head_sk(namespace, name))
        live = model.pk.exists() & (model.deleted == False)  # noqa: E712 (a condition, not a test)
        try:
            self._calls.update(f"changing workflow {namespace}/{name}", head, [change], live)
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
            raise NotFound(messages.unknown_workflow(namespace, name)) from exc
        return head

    def _head(self, namespace: str, name: str) -> WorkflowHeadItem | None:
        return self._calls.get(self._t.head, keys.WORKFLOWS_PK,
                               keys.workflow_head_sk(namespace, name))

    def _heads(self, namespace: str | None) -> list[WorkflowHeadItem]:
        model = self._t.head
        prefix = keys.workflows_prefix(namespace)
        return list(self._calls.query(model, keys.WORKFLOWS_PK,
                                      None if prefix is None else model.sk.startswith(prefix)))

    # --- triggers --------------------------------------------------------------------
    def claim_event(self, key: str, now: float) -> bool:
        model = self._t.claim
        item = model(key, claimed_at=now,
                     expires_at=datetime.fromtimestamp(now + EVENT_CLAIM_TTL_SECONDS, tz=UTC))
        free = model.pk.does_not_exist() | (model.expires_at < datetime.fromtimestamp(now, tz=UTC))
        try:
            self._calls.put(f"claiming event {key}", item, free)
        except PutError as exc:
            if not condition_failed(exc):
                raise
            return False
        return True

    def get_schedule_mark(self, namespace: str, name: str, schedule: str) -> float | None:
        item = self._calls.get(self._t.mark, keys.workflow_pk(namespace, name),
                               keys.schedule_mark_sk(schedule))
        return None if item is None else float(item.tick)

    def set_schedule_mark(self, namespace: str, name: str, schedule: str, tick: float) -> None:
        item = self._t.mark(keys.workflow_pk(namespace, name), keys.schedule_mark_sk(schedule),
                            tick=tick)
        self._calls.put(f"marking schedule of {namespace}/{name}", item)

    def advance_schedule_mark(self, namespace: str, name: str, schedule: str,
                              expected: float | None, tick: float) -> bool:
        model = self._t.mark
        item = model(keys.workflow_pk(namespace, name), keys.schedule_mark_sk(schedule), tick=tick)
        still = model.pk.does_not_exist() if expected is None else model.tick == expected
        try:
            self._calls.put(f"marking schedule of {namespace}/{name}", item, still)
        except PutError as exc:
            if not condition_failed(exc):
                raise
            return False
        return True
