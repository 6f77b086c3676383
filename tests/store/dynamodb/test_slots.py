"""Run slots on DynamoDB beyond the contract: one item per workflow holding a string set,
each take or free one conditional UpdateItem, safe to retry."""

from __future__ import annotations

from typing import Any

from chalicelib.store.dynamodb import DynamoDbStore
from tests.store.dynamodb.harness import (
    NAMES,
    CallLog,
    Sleeps,
    Throttle,
    botocore_handler,
    new_store,
    raw_items,
)


def slot_items() -> dict[str, dict[str, Any]]:
    return {item["pk"]["S"]: item for item in raw_items(NAMES.definitions)
            if item["sk"]["S"] == "SLOTS"}


def test_a_workflows_slot_holders_are_one_string_set_in_its_own_partition(
    store: DynamoDbStore,
) -> None:
    for run_id in ["r1", "r2"]:
        store.take_run_slot("demo", "ci", run_id, 3)
    store.take_run_slot("demo", "deploy", "r3", 3)
    items = slot_items()
    assert sorted(items) == ["WORKFLOW#demo/ci", "WORKFLOW#demo/deploy"]
    assert sorted(items["WORKFLOW#demo/ci"]["holders"]["SS"]) == ["r1", "r2"]
    assert items["WORKFLOW#demo/deploy"]["holders"]["SS"] == ["r3"]


def test_freeing_the_last_holder_leaves_no_empty_set(store: DynamoDbStore) -> None:
    store.take_run_slot("demo", "ci", "r1", 1)
    store.free_run_slot("demo", "ci", "r1")
    assert "holders" not in slot_items()["WORKFLOW#demo/ci"]
    assert store.take_run_slot("demo", "ci", "r2", 1)


def test_freeing_a_run_of_a_workflow_without_slots_makes_no_item(store: DynamoDbStore) -> None:
    store.free_run_slot("demo", "ci", "r1")
    assert slot_items() == {}


def test_taking_and_freeing_are_each_one_conditional_update(aws: None) -> None:
    log = CallLog()
    with botocore_handler("before-parameter-build.dynamodb", log):
        store = new_store(fresh_clients=True)
        log.calls.clear()  # the tables' creation
        assert store.take_run_slot("demo", "ci", "r1", 1)
        assert not store.take_run_slot("demo", "ci", "r2", 1)
        store.free_run_slot("demo", "ci", "r1")
    updates = log.named("UpdateItem")
    assert [call for call, _ in log.calls] == ["UpdateItem"] * 3
    take, _, free = updates
    assert take["UpdateExpression"].startswith("ADD ") and "size (" in take["ConditionExpression"]
    assert {"N": "1"} in take["ExpressionAttributeValues"].values()
    assert free["UpdateExpression"].startswith("DELETE ")
    assert free["ConditionExpression"].startswith("contains (")


def test_a_take_throttled_then_retried_holds_one_slot(aws: None) -> None:
    sleeps = Sleeps()
    throttle = Throttle("ThrottlingException", times=2)
    with botocore_handler("before-call.dynamodb.UpdateItem", throttle):
        store = new_store(fresh_clients=True, sleep=sleeps)
        assert store.take_run_slot("demo", "ci", "r1", 1)
    assert throttle.refused == 2 and len(sleeps.pauses) == 2
    assert slot_items()["WORKFLOW#demo/ci"]["holders"]["SS"] == ["r1"]
