"""A reused job points to the run and attempt that did its work, however many re-runs back,
on both stores (SQLite, and DynamoDB on moto); the run document carries it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from chalicelib.domain.states import JobState, RunState
from chalicelib.engine.records import JobRecord, RunRecord
from chalicelib.services.reuse_origins import MAX_CHAIN, ReuseOrigin, reuse_origins
from chalicelib.services.run_views import run_document
from chalicelib.store.base import Store
from chalicelib.store.sqlite import SqliteStore
from tests.store.contract import job, run
from tests.store.dynamodb.harness import moto_dynamodb, new_store


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    if request.param == "sqlite":
        with SqliteStore(tmp_path / "store.db") as sqlite:
            yield sqlite
        return
    with moto_dynamodb(monkeypatch):
        dynamodb = new_store()
        yield dynamodb
        dynamodb.close()


def recorded(store: Store, run_id: str, rerun_of: str | None, **states: tuple[JobState, int]) -> RunRecord:
    """A finished run whose jobs ended in the given states after that many attempts."""
    record = replace(run(run_id), status=RunState.FAILED, rerun_of=rerun_of)
    store.create_run(record, [job(name, position=i, run_id=run_id) for i, name in enumerate(states)])
    for name, (state, attempts) in states.items():
        stored = next(j for j in store.list_jobs(run_id) if j.name == name)
        store.save_job(replace(stored, status=state, attempts=attempts))
    return store.get_run(run_id)


def jobs_of(store: Store, run_id: str) -> list[JobRecord]:
    return store.list_jobs(run_id)


def test_a_job_reused_from_the_run_re_run_points_to_its_last_attempt_there(store: Store) -> None:
    recorded(store, "r1", None, build=(JobState.SUCCEEDED, 2), test=(JobState.FAILED, 1))
    rerun = recorded(store, "r2", "r1", build=(JobState.REUSED, 0), test=(JobState.SUCCEEDED, 1))
    assert reuse_origins(store, rerun, jobs_of(store, "r2")) == {"build": ReuseOrigin("r1", 2)}


def test_a_job_reused_twice_points_to_the_run_where_it_ran(store: Store) -> None:
    recorded(store, "r1", None, build=(JobState.SUCCEEDED, 1), lint=(JobState.FAILED, 1),
             test=(JobState.SKIPPED, 0))
    recorded(store, "r2", "r1", build=(JobState.REUSED, 0), lint=(JobState.SUCCEEDED, 1),
             test=(JobState.FAILED, 1))
    third = recorded(store, "r3", "r2", build=(JobState.REUSED, 0), lint=(JobState.REUSED, 0),
                     test=(JobState.SUCCEEDED, 1))
    assert reuse_origins(store, third, jobs_of(store, "r3")) == {
        "build": ReuseOrigin("r1", 1), "lint": ReuseOrigin("r2", 1)}


def test_a_job_whose_origin_the_records_do_not_show_has_none(store: Store) -> None:
    recorded(store, "r1", None, build=(JobState.FAILED, 1))  # not a job that could be reused
    rerun = recorded(store, "r2", "r1", build=(JobState.REUSED, 0), extra=(JobState.REUSED, 0))
    assert reuse_origins(store, rerun, jobs_of(store, "r2")) == {}
    gone = recorded(store, "r3", "r-deleted", build=(JobState.REUSED, 0))
    assert reuse_origins(store, gone, jobs_of(store, "r3")) == {}


def test_a_run_that_re_runs_nothing_reads_nothing(store: Store) -> None:
    first = recorded(store, "r1", None, build=(JobState.SUCCEEDED, 1))
    assert reuse_origins(store, first, jobs_of(store, "r1")) == {}


def test_a_loop_in_the_chain_ends_the_walk(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "store.db") as sqlite:
        recorded(sqlite, "r1", "r2", build=(JobState.REUSED, 0))
        looped = recorded(sqlite, "r2", "r1", build=(JobState.REUSED, 0))
        assert reuse_origins(sqlite, looped, jobs_of(sqlite, "r2")) == {}
    assert MAX_CHAIN >= 10


def test_the_run_document_says_where_each_reused_job_did_its_work(store: Store) -> None:
    recorded(store, "r1", None, build=(JobState.SUCCEEDED, 3), test=(JobState.FAILED, 1))
    rerun = recorded(store, "r2", "r1", build=(JobState.REUSED, 0), test=(JobState.SUCCEEDED, 1))
    jobs = jobs_of(store, "r2")
    document = run_document(rerun, jobs, [], reuse_origins(store, rerun, jobs))
    assert {j["name"]: j["reused_from"] for j in document["jobs"]} == {
        "build": {"run": "r1", "attempt": 3}, "test": None}
