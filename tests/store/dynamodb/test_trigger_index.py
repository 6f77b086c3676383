"""The trigger index on DynamoDB beyond the contract: its items as stored, written in the
save's own transaction, and a lookup that reads one partition, never the workflow list."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.triggers import TriggerKind
from chalicelib.store.dynamodb import DynamoDbStore
from tests.store.contract import NIGHTLY, REPO, S3, triggered, workflow
from tests.store.dynamodb.harness import NAMES, CallLog, botocore_handler, new_store, raw_items


def index_items() -> dict[str, dict[str, Any]]:
    return {f"{i['pk']['S']} {i['sk']['S']}": i for i in raw_items(NAMES.definitions)
            if i["pk"]["S"].startswith("TRIGGER#")}


def head() -> dict[str, Any]:
    (item,) = [i for i in raw_items(NAMES.definitions) if i["pk"]["S"] == "WORKFLOWS"]
    return item


def test_a_version_is_filed_under_each_of_its_keys_and_the_head_names_them(
    store: DynamoDbStore,
) -> None:
    store.save_workflow(triggered("build", S3, REPO, NIGHTLY, {**S3, "prefix": "x/"}))
    items = index_items()
    assert sorted(items) == ["TRIGGER#codecommit#app demo/build", "TRIGGER#s3#uploads demo/build",
                             "TRIGGER#schedule# demo/build"]
    assert {i["version"]["N"] for i in items.values()} == {"1"}
    assert sorted(head()["trigger_keys"]["SS"]) == [
        "TRIGGER#codecommit#app", "TRIGGER#s3#uploads", "TRIGGER#schedule#"]


def test_a_version_that_drops_a_trigger_takes_its_item_away_in_the_same_save(
    store: DynamoDbStore,
) -> None:
    store.save_workflow(triggered("build", S3, REPO))
    store.save_workflow(triggered("build", REPO))
    assert sorted(index_items()) == ["TRIGGER#codecommit#app demo/build"]
    assert index_items()["TRIGGER#codecommit#app demo/build"]["version"] == {"N": "2"}
    store.save_workflow(triggered("build", {"type": "api"}))
    assert index_items() == {}
    assert "trigger_keys" not in head()  # DynamoDB has no empty set


def test_a_deleted_workflow_leaves_no_item_in_the_index(store: DynamoDbStore) -> None:
    store.save_workflow(triggered("build", S3, NIGHTLY))
    store.delete_workflow("demo", "build")
    assert index_items() == {}
    assert head()["deleted"] == {"BOOL": True}


def test_a_lookup_queries_one_index_partition_and_reads_only_what_it_names(aws: None) -> None:
    log = CallLog()
    with botocore_handler("before-parameter-build.dynamodb", log):
        store = new_store(fresh_clients=True)
    for name in ("a", "b", "c"):
        store.save_workflow(workflow(name))  # no triggers: never read by a lookup
    store.save_workflow(triggered("build", S3))
    log.calls.clear()

    [found] = store.workflows_triggered_by(TriggerKind.S3, "uploads")

    assert found.stored.workflow.ref == "demo/build"
    assert [name for name, _ in log.calls] == ["Query", "BatchGetItem", "BatchGetItem"]
    [query] = log.named("Query")
    assert list(query["ExpressionAttributeValues"].values()) == [{"S": "TRIGGER#s3#uploads"}]
    assert query["ConsistentRead"] is True
    read = [key["pk"]["S"] for batch in log.named("BatchGetItem")
            for table in batch["RequestItems"].values() for key in table["Keys"]]
    assert read == ["WORKFLOWS", "WORKFLOW#demo/build"]
