"""The DynamoDB store's trigger index: which workflows an event of a bucket, a repository or
the schedule may start, without reading every workflow.

Items of the definitions table, `TRIGGER#<kind>#<source>` / `<ns>/<name>` (version), one per
key of the latest version (domain.triggers.index_keys), so one partition holds exactly the
workflows one event source may start. They are base-table items, not a GSI, for the same
reason as the task index: they are written in the transaction that saves the version (put
for the new version's keys, delete for the keys it dropped, named by the head's
`trigger_keys`) and read consistently right after it. Deleting a workflow deletes its items
in the transaction that flags the head. Whether a workflow is enabled, and which version is
latest, are read from the heads at lookup (one BatchGetItem), so switching a workflow off
or on writes nothing here. A lookup is a Query of one partition and two BatchGetItems
(heads, versions), whatever the number of workflows stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.domain.models import Workflow
from chalicelib.domain.triggers import TriggerKind, index_keys
from chalicelib.store.base import TriggeredWorkflow
from chalicelib.store.dynamodb import items, keys
from chalicelib.store.dynamodb.calls import Calls
from chalicelib.store.dynamodb.models import StoreTables, WorkflowHeadItem


@dataclass(frozen=True)
class IndexChange:
    """What a write of the head does to the index: items to put and to delete, and the
    head's new `trigger_keys`."""

    put: tuple[str, ...]
    delete: tuple[str, ...]
    head_action: Action

    def apply(self, tables: StoreTables, transaction: TransactWrite, namespace: str, name: str,
              version: int) -> None:
        sk = keys.workflow_head_sk(namespace, name)
        for pk in self.put:
            transaction.save(tables.trigger(pk, sk, namespace=namespace, name=name, version=version))
        for pk in self.delete:
            transaction.delete(tables.trigger(pk, sk))


def filing(tables: StoreTables, workflow: Workflow, head: WorkflowHeadItem | None) -> IndexChange:
    """The change that files a new latest version of `workflow` under its keys."""
    wanted = {keys.trigger_pk(k.kind.value, k.source) for k in index_keys(workflow)}
    return IndexChange(tuple(sorted(wanted)), tuple(sorted(_filed(head) - wanted)),
                       _keys_action(tables, wanted))


def forgetting(tables: StoreTables, head: WorkflowHeadItem) -> IndexChange:
    """The change that takes a deleted workflow out of the index."""
    return IndexChange((), tuple(sorted(_filed(head))), _keys_action(tables, set()))


def triggered_by(calls: Calls, kind: TriggerKind, source: str) -> list[TriggeredWorkflow]:
    t = calls.tables
    filed = list(calls.query(t.trigger, keys.trigger_pk(kind.value, source)))
    if not filed:
        return []
    head_keys = [(keys.WORKFLOWS_PK, keys.workflow_head_sk(i.namespace, i.name)) for i in filed]
    heads = calls.backoff.call(
        "reading workflow heads", lambda: list(t.head.batch_get(head_keys, consistent_read=True)))
    live = [h for h in heads if not h.deleted]
    version_keys = [(keys.workflow_pk(h.namespace, h.name), keys.workflow_version_sk(int(h.latest)))
                    for h in live]
    if not version_keys:
        return []
    versions = calls.backoff.call(
        "reading workflows", lambda: list(t.version.batch_get(version_keys, consistent_read=True)))
    enabled = {(h.namespace, h.name): bool(h.enabled) for h in live}
    found = [TriggeredWorkflow(stored, enabled[(stored.workflow.metadata.namespace,
                                                stored.workflow.metadata.name)])
             for stored in map(items.stored_workflow, versions)]
    found.sort(key=lambda f: (f.stored.workflow.metadata.namespace, f.stored.workflow.metadata.name))
    return found


def _filed(head: WorkflowHeadItem | None) -> set[str]:
    return set() if head is None or head.trigger_keys is None else set(head.trigger_keys)


def _keys_action(tables: StoreTables, wanted: set[str]) -> Action:
    attribute = tables.head.trigger_keys
    return attribute.set(wanted) if wanted else attribute.remove()
