"""A fan-out job through the HTTP API: the run detail's `fan_out` summary, pages of
instances (state filter, cursor, limit, 400 and 404), and the logs of one instance's
attempt at `…/jobs/test.3/attempts/1/logs`; over a real SQLite store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from chalice.test import Client

from app import app
from chalicelib.api.context import ApiContext, configure
from chalicelib.domain.models import Workflow
from chalicelib.domain.states import AttemptState, JobState
from chalicelib.engine.instance_keys import instance_key
from chalicelib.engine.records import AttemptRecord, JobRecord, LogLine
from chalicelib.services.dispatch import RecordingDispatcher
from chalicelib.store.sqlite import SqliteStore
from tests.builders import action, append_lines, job, stage, workflow_doc

NS = "/api/namespaces/demo"
JSON = {"Content-Type": "application/json"}
SHARDS = 1_000


class Api:
    def __init__(self, client: Client, store: SqliteStore, run_id: str) -> None:
        self.client, self.store, self.run_id = client, store, run_id

    def get(self, path: str, **query: Any) -> Any:
        if query:
            path += "?" + urlencode(query, doseq=True)
        return self.client.http.get(f"{NS}/runs/{self.run_id}{path}", headers=JSON)

    def record(self, index: int, status: JobState) -> None:
        self.store.create_instance(JobRecord(
            run_id=self.run_id, name=instance_key("test", index), stage=0, action=0, position=1,
            status=status, group="test", instance=index))


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    document = workflow_doc(stage("main", action("run", job("lint"), job("test", shards=SHARDS))))
    document["metadata"] = {"namespace": "demo", "name": "ci"}
    with SqliteStore(tmp_path / "store.db") as store:
        store.save_workflow(Workflow.model_validate(document))
        configure(ApiContext(store=store, logs=store, dispatcher=RecordingDispatcher()))
        with Client(app) as client:
            started = client.http.post(f"{NS}/workflows/ci/runs", headers=JSON, body=b"{}")
            assert started.status_code == 201, started.body
            yield Api(client, store, json.loads(started.body)["id"])


def test_the_run_detail_gives_a_fan_out_jobs_counts_and_never_its_instances(api: Api) -> None:
    for index in range(3):
        api.record(index, JobState.SUCCEEDED)
    api.record(3, JobState.FAILED)
    answer = api.get("")
    assert answer.status_code == 200
    jobs = {entry["name"]: entry for entry in answer.json_body["jobs"]}
    assert list(jobs) == ["lint", "test"]
    summary = jobs["test"]["fan_out"]
    assert (summary["instances"], summary["max_parallel"]) == (SHARDS, None)
    assert (summary["counts"]["succeeded"], summary["counts"]["failed"],
            summary["counts"]["pending"]) == (3, 1, SHARDS - 4)


def test_a_thousand_instances_page_failed_first_by_cursor(api: Api) -> None:
    with api.store.atomically():
        for index in range(SHARDS):
            api.record(index, JobState.FAILED if index % 100 == 7 else JobState.SUCCEEDED)
    seen: list[int] = []
    cursor = None
    while True:
        query = {"limit": 300, **({"cursor": cursor} if cursor else {})}
        answer = api.get("/jobs/test/instances", **query)
        assert answer.status_code == 200, answer.body
        assert len(answer.json_body["instances"]) <= 300
        seen.extend(entry["index"] for entry in answer.json_body["instances"])
        cursor = answer.json_body["next_cursor"]
        if cursor is None:
            break
    failed = [i for i in range(SHARDS) if i % 100 == 7]
    assert seen == failed + [i for i in range(SHARDS) if i % 100 != 7]


def test_a_state_filter_gives_those_states_with_their_shard(api: Api) -> None:
    api.record(5, JobState.FAILED)
    api.record(6, JobState.RUNNING)
    answer = api.get("/jobs/test/instances", state="failed")
    assert [(e["key"], e["shard"], e["status"]) for e in answer.json_body["instances"]] == [
        ("test.5", 5, "failed")]
    pending = api.get("/jobs/test/instances", state="pending", limit=3).json_body
    assert [e["key"] for e in pending["instances"]] == ["test.0", "test.1", "test.2"]
    assert pending["next_cursor"] is not None


@pytest.mark.parametrize("query", [
    {"state": "broken"}, {"limit": "501"}, {"limit": "0"}, {"limit": "many"},
    {"cursor": "not-ours"},
])
def test_a_bad_query_value_is_a_bad_request(api: Api, query: dict[str, str]) -> None:
    assert api.get("/jobs/test/instances", **query).status_code == 400


def test_an_unknown_job_or_one_that_does_not_fan_out_is_not_found(api: Api) -> None:
    assert api.get("/jobs/deploy/instances").status_code == 404
    assert api.get("/jobs/lint/instances").status_code == 404


def test_an_instance_key_is_no_job_whose_instances_can_be_asked_for(api: Api) -> None:
    assert api.get("/jobs/test.3/instances").status_code == 400


def test_an_instances_attempt_logs_are_read_under_its_key(api: Api) -> None:
    api.record(3, JobState.RUNNING)
    api.store.create_attempt(AttemptRecord(api.run_id, "test.3", 1, status=AttemptState.SUCCEEDED))
    append_lines(api.store, [LogLine(api.run_id, "test.3", 1, 1, 10.0, "shard 3 of 1000")])
    answer = api.get("/jobs/test.3/attempts/1/logs")
    assert answer.status_code == 200, answer.body
    assert [line["text"] for line in answer.json_body["lines"]] == ["shard 3 of 1000"]


def test_an_instance_not_yet_started_has_logs_to_wait_for(api: Api) -> None:
    answer = api.get("/jobs/test.9/attempts/1/logs")
    assert answer.status_code == 200, answer.body
    assert answer.json_body["lines"] == [] and answer.json_body["done"] is False


@pytest.mark.parametrize("name", ["test.03", "test.x", "test.", ".3", "test.3.4"])
def test_a_job_name_with_any_other_dot_is_refused_at_the_logs(api: Api, name: str) -> None:
    assert api.get(f"/jobs/{name}/attempts/1/logs").status_code == 400
