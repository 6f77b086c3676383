"""Runs, jobs and attempts on DynamoDB beyond the contract: runs too big for one transaction,
records too big for one item, and the shape of the writes that keep the contract's rules."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import pytest

from chalicelib.domain.protocol import MAX_OUTPUTS_BYTES
from chalicelib.domain.states import AttemptState, JobState, RunState
from chalicelib.engine.records import AttemptRecord, JobRecord
from chalicelib.errors import Conflict, InvalidRequest, NotFound, StoreUnavailable
from chalicelib.store.base import RunFilter
from chalicelib.store.dynamodb import DynamoDbStore
from chalicelib.store.dynamodb.boundary import RetryPolicy
from tests.store.contract import at_once, job, run
from tests.store.dynamodb.harness import NAMES, CallLog, Throttle, botocore_handler, new_store, raw_items


def many_jobs(count: int, run_id: str = "big", prefix: str = "j") -> list[JobRecord]:
    return [job(f"{prefix}{i:03d}", stage=i // 50, position=i % 50, run_id=run_id)
            for i in range(count)]


def what_a_reader_sees(store: DynamoDbStore, run_id: str = "big") -> str:
    """'nothing' or 'whole' (the run, its 250 jobs, a job by name, the history); anything
    else describes the half run the reader saw."""
    try:
        store.get_run(run_id)
        has_run = True
    except NotFound:
        has_run = False
    jobs = len(store.list_jobs(run_id))
    try:
        store.get_job(run_id, "j000")
        has_job = True
    except NotFound:
        has_job = False
    listed = [r.id for r in store.list_runs().runs].count(run_id)
    seen = (has_run, jobs, has_job, listed)
    if seen == (False, 0, False, 0):
        return "nothing"
    if seen == (True, 250, True, 1):
        return "whole"
    return f"half: run={has_run} jobs={jobs} job={has_job} listed={listed}"


# --- runs too big for one transaction --------------------------------------------------

def test_a_run_of_250_jobs_reads_back_whole(store: DynamoDbStore) -> None:
    jobs = many_jobs(250)
    store.create_run(run("big"), jobs)
    assert store.get_run("big") == run("big")
    assert store.list_jobs("big") == jobs
    assert store.get_job("big", "j249") == jobs[249]
    assert [r.id for r in store.list_runs(RunFilter(namespace="demo")).runs] == ["big"]
    assert what_a_reader_sees(store) == "whole"


def test_the_jobs_of_a_big_run_change_state_like_any_other(store: DynamoDbStore) -> None:
    store.create_run(run("big"), many_jobs(250))
    running = replace(job("j007", position=7, run_id="big"), status=JobState.RUNNING)
    store.save_job(running, expected=JobState.PENDING)
    store.create_attempt(AttemptRecord(run_id="big", job="j007", number=1))
    assert store.get_job("big", "j007") == running
    assert [a.job for a in store.list_attempts("big")] == ["j007"]


def test_a_reader_between_the_batches_of_a_big_run_sees_nothing_of_it(aws: None) -> None:
    seen: list[str] = []
    reader = new_store()  # its own clients: reading from the hook does not re-enter it

    def after_each_transaction(**_: Any) -> None:
        seen.append(what_a_reader_sees(reader))

    with botocore_handler("after-call.dynamodb.TransactWriteItems", after_each_transaction):
        writer = new_store(fresh_clients=True)
        writer.create_run(run("big"), many_jobs(250))
    assert seen == ["nothing"] * 3  # 100 + 100 + 50 jobs
    assert what_a_reader_sees(reader) == "whole"


def test_a_reader_thread_racing_the_writer_sees_nothing_or_the_whole_run(aws: None) -> None:
    writer_waits, reader_read = threading.Event(), threading.Event()
    done = threading.Event()
    seen: list[str] = []

    def hold_the_writer(**_: Any) -> None:
        writer_waits.set()  # the reader reads now, in its own thread, before the next batch
        assert reader_read.wait(timeout=30)
        reader_read.clear()

    def read_until_done(store: DynamoDbStore) -> None:
        while not done.is_set():
            writer_waits.wait(timeout=0.01)
            waiting = writer_waits.is_set()
            writer_waits.clear()
            seen.append(what_a_reader_sees(store))
            if waiting:
                reader_read.set()

    reader_store = new_store()
    with botocore_handler("after-call.dynamodb.TransactWriteItems", hold_the_writer):
        writer = new_store(fresh_clients=True)
        reader = threading.Thread(target=read_until_done, args=(reader_store,))
        reader.start()
        try:
            writer.create_run(run("big"), many_jobs(250))
        finally:
            done.set()
            reader.join(timeout=30)
    seen.append(what_a_reader_sees(reader_store))
    assert set(seen) == {"nothing", "whole"}
    assert seen.count("nothing") >= 3 and seen[-1] == "whole"


def test_of_two_creators_of_one_big_run_one_wins_and_its_jobs_are_kept(store: DynamoDbStore) -> None:
    results = at_once(2, lambda i: store.create_run(run("big"), many_jobs(150, prefix="ab"[i])))
    winners = [i for i, result in enumerate(results) if result is None]
    assert len(winners) == 1
    assert [type(r) for r in results if r is not None] == [Conflict]
    names = {j.name for j in store.list_jobs("big")}
    assert names == {j.name for j in many_jobs(150, prefix="ab"[winners[0]])}


def test_a_used_id_is_refused_before_any_job_is_written(store: DynamoDbStore) -> None:
    store.create_run(run("big"), many_jobs(120))
    with pytest.raises(Conflict, match="run big already exists"):
        store.create_run(run("big", status=RunState.RUNNING), many_jobs(130, prefix="x"))
    assert len(store.list_jobs("big")) == 120
    assert store.get_run("big").status is RunState.QUEUED


def test_a_big_run_whose_creation_fails_half_way_leaves_nothing_and_its_id_free(aws: None) -> None:
    def writes_the_second_batch(body: dict[str, Any]) -> bool:
        return any(op.get("Put", {}).get("Item", {}).get("sk") == {"S": "JOB#j150"}
                   for op in body.get("TransactItems", []))

    second_batch = Throttle("ThrottlingException", match=writes_the_second_batch)
    with botocore_handler("before-call.dynamodb.TransactWriteItems", second_batch):
        store = new_store(fresh_clients=True, retry=RetryPolicy(attempts=3))
        with pytest.raises(StoreUnavailable, match="ThrottlingException"):
            store.create_run(run("big"), many_jobs(250))
        assert what_a_reader_sees(store) == "nothing"
        assert raw_items(NAMES.runs) == []
        assert second_batch.refused == 3  # every attempt at the second batch
        second_batch.on = False
        store.create_run(run("big"), many_jobs(250))
    assert what_a_reader_sees(store) == "whole"


def test_a_job_listed_twice_is_refused(store: DynamoDbStore) -> None:
    with pytest.raises(Conflict, match="run r1 lists a job twice: build"):
        store.create_run(run("r1"), [job("build"), job("build", stage=1)])
    with pytest.raises(NotFound):
        store.get_run("r1")


# --- records too big for one item -------------------------------------------------------

def test_a_job_with_outputs_over_the_protocol_cap_is_refused_and_nothing_changes(
    store: DynamoDbStore,
) -> None:
    store.create_run(run("r1"), [job("build")])
    noisy = replace(job("build"), outputs={"LOG": "x" * (MAX_OUTPUTS_BYTES + 1)})
    with pytest.raises(InvalidRequest, match=rf"job build of run r1 has {MAX_OUTPUTS_BYTES + 1} bytes"
                       rf" of outputs, more than the {MAX_OUTPUTS_BYTES}"):
        store.save_job(noisy)
    assert store.get_job("r1", "build") == job("build")


def test_outputs_at_the_protocol_cap_are_kept_whole(store: DynamoDbStore) -> None:
    store.create_run(run("r1"), [job("build")])
    full = replace(job("build"), outputs={f"K{i}": "é" * (MAX_OUTPUTS_BYTES // 16)
                                          for i in range(8)})  # 2-byte characters
    store.save_job(full)
    store.create_attempt(AttemptRecord(run_id="r1", job="build", number=1, outputs=full.outputs))
    assert store.get_job("r1", "build") == full
    assert store.get_attempt("r1", "build", 1).outputs == full.outputs


def test_an_attempt_with_outputs_over_the_cap_is_not_created(store: DynamoDbStore) -> None:
    store.create_run(run("r1"), [job("build")])
    noisy = AttemptRecord(run_id="r1", job="build", number=1,
                          outputs={"A": "y" * MAX_OUTPUTS_BYTES, "B": "z"})
    with pytest.raises(InvalidRequest, match="attempt 1 of job build in run r1 has"):
        store.create_attempt(noisy)
    with pytest.raises(NotFound):
        store.get_attempt("r1", "build", 1)


def test_a_record_within_the_cap_that_still_cannot_fit_one_item_is_refused(
    store: DynamoDbStore,
) -> None:
    # The cap counts values only; 1,500 long output names add 180 KB more.
    outputs = {f"OUTPUT_{i:04d}_" + "N" * 108: "v" * 170 for i in range(1500)}
    store.create_run(run("r1"), [job("build")])
    with pytest.raises(InvalidRequest, match=r"more than the 409600 one DynamoDB item may hold"):
        store.save_job(replace(job("build"), outputs=outputs))
    assert store.get_job("r1", "build").outputs == {}


def test_a_run_created_with_a_job_over_the_cap_is_not_created(store: DynamoDbStore) -> None:
    noisy = replace(job("build"), outputs={"LOG": "x" * (MAX_OUTPUTS_BYTES + 1)})
    with pytest.raises(InvalidRequest):
        store.create_run(run("r1"), [noisy])
    with pytest.raises(NotFound):
        store.get_run("r1")


# --- the shape of the writes ------------------------------------------------------------

@pytest.fixture
def logged(aws: None) -> tuple[DynamoDbStore, CallLog]:
    log = CallLog()
    with botocore_handler("before-parameter-build.dynamodb", log):
        store = new_store(fresh_clients=True)
    return store, log


def test_save_run_is_an_update_that_never_names_the_cancel_flag(
    logged: tuple[DynamoDbStore, CallLog],
) -> None:
    store, log = logged
    store.create_run(run("r1"), [])
    store.save_run(run("r1", status=RunState.RUNNING), expected=RunState.QUEUED)
    store.save_run(run("r1", status=RunState.SUCCEEDED))
    assert len(log.named("PutItem")) == 1  # create_run's, never save_run's
    updates = log.named("UpdateItem")
    assert len(updates) == 2
    for update in updates:
        assert "cancel_requested" not in update["ExpressionAttributeNames"].values()
        assert "SET" in update["UpdateExpression"]
    assert "ConditionExpression" in updates[0] and "ConditionExpression" not in updates[1]


def test_each_conditional_state_change_is_a_condition_on_the_stored_status(
    logged: tuple[DynamoDbStore, CallLog],
) -> None:
    store, log = logged
    store.create_run(run("r1"), [job("build")])
    store.create_attempt(AttemptRecord(run_id="r1", job="build", number=1))
    store.save_job(replace(job("build"), status=JobState.RUNNING), expected=JobState.PENDING)
    store.save_attempt(AttemptRecord(run_id="r1", job="build", number=1,
                                     status=AttemptState.SUCCEEDED), expected=AttemptState.RUNNING)
    puts = [p for p in log.named("PutItem") if p["Item"]["sk"]["S"] != "RUN"]
    assert [p["Item"]["sk"]["S"] for p in puts] == ["JOB#build", "ATTEMPT#build#000001"]
    for put, expected in zip(puts, ["pending", "running"], strict=True):
        names, values = put["ExpressionAttributeNames"], put["ExpressionAttributeValues"]
        assert "status" in names.values() and {"S": expected} in values.values()


def test_creating_an_attempt_checks_its_job_in_the_same_transaction(
    logged: tuple[DynamoDbStore, CallLog],
) -> None:
    store, log = logged
    store.create_run(run("r1"), [job("build")])
    store.create_attempt(AttemptRecord(run_id="r1", job="build", number=1))
    (transaction,) = log.named("TransactWriteItems")[-1:]
    check, put = transaction["TransactItems"]
    assert check["ConditionCheck"]["Key"]["sk"] == {"S": "JOB#build"}
    assert put["Put"]["Item"]["sk"] == {"S": "ATTEMPT#build#000001"}
    assert "attribute_not_exists" in put["Put"]["ConditionExpression"]
