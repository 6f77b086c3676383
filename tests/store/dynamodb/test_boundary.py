"""Throttling and errors at the DynamoDB boundary: retried with backoff (never waiting in a
test), then StoreUnavailable; the API answers it 503."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from pynamodb.exceptions import CancellationReason as Reason
from pynamodb.exceptions import GetError, PutError, QueryError, TransactWriteError, VerboseClientError

from chalicelib.api.errors import response_for
from chalicelib.errors import Conflict, StoreUnavailable
from chalicelib.store.dynamodb import DynamoDbStore, TableNames, bind_tables
from chalicelib.store.dynamodb.boundary import Backoff, RetryPolicy
from tests.store.contract import EPOCH, component, job, run
from tests.store.dynamodb.harness import Sleeps, Throttle, botocore_handler, new_store

THROTTLING = ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"]


def refused(code: str, error: type[PutError] = PutError) -> PutError:
    return error(cause=ClientError({"Error": {"Code": code, "Message": "no"}}, "PutItem"))


def cancelled(*reasons: str | None) -> TransactWriteError:
    cause = VerboseClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}},
        "TransactWriteItems",
        cancellation_reasons=[None if r is None else Reason(code=r) for r in reasons])
    return TransactWriteError("cancelled", cause)


class Flaky:
    """A call that raises the given errors, one per call, then answers 'done'."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


@pytest.fixture
def backoff(sleeps: Sleeps) -> Backoff:
    return Backoff(sleeps, RetryPolicy(attempts=5, base_delay=0.1, max_delay=0.5),
                   jitter=lambda ceiling: ceiling)


# --- the backoff ----------------------------------------------------------------------

@pytest.mark.parametrize("code", THROTTLING)
def test_a_throttled_call_is_tried_again_after_growing_pauses(
    backoff: Backoff, sleeps: Sleeps, code: str,
) -> None:
    call = Flaky(refused(code), refused(code), refused(code))
    assert backoff.call("saving", call) == "done"
    assert call.calls == 4
    assert sleeps.pauses == [0.1, 0.2, 0.4]


def test_pauses_stop_growing_at_the_longest_pause(backoff: Backoff, sleeps: Sleeps) -> None:
    backoff.call("saving", Flaky(*[refused("ThrottlingException")] * 4))
    assert sleeps.pauses == [0.1, 0.2, 0.4, 0.5]


def test_a_call_throttled_every_time_fails_with_store_unavailable(
    backoff: Backoff, sleeps: Sleeps,
) -> None:
    call = Flaky(*[refused("ThrottlingException")] * 10)
    with pytest.raises(StoreUnavailable, match=r"the store cannot answer now \(DynamoDB throttled"
                       r" the request \(ThrottlingException\), 5 attempts while saving run r1\)"):
        backoff.call("saving run r1", call)
    assert call.calls == 5 and len(sleeps.pauses) == 4


def test_the_default_jitter_pauses_anywhere_up_to_the_ceiling(sleeps: Sleeps) -> None:
    Backoff(sleeps, RetryPolicy(attempts=40)).call(
        "saving", Flaky(*[refused("ThrottlingException")] * 30))
    ceilings = [min(1.0, 0.025 * 2 ** i) for i in range(30)]
    assert all(0 <= pause <= ceiling for pause, ceiling in zip(sleeps.pauses, ceilings, strict=True))
    assert len(set(sleeps.pauses)) > 1


@pytest.mark.parametrize("error", [
    refused("TransactionConflictException"), refused("InternalServerError"),
    cancelled(None, "TransactionConflict"), cancelled("ThrottlingError"),
    GetError(cause=EndpointConnectionError(endpoint_url="https://dynamodb")),
], ids=["conflict", "server-error", "cancelled-by-conflict", "cancelled-by-throttling", "network"])
def test_other_refusals_made_before_anything_was_applied_are_retried(
    backoff: Backoff, error: Exception,
) -> None:
    assert backoff.call("saving", Flaky(error)) == "done"


@pytest.mark.parametrize("error", [
    refused("ConditionalCheckFailedException"), cancelled("ConditionalCheckFailed", None),
    cancelled("ConditionalCheckFailed", "TransactionConflict"), refused("ValidationException"),
], ids=["condition", "cancelled-by-condition", "condition-and-conflict", "validation"])
def test_a_refusal_that_retrying_cannot_change_is_raised_at_once(
    backoff: Backoff, sleeps: Sleeps, error: Exception,
) -> None:
    call = Flaky(error)
    with pytest.raises(type(error)):
        backoff.call("saving", call)
    assert call.calls == 1 and sleeps.pauses == []


