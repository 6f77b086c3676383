"""A workflow's run slots (its `concurrency`) in the definitions table: one item per workflow.

The item (`WORKFLOW#<ns>/<name>`, `SLOTS`) holds the ids of the runs holding a slot as a
string set. Taking is one UpdateItem that ADDs the run to the set on the condition that the
run is in it already or the set is smaller than the limit (or absent: DynamoDB keeps no
empty set), so DynamoDB, which applies each request alone, lets exactly one of the runs
racing for the last slot in. Freeing DELETEs the run from the set on the condition that it
is there, so freeing a run that holds nothing writes nothing (and makes no empty item).
Both are idempotent, so a retry of a request that was applied but whose answer was lost
gives the same answer. The item lives in the workflow's own partition (beside its versions
and schedule marks, never queried whole), so busy workflows do not share one partition.
"""

from __future__ import annotations

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import size

from chalicelib.store.base import check_run_slot_limit
from chalicelib.store.dynamodb import keys
from chalicelib.store.dynamodb.boundary import condition_failed
from chalicelib.store.dynamodb.calls import Calls
from chalicelib.store.dynamodb.models import RunSlotsItem


class RunSlots:
    def __init__(self, calls: Calls) -> None:
        self._calls = calls
        self._t = calls.tables

    def take(self, namespace: str, workflow: str, run_id: str, limit: int) -> bool:
        check_run_slot_limit(limit)
        model = self._t.slots
        holders = size(model.holders)  # type: ignore[no-untyped-call]  # PynamoDB leaves it bare
        room_or_held = (model.holders.does_not_exist() | model.holders.contains(run_id)
                        | (holders < limit))
        try:
            self._calls.update(f"taking a run slot of {namespace}/{workflow}",
                               self._item(namespace, workflow), [model.holders.add({run_id})],
                               room_or_held)
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
            return False
        return True

    def free(self, namespace: str, workflow: str, run_id: str) -> None:
        model = self._t.slots
        try:
            self._calls.update(f"freeing a run slot of {namespace}/{workflow}",
                               self._item(namespace, workflow), [model.holders.delete({run_id})],
                               model.holders.contains(run_id))
        except UpdateError as exc:
            if not condition_failed(exc):
                raise

    def _item(self, namespace: str, workflow: str) -> RunSlotsItem:
        return self._t.slots(keys.workflow_pk(namespace, workflow), keys.RUN_SLOTS_SK)
