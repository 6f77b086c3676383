"""The few shapes of DynamoDB call the store makes, each one through the backoff.

A consistent get that answers None for a missing item, a consistent query read page by page,
a conditional put or update, and a transaction built afresh on every attempt (a
TransactWrite object is spent once committed). Reads of the base table are strongly
consistent, so a writer reads its own writes and a conditional write's follow-up read sees
what refused it; only the history indexes (GSIs) are eventually consistent, as DynamoDB
makes every GSI.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.store.dynamodb.boundary import CONDITION_FAILED_REASON, Backoff, cancellation_codes
from chalicelib.store.dynamodb.models import StoreTables

M = TypeVar("M", bound=Model)


class Calls:
    def __init__(self, tables: StoreTables, backoff: Backoff) -> None:
        self.tables = tables
        self.backoff = backoff

    def get(self, model: type[M], hash_key: str, range_key: str | None = None) -> M | None:
        def read() -> M | None:
            try:
                return model.get(hash_key, range_key, consistent_read=True)
            except model.DoesNotExist:
                return None
        return self.backoff.call(f"reading {hash_key} {range_key or ''}".rstrip(), read)

    def query(self, model: type[M], hash_key: str,
              range_condition: Condition | None = None, *,
              attributes: list[str] | None = None, filter_condition: Condition | None = None,
              limit: int | None = None, page_size: int | None = None) -> Iterator[M]:
        """Every item of a partition (or of a range of its sort keys), in key order; with
        `attributes`, only those of each item are read (the rest are left unset); with
        `filter_condition`, only those it holds for (DynamoDB reads, and bills, the rest
        too); with `limit`, no more than that many, read `page_size` at a time."""
        results = model.query(hash_key, range_condition, filter_condition, consistent_read=True,
                              attributes_to_get=attributes, limit=limit, page_size=page_size)
        return self.backoff.items(f"querying {hash_key}", results)

    def put(self, action: str, item: Model, condition: Condition | None = None) -> None:
        self.backoff.call(action, lambda: item.save(condition))

    def update(self, action: str, item: Model, actions: list[Action],
               condition: Condition | None = None) -> None:
        """UpdateItem; `item` (its key set) then holds every attribute of the stored item."""
        self.backoff.call(action, lambda: item.update(actions, condition))

    def delete(self, action: str, item: Model, condition: Condition | None = None) -> None:
        self.backoff.call(action, lambda: item.delete(condition))

    def transact_if_unchanged(self, action: str, build: Callable[[TransactWrite], Any]) -> bool:
        """`transact`; False, with nothing written, when one of its conditions failed (the
        items were changed meanwhile)."""
        try:
            self.transact(action, build)
        except TransactWriteError as exc:
            if CONDITION_FAILED_REASON not in cancellation_codes(exc):
                raise
            return False
        return True

    def transact(self, action: str, build: Callable[[TransactWrite], Any]) -> None:
        """One TransactWriteItems. Its attempts share a ClientRequestToken, so a retry of a
        transaction DynamoDB did apply (its answer lost on the way) is answered as a success
        instead of being applied again or refused by its own conditions."""
        token = uuid.uuid4().hex

        def commit() -> None:
            with TransactWrite(connection=self.tables.connection,
                               client_request_token=token) as transaction:
                build(transaction)
        self.backoff.call(action, commit)
