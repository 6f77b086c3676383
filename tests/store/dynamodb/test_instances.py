"""What only the DynamoDB store does for fan-out instances: where their items sit, and the
shape of the calls that keep the counters (see chalicelib/store/dynamodb/instances.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from chalicelib.domain.states import JobState
from chalicelib.engine.records import AttemptRecord
from chalicelib.store.dynamodb import DynamoDbStore, keys
from tests.store.contract import job, run
from tests.store.dynamodb.harness import NAMES, CallLog, botocore_handler, moto_dynamodb, new_store, raw_items
from tests.store.instance_contract import instance


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoDbStore]:
    with moto_dynamodb(monkeypatch):
        store = new_store(fresh_clients=True)
        store.create_run(run("r1"), [job("test")])
        yield store
        store.close()


def test_instances_sort_by_index_apart_from_jobs_and_so_do_their_attempts() -> None:
    assert keys.job_sk("test.3") == "INSTANCE#test#000003"
    assert keys.job_sk("test") == "JOB#test"
    assert keys.job_sk("test.3") < keys.job_sk("test.10") <= keys.last_instance_sk("test")
    assert keys.attempt_sk("test.3", 1) == "IATTEMPT#test.3#000001"
    assert not keys.attempt_sk("test.3", 1).startswith(keys.attempts_prefix(None))
    assert not keys.instance_sk("test-a", 0).startswith(keys.instances_prefix("test"))


def test_counts_are_one_consistent_get_of_the_groups_counts_item(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with moto_dynamodb(monkeypatch):
        calls = CallLog()
        with botocore_handler("before-parameter-build.dynamodb", calls):
            store = new_store(fresh_clients=True)
            store.create_run(run("r1"), [job("test")])
            store.create_instance(instance(0))
            calls.calls.clear()
            assert store.instance_counts("r1", "test") == {JobState.RUNNING: 1}
        assert [name for name, _ in calls.calls] == ["GetItem"]
        assert calls.named("GetItem")[0]["Key"]["sk"] == {"S": "COUNTS#test"}
        assert calls.named("GetItem")[0]["ConsistentRead"] is True
        store.close()


def test_a_state_change_is_one_transaction_and_a_save_keeping_it_one_put(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with moto_dynamodb(monkeypatch):
        calls = CallLog()
        with botocore_handler("before-parameter-build.dynamodb", calls):
            store = new_store(fresh_clients=True)
            store.create_run(run("r1"), [job("test")])
            store.create_instance(instance(0))
            calls.calls.clear()
            store.save_job(replace(instance(0), reason="still going"), expected=JobState.RUNNING)
            assert [name for name, _ in calls.calls] == ["PutItem"]
            calls.calls.clear()
            store.save_job(instance(0, JobState.SUCCEEDED), expected=JobState.RUNNING)
            assert [name for name, _ in calls.calls] == ["TransactWriteItems"]
            update = calls.named("TransactWriteItems")[0]["TransactItems"][1]["Update"]
            assert update["Key"]["sk"] == {"S": "COUNTS#test"}
            assert update["UpdateExpression"].startswith("ADD")
        store.close()


def test_a_run_created_with_instances_writes_their_counts_item(store: DynamoDbStore) -> None:
    store.create_run(run("r2"), [job("test", run_id="r2"),
                                 *(instance(i, JobState.REUSED, run_id="r2") for i in range(120))])
    assert store.instance_counts("r2", "test") == {JobState.REUSED: 120}
    assert [j.name for j in store.list_jobs("r2")] == ["test"]


def test_a_whole_runs_attempts_are_two_key_ranges(store: DynamoDbStore) -> None:
    store.create_instance(instance(1))
    store.create_attempt(AttemptRecord(run_id="r1", job="test.1", number=1))
    sort_keys = {item["sk"]["S"] for item in raw_items(NAMES.runs)}
    assert {"INSTANCE#test#000001", "IATTEMPT#test.1#000001", "COUNTS#test"} <= sort_keys
    assert [a.job for a in store.list_attempts("r1")] == ["test.1"]
    assert store.list_job_attempts("r1") == []
