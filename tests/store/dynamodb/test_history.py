"""Run history on DynamoDB beyond the contract: the shards of history across namespaces,
windows and cursors."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.domain.states import RunState
from chalicelib.store.base import RunFilter
from chalicelib.store.dynamodb import DynamoDbStore
from chalicelib.store.dynamodb.keys import RUN_SHARDS
from tests.store.contract import EPOCH, run
from tests.store.dynamodb.harness import NAMES, raw_items


def every_page(store: DynamoDbStore, run_filter: RunFilter) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = store.list_runs(replace(run_filter, cursor=cursor))
        pages.append([r.id for r in page.runs])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def test_runs_of_every_namespace_spread_over_the_shards_read_as_one_history(
    store: DynamoDbStore,
) -> None:
    namespaces = ["acme", "demo", "tools", "web", "ops"]
    for i in range(40):
        store.create_run(run(f"r{i:02d}", created_at=EPOCH + i, namespace=namespaces[i % 5]), [])
    shards = {item["run_shard"]["S"] for item in raw_items(NAMES.runs)}
    assert len(shards) == RUN_SHARDS
    pages = every_page(store, RunFilter(limit=7))
    assert [len(p) for p in pages] == [7] * 5 + [5]
    assert [i for p in pages for i in p] == [f"r{i:02d}" for i in reversed(range(40))]


def test_one_workflow_across_namespaces_pages_newest_first_with_its_statuses(
    store: DynamoDbStore,
) -> None:
    for i in range(30):
        store.create_run(run(f"r{i:02d}", created_at=EPOCH + i, namespace=["a", "b", "c"][i % 3],
                             workflow_name="ci" if i % 2 else "deploy",
                             status=RunState.FAILED if i % 4 == 1 else RunState.SUCCEEDED), [])
    ci = every_page(store, RunFilter(workflow="ci", limit=4))
    assert [i for p in ci for i in p] == [f"r{i:02d}" for i in reversed(range(1, 30, 2))]
    failed_ci = every_page(store, RunFilter(workflow="ci", statuses=(RunState.FAILED,), limit=3))
    assert [i for p in failed_ci for i in p] == [f"r{i:02d}" for i in reversed(range(1, 30, 4))]


def test_a_window_with_no_room_is_an_empty_page(store: DynamoDbStore) -> None:
    store.create_run(run("r1", created_at=EPOCH), [])
    for after, before in [(EPOCH + 5, EPOCH), (EPOCH, EPOCH)]:
        page = store.list_runs(RunFilter(created_after=after, created_before=before))
        assert (page.runs, page.next_cursor) == ([], None)


def test_a_window_bound_is_exact_to_the_fraction_of_a_second(store: DynamoDbStore) -> None:
    for i, at in enumerate([EPOCH + 0.1, EPOCH + 0.1000001, EPOCH + 0.2]):
        store.create_run(run(f"r{i}", created_at=at), [])
    window = RunFilter(created_after=EPOCH + 0.1000001, created_before=EPOCH + 0.2)
    assert [r.id for r in store.list_runs(window).runs] == ["r1"]


def test_a_cursor_that_this_store_did_not_give_is_refused(store: DynamoDbStore) -> None:
    for cursor in ["not a cursor", "bm9wZQ", "%%%"]:
        with pytest.raises(ValueError, match="not a run history cursor"):
            store.list_runs(RunFilter(cursor=cursor))


def test_a_cursor_from_one_filter_only_bounds_another(store: DynamoDbStore) -> None:
    for i in range(6):
        store.create_run(run(f"r{i}", created_at=EPOCH + i, namespace="ab"[i % 2]), [])
    cursor = store.list_runs(RunFilter(namespace="a", limit=1)).next_cursor
    assert [r.id for r in store.list_runs(RunFilter(cursor=cursor)).runs] == ["r3", "r2", "r1", "r0"]