def test_a_query_page_that_was_throttled_is_read_again_from_the_same_key(backoff: Backoff) -> None:
    class Resumable(Iterator[int]):
        """Like PynamoDB's result iterator: a failed page fetch can be asked for again."""

        def __init__(self) -> None:
            self.items, self.failures = [1, 2, 3, 4], 2

        def __next__(self) -> int:
            if len(self.items) == 2 and self.failures:
                self.failures -= 1
                raise QueryError(cause=ClientError({"Error": {"Code": "ThrottlingException"}}, "Query"))
            if not self.items:
                raise StopIteration
            return self.items.pop(0)

    assert list(backoff.items("listing", Resumable())) == [1, 2, 3, 4]


# --- through the store ----------------------------------------------------------------

@pytest.mark.parametrize("code", THROTTLING)
def test_a_store_write_throttled_a_few_times_succeeds(aws: None, sleeps: Sleeps, code: str) -> None:
    throttle = Throttle(code, times=3)
    with botocore_handler("before-call.dynamodb.PutItem", throttle):
        store = new_store(fresh_clients=True, sleep=sleeps, exact_pauses=True)
        store.create_run(run("r1"), [])
    assert throttle.refused == 3
    assert sleeps.pauses == [0.025, 0.05, 0.1]
    assert store.get_run("r1") == run("r1")


def test_a_store_throttled_past_its_attempts_is_unavailable_and_wrote_nothing(
    aws: None, sleeps: Sleeps,
) -> None:
    throttle = Throttle("ProvisionedThroughputExceededException")
    with botocore_handler("before-call.dynamodb.TransactWriteItems", throttle):
        store = new_store(fresh_clients=True, sleep=sleeps, retry=RetryPolicy(attempts=4))
        with pytest.raises(StoreUnavailable, match=r"\(ProvisionedThroughputExceededException\),"
                           r" 4 attempts while creating run r1"):
            store.create_run(run("r1"), [job("build")])
    assert throttle.refused == 4 and len(sleeps.pauses) == 3
    assert store.list_jobs("r1") == []


def test_a_transaction_cancelled_by_throttling_is_tried_again(aws: None, sleeps: Sleeps) -> None:
    throttle = Throttle("TransactionCanceledException", times=2,
                        cancellation_reasons=["None", "ThrottlingError"])
    with botocore_handler("before-call.dynamodb.TransactWriteItems", throttle):
        store = new_store(fresh_clients=True, sleep=sleeps)
        store.put_component(component())
    assert throttle.refused == 2
    assert store.get_component("demo", "lint", "1.0.0") == component()


def test_a_lost_race_is_not_mistaken_for_throttling(aws: None, sleeps: Sleeps) -> None:
    store = new_store(sleep=sleeps)
    store.create_run(run("r1"), [job("build")])
    with pytest.raises(Conflict):
        store.create_run(run("r1"), [job("build")])
    assert sleeps.pauses == []


def test_a_throttled_history_query_is_read_again(aws: None, sleeps: Sleeps) -> None:
    throttle = Throttle("ThrottlingException", times=2,
                        match=lambda body: body.get("IndexName") == "runs-by-time")
    with botocore_handler("before-call.dynamodb.Query", throttle):
        store = new_store(fresh_clients=True, sleep=sleeps)
        for i in range(5):
            store.create_run(run(f"r{i}", created_at=EPOCH + i), [])
        assert [r.id for r in store.list_runs().runs] == ["r4", "r3", "r2", "r1", "r0"]
    assert throttle.refused == 2


def test_tables_that_do_not_exist_make_the_store_unavailable(aws: None) -> None:
    store = new_store()
    missing = TableNames("no-definitions", "no-runs", "no-events", "w", "n", "t")
    lost = DynamoDbStore(bind_tables(missing, region="us-east-1"), sleep=Sleeps())
    with pytest.raises(StoreUnavailable, match="ResourceNotFoundException while reading run r1"):
        lost.get_run("r1")
    assert store.list_namespaces() == []


def test_a_request_dynamodb_finds_malformed_is_not_disguised_as_an_outage(aws: None) -> None:
    with botocore_handler("before-call.dynamodb.GetItem", Throttle("ValidationException")):
        store = new_store(fresh_clients=True)
        with pytest.raises(GetError) as raised:
            store.get_run("r1")
    assert raised.value.cause_response_code == "ValidationException"


def test_the_api_answers_an_unavailable_store_with_503() -> None:
    response = response_for(StoreUnavailable("the store cannot answer now"))
    assert response.status_code == 503
    assert json.loads(response.body)["error"]["code"] == "store_unavailable"
