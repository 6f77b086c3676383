"""A fan-out job's instances as the API reads them: the group's summary in the run detail,
and pages of instances (failed first, filtered by state, pending ones made from the
definition), over a real SQLite store."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from chalicelib.domain.models import Workflow
from chalicelib.domain.states import JobState
from chalicelib.engine.instance_keys import instance_key
from chalicelib.engine.records import AttemptRecord, JobRecord, RunRecord
from chalicelib.errors import InvalidRequest, NotFound
from chalicelib.services.dispatch import RecordingDispatcher
from chalicelib.services.instance_service import InstanceQuery
from chalicelib.services.run_service import RunService
from chalicelib.store.sqlite import SqliteStore
from tests.builders import action, job, stage, workflow_doc

MATRIX = {"python": ["3.11", "3.12"], "os": ["linux"]}


def fan_out_workflow() -> Workflow:
    """`lint`, then `test`: a 2 x 1 matrix in 3 shards (6 instances, at most 2 at once)."""
    document = workflow_doc(
        stage("check", action("lint", job("lint"))),
        stage("verify", action("tests", job("test", matrix=MATRIX, shards=3, max_parallel=2))),
    )
    document["metadata"] = {"namespace": "demo", "name": "ci"}
    return Workflow.model_validate(document)


@pytest.fixture
def service(store: SqliteStore) -> RunService:
    store.save_workflow(fan_out_workflow())
    return RunService(store, RecordingDispatcher(), new_id=lambda _: "20261201-120000-0000abcd")


@pytest.fixture
def run(service: RunService) -> RunRecord:
    return service.start("demo", "ci", {})


def record(run: RunRecord, index: int, status: JobState, **fields: Any) -> JobRecord:
    return JobRecord(run_id=run.id, name=instance_key("test", index), stage=1, action=0,
                     position=0, status=status, group="test", instance=index, **fields)


def page(service: RunService, run: RunRecord, **query: Any) -> dict[str, Any]:
    return service.instances("demo", run.id, "test", InstanceQuery(**query))


def keys_of(document: dict[str, Any]) -> list[str]:
    return [entry["key"] for entry in document["instances"]]


def test_the_run_detail_summarises_a_fan_out_job_and_lists_no_instance(
    service: RunService, run: RunRecord, store: SqliteStore
) -> None:
    store.create_instance(record(run, 0, JobState.SUCCEEDED))
    store.create_instance(record(run, 1, JobState.FAILED))
    store.create_instance(record(run, 2, JobState.RUNNING))
    store.create_attempt(AttemptRecord(run_id=run.id, job="test.2", number=1))
    jobs = {entry["name"]: entry for entry in service.detail("demo", run.id)["jobs"]}
    assert list(jobs) == ["lint", "test"]
    assert jobs["test"]["fan_out"] == {
        "instances": 6, "max_parallel": 2,
        "counts": {"succeeded": 1, "failed": 1, "running": 1, "pending": 3, "cancelled": 0,
                   "skipped": 0, "reused": 0, "not_started": 0}}
    assert "fan_out" not in jobs["lint"]
    assert jobs["test"]["attempt_history"] == []


def test_a_cancelled_group_counts_what_it_never_started_as_not_started(
    service: RunService, run: RunRecord, store: SqliteStore
) -> None:
    store.create_instance(record(run, 0, JobState.CANCELLED))
    store.save_job(replace(store.get_job(run.id, "test"), status=JobState.CANCELLED))
    counts = service.detail("demo", run.id)["jobs"][1]["fan_out"]["counts"]
    assert (counts["cancelled"], counts["not_started"], counts["pending"]) == (1, 5, 0)


def test_a_page_is_failed_first_then_running_then_the_rest(
    service: RunService, run: RunRecord, store: SqliteStore
) -> None:
    for index, status in enumerate([JobState.SUCCEEDED, JobState.RUNNING, JobState.FAILED]):
        store.create_instance(record(run, index, status))
    assert keys_of(page(service, run)) == ["test.2", "test.1", "test.0"]


def test_an_instance_says_its_values_shard_and_record(
    service: RunService, run: RunRecord, store: SqliteStore
) -> None:
    store.create_instance(record(run, 4, JobState.FAILED, reason="exit 1", exit_code=1, attempts=2,
                                 outputs={"TESTS": "12"}, started_at=1.0, finished_at=2.0))
    assert page(service, run)["instances"] == [{
        "index": 4, "key": "test.4", "values": {"python": "3.12", "os": "linux"}, "shard": 1,
        "status": "failed", "reason": "exit 1", "attempts": 2, "exit_code": 1,
        "started_at": 1.0, "finished_at": 2.0, "outputs": {"TESTS": "12"}}]


def test_pending_instances_are_made_from_the_definition_when_asked_for(
    service: RunService, run: RunRecord, store: SqliteStore
) -> None:
    store.create_instance(record(run, 1, JobState.RUNNING))
    store.create_instance(record(run, 3, JobState.SUCCEEDED))
    pending = page(service, run, states=["pending"])
    assert keys_of(pending) == ["test.0", "test.2", "test.4", "test.5"]
    assert pending["instances"][0]["values"] == {"python": "3.11", "os": "linux"}
    assert pending["instances"][0]["status"] == "pending"
    assert keys_of(page(service, run, states=["running,pending"])) == [
        "test.1", "test.0", "test.2", "test.4", "test.5"]
    assert keys_of(page(service, run)) == ["test.1", "test.3"]  # unasked: recorded only


def test_pages_follow_their_cursor_through_recorded_and_pending_instances(
    service: RunService, run: RunRecord, store: SqliteStore
) -> None:
    store.create_instance(record(run, 2, JobState.FAILED))
    store.create_instance(record(run, 4, JobState.SUCCEEDED))
    seen, cursor = [], None
    while True:
        document = page(service, run, states=["failed", "succeeded", "pending"], cursor=cursor,
                        limit=2)
        seen.append(keys_of(document))
        cursor = document["next_cursor"]
        if cursor is None:
            break
    assert seen == [["test.2", "test.4"], ["test.0", "test.1"], ["test.3", "test.5"]]


def test_bad_query_values_are_invalid_requests(service: RunService, run: RunRecord) -> None:
    for query in ({"states": ["broken"]}, {"limit": 501}, {"limit": 0}, {"cursor": "nonsense"},
                  {"cursor": "eyJzIjogIm5vIn0"}):  # {"s": "no"}: no cursor of the store's
        with pytest.raises(InvalidRequest):
            page(service, run, **query)


def test_an_unknown_job_or_one_that_does_not_fan_out_has_no_instances(
    service: RunService, run: RunRecord
) -> None:
    for name in ("deploy", "lint"):
        with pytest.raises(NotFound):
            service.instances("demo", run.id, name, InstanceQuery())
    with pytest.raises(NotFound):
        service.instances("other", run.id, "test", InstanceQuery())


def test_when_every_instance_has_its_record_none_is_pending(
    service: RunService, run: RunRecord, store: SqliteStore
) -> None:
    for index in range(6):
        store.create_instance(record(run, index, JobState.SUCCEEDED))
    assert page(service, run, states=["pending"]) == {"instances": [], "next_cursor": None}
