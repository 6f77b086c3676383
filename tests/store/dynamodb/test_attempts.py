"""The task index on DynamoDB beyond the contract: index items written with the attempt only
when its container is set or changes, cleaned up when it changes, and never trusted alone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from chalicelib.domain.states import AttemptState
from chalicelib.engine.records import AttemptRecord
from chalicelib.store.dynamodb import DynamoDbStore
from tests.store.contract import (
    CLUSTER_TASKS,
    OTHER_TASK_ID,
    TASK_ARN,
    TASK_ID,
    at_once,
    job,
    run,
)
from tests.store.dynamodb.harness import (
    NAMES,
    CallLog,
    botocore_handler,
    new_store,
    raw_items,
)

OTHER_ARN = f"{CLUSTER_TASKS}/{OTHER_TASK_ID}"


def task_items() -> dict[str, dict[str, Any]]:
    return {item["pk"]["S"]: item for item in raw_items(NAMES.runs) if item["sk"]["S"] == "TASK"}


def points_at(item: dict[str, Any]) -> tuple[str, str, int]:
    return item["run_id"]["S"], item["job"]["S"], int(item["number"]["N"])


def attempt(number: int = 1, container_id: str | None = None, **changes: Any) -> AttemptRecord:
    return replace(AttemptRecord(run_id="r1", job="build", number=number,
                                 container_id=container_id), **changes)


@pytest.fixture
def launched(store: DynamoDbStore) -> DynamoDbStore:
    """Run r1, job build, attempt 1 created and then given task TASK_ARN."""
    store.create_run(run("r1"), [job("build")])
    store.create_attempt(attempt())
    store.save_attempt(attempt(container_id=TASK_ARN), expected=AttemptState.RUNNING)
    return store


@pytest.fixture
def logged(launched: DynamoDbStore) -> Iterator[tuple[DynamoDbStore, CallLog]]:
    """The launched store, on fresh clients that log each call made from now on."""
    log = CallLog()
    with botocore_handler("before-parameter-build.dynamodb", log):
        store = new_store(fresh_clients=True)
    log.calls.clear()  # the tables' creation (they exist already: moto keeps them)
    yield store, log


def test_the_index_item_names_the_attempt_under_the_bare_task_id(launched: DynamoDbStore) -> None:
    assert {pk: points_at(item) for pk, item in task_items().items()} == {
        f"TASK#{TASK_ID}": ("r1", "build", 1)}


def test_a_save_that_keeps_the_container_writes_no_index_item(
    logged: tuple[DynamoDbStore, CallLog],
) -> None:
    store, log = logged
    store.save_attempt(attempt(container_id=TASK_ARN, outputs={"K": "v"}),
                       expected=AttemptState.RUNNING)
    store.save_attempt(attempt(container_id=TASK_ARN, status=AttemptState.SUCCEEDED))
    (put,) = log.named("PutItem")
    assert "container_id" in put["ExpressionAttributeNames"].values()
    (transaction,) = log.named("TransactWriteItems")
    assert [next(iter(entry)) for entry in transaction["TransactItems"]] == ["ConditionCheck", "Put"]
    assert log.named("GetItem") == []


def test_setting_the_container_writes_the_index_item_in_the_attempts_transaction(
    logged: tuple[DynamoDbStore, CallLog],
) -> None:
    store, log = logged
    store.create_attempt(attempt(2, container_id=OTHER_ARN))
    (transaction,) = log.named("TransactWriteItems")
    written = [entry["Put"]["Item"]["sk"]["S"] for entry in transaction["TransactItems"]
               if "Put" in entry]
    assert written == ["ATTEMPT#build#000002", "TASK"]


def test_changing_the_container_moves_the_index_item(launched: DynamoDbStore) -> None:
    launched.save_attempt(attempt(container_id=OTHER_ARN), expected=AttemptState.RUNNING)
    assert {pk: points_at(item) for pk, item in task_items().items()} == {
        f"TASK#{OTHER_TASK_ID}": ("r1", "build", 1)}
    launched.save_attempt(attempt(container_id=None))
    assert task_items() == {}


def test_a_bare_id_turned_full_arn_of_the_same_task_keeps_its_index_item(
    launched: DynamoDbStore,
) -> None:
    launched.save_attempt(attempt(container_id=TASK_ID))
    launched.save_attempt(attempt(container_id=TASK_ARN))
    assert list(task_items()) == [f"TASK#{TASK_ID}"]
    assert launched.find_attempt_by_container(TASK_ID) == attempt(container_id=TASK_ARN)


def test_a_stale_index_item_finds_nothing(launched: DynamoDbStore) -> None:
    """An index item left behind (its clean-up failed) names an attempt that moved on."""
    launched.tables.task(f"TASK#{OTHER_TASK_ID}", "TASK", run_id="r1", job="build",
                         number=1).save()
    assert launched.find_attempt_by_container(OTHER_TASK_ID) is None
    assert launched.find_attempt_by_container(TASK_ID) == attempt(container_id=TASK_ARN)


def test_an_index_item_naming_a_missing_attempt_finds_nothing(launched: DynamoDbStore) -> None:
    launched.tables.task(f"TASK#{OTHER_TASK_ID}", "TASK", run_id="r1", job="build",
                         number=7).save()
    assert launched.find_attempt_by_container(OTHER_TASK_ID) is None


def test_leaving_a_task_another_attempt_took_keeps_that_attempts_index_item(
    launched: DynamoDbStore,
) -> None:
    launched.create_attempt(attempt(2, container_id=TASK_ARN))  # a task belongs to one attempt
    launched.save_attempt(attempt(container_id=OTHER_ARN))
    assert launched.find_attempt_by_container(TASK_ID) == attempt(2, container_id=TASK_ARN)
    assert launched.find_attempt_by_container(OTHER_TASK_ID) == attempt(container_id=OTHER_ARN)


def test_a_changed_container_moves_the_index_in_the_attempts_transaction(
    logged: tuple[DynamoDbStore, CallLog],
) -> None:
    store, log = logged
    store.save_attempt(attempt(container_id=OTHER_ARN), expected=AttemptState.RUNNING)
    refused, read = log.named("PutItem"), log.named("GetItem")
    assert len(refused) == 1 and len(read) == 1  # the container it kept was not the stored one
    (transaction,) = log.named("TransactWriteItems")
    delete, put_attempt, put_task = transaction["TransactItems"]
    assert delete["Delete"]["Key"]["pk"] == {"S": f"TASK#{TASK_ID}"}
    assert put_attempt["Put"]["Item"]["container_id"] == {"S": OTHER_ARN}
    assert {"S": TASK_ARN} in put_attempt["Put"]["ExpressionAttributeValues"].values()
    assert put_task["Put"]["Item"]["pk"] == {"S": f"TASK#{OTHER_TASK_ID}"}


def test_writers_moving_one_attempts_container_at_once_leave_one_index_item(
    launched: DynamoDbStore,
) -> None:
    containers = [f"{CLUSTER_TASKS}/{i:032x}" for i in range(6)]
    results = at_once(6, lambda i: launched.save_attempt(attempt(container_id=containers[i])))
    assert results == [None] * 6
    stored = launched.get_attempt("r1", "build", 1).container_id
    assert stored is not None
    assert {pk: points_at(item) for pk, item in task_items().items()} == {
        f"TASK#{stored.rsplit('/', 1)[-1]}": ("r1", "build", 1)}


def test_index_items_stay_out_of_the_run_history(launched: DynamoDbStore) -> None:
    assert [r.id for r in launched.list_runs().runs] == ["r1"]
    assert all("run_shard" not in item and "created_order" not in item
               for item in task_items().values())
