"""Run history: which index answers a filter, and pages of runs newest first.

Each filter has an index whose partition holds exactly the runs it may show, sorted by
`created_order` (created_at, then run id): a namespace and workflow name query
runs-by-workflow, a namespace alone runs-by-namespace, and no namespace the RUN_SHARDS
partitions of runs-by-time, merged newest first (a workflow name without a namespace is
then a filter). The time window and the cursor are a range of the sort key, so a page is
a range read however deep it is; statuses are a FilterExpression. The cursor is the
`created_order` of a page's last run: the next page reads up to it (BETWEEN is inclusive)
and drops that run. A page holds at most MAX_RUNS_PAGE runs. The indexes are GSIs, so a
run appears in history a moment after it is written (eventual consistency).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

from pynamodb.expressions.condition import Condition

from chalicelib.domain.states import RunState
from chalicelib.store.base import RunFilter, RunPage
from chalicelib.store.dynamodb import items, keys
from chalicelib.store.dynamodb.calls import Calls
from chalicelib.store.dynamodb.models import RunItem, TableNames
from chalicelib.store.messages import MAX_RUNS_PAGE


@dataclass(frozen=True)
class HistoryPlan:
    """One filter as queries: the index, its partitions, and what narrows them."""

    index: str
    partitions: list[str]
    lower: str | None  # inclusive bound of created_order
    upper: str | None  # inclusive bound of created_order
    cursor: str | None  # the created_order the previous page ended with (itself excluded)
    filter: Condition | None


def plan(model: type[RunItem], names: TableNames, run_filter: RunFilter) -> HistoryPlan:
    f = run_filter
    conditions: list[Condition] = []
    if f.namespace is not None and f.workflow is not None:
        index, partitions = names.runs_by_workflow_index, [keys.workflow_ref(f.namespace, f.workflow)]
    elif f.namespace is not None:
        index, partitions = names.runs_by_namespace_index, [f.namespace]
    else:
        index, partitions = names.runs_by_time_index, keys.all_run_shards()
        if f.workflow is not None:
            conditions.append(model.workflow == f.workflow)
    statuses = list(dict.fromkeys(RunState(status).value for status in f.statuses))
    if statuses:
        conditions.append(model.status.is_in(*statuses))
    cursor = None if f.cursor is None else keys.decode_cursor(f.cursor)
    # A bare sortable time sorts between every run of the instant before and every run of
    # that instant, so it is an exact bound used inclusively: no run equals it.
    lower = None if f.created_after is None else keys.sortable_time(f.created_after)
    uppers = [u for u in (cursor, None if f.created_before is None
                          else keys.sortable_time(f.created_before)) if u is not None]
    combined: Condition | None = None
    for condition in conditions:
        combined = condition if combined is None else combined & condition
    return HistoryPlan(index, partitions, lower, min(uppers) if uppers else None, cursor, combined)


def list_runs(calls: Calls, run_filter: RunFilter) -> RunPage:
    model = calls.tables.run
    p = plan(model, calls.tables.names, run_filter)
    limit = max(1, min(run_filter.limit, MAX_RUNS_PAGE))
    if p.lower is not None and p.upper is not None and p.lower > p.upper:
        return RunPage(runs=[], next_cursor=None)  # an empty window (DynamoDB refuses it)
    newest_first = heapq.merge(*(_partition(calls, p, partition, limit) for partition in p.partitions),
                               key=lambda item: item.created_order, reverse=True)
    found = list(islice(newest_first, limit + 1))
    runs = [items.run_record(item) for item in found[:limit]]
    next_cursor = keys.encode_cursor(found[limit - 1].created_order) if len(found) > limit else None
    return RunPage(runs=runs, next_cursor=next_cursor)


def _partition(calls: Calls, p: HistoryPlan, partition: str, limit: int) -> Iterator[RunItem]:
    """One partition's runs in the window, newest first, read lazily page by page."""
    model = calls.tables.run
    order = model.created_order
    window: Condition | None = None
    if p.lower is not None and p.upper is not None:
        window = order.between(p.lower, p.upper)
    elif p.lower is not None:
        window = order >= p.lower
    elif p.upper is not None:
        window = order <= p.upper
    # One more than a page, plus the cursor's own run, which the window still holds.
    results = model.query(partition, window, p.filter, index_name=p.index,
                          scan_index_forward=False, page_size=limit + 2)
    for item in calls.backoff.items(f"reading run history ({p.index})", results):
        if p.cursor is None or item.created_order < p.cursor:
            yield item
