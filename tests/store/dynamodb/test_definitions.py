"""Definitions and event claims on DynamoDB beyond the contract: big workflow documents (and
a list of versions that does not read them), the TTL of event claims, and stores kept apart
by their table names."""

from __future__ import annotations

import secrets
from typing import Any

import boto3
import pytest
from pynamodb.connection.base import Connection

from chalicelib.domain.models import Component, Workflow
from chalicelib.errors import NotFound, PayloadTooLarge
from chalicelib.store.dynamodb import DynamoDbStore, TableNames
from chalicelib.store.dynamodb.definitions import EVENT_CLAIM_TTL_SECONDS
from chalicelib.store.dynamodb.sizes import MAX_ITEM_BYTES
from tests.store.contract import EPOCH, component, workflow
from tests.store.dynamodb.harness import NAMES, REGION, new_store, raw_items


def huge_workflow(jobs: int, *, noise: int = 0) -> Workflow:
    """`jobs` jobs in stages of 100; `noise` random hex characters in each job's data, which
    no compression can shrink."""
    stages = [{"name": f"stage-{s}", "actions": [{"name": f"a{a}", "jobs": [
        {"name": f"job-{s}-{a}-{j}", "image": "busybox:1", "outputs": ["OUT"],
         "data": {"repo": "${{ params.branch }}", "salt": secrets.token_hex(noise // 2)},
         "retries": {"limit": 1, "backoff": "5s"}, "timeout": "30m"}
        for j in range(10)]} for a in range(10)]} for s in range(jobs // 100)]
    return Workflow.model_validate({
        "metadata": {"namespace": "demo", "name": "huge"},
        "spec": {"params": [{"name": "branch", "default": "main"}], "stages": stages},
    })


# --- workflow documents -----------------------------------------------------------------

def test_a_workflow_of_5000_jobs_is_stored_compressed_and_reads_back_unchanged(
    store: DynamoDbStore,
) -> None:
    big = huge_workflow(5000)
    assert len(big.model_dump_json()) > 2 * MAX_ITEM_BYTES
    assert store.save_workflow(big, expected_version=0) == 1
    assert store.get_workflow("demo", "huge").workflow == big
    assert [s.workflow for s in store.list_workflows("demo")] == [big]
    (stored,) = [i for i in raw_items(NAMES.definitions) if i["sk"]["S"].startswith("VERSION#")]
    assert len(stored["document"]["B"]) < MAX_ITEM_BYTES // 4


def test_a_workflow_that_cannot_fit_even_compressed_is_refused_and_nothing_is_stored(
    store: DynamoDbStore,
) -> None:
    with pytest.raises(PayloadTooLarge, match=r"workflow demo/huge takes \d+ bytes even compressed,"
                       r" more than the 409600 one stored version may hold"):
        store.save_workflow(huge_workflow(5000, noise=200), expected_version=0)
    with pytest.raises(NotFound):
        store.get_workflow("demo", "huge")
    assert store.list_workflows() == []
    assert store.save_workflow(workflow(), expected_version=0) == 1


def test_the_list_of_versions_reads_each_versions_number_and_time_and_no_document(
    store: DynamoDbStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        store.save_workflow(huge_workflow(1000))
    queries: list[dict[str, Any]] = []
    dispatch = Connection.dispatch

    def recording(self: Connection, operation: str, arguments: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = dispatch(self, operation, arguments)
        if operation == "Query":
            queries.append(answer)
        return answer

    monkeypatch.setattr(Connection, "dispatch", recording)
    assert [v.version for v in store.list_workflow_versions("demo", "huge")] == [3, 2, 1]
    (answer,) = queries
    assert [sorted(item) for item in answer["Items"]] == [["created_at", "version"]] * 3


def test_a_component_document_too_big_for_one_item_is_refused(store: DynamoDbStore) -> None:
    wordy = Component.model_validate({
        "metadata": {"namespace": "demo", "name": "lint", "version": "1.0.0",
                     "description": "x" * MAX_ITEM_BYTES},
        "spec": {"image": "demo/lint:1"},
    })
    with pytest.raises(PayloadTooLarge, match=r"component demo/lint@1\.0\.0 takes"):
        store.put_component(wordy)
    assert store.list_components() == []
    assert store.list_namespaces() == []


# --- event claims -----------------------------------------------------------------------

def test_a_claim_carries_its_expiry_as_the_ttl_attribute(store: DynamoDbStore) -> None:
    assert store.claim_event("github:delivery-1", EPOCH)
    (item,) = raw_items(NAMES.events)
    assert item["pk"] == {"S": "github:delivery-1"}
    assert int(item["expires_at"]["N"]) == int(EPOCH + EVENT_CLAIM_TTL_SECONDS)


def test_a_claim_holds_until_its_ttl_passes(store: DynamoDbStore) -> None:
    assert store.claim_event("s3:event-7", EPOCH)
    assert not store.claim_event("s3:event-7", EPOCH + EVENT_CLAIM_TTL_SECONDS - 1)


def test_an_expired_claim_that_dynamodb_has_not_deleted_yet_counts_as_free(
    store: DynamoDbStore,
) -> None:
    assert store.claim_event("s3:event-7", EPOCH)
    later = EPOCH + EVENT_CLAIM_TTL_SECONDS + 1
    assert len(raw_items(NAMES.events)) == 1  # TTL deletion is lazy: the item is still there
    assert store.claim_event("s3:event-7", later)
    assert not store.claim_event("s3:event-7", later + 1)  # and the new claim holds


# --- stores and their tables ------------------------------------------------------------

def test_stores_on_differently_named_tables_share_nothing(store: DynamoDbStore) -> None:
    other = new_store(TableNames(
        definitions="other-definitions", runs="other-runs", events="other-events",
        runs_by_workflow_index="w", runs_by_namespace_index="n", runs_by_time_index="t"))
    store.put_component(component())
    store.save_workflow(workflow())
    assert other.list_components() == [] and other.list_workflows() == []
    assert other.claim_event("k", EPOCH) and store.claim_event("k", EPOCH)
    tables = boto3.client("dynamodb", region_name=REGION).list_tables()["TableNames"]
    assert set(tables) >= {"other-definitions", "other-runs", "other-events", NAMES.runs}
