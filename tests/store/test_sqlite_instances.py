"""SqliteStore against the fan-out instance contract, plus what only the SQLite file has:
migration V9 on a file with runs in it, the indexes a page and the counts use, and a group
of 10,000 instance records written and read page by page."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.domain.states import JobState
from chalicelib.store.instance_pages import InstanceOrder
from chalicelib.store.sqlite import SqliteStore
from chalicelib.store.sqlite_instances import _COUNTS, _IN_ORDER, _OF_STATE_IN_ORDER
from chalicelib.store.sqlite_schema import MIGRATIONS, SCHEMA_VERSION
from tests.store.contract import job, run
from tests.store.instance_contract import InstanceContract, instance


class TestSqliteInstances(InstanceContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SqliteStore]:
        with SqliteStore(tmp_path / "store.db") as store:
            yield store


def test_a_file_of_schema_8_opens_with_its_jobs_as_workflow_jobs(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    conn = sqlite3.connect(path)
    for migration in MIGRATIONS[:8]:
        if callable(migration):
            migration(conn)
        else:
            conn.executescript(migration)
    conn.execute("PRAGMA user_version = 8")
    conn.execute("INSERT INTO runs (id, namespace, workflow, workflow_version, status, created_at,"
                 " params, \"trigger\", reason) VALUES ('r1', 'demo', 'ci', 1, 'running', 0,"
                 " '{}', '{}', '')")
    conn.execute("INSERT INTO jobs (run_id, name, stage, action, position, status, reason,"
                 " outputs, attempts) VALUES ('r1', 'test', 0, 0, 0, 'running', '', '{}', 0)")
    conn.commit()
    conn.close()
    with SqliteStore(path) as store:
        assert [(j.name, j.group, j.instance) for j in store.list_jobs("r1")] == [("test", None, None)]
        store.create_instance(instance(0))
        assert store.instance_counts("r1", "test") == {JobState.RUNNING: 1}
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()


def test_pages_and_counts_read_the_group_indexes_and_sort_nothing(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "store.db").close()
    conn = sqlite3.connect(tmp_path / "store.db")
    try:
        for sql, args in ((_IN_ORDER, ("r1", "test", -1, 10)),
                          (_OF_STATE_IN_ORDER, ("r1", "test", "failed", -1, 10)),
                          (_COUNTS, ("r1", "test"))):
            plan = " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", args))
            assert "jobs_by_group" in plan, plan
            assert "TEMP B-TREE" not in plan, plan
    finally:
        conn.close()


def test_ten_thousand_instances_are_written_counted_and_paged_whole(tmp_path: Path) -> None:
    states = (JobState.SUCCEEDED, JobState.SUCCEEDED, JobState.RUNNING, JobState.FAILED)
    with SqliteStore(tmp_path / "store.db") as store:
        store.create_run(run("r1"), [job("test")])
        with store.atomically():
            for index in range(10_000):
                store.create_instance(instance(index, states[index % 4]))
        assert store.instance_counts("r1", "test") == {
            JobState.SUCCEEDED: 5_000, JobState.RUNNING: 2_500, JobState.FAILED: 2_500}
        seen: list[int] = []
        cursor = None
        while True:
            page = store.list_instances("r1", "test", order=InstanceOrder.FAILED_FIRST,
                                        cursor=cursor, limit=500)
            seen.extend(record.instance or 0 for record in page.instances)
            cursor = page.next_cursor
            if cursor is None:
                break
        failed = [i for i in range(10_000) if i % 4 == 3]
        running = [i for i in range(10_000) if i % 4 == 2]
        rest = [i for i in range(10_000) if i % 4 < 2]
        assert seen == failed + running + rest
        assert [j.name for j in store.list_jobs("r1")] == ["test"]
